package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"go.uber.org/goleak"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Identity: the engine is one of the profile keys, and two sources on the
// same database share an identity (the exporter serializes tasks by it).
func testIdentity(f *fixture) {
	switch e := f.src.Engine(); e {
	case typemap.EnginePostgres, typemap.EngineMySQL, typemap.EngineMariaDB, typemap.EngineSQLite:
	default:
		f.t.Errorf("Engine() = %q, want a typemap engine name", e)
	}
	id := f.src.Identity()
	if id == "" {
		f.t.Fatal("Identity() is empty")
	}
	other, err := f.h.Open(f.ctx)
	if err != nil {
		f.t.Fatalf("second Open: %v", err)
	}
	defer other.Close()
	if got := other.Identity(); got != id {
		f.t.Errorf("two sources on one database have identities %q and %q", id, got)
	}
}

// kinds is a table with a column of every portable kind and a row of
// extremes, one of ordinary values and one of NULLs.
type kinds struct {
	name    string
	columns []string // column names, in declared order
	targets []typemap.Kind
	rows    [][]any // Go values as the scan must return them, id first
}

func (f *fixture) makeKinds(base string) kinds {
	f.t.Helper()
	k := kinds{
		name:    f.name(base),
		columns: []string{"id", "i32", "i64", "d", "s"},
		targets: []typemap.Kind{typemap.Int64, typemap.Int32, typemap.Int64, typemap.Double, typemap.String},
		rows: [][]any{
			{int64(1), int32(0), int64(0), 0.5, "", []byte{}},
			{int64(2), int32(math.MinInt32), int64(math.MinInt64), -1.25, "it's", []byte{0x00, 0xff}},
			{int64(3), int32(math.MaxInt32), int64(math.MaxInt64), 1.5e300, "héllo, 世界", []byte("\xde\xad\xbe\xef")},
			{int64(4), nil, nil, nil, nil, nil},
		},
	}
	defs := []string{"id BIGINT NOT NULL PRIMARY KEY", "i32 INTEGER", "i64 BIGINT", "d DOUBLE PRECISION", "s VARCHAR(100)"}
	bh, binary := f.h.(BinaryHarness)
	if binary {
		k.columns = append(k.columns, "b")
		k.targets = append(k.targets, typemap.Binary)
		defs = append(defs, "b "+bh.BinaryType())
	} else {
		for i := range k.rows {
			k.rows[i] = k.rows[i][:5]
		}
	}
	f.createTable(k.name, defs...)
	lits := make([][]string, len(k.rows))
	for i, r := range k.rows {
		for _, v := range r {
			lits[i] = append(lits[i], f.literal(v))
		}
	}
	f.insert(k.name, k.columns, lits...)
	return k
}

// literal is the portable SQL literal of a Go value.
func (f *fixture) literal(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case []byte:
		return f.h.(BinaryHarness).BinaryLiteral(v)
	}
	panic(fmt.Sprintf("sourcetest: no literal for %T", v))
}

func (k kinds) request(f *fixture, tb source.Table, columns ...string) source.ScanRequest {
	req := source.ScanRequest{Table: tb}
	for _, c := range columns {
		i := slices.Index(k.columns, c)
		req.Columns = append(req.Columns, f.column(tb, c, k.targets[i]))
	}
	return req
}

// checkRows compares scanned rows with want, in any order.
func (f *fixture) checkRows(what string, got [][]parquet.Value, want [][]any) {
	f.t.Helper()
	if err := compareRows(got, want); err != nil {
		f.t.Errorf("%s: %v", what, err)
	}
}

// compareRows matches rows as a multiset: scans promise no order.
func compareRows(got [][]parquet.Value, want [][]any) error {
	if len(got) != len(want) {
		return fmt.Errorf("got %d rows, want %d: %v", len(got), len(want), got)
	}
	used := make([]bool, len(got))
next:
	for _, w := range want {
		var firstErr error
		for i, g := range got {
			if used[i] {
				continue
			}
			err := compareRow(g, w)
			if err == nil {
				used[i] = true
				continue next
			}
			if firstErr == nil || checkValue(g[0], w[0]) == nil {
				firstErr = err // prefer the row with the same first value
			}
		}
		return fmt.Errorf("no row matches %v: %v", w, firstErr)
	}
	return nil
}

func compareRow(got []parquet.Value, want []any) error {
	if len(got) != len(want) {
		return fmt.Errorf("row has %d values, want %d", len(got), len(want))
	}
	for j := range want {
		if err := checkValue(got[j], want[j]); err != nil {
			return fmt.Errorf("value %d: %v", j, err)
		}
	}
	return nil
}

// Describe: Tables honours the filter, lists no views, reports columns in
// declared order, and asks Filter.Database before reading the database.
func testDescribe(f *fixture) {
	k := f.makeKinds("kinds")
	other := f.name("other")
	f.createTable(other, "z INTEGER", "name VARCHAR(10) NOT NULL", "a BIGINT")
	excluded := f.name("excluded")
	f.createTable(excluded, "x INTEGER")
	view := f.name("view")
	f.t.Cleanup(func() {
		if err := f.h.Exec(context.Background(), "DROP VIEW IF EXISTS "+f.q(view)); err != nil {
			f.t.Errorf("dropping view: %v", err)
		}
	})
	f.exec("CREATE VIEW " + f.q(view) + " AS SELECT " + f.q("id") + " FROM " + f.q(k.name))

	snap := f.snapshot(source.SnapshotOptions{})

	// A filter admitting two tables (and, if asked, the view).
	filter := newRecordingFilter(f.h.Database(), k.name, other, view)
	tables, skipped, err := snap.Tables(f.ctx, filter)
	if err != nil {
		f.t.Fatalf("Tables: %v", err)
	}
	var mine []source.Table
	for _, tb := range tables {
		if strings.HasPrefix(tb.Name, f.prefix) {
			mine = append(mine, tb)
		}
	}
	names := tableNames(mine)
	want := []string{
		f.h.Database() + "." + f.h.Schema() + "." + k.name,
		f.h.Database() + "." + f.h.Schema() + "." + other,
	}
	if !sameSet(names, want) {
		f.t.Errorf("Tables listed %v, want exactly %v (no view, no excluded table)", names, want)
	}
	for _, s := range skipped {
		if strings.Contains(s.Target, f.prefix) {
			f.t.Errorf("Tables skipped %s (%s): views are not listed at all, excluded tables are not mentioned", s.Target, s.Reason)
		}
	}
	calls := filter.recorded()
	for _, tb := range tables {
		if tb.Database != f.h.Database() || !filter.tables[tb.Name] {
			f.t.Errorf("Tables listed %s, which the filter refused", tb.Target())
		}
	}
	firstDB := slices.Index(calls, "db:"+f.h.Database())
	if firstDB < 0 {
		f.t.Errorf("Filter.Database(%q) was never called (calls %v)", f.h.Database(), calls)
	}
	for i, c := range calls {
		if strings.HasPrefix(c, "table:"+f.h.Database()+".") && i < firstDB {
			f.t.Errorf("Filter.Table was called (%s) before Filter.Database(%q)", c, f.h.Database())
		}
	}
	for _, tb := range mine {
		if tb.Database != f.h.Database() || tb.Schema != f.h.Schema() {
			f.t.Errorf("table %s: Database %q Schema %q, want %q %q", tb.Name, tb.Database, tb.Schema, f.h.Database(), f.h.Schema())
		}
		switch tb.Name {
		case k.name:
			if got := columnNames(tb); !slices.Equal(got, k.columns) {
				f.t.Errorf("%s columns %v, want %v in declared order", tb.Name, got, k.columns)
			}
			if c := tb.Columns[0]; c.Nullable {
				f.t.Errorf("%s.id is NOT NULL PRIMARY KEY but Nullable", tb.Name)
			}
			if c := tb.Columns[1]; !c.Nullable {
				f.t.Errorf("%s.i32 is nullable but reported NOT NULL", tb.Name)
			}
		case other:
			if got := columnNames(tb); !slices.Equal(got, []string{"z", "name", "a"}) {
				f.t.Errorf("%s columns %v, want [z name a] in declared order", tb.Name, got)
			}
			if tb.Columns[1].Nullable {
				f.t.Errorf("%s.name is NOT NULL but Nullable", tb.Name)
			}
		}
		for _, c := range tb.Columns {
			if c.DataType == "" && c.ColumnType == "" {
				f.t.Errorf("%s.%s has no DataType nor ColumnType", tb.Name, c.Name)
			}
		}
	}

	// The order is stable.
	again, _, err := snap.Tables(f.ctx, newRecordingFilter(f.h.Database(), k.name, other, view))
	if err != nil {
		f.t.Fatalf("Tables again: %v", err)
	}
	if a, b := tableNames(tables), tableNames(again); !slices.Equal(a, b) {
		f.t.Errorf("Tables order is not stable: %v then %v", a, b)
	}

	// A filter refusing every database: nothing of it is described.
	refuse := newRecordingFilter(f.h.Database())
	refuse.refuseDB = true
	tables, _, err = snap.Tables(f.ctx, refuse)
	if err != nil {
		f.t.Fatalf("Tables with a refusing filter: %v", err)
	}
	if len(tables) != 0 {
		f.t.Errorf("Tables listed %v although the filter refused every database", tableNames(tables))
	}
	calls = refuse.recorded()
	if !slices.Contains(calls, "db:"+f.h.Database()) {
		f.t.Errorf("Filter.Database(%q) was never called (calls %v)", f.h.Database(), calls)
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "table:") {
			f.t.Errorf("Filter.Table was called (%s) for a refused database", c)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// FullScan: every kind's values, extremes and NULLs come back right.
func testFullScan(f *fixture) {
	k := f.makeKinds("kinds")
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, k.name)[k.name]
	got := f.mustScan(snap, k.request(f, tb, k.columns...))
	f.checkRows("full scan", got, k.rows)
}

// Projection: a subset of the columns, in another order than declared.
func testProjection(f *fixture) {
	k := f.makeKinds("kinds")
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, k.name)[k.name]
	pick := func(cols ...int) [][]any {
		out := make([][]any, len(k.rows))
		for i, r := range k.rows {
			for _, c := range cols {
				out[i] = append(out[i], r[c])
			}
		}
		return out
	}
	// id first so rows sort; s and d swapped relative to the table.
	f.checkRows("columns id, s, d", f.mustScan(snap, k.request(f, tb, "id", "s", "d")), pick(0, 4, 3))
	f.checkRows("columns i64, id", f.mustScan(snap, k.request(f, tb, "i64", "id")), pick(2, 0))
	f.checkRows("column id", f.mustScan(snap, k.request(f, tb, "id")), pick(0))
}

// EmptyTable: Next is false at once, Err is nil.
func testEmptyTable(f *fixture) {
	name := f.name("empty")
	f.createTable(name, "id BIGINT NOT NULL PRIMARY KEY", "s VARCHAR(10)")
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, name)[name]
	rows, err := snap.Scan(f.ctx, source.ScanRequest{Table: tb, Columns: []source.ScanColumn{
		f.column(tb, "id", typemap.Int64), f.column(tb, "s", typemap.String),
	}})
	if err != nil {
		f.t.Fatalf("Scan: %v", err)
	}
	if rows.Next() {
		f.t.Errorf("Next on an empty table returned true")
	}
	if err := rows.Err(); err != nil {
		f.t.Errorf("Err after an empty table: %v", err)
	}
	if err := rows.Close(); err != nil {
		f.t.Errorf("Close: %v", err)
	}
}

// MixedCaseIdentifiers: names are used exactly as the catalog spells them,
// quoted, in describe, projection and key ranges.
func testMixedCase(f *fixture) {
	name := f.name("MixedCase")
	f.createTable(name, "Id BIGINT NOT NULL PRIMARY KEY", "Col-1 VARCHAR(20)", "camelCol INTEGER")
	f.insert(name, []string{"Id", "Col-1", "camelCol"}, []string{"1", "'one'", "10"}, []string{"2", "NULL", "20"}, []string{"3", "'three'", "NULL"})
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, name)[name]
	if got := columnNames(tb); !slices.Equal(got, []string{"Id", "Col-1", "camelCol"}) {
		f.t.Errorf("columns %v, want [Id Col-1 camelCol]", got)
	}
	req := source.ScanRequest{Table: tb, Columns: []source.ScanColumn{
		f.column(tb, "Id", typemap.Int64), f.column(tb, "camelCol", typemap.Int32), f.column(tb, "Col-1", typemap.String),
	}}
	want := [][]any{{int64(1), int32(10), "one"}, {int64(2), int32(20), nil}, {int64(3), nil, "three"}}
	f.checkRows("mixed-case scan", f.mustScan(snap, req), want)
	if tb.Key == nil || tb.Key.Column != "Id" {
		f.t.Fatalf("Key = %+v, want the integer primary key \"Id\"", tb.Key)
	}
	lo := int64(2)
	req.Range = &source.KeyRange{Column: "Id", Lower: &lo}
	f.checkRows("mixed-case range [2,∞)", f.mustScan(snap, req), want[1:])
}

// KeyRanges: an integer primary key is reported as Table.Key, and plans of
// ranges read every row exactly once, each inside its range's bounds.
func testKeyRanges(f *fixture) {
	name := f.name("keyed")
	f.createTable(name, "id BIGINT NOT NULL PRIMARY KEY", "v BIGINT")
	ids := []int64{math.MinInt64, math.MinInt64 + 1, -1000, -501, -500, -499, -1, 0, 1, 99, 100, 101, 5000, math.MaxInt64 - 1, math.MaxInt64}
	var lits [][]string
	for i, id := range ids {
		v := "NULL" // every third row has a NULL v
		if i%3 != 0 {
			v = strconv.FormatInt(id/2, 10)
		}
		lits = append(lits, []string{strconv.FormatInt(id, 10), v})
	}
	f.insert(name, []string{"id", "v"}, lits...)

	snap := f.snapshot(source.SnapshotOptions{Workers: 2})
	tb := f.tables(snap, name)[name]
	if tb.Key == nil {
		f.t.Fatalf("Table.Key is nil for a BIGINT PRIMARY KEY")
	}
	if tb.Key.Column != "id" || !tb.Key.Integer {
		f.t.Errorf("Table.Key = %+v, want column id, Integer", *tb.Key)
	}
	if tb.Key.Min != nil && tb.Key.Max != nil && *tb.Key.Min > *tb.Key.Max {
		f.t.Errorf("Table.Key.Min %d > Max %d", *tb.Key.Min, *tb.Key.Max)
	}

	p := func(v int64) *int64 { return &v }
	plans := map[string][]source.KeyRange{
		"whole": {{IncludeNull: true}},
		"middle": {
			{Upper: p(-500), IncludeNull: true},
			{Lower: p(-500), Upper: p(0)},
			{Lower: p(0), Upper: p(100)},
			{Lower: p(100)},
		},
		"extremes": {
			{Upper: p(math.MinInt64 + 1), IncludeNull: true},
			{Lower: p(math.MinInt64 + 1), Upper: p(math.MaxInt64)},
			{Lower: p(math.MaxInt64)},
		},
		"empty first range": {
			{Upper: p(math.MinInt64), IncludeNull: true},
			{Lower: p(math.MinInt64), Upper: p(1)},
			{Lower: p(1), Upper: p(2)},
			{Lower: p(2)},
		},
	}
	for _, column := range []string{"id", "v"} {
		want := ids // every plan covers the whole table
		for planName, plan := range plans {
			seen := map[int64]int{}
			for _, r := range plan {
				r.Column = column
				req := source.ScanRequest{Table: tb, Range: &r, Columns: []source.ScanColumn{
					f.column(tb, "id", typemap.Int64), f.column(tb, "v", typemap.Int64),
				}}
				rows, err := f.scan(snap, req)
				if err != nil {
					f.t.Fatalf("column %s plan %q range %s: %v", column, planName, rangeString(r), err)
				}
				for _, row := range rows {
					id := row[0].Int64()
					seen[id]++
					key := row[0]
					if column == "v" {
						key = row[1]
					}
					if !inRange(key, r) {
						f.t.Errorf("column %s plan %q: row id %d (key %v) is outside range %s", column, planName, id, key, rangeString(r))
					}
				}
			}
			for _, id := range want {
				switch seen[id] {
				case 1:
				case 0:
					f.t.Errorf("column %s plan %q: row id %d was not read by any range", column, planName, id)
				default:
					f.t.Errorf("column %s plan %q: row id %d was read %d times", column, planName, id, seen[id])
				}
			}
			if len(seen) != len(want) {
				f.t.Errorf("column %s plan %q: read %d distinct ids, the table has %d", column, planName, len(seen), len(want))
			}
		}
	}
}

func inRange(key parquet.Value, r source.KeyRange) bool {
	if key.IsNull() {
		return r.IncludeNull
	}
	k := key.Int64()
	return (r.Lower == nil || k >= *r.Lower) && (r.Upper == nil || k < *r.Upper)
}

func rangeString(r source.KeyRange) string {
	b := func(p *int64, inf string) string {
		if p == nil {
			return inf
		}
		return strconv.FormatInt(*p, 10)
	}
	s := "[" + b(r.Lower, "-∞") + ", " + b(r.Upper, "+∞") + ")"
	if r.IncludeNull {
		s += " + NULL"
	}
	return s
}

// makeBig creates a table of 10,000 rows of about 1 kB (10 MB), larger than
// any driver's read-ahead, so a scan cancelled after a few rows is mid-table.
func (f *fixture) makeBig() string {
	digits := f.name("digits")
	f.createTable(digits, "n INTEGER")
	f.insert(digits, []string{"n"}, [][]string{{"0"}, {"1"}, {"2"}, {"3"}, {"4"}, {"5"}, {"6"}, {"7"}, {"8"}, {"9"}}...)
	big := f.name("big")
	f.createTable(big, "id BIGINT NOT NULL PRIMARY KEY", "s VARCHAR(1000)")
	n := f.q("n")
	pad := strings.Repeat("0123456789", 100)
	f.exec("INSERT INTO " + f.q(big) + " (" + f.q("id") + ", " + f.q("s") + ") SELECT " +
		"a." + n + " + 10*b." + n + " + 100*c." + n + " + 1000*e." + n + ", '" + pad + "' FROM " +
		f.q(digits) + " a, " + f.q(digits) + " b, " + f.q(digits) + " c, " + f.q(digits) + " e")
	return big
}

// Cancel: cancelling the scan's ctx makes Next return false within 2 s, Err
// wraps context.Canceled, and no goroutine outlives Close.
func testCancel(f *fixture) {
	big := f.makeBig()
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, big)[big]
	req := source.ScanRequest{Table: tb, Columns: []source.ScanColumn{f.column(tb, "id", typemap.Int64), f.column(tb, "s", typemap.String)}}

	// A first scan warms up whatever the driver creates once per snapshot.
	warm := req
	one := int64(1)
	warm.Range = &source.KeyRange{Column: "id", Upper: &one}
	f.mustScan(snap, warm)

	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	rows, err := snap.Scan(ctx, req)
	if err != nil {
		f.t.Fatalf("Scan: %v", err)
	}
	for i := 0; i < 10; i++ {
		if !rows.Next() {
			f.t.Fatalf("scan of 10000 rows ended after %d: %v", i, rows.Err())
		}
	}
	cancel()
	start := time.Now()
	after := 0
	for rows.Next() {
		after++
		if time.Since(start) > 2*time.Second {
			f.t.Errorf("Next still returns rows 2 s after cancel (%d rows since)", after)
			break
		}
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) {
		f.t.Errorf("Err after cancel = %v, want it to wrap context.Canceled (%d rows read after cancel)", err, after)
	}
	if err := rows.Close(); err != nil && !errors.Is(err, context.Canceled) {
		f.t.Errorf("Close after cancel: %v", err)
	}
	if err := goleak.Find(ignore); err != nil {
		f.t.Errorf("goroutines left after a cancelled scan was closed: %v", err)
	}

	// The snapshot is still usable after one of its scans was cancelled.
	got := f.mustScan(snap, warm)
	if len(got) != 1 {
		f.t.Errorf("scan after a cancelled scan read %d rows, want 1", len(got))
	}
}

// SnapshotIsolation: writes committed after Snapshot returns are invisible to
// every scan of the snapshot, however many run at once and whenever they
// start.
func testSnapshotIsolation(f *fixture) {
	name := f.name("iso")
	f.createTable(name, "id BIGINT NOT NULL PRIMARY KEY", "v VARCHAR(20)")
	var lits [][]string
	var want [][]any
	for i := int64(1); i <= 20; i++ {
		lits = append(lits, []string{strconv.FormatInt(i, 10), "'orig'"})
		want = append(want, []any{i, "orig"})
	}
	f.insert(name, []string{"id", "v"}, lits...)

	snap := f.snapshot(source.SnapshotOptions{Workers: 4})
	tb := f.tables(snap, name)[name]
	req := source.ScanRequest{Table: tb, Columns: []source.ScanColumn{f.column(tb, "id", typemap.Int64), f.column(tb, "v", typemap.String)}}

	// A scan opened before the writes and read after them.
	early, err := snap.Scan(f.ctx, req)
	if err != nil {
		f.t.Fatalf("Scan: %v", err)
	}
	f.t.Cleanup(func() { early.Close() })
	var earlyRows [][]parquet.Value
	readOne := func() bool {
		if !early.Next() {
			return false
		}
		vals, err := early.Row(nil)
		if err != nil {
			f.t.Fatalf("Row: %v", err)
		}
		earlyRows = append(earlyRows, []parquet.Value{vals[0].Clone(), vals[1].Clone()})
		return true
	}
	if !readOne() {
		f.t.Fatalf("early scan is empty: %v", early.Err())
	}

	q, id, v := f.q(name), f.q("id"), f.q("v")
	f.exec("INSERT INTO " + q + " (" + id + ", " + v + ") VALUES (21, 'new'), (0, 'new')")
	f.exec("UPDATE " + q + " SET " + v + " = 'changed' WHERE " + id + " IN (1, 2, 10, 20)")
	f.exec("DELETE FROM " + q + " WHERE " + id + " IN (3, 11, 19)")

	// The writes happened: a new snapshot sees them.
	after := f.snapshot(source.SnapshotOptions{})
	afterTb := f.tables(after, name)[name]
	afterReq := req
	afterReq.Table = afterTb
	if got := f.mustScan(after, afterReq); len(got) != 19 {
		f.t.Fatalf("a snapshot taken after the writes reads %d rows, want 19: the writes did not happen", len(got))
	}

	// Several scans started after the writes, at once: whole table, and a
	// plan of ranges.
	p := func(v int64) *int64 { return &v }
	reqs := []source.ScanRequest{req, req, req}
	for _, r := range []source.KeyRange{{Column: "id", Upper: p(8), IncludeNull: true}, {Column: "id", Lower: p(8), Upper: p(15)}, {Column: "id", Lower: p(15)}} {
		rr := req
		rr.Range = &r
		reqs = append(reqs, rr)
	}
	results := make([][][]parquet.Value, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { results[i], errs[i] = ReadAll(f.ctx, snap, r) })
	}
	wg.Wait()
	var ranged [][]parquet.Value
	for i := range reqs {
		if errs[i] != nil {
			f.t.Fatalf("concurrent scan %d: %v", i, errs[i])
		}
		if reqs[i].Range == nil {
			f.checkRows(fmt.Sprintf("concurrent full scan %d after writes", i), results[i], want)
		} else {
			ranged = append(ranged, results[i]...)
		}
	}
	f.checkRows("concurrent range scans after writes", ranged, want)

	for readOne() {
	}
	if err := early.Err(); err != nil {
		f.t.Fatalf("early scan: %v", err)
	}
	f.checkRows("scan opened before the writes", earlyRows, want)
}

// MaxValueBytes: a value of the limit's size fails the scan with a
// *source.ValueTooLargeError naming the column; smaller values pass.
func testMaxValueBytes(f *fixture) {
	name := f.name("large")
	f.createTable(name, "id BIGINT NOT NULL PRIMARY KEY", "s VARCHAR(2000)")
	f.insert(name, []string{"id", "s"},
		[]string{"1", "'" + strings.Repeat("x", 999) + "'"},
		[]string{"2", "'" + strings.Repeat("y", 1000) + "'"})
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, name)[name]
	req := source.ScanRequest{Table: tb, MaxValueBytes: 1000, Columns: []source.ScanColumn{
		f.column(tb, "id", typemap.Int64), f.column(tb, "s", typemap.String),
	}}
	two := int64(2)
	small := req
	small.Range = &source.KeyRange{Column: "id", Upper: &two}
	if got := f.mustScan(snap, small); len(got) != 1 {
		f.t.Errorf("scan of the 999-byte row read %d rows, want 1", len(got))
	}

	_, err := f.scan(snap, req)
	var tooLarge *source.ValueTooLargeError
	if !errors.As(err, &tooLarge) {
		f.t.Fatalf("scan with a 1000-byte value and MaxValueBytes 1000: err = %v, want a *source.ValueTooLargeError", err)
	}
	if tooLarge.Column != "s" || tooLarge.Table != name || tooLarge.Limit != 1000 || tooLarge.Size < 1000 {
		f.t.Errorf("ValueTooLargeError = %+v, want column s of %s, limit 1000, size ≥ 1000", *tooLarge, name)
	}

	unlimited := req
	unlimited.MaxValueBytes = 0
	if got := f.mustScan(snap, unlimited); len(got) != 2 {
		f.t.Errorf("scan without a limit read %d rows, want 2", len(got))
	}
}

// RowsCloseTwice: Close is safe to call twice, before or after the end.
func testRowsCloseTwice(f *fixture) {
	k := f.makeKinds("kinds")
	snap := f.snapshot(source.SnapshotOptions{})
	tb := f.tables(snap, k.name)[k.name]
	req := k.request(f, tb, k.columns...)

	rows, err := snap.Scan(f.ctx, req)
	if err != nil {
		f.t.Fatalf("Scan: %v", err)
	}
	if !rows.Next() {
		f.t.Fatalf("Next: %v", rows.Err())
	}
	if err := rows.Close(); err != nil {
		f.t.Errorf("first Close mid-scan: %v", err)
	}
	if err := rows.Close(); err != nil {
		f.t.Errorf("second Close mid-scan: %v", err)
	}
	if rows.Next() {
		f.t.Errorf("Next after Close returned true")
	}

	rows, err = snap.Scan(f.ctx, req)
	if err != nil {
		f.t.Fatalf("Scan: %v", err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil || n != len(k.rows) {
		f.t.Errorf("read %d rows, err %v; want %d, nil", n, err, len(k.rows))
	}
	if err := rows.Close(); err != nil {
		f.t.Errorf("first Close at the end: %v", err)
	}
	if err := rows.Close(); err != nil {
		f.t.Errorf("second Close at the end: %v", err)
	}

	// The snapshot still scans after both.
	f.checkRows("scan after closed scans", f.mustScan(snap, req), k.rows)
}

// SnapshotInfo: a snapshot says when it was taken.
func testSnapshotInfo(f *fixture) {
	snap := f.snapshot(source.SnapshotOptions{Workers: 2})
	info := snap.Info()
	if info.Time.IsZero() {
		f.t.Errorf("Info().Time is zero")
	}
	f.t.Logf("snapshot info: %+v", info)
}

// ReadOnly: no connection the source or its snapshot reads through accepts
// a write (the harness must implement WriteHarness; the subtest says so
// and is skipped otherwise), and the table is unchanged afterwards.
func testReadOnly(f *fixture) {
	wh, ok := f.h.(WriteHarness)
	if !ok {
		f.t.Skip("the harness does not implement sourcetest.WriteHarness")
	}
	name := f.name("ro")
	f.createTable(name, "id BIGINT NOT NULL PRIMARY KEY", "v VARCHAR(20)")
	f.insert(name, []string{"id", "v"}, []string{"1", "'one'"})
	snap := f.snapshot(source.SnapshotOptions{Workers: 2})
	tb := f.tables(snap, name)[name]
	for _, stmt := range []string{
		"INSERT INTO " + f.q(name) + " (" + f.q("id") + ", " + f.q("v") + ") VALUES (2, 'two')",
		"UPDATE " + f.q(name) + " SET " + f.q("v") + " = 'changed'",
		"DELETE FROM " + f.q(name),
	} {
		errs, err := wh.WriteThrough(f.ctx, f.src, snap, stmt)
		if err != nil {
			f.t.Fatalf("WriteThrough(%s): %v", stmt, err)
		}
		if len(errs) == 0 {
			f.t.Fatalf("WriteThrough(%s) tried no connection", stmt)
		}
		for i, e := range errs {
			if e == nil {
				f.t.Errorf("connection %d of the source accepted %s", i, stmt)
			}
		}
	}
	fresh := f.snapshot(source.SnapshotOptions{})
	rows := f.mustScan(fresh, source.ScanRequest{Table: tb, Columns: []source.ScanColumn{
		f.column(tb, "id", typemap.Int64), f.column(tb, "v", typemap.String)}})
	f.checkRows("after the refused writes", rows, [][]any{{int64(1), "one"}})
}
