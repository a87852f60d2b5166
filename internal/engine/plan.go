package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// planTables applies the skip rules, maps every column, plans the parts
// (or takes a resumed table's recorded plan) and gives every table its
// folder.
func (r *Run) planTables(ctx context.Context, tables []source.Table) error {
	for _, t := range tables {
		if reason, detail := skipReason(t); reason != "" {
			r.warnings.SkippedTables = append(r.warnings.SkippedTables, manifest.Entry{Target: t.Target(), Reason: reason, Detail: detail})
			continue
		}
		tr, err := r.mapTable(t)
		if err != nil {
			return err
		}
		if tr == nil {
			continue
		}
		prev, resumed := r.resumeParts(t)
		if resumed && len(prev) > 0 {
			tr.parts = resumedParts(prev) // the kept parts and the new ones must tile the table
		} else if tr.parts, err = plan.Table(ctx, r.snap, t, plan.Options{Workers: r.job.Options.Concurrency, TargetPartBytes: r.job.Options.TargetPartBytes}); err != nil {
			return planFailure(t.Target(), err)
		}
		tr.partState = make([]partState, len(tr.parts))
		if resumed {
			r.keepFinished(tr, prev)
		}
		r.estimate += max(t.EstimatedRows, 0)
		r.tables = append(r.tables, tr)
	}
	r.assignFolders()
	return nil
}

// mapTable maps every column of t to its Parquet target; nil when no
// column can be exported (the table is skipped with a warning).
func (r *Run) mapTable(t source.Table) (*tableRun, error) {
	tr := &tableRun{table: t, state: StateInProgress}
	var omitted []string
	for _, c := range t.Columns {
		target, err := r.job.Options.TypeMapper.Map(r.job.Source.Engine(), t.Database+"."+t.Schema+"."+t.Name, c)
		if err != nil {
			return nil, mappingFailure(c, t.Target(), err)
		}
		tr.mappings = append(tr.mappings, manifest.TypeMapping{
			ColumnName: c.Name, OriginalType: c.DataType, ExpectedExportedType: target.ExpectedExportedType(),
			OriginalCharMaxLength: c.Length, OriginalNumPrecision: c.Precision, OriginalDateTimePrecision: c.DateTimePrecision,
		})
		if target.Kind == typemap.Omit {
			omitted = append(omitted, fmt.Sprintf("%s (%s)", c.Name, c.DataType))
			continue
		}
		tr.cols = append(tr.cols, source.ScanColumn{Column: c, Target: target})
	}
	if len(omitted) > 0 {
		r.warnings.General = append(r.warnings.General, manifest.Entry{Target: t.Target(), Reason: source.ReasonOmittedColumns,
			Detail: "columns left out of the files (object identifiers have no Parquet mapping): " + strings.Join(omitted, ", ")})
	}
	if err := checkConversions(r.snap, t, tr.cols); err != nil {
		return nil, err
	}
	if len(tr.cols) == 0 {
		r.warnings.SkippedTables = append(r.warnings.SkippedTables, manifest.Entry{Target: t.Target(), Reason: source.ReasonOmittedColumns,
			Detail: "no column of the table can be exported"})
		return nil, nil
	}
	return tr, nil
}

func (r *Run) resumeParts(t source.Table) ([]manifest.Part, bool) {
	if r.job.Resume == nil {
		return nil, false
	}
	prev, ok := r.job.Resume.Parts[layout.TableKey(t)]
	return prev, ok
}

// assignFolders gives every table a folder of its own, whatever sanitising
// makes of its name; a resumed table keeps the folder its files are in.
func (r *Run) assignFolders() {
	recorded := map[string]string{}
	if r.job.Resume != nil {
		for key, parts := range r.job.Resume.Parts {
			for _, p := range parts {
				for _, f := range p.Files {
					recorded[key] = path.Dir(path.Dir(f))
				}
			}
		}
	}
	list := make([]source.Table, len(r.tables))
	for i, tr := range r.tables {
		list[i] = tr.table
	}
	dirs, clashes := r.job.Layout.TableFolders(list, recorded)
	for i, tr := range r.tables {
		tr.dir = dirs[i]
	}
	r.warnings.General = append(r.warnings.General, clashes...)
}

// unsupportedColumnChars are the characters that make RDS skip a table when a
// column name holds one (reference §5.6).
const unsupportedColumnChars = ",;{}()\n\t= "

func skipReason(t source.Table) (reason, detail string) {
	if strings.Contains(t.Name, "/") {
		return source.ReasonUnsupportedTableName, fmt.Sprintf("table name %q contains '/'", t.Name)
	}
	if strings.IndexFunc(t.Name, unicode.IsControl) >= 0 { // a newline would become a raw newline in an object key
		return source.ReasonUnsupportedTableName, fmt.Sprintf("table name %q contains a control character (newline, tab...); rename the table", t.Name)
	}
	for _, c := range t.Columns {
		if i := strings.IndexAny(c.Name, unsupportedColumnChars); i >= 0 {
			return source.ReasonUnsupportedColumnName, fmt.Sprintf("column name %q contains %q; names with any of , ; { } ( ) = space tab or newline are not exported (rename the column)", c.Name, c.Name[i:i+1])
		}
	}
	return "", ""
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
		return conversionFailure(t.Target(), err)
	}
	return nil
}

// ReasonUnusedTypeOverride is the warning reason of a type override that
// matches no column of the task.
const ReasonUnusedTypeOverride = "UNUSED_TYPE_OVERRIDE"

// unusedOverrides reports the type overrides of the task's mapper that match
// no column of the listed tables: a typo in a column or type name would
// otherwise export with the default mapping and say nothing. With
// Options.Strict they fail the task instead.
func unusedOverrides(m typemap.Mapper, tables []source.Table, strict bool) ([]manifest.Entry, error) {
	o, ok := typemap.OverridesOf(m)
	if !ok {
		return nil, nil
	}
	anyColumn := func(match func(t source.Table, c source.Column) bool) bool {
		return slices.ContainsFunc(tables, func(t source.Table) bool {
			return slices.ContainsFunc(t.Columns, func(c source.Column) bool { return match(t, c) })
		})
	}
	var out []manifest.Entry
	for _, key := range slices.Sorted(maps.Keys(o.ByColumn)) {
		if !anyColumn(func(t source.Table, c source.Column) bool {
			return strings.EqualFold(key, t.Database+"."+t.Schema+"."+t.Name+"."+c.Name)
		}) {
			out = append(out, manifest.Entry{Target: key, Reason: ReasonUnusedTypeOverride,
				Detail: "no column of the exported tables is named by this type override; give database.schema.table.column (MySQL: database.database.table.column), names as the source spells them"})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(o.ByType)) {
		if !anyColumn(func(_ source.Table, c source.Column) bool {
			return strings.EqualFold(key, c.DataType) || strings.EqualFold(key, c.ColumnType)
		}) {
			out = append(out, manifest.Entry{Target: key, Reason: ReasonUnusedTypeOverride,
				Detail: "no column of the exported tables has this type; give the type name as the source's catalog spells it"})
		}
	}
	if strict && len(out) > 0 {
		keys := make([]string, len(out))
		for i, e := range out {
			keys[i] = strconv.Quote(e.Target)
		}
		return out, failure(fault.InvalidParameterValue, errors.New(ReasonUnusedTypeOverride),
			"Type overrides match no column of the exported tables (%s, refused because of TaskOptions.Strict): %s.", ReasonUnusedTypeOverride, strings.Join(keys, ", "))
	}
	return out, nil
}
