package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/writer"
)

// Layout builds the keys of one task's objects.
type Layout struct {
	Prefix string       // the task's S3Prefix
	ID     string       // the task's identifier
	Codec  writer.Codec // the data files' codec, for their extension
}

// pathReplacer applies RDS's rule (§5.4): backslash, backtick, double quote
// and space in a path become "_".
var pathReplacer = strings.NewReplacer(`\`, "_", "`", "_", `"`, "_", " ", "_")

// Sanitize applies RDS's rule for names in paths.
func Sanitize(s string) string { return pathReplacer.Replace(s) }

// PrefixRoot is the sanitised prefix the task folders of a destination
// are under, with a trailing slash ("" for none).
func PrefixRoot(prefix string) string {
	p := strings.Trim(Sanitize(prefix), "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// Root is the task's folder, "[prefix/]<id>".
func (l Layout) Root() string { return PrefixRoot(l.Prefix) + l.ID }

// TableDir is "<root>/<database>/<schema>.<table>".
func (l Layout) TableDir(t source.Table) string {
	schema := t.Schema
	if schema == "" {
		schema = t.Database
	}
	return l.Root() + "/" + Sanitize(t.Database) + "/" + Sanitize(schema) + "." + Sanitize(t.Name)
}

// TableKey names a table unambiguously: its target does not ("x.y".z and
// x."y.z" are both db.x.y.z).
func TableKey(t source.Table) string { return t.Database + "\x00" + t.Schema + "\x00" + t.Name }

// PartKey names one data file in the table folder dir: part number part
// of batch folder batch. A fresh UUID per file keeps the names of the
// files one part rolls to distinct.
func (l Layout) PartKey(dir string, batch, part int) string {
	return fmt.Sprintf("%s/%d/part-%05d-%s%s", dir, batch, part, uuid.NewString(), l.Codec.Extension())
}

// ExportInfoKey is the task's record.
func (l Layout) ExportInfoKey() string { return l.Root() + "/export_info_" + l.ID + ".json" }

// TablesInfoPrefix starts the keys of every tables info file of the task.
func (l Layout) TablesInfoPrefix() string { return l.Root() + "/export_tables_info_" + l.ID + "_from_" }

// TablesInfoKey is the tables info file of tables from to to (from 1).
func (l Layout) TablesInfoKey(from, to int) string {
	return fmt.Sprintf("%s%d_to_%d.json", l.TablesInfoPrefix(), from, to)
}

// CancelRequestKey is the task's cancel slot: a cancel request, or the
// completion's claim on it.
func (l Layout) CancelRequestKey() string { return l.Root() + "/cancel_request_" + l.ID + ".json" }

// LeasePrefix starts the keys of the task's leases; LeaseKey is one.
func (l Layout) LeasePrefix() string     { return l.Root() + "/lease_" + l.ID + "_" }
func (l Layout) LeaseKey(gen int) string { return fmt.Sprintf("%s%d.json", l.LeasePrefix(), gen) }

// JournalPrefix starts the keys of the task's journals; JournalKey is one
// chunk of generation gen's journal. A journal written before chunks
// were is the one object "<prefix><gen>.json" (JournalGeneration reads
// both).
func (l Layout) JournalPrefix() string { return l.Root() + "/journal_" + l.ID + "_" }
func (l Layout) JournalKey(gen, chunk int) string {
	return fmt.Sprintf("%s%d_%d.json", l.JournalPrefix(), gen, chunk)
}

// JournalGeneration is the generation of a journal (chunk) key.
func (l Layout) JournalGeneration(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, l.JournalPrefix())
	if !ok {
		return 0, false
	}
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok {
		return 0, false
	}
	gen, chunk, chunked := strings.Cut(rest, "_")
	if _, err := strconv.Atoi(chunk); chunked && err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(gen)
	return n, err == nil && n > 0
}

// GenerationOf is the generation in a lease or journal key under prefix.
func GenerationOf(key, prefix string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(key, prefix), ".json"))
	return n, err == nil && n > 0 && strings.HasPrefix(key, prefix)
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

// TableFolders assigns each table its folder by the rule above; recorded
// holds the folders a resumed task's records name, by TableKey.
func (l Layout) TableFolders(tables []source.Table, recorded map[string]string) (dirs []string, warnings []manifest.Entry) {
	dirs = make([]string, len(tables))
	order := make([]int, len(tables))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(TableKey(tables[a]), TableKey(tables[b])) })
	taken := map[string]string{} // folder -> target
	for _, i := range order {
		if d, ok := recorded[TableKey(tables[i])]; ok {
			dirs[i] = d
			taken[d] = tables[i].Target()
		}
	}
	for _, i := range order {
		if dirs[i] != "" {
			continue
		}
		d := l.TableDir(tables[i])
		if other, clash := taken[d]; clash {
			nd := collisionFolder(d, tables[i], taken)
			warnings = append(warnings, manifest.Entry{Target: tables[i].Target(), Reason: ReasonKeyCollision, Detail: fmt.Sprintf(
				"its folder %s is also the folder of %s after RDS's name sanitising (backslash, backtick, double quote and space become _, and schema and table are joined by a dot); its files go to %s", d, other, nd)})
			d = nd
		}
		dirs[i] = d
		taken[d] = tables[i].Target()
	}
	return dirs, warnings
}

// collisionFolder is the folder of a table whose sanitised folder d is
// taken: d~<8 hex digits of its key's SHA-256>, numbered if even that is.
func collisionFolder(d string, t source.Table, taken map[string]string) string {
	sum := sha256.Sum256([]byte(TableKey(t)))
	nd := d + "~" + hex.EncodeToString(sum[:4])
	for n := 2; taken[nd] != ""; n++ {
		nd = fmt.Sprintf("%s~%s-%d", d, hex.EncodeToString(sum[:4]), n)
	}
	return nd
}
