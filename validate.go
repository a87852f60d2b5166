package snapexport

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// MaxExportTaskIdentifierLength is the longest identifier accepted. RDS does
// not document its limit; 60 is what tools written against it assume, and
// it keeps every key and metadata file name well within S3's limits.
const MaxExportTaskIdentifierLength = 60

// MaxExportOnlyBytes is RDS's limit on the whole ExportOnly list.
const MaxExportOnlyBytes = 200 * 1024

const identifierRules = "it must start with an ASCII letter, contain only ASCII letters, digits and hyphens, not end with a hyphen, not contain two consecutive hyphens, and be at most 60 characters long"

func validateIdentifier(id string) error {
	bad := func(why string) error {
		return newError(ErrInvalidParameterValue, nil, "invalid ExportTaskIdentifier %q: %s; %s", id, why, identifierRules)
	}
	switch {
	case id == "":
		return newError(ErrInvalidParameterValue, nil, "ExportTaskIdentifier is required; %s", identifierRules)
	case len(id) > MaxExportTaskIdentifierLength:
		return bad("it is " + itoa(len(id)) + " characters long")
	case !isLetter(id[0]):
		return bad("it does not start with a letter")
	case strings.HasSuffix(id, "-"):
		return bad("it ends with a hyphen")
	case strings.Contains(id, "--"):
		return bad("it contains two consecutive hyphens")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isLetter(c) && !isDigit(c) && c != '-' {
			return bad("character " + quoteRune(id, i) + " is not allowed")
		}
	}
	return nil
}

func validatePrefix(p string) error {
	if strings.Contains(p, ":") {
		return newError(ErrInvalidParameterValue, nil, "invalid S3Prefix %q: a prefix must not contain a colon (:)", p)
	}
	if strings.HasPrefix(p, "/") {
		return newError(ErrInvalidParameterValue, nil, "invalid S3Prefix %q: a prefix is relative to the bucket; remove the leading /", p)
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return newError(ErrInvalidParameterValue, nil, "invalid S3Prefix %q: \".\" and \"..\" path segments are not allowed", p)
		}
	}
	return nil
}

// exportOnlyEntry is one parsed ExportOnly entry: 1 to 3 dot-separated names.
type exportOnlyEntry struct {
	raw   string
	parts []string
}

func parseExportOnly(list []string) ([]exportOnlyEntry, error) {
	total := 0
	out := make([]exportOnlyEntry, 0, len(list))
	for _, raw := range list {
		total += len(raw)
		parts := strings.Split(raw, ".")
		if raw == "" {
			return nil, newError(ErrInvalidExportOnly, nil, "an ExportOnly entry is empty; give database, database.table, database.schema or database.schema.table")
		}
		if len(parts) > 3 {
			return nil, newError(ErrInvalidExportOnly, nil, "ExportOnly entry %q has %d parts; give database, database.table, database.schema or database.schema.table", raw, len(parts))
		}
		for _, p := range parts {
			if p == "" {
				return nil, newError(ErrInvalidExportOnly, nil, "ExportOnly entry %q has an empty name; give database, database.table, database.schema or database.schema.table", raw)
			}
			for i := 0; i < len(p); i++ {
				c := p[i]
				if !isLetter(c) && !isDigit(c) && c != '$' && c != '_' {
					return nil, newError(ErrInvalidExportOnly, nil,
						"ExportOnly entry %q: name %q contains %s; a partial export only takes names made of A-Z, a-z, 0-9, $ and _ (export the whole database instead)", raw, p, quoteRune(p, i))
				}
			}
		}
		out = append(out, exportOnlyEntry{raw: raw, parts: parts})
	}
	if total > MaxExportOnlyBytes {
		return nil, newError(ErrInvalidExportOnly, nil, "ExportOnly is %d bytes long; the limit is %d", total, MaxExportOnlyBytes)
	}
	return out, nil
}

// exportOnlyFilter implements source.Filter for a list of entries, read the
// way the engine reads them: a two-part entry is database.schema on
// PostgreSQL and database.table elsewhere.
type exportOnlyFilter struct {
	schemaLevel bool // the engine has schemas (PostgreSQL, SQLite's "main")
	entries     []exportOnlyEntry
}

func newExportOnlyFilter(engine string, entries []exportOnlyEntry) (*exportOnlyFilter, error) {
	f := &exportOnlyFilter{schemaLevel: engine == typemap.EnginePostgres, entries: entries}
	for _, e := range entries {
		if len(e.parts) == 3 && (engine == typemap.EngineMySQL || engine == typemap.EngineMariaDB) {
			return nil, newError(ErrInvalidExportOnly, nil, "ExportOnly entry %q has three parts, but %s has no schema level: give database or database.table", e.raw, engine)
		}
	}
	return f, nil
}

func (f *exportOnlyFilter) Database(db string) bool {
	if len(f.entries) == 0 {
		return true
	}
	for _, e := range f.entries {
		if e.parts[0] == db {
			return true
		}
	}
	return false
}

func (f *exportOnlyFilter) Table(db, schema, table string) bool {
	if len(f.entries) == 0 {
		return true
	}
	for _, e := range f.entries {
		if f.matches(e, db, schema, table) {
			return true
		}
	}
	return false
}

func (f *exportOnlyFilter) matches(e exportOnlyEntry, db, schema, table string) bool {
	p := e.parts
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

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// quoteRune names the (possibly multi-byte) character starting at byte i.
func quoteRune(s string, i int) string {
	r := []rune(s[i:])
	if len(r) == 0 {
		return "?"
	}
	return "'" + string(r[0]) + "'"
}

// databases lists the databases the entries name, nil for a full export.
func (f *exportOnlyFilter) databases() []string {
	var out []string
	for _, e := range f.entries {
		if !slices.Contains(out, e.parts[0]) {
			out = append(out, e.parts[0])
		}
	}
	return out
}

// unmatched reports the entries that matched no table, listed or skipped,
// so that a typo in ExportOnly is a warning rather than silence.
func (f *exportOnlyFilter) unmatched(tables []source.Table, skipped []source.Skipped) []manifest.Entry {
	var out []manifest.Entry
	for _, e := range f.entries {
		found := false
		for _, t := range tables {
			if f.matches(e, t.Database, t.Schema, t.Name) {
				found = true
				break
			}
		}
		for _, s := range skipped {
			if found {
				break
			}
			p := strings.Split(s.Target, ".")
			switch len(p) {
			case 2: // database.table, schema = database
				found = f.matches(e, p[0], p[0], p[1])
			case 3:
				found = f.matches(e, p[0], p[1], p[2])
			}
		}
		if !found {
			out = append(out, manifest.Entry{Target: e.raw, Reason: source.ReasonNoMatch,
				Detail: "no table in the source matches this ExportOnly entry; check the spelling (names are case-sensitive)"})
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// validateOptions refuses option values that have no meaning. Zero is every
// field's documented default; a negative value is a mistake, and taking the
// default for it would hide the mistake.
func validateOptions(o *TaskOptions) error {
	if o == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    int64
		zero string
	}{
		{"Concurrency", int64(o.Concurrency), "one worker per CPU"},
		{"MemoryLimit", o.MemoryLimit, "DefaultMemoryLimit, 128 MiB"},
		{"RowGroupBytes", o.RowGroupBytes, "derived from MemoryLimit"},
		{"TargetFileBytes", o.TargetFileBytes, "1 GiB"},
		{"TargetPartBytes", o.TargetPartBytes, "512 MiB"},
		{"MaxValueBytes", o.MaxValueBytes, "DefaultMaxValueBytes, 500 MiB"},
		{"HeartbeatInterval", int64(o.HeartbeatInterval), "DefaultHeartbeatInterval, 5s"},
	} {
		if f.v < 0 {
			v := strconv.FormatInt(f.v, 10)
			if f.name == "HeartbeatInterval" {
				v = o.HeartbeatInterval.String()
			}
			return newError(ErrInvalidParameterValue, nil, "TaskOptions.%s %s is negative: give a positive value, or 0 for the default (%s)", f.name, v, f.zero)
		}
	}
	return nil
}

// noMatch fails the task when ExportOnly names objects and none of its
// entries matched anything: an export of nothing is a mistake, not a
// COMPLETE task with 0 rows. Partial matches stay warnings (unmatched).
func (f *exportOnlyFilter) noMatch(unmatched []manifest.Entry) error {
	if len(f.entries) == 0 || len(unmatched) < len(f.entries) {
		return nil
	}
	names := make([]string, len(f.entries))
	for i, e := range f.entries {
		names[i] = strconv.Quote(e.raw)
	}
	return &taskFailure{fault: ErrInvalidExportOnly, err: errNoMatchingObjects, cause: fmt.Sprintf(
		"No object in the source matches any ExportOnly entry (%s): %s. Check the spelling (names are case-sensitive) and that the source URL names the right database.",
		source.ReasonNoMatch, strings.Join(names, ", "))}
}

var errNoMatchingObjects = errors.New(source.ReasonNoMatch)

// ReasonUnusedTypeOverride is the warning reason of a type override that
// matches no column of the task.
const ReasonUnusedTypeOverride = "UNUSED_TYPE_OVERRIDE"

// unusedOverrides reports the type overrides of the task's mapper that match
// no column of the listed tables: a typo in a column or type name would
// otherwise export with the default mapping and say nothing. With
// TaskOptions.Strict they fail the task instead.
func unusedOverrides(m typemap.Mapper, tables []source.Table, strict bool) ([]manifest.Entry, error) {
	o, ok := typemap.OverridesOf(m)
	if !ok {
		return nil, nil
	}
	var out []manifest.Entry
	for _, key := range slices.Sorted(maps.Keys(o.ByColumn)) {
		used := slices.ContainsFunc(tables, func(t source.Table) bool {
			return slices.ContainsFunc(t.Columns, func(c source.Column) bool {
				return strings.EqualFold(key, t.Database+"."+t.Schema+"."+t.Name+"."+c.Name)
			})
		})
		if !used {
			out = append(out, manifest.Entry{Target: key, Reason: ReasonUnusedTypeOverride,
				Detail: "no column of the exported tables is named by this type override; give database.schema.table.column (MySQL: database.database.table.column), names as the source spells them"})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(o.ByType)) {
		used := slices.ContainsFunc(tables, func(t source.Table) bool {
			return slices.ContainsFunc(t.Columns, func(c source.Column) bool {
				return strings.EqualFold(key, c.DataType) || strings.EqualFold(key, c.ColumnType)
			})
		})
		if !used {
			out = append(out, manifest.Entry{Target: key, Reason: ReasonUnusedTypeOverride,
				Detail: "no column of the exported tables has this type; give the type name as the source's catalog spells it"})
		}
	}
	if strict && len(out) > 0 {
		keys := make([]string, len(out))
		for i, e := range out {
			keys[i] = strconv.Quote(e.Target)
		}
		return out, &taskFailure{fault: ErrInvalidParameterValue, err: errors.New(ReasonUnusedTypeOverride), cause: fmt.Sprintf(
			"Type overrides match no column of the exported tables (%s, refused because of TaskOptions.Strict): %s.", ReasonUnusedTypeOverride, strings.Join(keys, ", "))}
	}
	return out, nil
}

// scanChecker is implemented by snapshots that can tell, before any row is
// read, whether Scan converts each column to its target (pgsource and
// mysqlsource do: CheckScan).
type scanChecker interface {
	CheckScan(req source.ScanRequest) error
}

// checkConversions refuses a table whose columns the source cannot convert
// to their targets (an override the column's type cannot become), when the
// task is planned rather than when the table's scan starts.
func checkConversions(snap source.Snapshot, t source.Table, cols []source.ScanColumn) error {
	c, ok := snap.(scanChecker)
	if !ok {
		return nil
	}
	if err := c.CheckScan(source.ScanRequest{Table: t, Columns: cols}); err != nil {
		return &taskFailure{fault: ErrInvalidParameterValue, err: err, cause: fmt.Sprintf(
			"A column of %s cannot be exported as the type mapping asks: %v. Change or remove the type override.", t.Target(), err)}
	}
	return nil
}
