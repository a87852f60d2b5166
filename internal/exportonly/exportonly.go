// Package exportonly parses a task's ExportOnly list (reference §4) and
// filters the source's tables with it, the way the engine reads it: a
// two-part entry is database.schema on PostgreSQL and database.table
// elsewhere. It also says which entries matched nothing, so that a typo
// is a warning (or, when nothing matched at all, a failure) rather than
// silence.
package exportonly

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// MaxBytes is RDS's limit on the whole ExportOnly list.
const MaxBytes = 200 * 1024

// Entry is one parsed ExportOnly entry: 1 to 3 dot-separated names.
type Entry struct {
	Raw   string
	Parts []string
}

const shapes = "give database, database.table, database.schema or database.schema.table"

// Parse checks every entry's shape and characters, and the list's size.
func Parse(list []string) ([]Entry, error) {
	total := 0
	out := make([]Entry, 0, len(list))
	for _, raw := range list {
		total += len(raw)
		parts := strings.Split(raw, ".")
		switch {
		case raw == "":
			return nil, fault.New(fault.InvalidExportOnly, nil, "an ExportOnly entry is empty; "+shapes)
		case len(parts) > 3:
			return nil, fault.New(fault.InvalidExportOnly, nil, "ExportOnly entry %q has %d parts; "+shapes, raw, len(parts))
		}
		for _, p := range parts {
			if err := checkName(raw, p); err != nil {
				return nil, err
			}
		}
		out = append(out, Entry{Raw: raw, Parts: parts})
	}
	if total > MaxBytes {
		return nil, fault.New(fault.InvalidExportOnly, nil, "ExportOnly is %d bytes long; the limit is %d", total, MaxBytes)
	}
	return out, nil
}

// checkName refuses an empty name and any character RDS's partial export
// does not take.
func checkName(raw, p string) error {
	if p == "" {
		return fault.New(fault.InvalidExportOnly, nil, "ExportOnly entry %q has an empty name; "+shapes, raw)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !layout.IsLetter(c) && !layout.IsDigit(c) && c != '$' && c != '_' {
			return fault.New(fault.InvalidExportOnly, nil,
				"ExportOnly entry %q: name %q contains %s; a partial export only takes names made of A-Z, a-z, 0-9, $ and _ (export the whole database instead)", raw, p, layout.QuoteRune(p, i))
		}
	}
	return nil
}

// Filter implements source.Filter for a list of entries.
type Filter struct {
	schemaLevel bool // the engine has schemas (PostgreSQL, SQLite's "main")
	entries     []Entry
}

// NewFilter reads entries for engine; three-part entries are refused
// where the engine has no schema level.
func NewFilter(engine string, entries []Entry) (*Filter, error) {
	f := &Filter{schemaLevel: engine == typemap.EnginePostgres, entries: entries}
	for _, e := range entries {
		if len(e.Parts) == 3 && (engine == typemap.EngineMySQL || engine == typemap.EngineMariaDB) {
			return nil, fault.New(fault.InvalidExportOnly, nil, "ExportOnly entry %q has three parts, but %s has no schema level: give database or database.table", e.Raw, engine)
		}
	}
	return f, nil
}

// Database reports whether any entry names database db (every database
// when the list is empty).
func (f *Filter) Database(db string) bool {
	return len(f.entries) == 0 || slices.ContainsFunc(f.entries, func(e Entry) bool { return e.Parts[0] == db })
}

// Table reports whether any entry selects the table.
func (f *Filter) Table(db, schema, table string) bool {
	return len(f.entries) == 0 || slices.ContainsFunc(f.entries, func(e Entry) bool { return f.matches(e, db, schema, table) })
}

func (f *Filter) matches(e Entry, db, schema, table string) bool {
	p := e.Parts
	if p[0] != db {
		return false
	}
	switch len(p) {
	case 1:
		return true
	case 2:
		if f.schemaLevel {
			return p[1] == schema
		}
		return p[1] == table
	default:
		return p[1] == schema && p[2] == table
	}
}

// Databases lists the databases the entries name, nil for a full export.
func (f *Filter) Databases() []string {
	var out []string
	for _, e := range f.entries {
		if !slices.Contains(out, e.Parts[0]) {
			out = append(out, e.Parts[0])
		}
	}
	return out
}

// Unmatched reports the entries that matched no table, listed or skipped.
func (f *Filter) Unmatched(tables []source.Table, skipped []source.Skipped) []manifest.Entry {
	var out []manifest.Entry
	for _, e := range f.entries {
		found := slices.ContainsFunc(tables, func(t source.Table) bool { return f.matches(e, t.Database, t.Schema, t.Name) }) ||
			slices.ContainsFunc(skipped, func(s source.Skipped) bool { return f.matchesTarget(e, s.Target) })
		if !found {
			out = append(out, manifest.Entry{Target: e.Raw, Reason: source.ReasonNoMatch,
				Detail: "no table in the source matches this ExportOnly entry; check the spelling (names are case-sensitive)"})
		}
	}
	return out
}

// matchesTarget matches a skipped table by its target: database.table
// (schema = database) or database.schema.table.
func (f *Filter) matchesTarget(e Entry, target string) bool {
	p := strings.Split(target, ".")
	switch len(p) {
	case 2:
		return f.matches(e, p[0], p[0], p[1])
	case 3:
		return f.matches(e, p[0], p[1], p[2])
	}
	return false
}

// ErrNoMatchingObjects is wrapped by the failure of a task none of whose
// ExportOnly entries matched anything.
var ErrNoMatchingObjects = errors.New(source.ReasonNoMatch)

// NoMatch is the reason a task whose ExportOnly names objects and none of
// whose entries matched anything fails: an export of nothing is a mistake,
// not a COMPLETE task with 0 rows. It returns "" when some entry matched
// (or the list is empty); partial matches stay warnings (Unmatched).
func (f *Filter) NoMatch(unmatched []manifest.Entry) string {
	if len(f.entries) == 0 || len(unmatched) < len(f.entries) {
		return ""
	}
	names := make([]string, len(f.entries))
	for i, e := range f.entries {
		names[i] = strconv.Quote(e.Raw)
	}
	return fmt.Sprintf("No object in the source matches any ExportOnly entry (%s): %s. Check the spelling (names are case-sensitive) and that the source URL names the right database.",
		source.ReasonNoMatch, strings.Join(names, ", "))
}
