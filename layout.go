package snapexport

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/writer"
)

// layout builds the keys of a task's objects, RDS's layout (reference §6):
//
//	[prefix/]<id>/<database>/<schema>.<table>/<batch>/part-<partition:05d>-<uuid>.<ext>
//	[prefix/]<id>/export_info_<id>.json
//	[prefix/]<id>/export_tables_info_<id>_from_<n>_to_<m>.json
type layout struct {
	prefix string
	id     string
	codec  writer.Codec
}

// pathReplacer applies RDS's rule (§5.4): backslash, backtick, double quote
// and space in a path become "_".
var pathReplacer = strings.NewReplacer(`\`, "_", "`", "_", `"`, "_", " ", "_")

func sanitize(s string) string { return pathReplacer.Replace(s) }

func (l layout) root() string {
	p := strings.Trim(sanitize(l.prefix), "/")
	if p == "" {
		return l.id
	}
	return p + "/" + l.id
}

// tableDir is "<root>/<database>/<schema>.<table>".
func (l layout) tableDir(t source.Table) string {
	schema := t.Schema
	if schema == "" {
		schema = t.Database
	}
	return l.root() + "/" + sanitize(t.Database) + "/" + sanitize(schema) + "." + sanitize(t.Name)
}

// partKey names one data file. A fresh UUID per file keeps the names of
// files rolled from one partition distinct.
func (l layout) partKey(t source.Table, batch, partition int) string {
	return fmt.Sprintf("%s/%d/part-%05d-%s%s", l.tableDir(t), batch, partition, uuid.NewString(), l.codec.Extension())
}

func (l layout) exportInfoKey() string { return l.root() + "/export_info_" + l.id + ".json" }

func (l layout) tablesInfoKey(from, to int) string {
	return fmt.Sprintf("%s/export_tables_info_%s_from_%d_to_%d.json", l.root(), l.id, from, to)
}

// checkNoRecord refuses an identifier whose record already exists in the
// destination, so a second task never mixes its files with the first's.
func checkNoRecord(ctx context.Context, s sink.Sink, l layout) error {
	r, err := s.NewReader(ctx, l.exportInfoKey())
	if err == nil {
		r.Close()
		return newError(ErrExportTaskAlreadyExists, nil,
			"the export task with the ID %s already exists: %s holds %s; choose another identifier or prefix", l.id, s.Location(), l.exportInfoKey())
	}
	if errors.Is(err, sink.ErrNotExist) {
		return nil
	}
	// The destination could not be read; the start-of-task checks report
	// that with the right FailureCause.
	return nil
}
