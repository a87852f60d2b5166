package pgsource_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/typemap"
)

// TestTablesWhatIsListed: ordinary and partitioned tables are listed;
// views and materialized views are not mentioned; unlogged, foreign and
// temporary tables are skipped with their reasons; partitions appear only
// in their parent's Partitions, in order.
func TestTablesWhatIsListed(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	other := scratchSchema(t, pool)
	fdw := "pgs_fdw_" + randomSuffix()
	t.Cleanup(func() { pool.Exec(context.Background(), "DROP FOREIGN DATA WRAPPER IF EXISTS "+fdw+" CASCADE") })
	for _, q := range []string{
		"CREATE TABLE " + s + ".plain (id int PRIMARY KEY, v text)",
		"INSERT INTO " + s + ".plain SELECT g, 'v' || g FROM generate_series(1, 100) g",
		"ANALYZE " + s + ".plain",
		"CREATE UNLOGGED TABLE " + s + ".unlogged (id int)",
		"CREATE FOREIGN DATA WRAPPER " + fdw,
		"CREATE SERVER " + fdw + "_srv FOREIGN DATA WRAPPER " + fdw,
		"CREATE FOREIGN TABLE " + s + ".foreign_t (id int) SERVER " + fdw + "_srv",
		"CREATE VIEW " + s + ".a_view AS SELECT id FROM " + s + ".plain",
		"CREATE MATERIALIZED VIEW " + s + ".a_matview AS SELECT id FROM " + s + ".plain",
		"CREATE TABLE " + s + ".parted (id bigint NOT NULL, v text) PARTITION BY RANGE (id)",
		"CREATE TABLE " + s + ".parted_b PARTITION OF " + s + ".parted FOR VALUES FROM (100) TO (200)",
		"CREATE TABLE " + s + ".parted_a PARTITION OF " + s + ".parted FOR VALUES FROM (0) TO (100)",
		"CREATE TABLE " + other + ".parted_c PARTITION OF " + s + ".parted FOR VALUES FROM (200) TO (300)",
		"CREATE TABLE " + s + ".parted_sub PARTITION OF " + s + ".parted FOR VALUES FROM (300) TO (400) PARTITION BY RANGE (id)",
		"CREATE TABLE " + s + ".parted_sub_1 PARTITION OF " + s + ".parted_sub FOR VALUES FROM (300) TO (400)",
		"CREATE TABLE " + s + ".parted_default PARTITION OF " + s + ".parted DEFAULT",
		"INSERT INTO " + s + ".parted SELECT g, 'p' || g FROM generate_series(0, 499) g",
		"CREATE TABLE " + s + ".parted_empty (id int) PARTITION BY LIST (id)",
		"CREATE TABLE " + s + ".inh_parent (id int, v text)",
		"CREATE TABLE " + s + ".inh_child (extra int) INHERITS (" + s + ".inh_parent)",
		"INSERT INTO " + s + ".inh_parent VALUES (1, 'parent')",
		"INSERT INTO " + s + ".inh_child VALUES (2, 'child', 7)",
	} {
		mustExec(t, pool, q)
	}
	// A temporary table lives as long as the session that made it.
	tmp, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Release()
	mustExec(t, tmp, "CREATE TEMPORARY TABLE pgs_temp_"+s+" (id int)")
	var tempSchema string
	if err := tmp.QueryRow(context.Background(), "SELECT nspname FROM pg_namespace WHERE oid = pg_my_temp_schema()").Scan(&tempSchema); err != nil {
		t.Fatal(err)
	}
	defer tmp.Exec(context.Background(), "DROP TABLE pg_temp.pgs_temp_"+s)

	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	filter := multiFilter{testDatabase: {s: true, other: true, tempSchema: true}}
	tables, skipped, err := snap.Tables(context.Background(), filter)
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	var names []string
	byName := map[string]source.Table{}
	for _, tb := range tables {
		names = append(names, tb.Schema+"."+tb.Name)
		byName[tb.Name] = tb
	}
	want := []string{s + ".inh_child", s + ".inh_parent", s + ".parted", s + ".parted_empty", s + ".plain"}
	if !slices.Equal(names, want) {
		t.Errorf("Tables listed %v, want %v in this order", names, want)
	}
	gotSkips := map[string]string{}
	for _, sk := range skipped {
		gotSkips[sk.Target] = sk.Reason
	}
	wantSkips := map[string]string{
		testDatabase + "." + s + ".unlogged":               source.ReasonUnloggedTable,
		testDatabase + "." + s + ".foreign_t":              source.ReasonForeignTable,
		testDatabase + "." + tempSchema + ".pgs_temp_" + s: source.ReasonTemporaryTable,
	}
	if len(gotSkips) != len(wantSkips) {
		t.Errorf("skipped %v, want %v", gotSkips, wantSkips)
	}
	for target, reason := range wantSkips {
		if gotSkips[target] != reason {
			t.Errorf("%s: skipped with %q, want %q", target, gotSkips[target], reason)
		}
	}

	parted := byName["parted"]
	// Sorted by schema, then name.
	wantParts := []string{"parted_a", "parted_b", "parted_default", "parted_sub_1"}
	if other < s {
		wantParts = append([]string{other + ".parted_c"}, wantParts...)
	} else {
		wantParts = append(wantParts, other+".parted_c")
	}
	if !slices.Equal(parted.TablePartitions, wantParts) {
		t.Errorf("parted.Partitions = %v, want %v", parted.TablePartitions, wantParts)
	}
	if p := byName["parted_empty"].TablePartitions; p == nil || len(p) != 0 {
		t.Errorf("a partitioned table without partitions has Partitions %#v, want empty and non-nil", p)
	}
	if byName["plain"].TablePartitions != nil {
		t.Errorf("an ordinary table has Partitions %v", byName["plain"].TablePartitions)
	}
	plain := byName["plain"]
	if plain.EstimatedRows != 100 || plain.EstimatedBytes <= 0 {
		t.Errorf("plain: EstimatedRows %d, EstimatedBytes %d; want 100 (analyzed) and > 0", plain.EstimatedRows, plain.EstimatedBytes)
	}

	// The partitioned table reads whole, and partition by partition.
	req := rdsRequest(t, parted)
	if n := len(scanAll(t, snap, req)); n != 500 {
		t.Errorf("parted: %d rows, want 500", n)
	}
	total := 0
	for _, p := range parted.TablePartitions {
		preq := req
		preq.TablePartition = p
		rows := scanAll(t, snap, preq)
		if len(rows) != 100 {
			t.Errorf("partition %s: %d rows, want 100", p, len(rows))
		}
		total += len(rows)
	}
	if total != 500 {
		t.Errorf("partitions hold %d rows together, want 500", total)
	}
	bad := req
	bad.TablePartition = "not_a_partition"
	if _, err := sourcetest.ReadAll(context.Background(), snap, bad); err == nil || !strings.Contains(err.Error(), "not a partition") {
		t.Errorf("scan of an unknown partition: %v, want an error saying it is not a partition", err)
	}

	// Old-style inheritance: the parent's rows once, the child's with the child.
	parentRows := scanAll(t, snap, rdsRequest(t, byName["inh_parent"]))
	if len(parentRows) != 1 || string(parentRows[0][1].ByteArray()) != "parent" {
		t.Errorf("inh_parent read %v, want only its own row", parentRows)
	}
	if n := len(scanAll(t, snap, rdsRequest(t, byName["inh_child"]))); n != 1 {
		t.Errorf("inh_child: %d rows, want 1", n)
	}
}

// multiFilter admits whole schemas of databases.
type multiFilter map[string]map[string]bool

func (f multiFilter) Database(db string) bool { return f[db] != nil }
func (f multiFilter) Table(db, schema, _ string) bool {
	return f[db][schema]
}

// TestTablesMissingObjects: a filter naming a schema or table that does not
// exist lists nothing and skips nothing (the exporter reports the entry as
// a skipped objective).
func TestTablesMissingObjects(t *testing.T) {
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	for name, filter := range map[string]source.Filter{
		"schema": multiFilter{testDatabase: {"pgs_no_such_schema": true}},
		"table":  tableFilter{testDatabase, "public", "pgs_no_such_table"},
	} {
		tables, skipped, err := snap.Tables(context.Background(), filter)
		if err != nil {
			t.Fatalf("%s: Tables: %v", name, err)
		}
		if len(tables) != 0 || len(skipped) != 0 {
			t.Errorf("missing %s: listed %v, skipped %v; want nothing", name, tables, skipped)
		}
	}
	// A database that does not exist is simply not snapshotted.
	snap2 := snapshot(t, src, source.SnapshotOptions{Databases: []string{"pgs_no_such_database"}})
	tables, skipped, err := snap2.Tables(context.Background(), nil)
	if err != nil || len(tables) != 0 || len(skipped) != 0 {
		t.Errorf("missing database: %v, %v, %v; want nothing", tables, skipped, err)
	}
}

type tableFilter struct{ db, schema, table string }

func (f tableFilter) Database(db string) bool { return db == f.db }
func (f tableFilter) Table(db, schema, table string) bool {
	return db == f.db && schema == f.schema && table == f.table
}

// TestKeys: which tables get a Key, and its bounds.
func TestKeys(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	for _, q := range []string{
		"CREATE TABLE " + s + ".pk_int (id int PRIMARY KEY, u bigint UNIQUE NOT NULL)",
		"INSERT INTO " + s + ".pk_int SELECT g, g FROM generate_series(-5, 50) g",
		"CREATE TABLE " + s + ".pk_small (id smallint PRIMARY KEY)",
		"CREATE TABLE " + s + ".pk_text (id text PRIMARY KEY, n int)",
		"CREATE TABLE " + s + ".pk_numeric (id numeric PRIMARY KEY)",
		"CREATE TABLE " + s + ".pk_composite (a int, b int, PRIMARY KEY (a, b))",
		"CREATE TABLE " + s + ".uniq_notnull (n int, k bigint NOT NULL UNIQUE)",
		"INSERT INTO " + s + ".uniq_notnull VALUES (1, 9000000000), (2, -3)",
		"CREATE TABLE " + s + ".uniq_nullable (k bigint UNIQUE)",
		"CREATE TABLE " + s + ".uniq_partial (k bigint NOT NULL)",
		"CREATE UNIQUE INDEX ON " + s + ".uniq_partial (k) WHERE k > 0",
		"CREATE TABLE " + s + ".uniq_expr (k bigint NOT NULL)",
		"CREATE UNIQUE INDEX ON " + s + ".uniq_expr ((k + 1))",
		"CREATE TABLE " + s + ".\"Mixed Key\" (\"Id\" bigint PRIMARY KEY)",
		"CREATE TABLE " + s + ".no_key (v int)",
		"CREATE TABLE " + s + ".parted_pk (id bigint PRIMARY KEY) PARTITION BY RANGE (id)",
		"CREATE TABLE " + s + ".parted_pk_1 PARTITION OF " + s + ".parted_pk FOR VALUES FROM (0) TO (10)",
		"INSERT INTO " + s + ".parted_pk VALUES (3), (7)",
	} {
		mustExec(t, pool, q)
	}
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	p := func(v int64) *int64 { return &v }
	want := map[string]*source.Key{
		"pk_int":        {Column: "id", Integer: true, Min: p(-5), Max: p(50)},
		"pk_small":      {Column: "id", Integer: true},
		"pk_text":       nil,
		"pk_numeric":    nil,
		"pk_composite":  nil,
		"uniq_notnull":  {Column: "k", Integer: true, Min: p(-3), Max: p(9000000000)},
		"uniq_nullable": nil,
		"uniq_partial":  nil,
		"uniq_expr":     nil,
		"Mixed Key":     {Column: "Id", Integer: true},
		"no_key":        nil,
		"parted_pk":     {Column: "id", Integer: true, Min: p(3), Max: p(7)},
	}
	for name, w := range want {
		tb, ok := tables[name]
		if !ok {
			t.Errorf("%s is not listed", name)
			continue
		}
		got := tb.Key
		if (got == nil) != (w == nil) {
			t.Errorf("%s: Key = %+v, want %+v", name, got, w)
			continue
		}
		if got == nil {
			continue
		}
		if got.Column != w.Column || !got.Integer || !eqPtr(got.Min, w.Min) || !eqPtr(got.Max, w.Max) {
			t.Errorf("%s: Key = {%s %v %v %v}, want {%s true %v %v}", name, got.Column, got.Integer, deref(got.Min), deref(got.Max), w.Column, deref(w.Min), deref(w.Max))
		}
	}
}

func eqPtr(a, b *int64) bool { return (a == nil && b == nil) || (a != nil && b != nil && *a == *b) }

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestColumnDescriptions: DataType is information_schema's data_type in
// lower case, ColumnType format_type, with the facets information_schema
// reports, and the default profile maps them as §10.2 says.
func TestColumnDescriptions(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TYPE "+s+".mood AS ENUM ('a')")
	mustExec(t, pool, "CREATE DOMAIN "+s+".posint AS integer")
	mustExec(t, pool, "CREATE DOMAIN "+s+".intlist AS integer[]")
	mustExec(t, pool, `CREATE TABLE `+s+`.d (
		a smallint NOT NULL, b varchar(20), c numeric(10,2), d timestamp(3) with time zone, e integer[],
		f `+s+`.mood, g `+s+`.posint, h `+s+`.intlist, i bit(3), j interval, k "char", l oid)`)
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	cols := tables["d"].Columns
	want := []struct {
		c    typemap.Column
		kind typemap.Kind
	}{
		{typemap.Column{Name: "a", DataType: "smallint", ColumnType: "smallint", Precision: 16}, typemap.Int16},
		{typemap.Column{Name: "b", DataType: "character varying", ColumnType: "character varying(20)", Length: 20, Nullable: true}, typemap.String},
		{typemap.Column{Name: "c", DataType: "numeric", ColumnType: "numeric(10,2)", Precision: 10, Scale: 2, Nullable: true}, typemap.String},
		{typemap.Column{Name: "d", DataType: "timestamp with time zone", ColumnType: "timestamp(3) with time zone", DateTimePrecision: 3, Nullable: true}, typemap.String},
		{typemap.Column{Name: "e", DataType: "array", ColumnType: "integer[]", Nullable: true}, typemap.String},
		{typemap.Column{Name: "f", DataType: "user-defined", ColumnType: s + ".mood", Nullable: true}, typemap.String},
		{typemap.Column{Name: "g", DataType: "integer", ColumnType: s + ".posint", Precision: 32, Nullable: true}, typemap.String},
		{typemap.Column{Name: "h", DataType: "array", ColumnType: s + ".intlist", Nullable: true}, typemap.String},
		{typemap.Column{Name: "i", DataType: "bit", ColumnType: "bit(3)", Length: 3, Nullable: true}, typemap.String},
		{typemap.Column{Name: "j", DataType: "interval", ColumnType: "interval", DateTimePrecision: 6, Nullable: true}, typemap.String},
		{typemap.Column{Name: "k", DataType: `"char"`, ColumnType: `"char"`, Nullable: true}, typemap.String},
		{typemap.Column{Name: "l", DataType: "oid", ColumnType: "oid", Nullable: true}, typemap.Omit},
	}
	if len(cols) != len(want) {
		t.Fatalf("got %d columns, want %d: %+v", len(cols), len(want), cols)
	}
	for i, w := range want {
		got := cols[i]
		got.PG = typemap.PGType{} // checked by TestColumnTypeOIDs
		if got != w.c {
			t.Errorf("column %d = %+v, want %+v", i, cols[i], w.c)
		}
		target, err := typemap.RDS().Map(typemap.EnginePostgres, "x", cols[i])
		if err != nil || target.Kind != w.kind {
			t.Errorf("column %s maps to %v (%v), want %v", cols[i].Name, target, err, w.kind)
		}
	}
}

// TestPermissions: tables the role cannot read are skipped with
// PERMISSIONS_DO_NOT_EXIST and the GRANT that fixes them; readable ones,
// also through column privileges, are exported.
func TestPermissions(t *testing.T) {
	pool := adminPool(t)
	role := "pgs_reader_" + randomSuffix()
	mustExec(t, pool, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		ctx := context.Background()
		pool.Exec(ctx, "DROP OWNED BY "+role)
		pool.Exec(ctx, "DROP ROLE "+role)
	})
	s := scratchSchema(t, pool)
	hidden := scratchSchema(t, pool)
	for _, q := range []string{
		"GRANT USAGE ON SCHEMA " + s + " TO " + role,
		"CREATE TABLE " + s + ".ok (id int PRIMARY KEY, v text)",
		"INSERT INTO " + s + ".ok VALUES (1, 'a')",
		"GRANT SELECT ON " + s + ".ok TO " + role,
		"CREATE TABLE " + s + ".denied (id int)",
		"CREATE TABLE " + s + ".\"Mixed Denied\" (id int)",
		"CREATE TABLE " + s + ".all_columns (id int, v text)",
		"INSERT INTO " + s + ".all_columns VALUES (2, 'b')",
		"GRANT SELECT (id, v) ON " + s + ".all_columns TO " + role,
		"CREATE TABLE " + s + ".some_columns (id int, secret text)",
		"GRANT SELECT (id) ON " + s + ".some_columns TO " + role,
		"CREATE TABLE " + s + ".rls (id int, owner_name text)",
		"GRANT SELECT ON " + s + ".rls TO " + role,
		"ALTER TABLE " + s + ".rls ENABLE ROW LEVEL SECURITY",
		"CREATE POLICY mine ON " + s + ".rls USING (owner_name = current_user)",
		"CREATE TABLE " + hidden + ".no_usage (id int)",
		"GRANT SELECT ON " + hidden + ".no_usage TO " + role,
	} {
		mustExec(t, pool, q)
	}

	u := requireDB(t)
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	roleURL := strings.Replace(u, "://"+cfg.User+"@", "://"+role+"@", 1)
	src, err := pgsource.OpenURL(context.Background(), roleURL, &pgsource.Options{Databases: []string{testDatabase}})
	if err != nil {
		t.Fatalf("OpenURL as %s: %v", role, err)
	}
	defer src.Close()
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, skipped, err := snap.Tables(context.Background(), multiFilter{testDatabase: {s: true, hidden: true}})
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	var listed []string
	for _, tb := range tables {
		listed = append(listed, tb.Name)
	}
	if !slices.Equal(listed, []string{"all_columns", "ok"}) {
		t.Errorf("listed %v, want [all_columns ok]", listed)
	}
	wantSkips := map[string]string{
		testDatabase + "." + s + ".denied":        "GRANT SELECT ON " + s + ".denied TO " + role,
		testDatabase + "." + s + ".Mixed Denied":  "GRANT SELECT ON " + s + `."Mixed Denied" TO ` + role,
		testDatabase + "." + s + ".some_columns":  "GRANT SELECT ON " + s + ".some_columns TO " + role,
		testDatabase + "." + s + ".rls":           "row-level security would hide rows of " + s + ".rls: ALTER ROLE " + role + " BYPASSRLS",
		testDatabase + "." + hidden + ".no_usage": "GRANT USAGE ON SCHEMA " + hidden + " TO " + role + "; GRANT SELECT ON " + hidden + ".no_usage TO " + role,
	}
	if len(skipped) != len(wantSkips) {
		t.Errorf("skipped %+v, want %d tables", skipped, len(wantSkips))
	}
	for _, sk := range skipped {
		want, ok := wantSkips[sk.Target]
		if !ok {
			t.Errorf("unexpected skip %+v", sk)
			continue
		}
		if sk.Reason != source.ReasonPermissionsDoNotExist || sk.Detail != want {
			t.Errorf("%s: skipped (%s, %q), want (%s, %q)", sk.Target, sk.Reason, sk.Detail, source.ReasonPermissionsDoNotExist, want)
		}
	}
	// The readable tables really read, the column-privilege one included.
	for _, tb := range tables {
		if n := len(scanAll(t, snap, rdsRequest(t, tb))); n != 1 {
			t.Errorf("%s: %d rows, want 1", tb.Name, n)
		}
	}
	// Each GRANT in Detail does fix it.
	for _, q := range []string{
		"GRANT SELECT ON " + s + ".denied TO " + role,
		"GRANT USAGE ON SCHEMA " + hidden + " TO " + role,
	} {
		mustExec(t, pool, q)
	}
	snap2 := snapshot(t, src, source.SnapshotOptions{})
	tables, _, err = snap2.Tables(context.Background(), multiFilter{testDatabase: {s: true, hidden: true}})
	if err != nil {
		t.Fatal(err)
	}
	listed = nil
	for _, tb := range tables {
		listed = append(listed, tb.Name)
	}
	if !slices.Equal(listed, []string{"no_usage", "all_columns", "denied", "ok"}) && !slices.Equal(listed, []string{"all_columns", "denied", "ok", "no_usage"}) {
		t.Errorf("after the GRANTs, listed %v, want denied and no_usage too", listed)
	}
}
