package sqlitesource_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
	"github.com/snapexport/snapexport/typemap"
)

// fixtureDB creates a database from statements and returns a snapshot of it.
func fixtureDB(t *testing.T, stmts ...string) (source.Snapshot, map[string]source.Table, []source.Skipped) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fixture.db")
	w, err := openWriter(ctx, path, "WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, s := range stmts {
		mustExec(t, w, s)
	}
	s := openSource(t, path)
	snap, err := s.Snapshot(ctx, source.SnapshotOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snap.Close() })
	tables, skipped, err := snap.Tables(ctx, allFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]source.Table{}
	for _, tb := range tables {
		byName[tb.Name] = tb
	}
	return snap, byName, skipped
}

func TestDescribe(t *testing.T) {
	_, tables, skipped := fixtureDB(t,
		`CREATE TABLE alias (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(10,2), note, flag BOOLEAN, at DATETIME, doc BLOB, r REAL)`,
		`CREATE TABLE notalias (id BIGINT PRIMARY KEY, v TEXT)`,
		`CREATE TABLE desc_quirk (id INTEGER PRIMARY KEY DESC, v TEXT)`,
		`CREATE TABLE wr (id INT PRIMARY KEY, v TEXT) WITHOUT ROWID`,
		`CREATE TABLE textpk (code TEXT PRIMARY KEY, v INT)`,
		`CREATE TABLE composite (a INT, b INT, PRIMARY KEY (a, b))`,
		`CREATE TABLE uniq (code TEXT PRIMARY KEY, seq INTEGER NOT NULL UNIQUE, other INTEGER UNIQUE)`,
		`CREATE TABLE uniq_nullable (seq INTEGER UNIQUE)`,
		`CREATE TABLE gen (a INT, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL, c TEXT GENERATED ALWAYS AS ('x' || a) STORED)`,
		`CREATE TABLE "odd ""name""" ("we""ird" INT)`,
		`CREATE VIEW v AS SELECT * FROM alias`,
		`CREATE VIRTUAL TABLE docs USING fts5(body)`,
		`INSERT INTO alias (id, name) VALUES (-5, 'a'), (7, 'b')`,
		`INSERT INTO notalias VALUES (3, 'x'), (9, 'y')`,
		`INSERT INTO docs (body) VALUES ('hello world')`,
		`ANALYZE`,
	)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range tables {
			if !yield(n) {
				return
			}
		}
	})
	for _, want := range []string{"alias", "notalias", "wr", "gen", `odd "name"`, "docs_data", "docs_content"} {
		if _, ok := tables[want]; !ok {
			t.Errorf("Tables lacks %q (got %v)", want, names)
		}
	}
	for _, no := range []string{"v", "docs", "sqlite_stat1", "sqlite_sequence"} {
		if _, ok := tables[no]; ok {
			t.Errorf("Tables lists %q", no)
		}
	}
	if len(skipped) != 1 || skipped[0].Target != "fixture.main.docs" || skipped[0].Reason != source.ReasonForeignTable {
		t.Errorf("skipped = %+v, want the virtual table docs as %s", skipped, source.ReasonForeignTable)
	}

	alias := tables["alias"]
	if alias.Database != "fixture" || alias.Schema != "main" || alias.Target() != "fixture.main.alias" {
		t.Errorf("alias: %s %s %s", alias.Database, alias.Schema, alias.Target())
	}
	wantCols := []source.Column{
		{Name: "id", DataType: "integer", ColumnType: "integer"},
		{Name: "name", DataType: "varchar", ColumnType: "varchar(20)", Length: 20},
		{Name: "price", DataType: "decimal", ColumnType: "decimal(10,2)", Precision: 10, Scale: 2, Nullable: true},
		{Name: "note", Nullable: true},
		{Name: "flag", DataType: "boolean", ColumnType: "boolean", Nullable: true},
		{Name: "at", DataType: "datetime", ColumnType: "datetime", Nullable: true},
		{Name: "doc", DataType: "blob", ColumnType: "blob", Nullable: true},
		{Name: "r", DataType: "real", ColumnType: "real", Nullable: true},
	}
	if !slices.Equal(alias.Columns, wantCols) {
		t.Errorf("alias columns\n got %+v\nwant %+v", alias.Columns, wantCols)
	}
	checkKey := func(table, col string, min, max *int64) {
		t.Helper()
		k := tables[table].Key
		if col == "" {
			if k != nil {
				t.Errorf("%s: Key = %+v, want none", table, *k)
			}
			return
		}
		if k == nil || k.Column != col || !k.Integer {
			t.Errorf("%s: Key = %+v, want integer key %s", table, k, col)
			return
		}
		if (min == nil) != (k.Min == nil) || (min != nil && *min != *k.Min) || (max == nil) != (k.Max == nil) || (max != nil && *max != *k.Max) {
			t.Errorf("%s: Key bounds %v..%v, want %v..%v", table, deref(k.Min), deref(k.Max), deref(min), deref(max))
		}
	}
	p := func(v int64) *int64 { return &v }
	checkKey("alias", "id", p(-5), p(7))
	checkKey("notalias", "id", p(3), p(9))
	checkKey("desc_quirk", "id", nil, nil)
	checkKey("wr", "id", nil, nil)
	checkKey("textpk", "", nil, nil)
	checkKey("composite", "", nil, nil)
	checkKey("uniq", "seq", nil, nil)
	checkKey("uniq_nullable", "", nil, nil)
	if tables["notalias"].Columns[0].Nullable != true { // SQLite lets NULL into a non-alias primary key
		t.Errorf("notalias.id is not nullable")
	}
	if tables["wr"].Columns[0].Nullable || tables["desc_quirk"].Columns[0].Nullable != true {
		t.Errorf("WITHOUT ROWID key nullable %v, DESC-quirk key nullable %v", tables["wr"].Columns[0].Nullable, tables["desc_quirk"].Columns[0].Nullable)
	}
	if a := tables["alias"]; a.EstimatedRows != 2 || a.EstimatedBytes <= 0 {
		t.Errorf("alias estimates: %d rows, %d bytes", a.EstimatedRows, a.EstimatedBytes)
	}
	if got := columnNamesOf(tables["gen"]); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("generated columns: %v", got)
	}
	if got := columnNamesOf(tables[`odd "name"`]); !slices.Equal(got, []string{`we"ird`}) {
		t.Errorf("quoted names: %v", got)
	}
}

func deref(p *int64) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func columnNamesOf(tb source.Table) []string {
	var out []string
	for _, c := range tb.Columns {
		out = append(out, c.Name)
	}
	return out
}

// TestFilterOrder: Database before the catalog, Table before describing,
// and a refused table is neither described nor listed as skipped.
func TestFilterOrder(t *testing.T) {
	snap, _, _ := fixtureDB(t, `CREATE TABLE a (x INT)`, `CREATE TABLE b (x INT)`, `CREATE VIRTUAL TABLE c USING fts5(x)`)
	f := &orderFilter{allow: map[string]bool{"b": true}}
	tables, skipped, err := snap.Tables(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != "b" || len(skipped) != 0 {
		t.Errorf("Tables = %v, skipped %v; want only b", columnNamesOfTables(tables), skipped)
	}
	if f.calls[0] != "db:fixture" {
		t.Errorf("first filter call %q, want db:fixture", f.calls[0])
	}
	f = &orderFilter{refuse: true}
	if tables, _, _ := snap.Tables(context.Background(), f); len(tables) != 0 || len(f.calls) != 1 {
		t.Errorf("refused database: tables %v, calls %v", tables, f.calls)
	}
}

type orderFilter struct {
	allow  map[string]bool
	refuse bool
	calls  []string
}

func (f *orderFilter) Database(db string) bool {
	f.calls = append(f.calls, "db:"+db)
	return !f.refuse
}

func (f *orderFilter) Table(db, schema, table string) bool {
	f.calls = append(f.calls, "table:"+table)
	return f.allow[table]
}

func columnNamesOfTables(tables []source.Table) []string {
	var out []string
	for _, tb := range tables {
		out = append(out, tb.Name)
	}
	return out
}

// scanValues scans columns of a table with the given kinds.
func scanValues(t *testing.T, snap source.Snapshot, tb source.Table, r *source.KeyRange, cols map[string]typemap.Kind, order ...string) ([][]parquet.Value, error) {
	t.Helper()
	req := source.ScanRequest{Table: tb, Range: r}
	for _, name := range order {
		for _, c := range tb.Columns {
			if c.Name == name {
				req.Columns = append(req.Columns, source.ScanColumn{Column: c, Target: typemap.Target{Kind: cols[name]}})
			}
		}
	}
	rows, err := snap.Scan(context.Background(), req)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]parquet.Value
	for rows.Next() {
		vals, err := rows.Row(nil)
		if err != nil {
			return out, err
		}
		row := make([]parquet.Value, len(vals))
		for i, v := range vals {
			row[i] = v.Clone()
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// TestDynamicTyping: values whose storage class differs from the column's
// affinity convert when lossless and fail with a ConversionError naming the
// table, column and storage class otherwise; dates stay the text stored.
func TestDynamicTyping(t *testing.T) {
	snap, tables, _ := fixtureDB(t,
		`CREATE TABLE dyn (id INTEGER PRIMARY KEY, n INTEGER, d DATETIME, num NUMERIC, any_ , f BOOLEAN)`,
		`INSERT INTO dyn VALUES (1, 42, '2024-01-02 03:04:05', 0.1 + 0.2, 42, 1)`,
		`INSERT INTO dyn VALUES (2, '17', '2024-01-02T03:04:05.123Z', 1e20, 1.5, 0)`,
		`INSERT INTO dyn VALUES (3, NULL, 1700000000, '12.50', 'text', 'true')`,
		`INSERT INTO dyn VALUES (4, 7, 2460000.5, 5, X'00ff', NULL)`,
		`CREATE TABLE bad (id INTEGER PRIMARY KEY, n INTEGER)`,
		`INSERT INTO bad VALUES (1, 1), (2, 'abc')`,
	)
	rows, err := scanValues(t, snap, tables["dyn"], nil,
		map[string]typemap.Kind{"id": typemap.Int64, "n": typemap.Int64, "d": typemap.String, "num": typemap.String, "any_": typemap.Binary, "f": typemap.Boolean},
		"id", "n", "d", "num", "any_", "f")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"1", "42", "2024-01-02 03:04:05", "0.30000000000000004", "42", "true"},
		{"2", "17", "2024-01-02T03:04:05.123Z", "1.0e+20", "1.5", "false"},
		{"3", "NULL", "1700000000", "12.5", "text", "true"},
		{"4", "7", "2460000.5", "5", "\x00\xff", "NULL"},
	}
	for i, row := range rows {
		for j, v := range row {
			var got string
			switch {
			case v.IsNull():
				got = "NULL"
			case v.Kind() == parquet.ByteArray:
				got = string(v.ByteArray())
			default:
				got = v.String()
			}
			if got != want[i][j] {
				t.Errorf("row %d column %d = %q, want %q", i, j, got, want[i][j])
			}
		}
	}

	_, err = scanValues(t, snap, tables["bad"], nil, map[string]typemap.Kind{"n": typemap.Int64}, "n")
	var ce *sqlitesource.ConversionError
	if !errors.As(err, &ce) || ce.Column != "n" || ce.Table != "fixture.main.bad" || ce.StorageClass != "TEXT" || ce.Value != `"abc"` {
		t.Fatalf("scan of 'abc' as int64 = %v, want a ConversionError naming bad.n and TEXT", err)
	}
	if !strings.Contains(err.Error(), "override") {
		t.Errorf("message %q does not say how to fix it", err)
	}
}

// TestRangesOverDynamicKeys: text, reals and NULLs in an integer key column
// are each read by exactly one range of a plan with open ends.
func TestRangesOverDynamicKeys(t *testing.T) {
	snap, tables, _ := fixtureDB(t,
		`CREATE TABLE k (id BIGINT PRIMARY KEY, v INT)`,
		`INSERT INTO k VALUES (-3, 1), (0, 2), (2.5, 3), (10, 4), ('abc', 5), (X'01', 6), (NULL, 7), (NULL, 8)`,
	)
	tb := tables["k"]
	if tb.Key == nil || tb.Key.Column != "id" || *tb.Key.Min != -3 || tb.Key.Max != nil {
		t.Fatalf("Key = %+v, want id with Min -3 and no Max (the largest key is a blob)", tb.Key)
	}
	p := func(v int64) *int64 { return &v }
	plan := []source.KeyRange{
		{Column: "id", Upper: p(0), IncludeNull: true},
		{Column: "id", Lower: p(0), Upper: p(3)},
		{Column: "id", Lower: p(3)},
	}
	wantPer := [][]int64{{1, 7, 8}, {2, 3}, {4, 5, 6}}
	for i, r := range plan {
		rows, err := scanValues(t, snap, tb, &r, map[string]typemap.Kind{"v": typemap.Int64}, "v")
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, row := range rows {
			got = append(got, row[0].Int64())
		}
		slices.Sort(got)
		if !slices.Equal(got, wantPer[i]) {
			t.Errorf("range %d read v %v, want %v", i, got, wantPer[i])
		}
	}
}

// TestScanNames: names with quotes and backquotes scan; a column the table
// lacks fails instead of reading as a string literal (SQLite's double-quote
// fallback).
func TestScanNames(t *testing.T) {
	snap, tables, _ := fixtureDB(t,
		"CREATE TABLE \"odd \"\"name\"\"`\" (\"we\"\"ird\" INT, \"back`tick\" TEXT, \"sq] x\" INTEGER PRIMARY KEY)",
		"INSERT INTO \"odd \"\"name\"\"`\" VALUES (1, 'a', 10), (2, 'b', 20)",
	)
	tb, ok := tables["odd \"name\"`"]
	if !ok {
		t.Fatalf("tables: %v", tables)
	}
	if tb.Key == nil || tb.Key.Column != "sq] x" {
		t.Errorf("Key = %+v", tb.Key)
	}
	p := func(v int64) *int64 { return &v }
	rows, err := scanValues(t, snap, tb, &source.KeyRange{Column: "sq] x", Lower: p(15)},
		map[string]typemap.Kind{`we"ird`: typemap.Int64, "back`tick": typemap.String, "sq] x": typemap.Int64}, `we"ird`, "back`tick", "sq] x")
	if err != nil || len(rows) != 1 || rows[0][0].Int64() != 2 || string(rows[0][1].ByteArray()) != "b" || rows[0][2].Int64() != 20 {
		t.Errorf("scan = %v, %v", rows, err)
	}

	missing := tb
	missing.Columns = append(append([]source.Column{}, tb.Columns...), source.Column{Name: "missing"})
	_, err = scanValues(t, snap, missing, nil, map[string]typemap.Kind{"missing": typemap.String}, "missing")
	if err == nil || !strings.Contains(err.Error(), "no such column") {
		t.Errorf("scan of a missing column = %v, want no such column", err)
	}
}
