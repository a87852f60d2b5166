package snapexport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/snapexport/snapexport/internal/manifest"
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

// tableKey names a table unambiguously: its target does not ("x.y".z and
// x."y.z" are both db.x.y.z).
func tableKey(t source.Table) string { return t.Database + "\x00" + t.Schema + "\x00" + t.Name }

// partKey names one data file in the table folder dir. A fresh UUID per
// file keeps the names of files rolled from one partition distinct.
func (l layout) partKey(dir string, batch, partition int) string {
	return fmt.Sprintf("%s/%d/part-%05d-%s%s", dir, batch, partition, uuid.NewString(), l.codec.Extension())
}

// Tables whose folders collide. RDS's sanitising maps distinct names to one
// folder ("with space" and with_space; "x.y".z and x."y.z"), and two
// tables in one folder would mix their files. Of the tables that share a
// folder, the first in byte order of (database, schema, name) keeps it;
// each other one gets the folder with "~" and the first 8 hex digits of the
// SHA-256 of its exact "database\x00schema\x00name" appended
// (db/s.with_space~1a2b3c4d), a name RDS's rule never produces, and a
// general warning (KEY_COLLISION) names both tables and the new folder. A
// resumed task keeps the folders its records name.

// ReasonKeyCollision is the warning reason of a table whose folder was
// renamed because another table's name sanitises to the same folder.
const ReasonKeyCollision = "KEY_COLLISION"

// tableFolders assigns each table its folder by the rule above; recorded
// holds the folders a resumed task's records name, by tableKey.
func (l layout) tableFolders(tables []source.Table, recorded map[string]string) (dirs []string, warnings []manifest.Entry) {
	dirs = make([]string, len(tables))
	order := make([]int, len(tables))
	for i := range order {
		order[i] = i
	}
	key := tableKey
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(key(tables[a]), key(tables[b])) })
	taken := map[string]string{} // folder -> target
	for _, i := range order {
		if d, ok := recorded[tableKey(tables[i])]; ok {
			dirs[i] = d
			taken[d] = tables[i].Target()
		}
	}
	for _, i := range order {
		t := tables[i]
		if dirs[i] != "" {
			continue
		}
		d := l.tableDir(t)
		if other, clash := taken[d]; clash {
			sum := sha256.Sum256([]byte(key(t)))
			nd := d + "~" + hex.EncodeToString(sum[:4])
			for n := 2; taken[nd] != ""; n++ {
				nd = fmt.Sprintf("%s~%s-%d", d, hex.EncodeToString(sum[:4]), n)
			}
			warnings = append(warnings, manifest.Entry{Target: t.Target(), Reason: ReasonKeyCollision, Detail: fmt.Sprintf(
				"its folder %s is also the folder of %s after RDS's name sanitising (backslash, backtick, double quote and space become _, and schema and table are joined by a dot); its files go to %s", d, other, nd)})
			d = nd
		}
		dirs[i] = d
		taken[d] = t.Target()
	}
	return dirs, warnings
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
