package pgsource_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	_ "github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/typemap"
)

// parquetType is what §10.2 says a kind looks like in the file, as DuckDB's
// parquet_schema reports it.
var parquetType = map[typemap.Kind]struct{ physical, converted string }{
	typemap.Int16:   {"INT32", "INT_16"},
	typemap.Int32:   {"INT32", ""},
	typemap.Int64:   {"INT64", ""},
	typemap.Float:   {"FLOAT", ""},
	typemap.Double:  {"DOUBLE", ""},
	typemap.Boolean: {"BOOLEAN", ""},
	typemap.String:  {"BYTE_ARRAY", "UTF8"},
	typemap.Binary:  {"BYTE_ARRAY", ""},
}

// TestExportEndToEnd runs a whole export of a schema through the exporter
// (StartExportTask with a postgres:// SourceArn, to a local directory) and
// reads every Parquet file back with DuckDB: per column the physical type
// and annotation of §10.2, per value the server's text output (or the
// number, boolean or bytes), the statistics' null counts, and the warnings
// for what was left out.
func TestExportEndToEnd(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	cols := createAllTypes(t, pool, s)
	for _, q := range []string{
		"CREATE TABLE " + s + ".keyed (id bigint PRIMARY KEY, v text, f double precision)",
		"INSERT INTO " + s + ".keyed SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 20000) g",
		"INSERT INTO " + s + ".keyed VALUES (-9223372036854775808, NULL, 'NaN')",
		"CREATE TABLE " + s + ".parted (id int NOT NULL, d date) PARTITION BY RANGE (id)",
		"CREATE TABLE " + s + ".parted_1 PARTITION OF " + s + ".parted FOR VALUES FROM (0) TO (100)",
		"CREATE TABLE " + s + ".parted_2 PARTITION OF " + s + ".parted FOR VALUES FROM (100) TO (200)",
		"CREATE TABLE " + s + ".parted_3 PARTITION OF " + s + ".parted FOR VALUES FROM (200) TO (300)",
		"INSERT INTO " + s + ".parted SELECT g, DATE '2000-01-01' + g FROM generate_series(0, 199) g",
		"CREATE TABLE " + s + `."Mixed Case" ("Id" int, "Value" text)`,
		"INSERT INTO " + s + `."Mixed Case" VALUES (1, 'één')`,
		"CREATE TABLE " + s + `.bad_column ("a b" int)`,
		"CREATE UNLOGGED TABLE " + s + ".unlogged (id int)",
		"CREATE VIEW " + s + ".a_view AS SELECT 1 AS one",
	} {
		mustExec(t, pool, q)
	}

	out := t.TempDir()
	exp, ctx := newExporter(t)
	id := "pg-e2e-" + randomSuffix()
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: id,
		SourceArn:            requireDB(t),
		S3BucketName:         "file://" + out,
		ExportOnly:           []string{testDatabase + "." + s},
		Options:              &snapexport.TaskOptions{Concurrency: 3},
	})
	if err != nil {
		t.Fatalf("StartExportTask: %v", err)
	}
	rec, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("export: %v (FailureCause %q)", err, rec.FailureCause)
	}
	if strings.Contains(rec.SourceArn, "password") || rec.Engine != typemap.EnginePostgres {
		t.Errorf("record: SourceArn %q, Engine %q", rec.SourceArn, rec.Engine)
	}
	if rec.SnapshotTime == nil || rec.SnapshotIdentity[testDatabase+".lsn"] == "" || rec.SnapshotIdentity[testDatabase+".txid_snapshot"] == "" {
		t.Errorf("record lacks the snapshot: time %v, identity %v", rec.SnapshotTime, rec.SnapshotIdentity)
	}

	// Warnings: the skipped tables and the omitted object-identifier columns.
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	if err != nil {
		t.Fatalf("WarningMessage %q: %v", rec.WarningMessage, err)
	}
	skipped := map[string]string{}
	for _, e := range w.SkippedTables {
		skipped[e.Target] = e.Reason
	}
	prefix := testDatabase + "." + s + "."
	if skipped[prefix+"bad_column"] != source.ReasonUnsupportedColumnName || skipped[prefix+"unlogged"] != source.ReasonUnloggedTable {
		t.Errorf("skippedTables = %+v, want bad_column (%s) and unlogged (%s)", w.SkippedTables, source.ReasonUnsupportedColumnName, source.ReasonUnloggedTable)
	}
	omitted := ""
	for _, e := range append(w.General, w.SkippedTables...) {
		if e.Target == prefix+"all_types" && e.Reason == source.ReasonOmittedColumns {
			omitted = e.Detail
		}
	}
	for _, c := range cols {
		if c.kind == typemap.Omit && !strings.Contains(omitted, c.name) {
			t.Errorf("the warning for omitted columns (%q) does not name %s", omitted, c.name)
		}
	}

	db := duckcheck.Open(t)
	tableDir := func(name string) string { return filepath.Join(out, id, testDatabase, s+"."+name) }

	// all_types: schema per §10.2 and every value.
	kinds := map[string]typemap.Kind{"id": typemap.Int32}
	var names []string
	for _, c := range cols {
		kinds[c.name] = c.kind
		if c.kind != typemap.Omit {
			names = append(names, c.name)
		}
	}
	files := parquetFiles(t, tableDir("all_types"))
	for _, f := range files {
		checkFileSchema(t, db, f, append([]string{"id"}, names...), kinds)
		db.CheckNullCounts(f)
	}
	checkValues(t, db, pool, s, "all_types", files, append([]string{"id"}, names...), kinds)

	// keyed: 20001 rows, whatever the number of files.
	files = parquetFiles(t, tableDir("keyed"))
	for _, f := range files {
		checkFileSchema(t, db, f, []string{"id", "v", "f"}, map[string]typemap.Kind{"id": typemap.Int64, "v": typemap.String, "f": typemap.Double})
		db.CheckNullCounts(f)
	}
	checkValues(t, db, pool, s, "keyed", files, []string{"id", "v", "f"}, map[string]typemap.Kind{"id": typemap.Int64, "v": typemap.String, "f": typemap.Double})

	// parted: one batch folder per partition; the empty one writes no rows.
	files = parquetFiles(t, tableDir("parted"))
	var batches []string
	for _, f := range files {
		rel, _ := filepath.Rel(tableDir("parted"), f)
		batches = append(batches, strings.Split(rel, string(filepath.Separator))[0])
	}
	if slices.Contains(batches, "") || len(slices.Compact(slices.Sorted(slices.Values(batches)))) < 2 {
		t.Errorf("parted files %v, want one batch folder per non-empty partition", batches)
	}
	checkValues(t, db, pool, s, "parted", files, []string{"id", "d"}, map[string]typemap.Kind{"id": typemap.Int32, "d": typemap.String})

	// Mixed-case names survive; the space in the path becomes "_" (§5.4).
	files = parquetFiles(t, tableDir("Mixed_Case"))
	checkValues(t, db, pool, s, `"Mixed Case"`, files, []string{"Id", "Value"}, map[string]typemap.Kind{"Id": typemap.Int32, "Value": typemap.String})

	// Nothing else was written: no view, no skipped table.
	entries, err := os.ReadDir(filepath.Join(out, id, testDatabase))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		dirs = append(dirs, e.Name())
	}
	want := []string{s + ".Mixed_Case", s + ".all_types", s + ".keyed", s + ".parted"}
	if !slices.Equal(dirs, want) {
		t.Errorf("table folders %v, want %v", dirs, want)
	}
}

func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".parquet") {
			files = append(files, path)
		}
		return nil
	})
	if len(files) == 0 {
		t.Fatalf("no Parquet files under %s", dir)
	}
	return files
}

// checkFileSchema compares a file's columns with the §10.2 types.
func checkFileSchema(t *testing.T, db *duckcheck.DB, file string, names []string, kinds map[string]typemap.Kind) {
	t.Helper()
	schema := db.Schema(file)
	var got []string
	for _, c := range schema {
		got = append(got, c.Name)
		want, ok := parquetType[kinds[c.Name]]
		if !ok {
			t.Errorf("%s: unexpected column %s", file, c.Name)
			continue
		}
		if c.Type != want.physical || c.ConvertedType != want.converted || c.Repetition != "OPTIONAL" {
			t.Errorf("%s: column %s is %s %q %s (logical %q), want OPTIONAL %s %q (§10.2 for %v)",
				filepath.Base(file), c.Name, c.Type, c.ConvertedType, c.Repetition, c.LogicalType, want.physical, want.converted, kinds[c.Name])
		}
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s: columns %v, want %v", filepath.Base(file), got, names)
	}
}

// checkValues compares every row DuckDB reads from files with the server's
// text output of the same columns, ordered by the first column.
func checkValues(t *testing.T, db *duckcheck.DB, pool *pgxpool.Pool, schema, table string, files []string, names []string, kinds map[string]typemap.Kind) {
	t.Helper()
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	got := db.Rows("SELECT " + strings.Join(quoted, ", ") + " FROM read_parquet([" + strings.Join(list, ", ") + "]) ORDER BY 1")
	want := serverRows(t, pool, "SELECT "+strings.Join(quoted, ", ")+" FROM "+schema+"."+table+" ORDER BY 1")
	if len(got) != len(want) {
		t.Fatalf("%s: DuckDB reads %d rows, the table has %d", table, len(got), len(want))
	}
	bad := 0
	for i := range want {
		for j, n := range names {
			if err := sameValue(got[i][j], want[i][j], kinds[n]); err != nil && bad < 20 {
				bad++
				t.Errorf("%s row %d column %s: %v", table, i, n, err)
			}
		}
	}
}

// serverRows runs q and returns each value as the server's text output
// under pgsource's session settings (nil for NULL).
func serverRows(t *testing.T, pool *pgxpool.Pool, q string) [][]*string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	if _, err := pc.Exec(ctx, "BEGIN; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3").ReadAll(); err != nil {
		t.Fatal(err)
	}
	defer func() { pc.Exec(ctx, "ROLLBACK").ReadAll() }()
	res := pc.ExecParams(ctx, q, nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatalf("%s: %v", q, res.Err)
	}
	out := make([][]*string, len(res.Rows))
	for i, r := range res.Rows {
		out[i] = make([]*string, len(r))
		for j, v := range r {
			if v != nil {
				s := string(v)
				out[i][j] = &s
			}
		}
	}
	return out
}

// sameValue compares a value DuckDB read with the server's text.
func sameValue(got any, want *string, kind typemap.Kind) error {
	if want == nil {
		if got != nil {
			return fmt.Errorf("got %v, want NULL", got)
		}
		return nil
	}
	if got == nil {
		return fmt.Errorf("got NULL, want %q", *want)
	}
	var g string
	switch v := got.(type) {
	case int16:
		g = strconv.FormatInt(int64(v), 10)
	case int32:
		g = strconv.FormatInt(int64(v), 10)
	case int64:
		g = strconv.FormatInt(v, 10)
	case float32, float64:
		var f float64
		bits := 64
		if f32, ok := v.(float32); ok {
			f, bits = float64(f32), 32
		} else {
			f = v.(float64)
		}
		w, err := strconv.ParseFloat(*want, bits)
		if err != nil {
			return err
		}
		if !(f == w || math.IsNaN(f) && math.IsNaN(w)) {
			return fmt.Errorf("got %v, want %s", f, *want)
		}
		return nil
	case bool:
		g = map[bool]string{true: "t", false: "f"}[v]
	case []byte:
		if kind == typemap.Binary {
			g = `\x` + hex.EncodeToString(v)
		} else {
			g = string(v)
		}
	case string:
		g = v
	default:
		return fmt.Errorf("unexpected %T %v", got, got)
	}
	if g != *want {
		return fmt.Errorf("got %q, want %q", g, *want)
	}
	return nil
}

// startExport starts a task exporting one schema of the test database to a
// fresh directory.
func startExport(t *testing.T, ctx context.Context, exp *snapexport.Exporter, schema string, concurrency int) (*snapexport.Task, string, string) {
	t.Helper()
	return startExportOpts(t, ctx, exp, schema, snapexport.TaskOptions{Concurrency: concurrency})
}

// startExportOpts is startExport with any task options.
func startExportOpts(t *testing.T, ctx context.Context, exp *snapexport.Exporter, schema string, opts snapexport.TaskOptions) (*snapexport.Task, string, string) {
	t.Helper()
	out := t.TempDir()
	id := "pg-e2e-" + randomSuffix()
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: id,
		SourceArn:            requireDB(t),
		S3BucketName:         "file://" + out,
		ExportOnly:           []string{testDatabase + "." + schema},
		Options:              &opts,
	})
	if err != nil {
		t.Fatalf("StartExportTask: %v", err)
	}
	return task, out, id
}

// TestExportSnapshot: with Concurrency 2 and more tables than workers, rows
// inserted, updated and deleted by another connection once the task is
// IN_PROGRESS are not in the files, and the deleted rows are.
func TestExportSnapshot(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	tables := []string{"t1", "t2", "t3", "t4"}
	for _, name := range tables {
		mustExec(t, pool, "CREATE TABLE "+s+"."+name+" (id int PRIMARY KEY, v text)")
		mustExec(t, pool, "INSERT INTO "+s+"."+name+" SELECT g, 'orig' FROM generate_series(1, 200000) g")
	}
	exp, ctx := newExporter(t)
	task, out, id := startExport(t, ctx, exp, s, 2)
	for p := range task.Progress() {
		if p.Status != snapexport.StatusStarting {
			break
		}
	}
	// Write to the tables listed last first: the workers reach them last.
	for _, name := range reversed(tables) {
		mustExec(t, pool, "INSERT INTO "+s+"."+name+" SELECT g, 'new' FROM generate_series(200001, 200100) g")
		mustExec(t, pool, "UPDATE "+s+"."+name+" SET v = 'changed' WHERE id IN (1, 100, 1000, 199999)")
		mustExec(t, pool, "DELETE FROM "+s+"."+name+" WHERE id IN (2, 3, 99999, 150000)")
	}
	if done := task.Info().TablesCompleted; done == len(tables) {
		t.Fatalf("all %d tables were exported before the writes ended: the test proves nothing", done)
	}
	rec, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	db := duckcheck.Open(t)
	for _, name := range tables {
		files := parquetFiles(t, filepath.Join(out, id, testDatabase, s+"."+name))
		list := make([]string, len(files))
		for i, f := range files {
			list[i] = "'" + f + "'"
		}
		from := " FROM read_parquet([" + strings.Join(list, ", ") + "])"
		if n := db.Int("SELECT count(*)" + from); n != 200000 {
			t.Errorf("%s: %d rows in the files, want the 200000 of the snapshot", name, n)
		}
		if n := db.Int("SELECT count(*)" + from + " WHERE v <> 'orig' OR id > 200000 OR id IS NULL"); n != 0 {
			t.Errorf("%s: %d rows written or changed after the snapshot are in the files", name, n)
		}
		if n := db.Int("SELECT count(DISTINCT id)" + from + " WHERE id IN (2, 3, 99999, 150000)"); n != 4 {
			t.Errorf("%s: %d of the 4 rows deleted after the snapshot are in the files", name, n)
		}
	}
}

// TestExportConnectionKilled: a scan's connection terminated in the middle
// of a table fails the task with a cause naming the table, and no file of
// that table becomes visible.
func TestExportConnectionKilled(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".big (id int, pad text)")
	mustExec(t, pool, "INSERT INTO "+s+".big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 400000) g")
	exp, ctx := newExporter(t)
	task, out, id := startExport(t, ctx, exp, s, 1)

	// Kill the scan as soon as it runs.
	killed := 0
	for killed == 0 {
		select {
		case <-task.Done():
			t.Fatalf("the task ended (%s) before its scan could be killed", task.Info().Status)
		default:
		}
		if err := pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND query LIKE 'SELECT%' AND query LIKE '%'||$2||'%' AND pid <> pg_backend_pid()`,
			testDatabase, s+".big").Scan(&killed); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	rec, err := task.Wait(ctx)
	if err == nil || rec.Status != snapexport.StatusFailed {
		t.Fatalf("task ended %s (%v), want FAILED", rec.Status, err)
	}
	if !strings.Contains(rec.FailureCause, testDatabase+"."+s+".big") || !strings.Contains(rec.FailureCause, "the server closed the connection") {
		t.Errorf("FailureCause %q does not name the table and say the server closed the connection", rec.FailureCause)
	}
	var visible []string
	filepath.WalkDir(filepath.Join(out, id, testDatabase), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			visible = append(visible, path)
		}
		return nil
	})
	if len(visible) != 0 {
		t.Errorf("files of the failed table are visible: %v", visible)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestExportSplitTables: tables large enough to split are read in parallel
// parts, by key ranges (a table with an integer key) or page ranges (one
// without), and the files together hold every row once, with its values.
func TestExportSplitTables(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	for _, q := range []string{
		"CREATE TABLE " + s + ".keyed (id bigint PRIMARY KEY, pad text)",
		"INSERT INTO " + s + ".keyed SELECT g * 3, repeat(md5(g::text), 4) FROM generate_series(1, 150000) g",
		"INSERT INTO " + s + ".keyed VALUES (-1, NULL)",
		"CREATE TABLE " + s + ".heap (id int, pad text)",
		"INSERT INTO " + s + ".heap SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 150000) g",
		"ANALYZE " + s + ".keyed", "ANALYZE " + s + ".heap",
	} {
		mustExec(t, pool, q)
	}
	exp, ctx := newExporter(t)
	// Parts of 4 MiB: the 25 MB tables are split as large ones are.
	task, out, id := startExportOpts(t, ctx, exp, s, snapexport.TaskOptions{Concurrency: 4, TargetPartBytes: 4 << 20})
	rec, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	db := duckcheck.Open(t)
	kinds := map[string]typemap.Kind{"id": typemap.Int64, "pad": typemap.String}
	for _, name := range []string{"keyed", "heap"} {
		if name == "heap" {
			kinds["id"] = typemap.Int32
		}
		files := parquetFiles(t, filepath.Join(out, id, testDatabase, s+"."+name))
		if len(files) < 2 {
			t.Errorf("%s: %d file(s), want the table split into parts", name, len(files))
		}
		for _, f := range files {
			if !strings.Contains(f, string(filepath.Separator)+"1"+string(filepath.Separator)+"part-") {
				t.Errorf("%s: file %s is not in batch folder 1", name, f)
			}
			db.CheckNullCounts(f)
		}
		checkValues(t, db, pool, s, name, files, []string{"id", "pad"}, kinds)
		checkDigest(t, db, pool, s+"."+name, files)
	}
}

// checkDigest compares the table on the server with its files in DuckDB by
// count, sum of id, and the md5 of every row's columns as text (id, pad;
// NULL as \N) joined in key order: a row read twice, lost, or with any value
// changed moves it. id must be unique.
func checkDigest(t *testing.T, db *duckcheck.DB, pool *pgxpool.Pool, table string, files []string) {
	t.Helper()
	var want string
	err := pool.QueryRow(context.Background(), `SELECT count(*)::text || ' ' || sum(id)::text || ' ' ||
		md5(string_agg(id::text || '|' || coalesce(pad, '\N'), ',' ORDER BY id)) FROM `+table).Scan(&want)
	if err != nil {
		t.Fatal(err)
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = "'" + f + "'"
	}
	got := db.Rows(`SELECT count(*)::VARCHAR || ' ' || sum(id)::VARCHAR || ' ' ||
		md5(string_agg(id::VARCHAR || '|' || coalesce(pad, '\N'), ',' ORDER BY id))
		FROM read_parquet([` + strings.Join(list, ", ") + `])`)[0][0]
	t.Logf("%s: count, sum(id), digest: %s", table, want)
	if got != want {
		t.Errorf("%s: count, sum(id), digest of all columns = %v in the files, %s on the server", table, got, want)
	}
}

// newExporter returns an exporter and a context of five minutes for one
// test; both end when the test does.
func newExporter(t *testing.T) (*snapexport.Exporter, context.Context) {
	t.Helper()
	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(func() {
		cancel()
		exp.Close()
	})
	return exp, ctx
}

// TestExportUnderRoleConnectionLimit: a role with CONNECTION LIMIT 3 and
// Concurrency 8 over several tables: the export COMPLETEs with every row,
// the scans waiting for one another's connections, and the record's
// warnings say fewer scans ran at once.
func TestExportUnderRoleConnectionLimit(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	role := "src_limited_" + randomSuffix()
	mustExec(t, pool, "CREATE ROLE "+role+" LOGIN CONNECTION LIMIT 3")
	t.Cleanup(func() {
		pool.Exec(context.Background(), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		pool.Exec(context.Background(), "DROP OWNED BY "+role)
		pool.Exec(context.Background(), "DROP ROLE "+role)
	})
	for i := range 6 {
		mustExec(t, pool, fmt.Sprintf("CREATE TABLE %s.t%d AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g", s, i))
	}
	mustExec(t, pool, "GRANT USAGE ON SCHEMA "+s+" TO "+role)
	mustExec(t, pool, "GRANT SELECT ON ALL TABLES IN SCHEMA "+s+" TO "+role)
	u, _ := url.Parse(requireDB(t))
	u.User = url.User(role)
	exp, ctx := newExporter(t)
	out := t.TempDir()
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "pg-limit-" + randomSuffix(),
		SourceArn:            u.String(),
		S3BucketName:         "file://" + out,
		ExportOnly:           []string{testDatabase + "." + s},
		Options:              &snapexport.TaskOptions{Concurrency: 8},
	})
	if err != nil {
		t.Fatalf("StartExportTask: %v", err)
	}
	rec, err := task.Wait(ctx)
	if err != nil || rec.Status != snapexport.StatusComplete || rec.ExportedRows != 6*20000 {
		t.Fatalf("task %s with %d rows (%v), want COMPLETE with %d", rec.Status, rec.ExportedRows, err, 6*20000)
	}
	if !strings.Contains(rec.WarningMessage, source.ReasonFewerConnections) {
		t.Errorf("WarningMessage %q does not say fewer connections were used", rec.WarningMessage)
	}
}

// TestPasswordOutsideTheURL: with the password only in PGPASSWORD, or only
// in a passfile (PGPASSFILE, ~/.pgpass's format), an export of a database
// of the private cluster (password authentication) COMPLETEs, and the
// password is in no record, file, event, warning or error.
func TestPasswordOutsideTheURL(t *testing.T) {
	c := privateCluster(t)
	suffix := randomSuffix()
	role, db, password := "pgs_secret_"+suffix, "pgs_secret_db_"+suffix, "Pw-"+suffix+"-secret"
	c.exec(t, "postgres", "CREATE ROLE "+role+" LOGIN PASSWORD '"+password+"'", "CREATE DATABASE "+db+" OWNER "+role)
	t.Cleanup(func() { c.exec(t, "postgres", "DROP DATABASE "+db+" WITH (FORCE)", "DROP ROLE "+role) })
	c.exec(t, db, "CREATE TABLE t (id int)", "INSERT INTO t VALUES (1), (2)", "ALTER TABLE t OWNER TO "+role)
	passfile := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(passfile, []byte(fmt.Sprintf("127.0.0.1:%d:*:%s:%s\n", c.port, role, password)), 0o600); err != nil {
		t.Fatal(err)
	}
	serviceFile := filepath.Join(t.TempDir(), "pg_service.conf")
	service := fmt.Sprintf("[snapexport_src]\nhost=127.0.0.1\nport=%d\nuser=%s\npassword=%s\ndbname=%s\nsslmode=disable\n", c.port, role, password, db)
	if err := os.WriteFile(serviceFile, []byte(service), 0o600); err != nil {
		t.Fatal(err)
	}
	noPassword := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", role, c.port, db)
	for _, way := range []string{"PGPASSWORD", "PGPASSFILE", "PGSERVICE"} {
		t.Run(way, func(t *testing.T) {
			sourceArn := noPassword
			switch way {
			case "PGPASSWORD":
				t.Setenv("PGPASSWORD", password)
			case "PGPASSFILE":
				t.Setenv("PGPASSFILE", passfile)
			case "PGSERVICE":
				// Everything from the service, the URL names nothing.
				t.Setenv("PGSERVICEFILE", serviceFile)
				t.Setenv("PGSERVICE", "snapexport_src")
				sourceArn = "postgres://"
			}
			exp, ctx := newExporter(t)
			out := t.TempDir()
			var events []snapexport.Event
			var mu sync.Mutex
			task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
				ExportTaskIdentifier: "pg-secret-" + randomSuffix(),
				SourceArn:            sourceArn,
				S3BucketName:         "file://" + out,
				Options: &snapexport.TaskOptions{OnEvent: func(ev snapexport.Event) {
					mu.Lock()
					events = append(events, ev)
					mu.Unlock()
				}},
			})
			if err != nil {
				t.Fatalf("StartExportTask: %v", err)
			}
			rec, err := task.Wait(ctx)
			if err != nil || rec.Status != snapexport.StatusComplete || rec.ExportedRows != 2 {
				t.Fatalf("task %s, %d rows, %v", rec.Status, rec.ExportedRows, err)
			}
			mu.Lock()
			defer mu.Unlock()
			sourcetest.CheckNoSecret(t, password, out, rec, events, rec.WarningMessage, rec.SourceArn)
			if want := fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s", role, c.port, db); !strings.HasPrefix(rec.SourceArn, want) {
				t.Errorf("SourceArn %q does not name the exported database %s", rec.SourceArn, db)
			}
		})
	}
	// A wrong password in the environment: the error does not show it.
	t.Setenv("PGPASSWORD", "wrong-"+password)
	_, err := pgsource.OpenURL(context.Background(), noPassword, nil)
	if err == nil {
		t.Fatal("a wrong PGPASSWORD connected")
	}
	sourcetest.CheckNoSecret(t, password, "", err, err.Error())
}

// TestExportURLDatabaseIsTheScope: without ExportOnly, a URL naming one of
// two databases exports that one, and the record (SourceArn, Tables) says
// so.
func TestExportURLDatabaseIsTheScope(t *testing.T) {
	pool := adminPool(t)
	dbA, dbB := "src_scope_a_"+randomSuffix(), "src_scope_b_"+randomSuffix()
	for _, db := range []string{dbA, dbB} {
		mustExec(t, pool, "CREATE DATABASE "+db)
		t.Cleanup(func() { pool.Exec(context.Background(), "DROP DATABASE "+db+" WITH (FORCE)") })
		c, err := pgxpool.New(context.Background(), dbURL(t, db))
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, c, "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 2) g")
		c.Close()
	}
	exp, ctx := newExporter(t)
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "pg-scope-" + randomSuffix(),
		SourceArn:            dbURL(t, dbA),
		S3BucketName:         "file://" + t.TempDir(),
	})
	if err != nil {
		t.Fatalf("StartExportTask: %v", err)
	}
	rec, err := task.Wait(ctx)
	if err != nil || rec.Status != snapexport.StatusComplete || rec.ExportedRows != 2 {
		t.Fatalf("task %s, %d rows, %v; want COMPLETE with %s's 2 rows", rec.Status, rec.ExportedRows, err, dbA)
	}
	if !strings.Contains(rec.SourceArn, "/"+dbA+"?") || len(rec.Tables) != 1 || rec.Tables[0].Target != dbA+".public.t" {
		t.Errorf("record: SourceArn %q, tables %+v", rec.SourceArn, rec.Tables)
	}
}
