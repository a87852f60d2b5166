package pgsource_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/typemap"
)

// scratchDatabase creates a database of its own (CREATE DATABASE … with
// extra, e.g. an encoding) and drops it when the test ends; it returns the
// database's name and a superuser pool on it.
func scratchDatabase(t *testing.T, extra string) (string, *pgxpool.Pool) {
	t.Helper()
	admin := adminPool(t)
	name := "typed_" + strings.ToLower(t.Name()[:min(len(t.Name()), 24)]) + "_" + randomSuffix()
	mustExec(t, admin, "CREATE DATABASE "+name+" "+extra)
	// The test writes UTF-8; without this pgx would use the database's encoding.
	pool, err := pgxpool.New(context.Background(), dbURL(t, name)+"&client_encoding=UTF8")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return name, pool
}

// exportDatabase exports one whole database with opts and waits for the
// task; it returns the record and the database's output directory.
func exportDatabase(t *testing.T, sourceURL, database string, opts snapexport.TaskOptions) (snapexport.ExportTask, string, string, error) {
	t.Helper()
	rec, dir, err := exportOnly(t, sourceURL, database, opts)
	return rec, filepath.Join(dir, database), rec.ExportTaskIdentifier, err
}

// exportOnly runs one task exporting what entry names (an ExportOnly
// entry) and waits for it; it returns the record and the task's output
// directory.
func exportOnly(t *testing.T, sourceURL, entry string, opts snapexport.TaskOptions) (snapexport.ExportTask, string, error) {
	t.Helper()
	exp, ctx := newExporter(t)
	out := t.TempDir()
	id := "pg-typed-" + randomSuffix()
	task, err := exp.StartExportTask(ctx, snapexport.StartExportTaskInput{
		ExportTaskIdentifier: id,
		SourceArn:            sourceURL,
		S3BucketName:         "file://" + out,
		ExportOnly:           []string{entry},
		Options:              &opts,
	})
	if err != nil {
		t.Fatalf("StartExportTask: %v", err)
	}
	rec, err := task.Wait(ctx)
	return rec, filepath.Join(out, id), err
}

// TestLatin1Database: a LATIN1 database's text reaches the files as the
// same characters in UTF-8 (the connection asks for client_encoding UTF8;
// without it the server sent LATIN1 bytes and the writer refused them).
func TestLatin1Database(t *testing.T) {
	db, pool := scratchDatabase(t, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	mustExec(t, pool, "CREATE TABLE latin (id int PRIMARY KEY, c_text text, c_varchar varchar(20), c_arr text[])")
	mustExec(t, pool, "INSERT INTO latin VALUES (1, 'café ÿß', 'Ærø', '{é,NULL}'), (2, NULL, '', '{}')")
	// An environment asking for LATIN1 (PGCLIENTENCODING, as psql users
	// set it) is overruled too; in the URL, client_encoding is refused.
	t.Setenv("PGCLIENTENCODING", "LATIN1")
	u := dbURL(t, db)
	for _, profile := range []string{typemap.ProfileRDS, typemap.ProfileTyped} {
		rec, dir, _, err := exportDatabase(t, u, db, snapexport.TaskOptions{TypeProfile: profile})
		if err != nil {
			t.Fatalf("%s: export: %v (FailureCause %q)", profile, err, rec.FailureCause)
		}
		duck := duckcheck.Open(t)
		files := parquetFiles(t, filepath.Join(dir, "public.latin"))
		got := duck.Rows("SELECT c_text, c_varchar, CAST(c_arr AS VARCHAR) FROM read_parquet(" + duckList(files) + ") ORDER BY id")
		want := [][]any{{"café ÿß", "Ærø", "{é,NULL}"}, {nil, "", "{}"}}
		if profile == typemap.ProfileTyped {
			want[0][2], want[1][2] = "[é, NULL]", "[]"
		}
		if !equalRows(got, want) {
			t.Errorf("%s: rows %q, want %q", profile, got, want)
		}
	}
}

// TestSQLASCIIDatabase: a SQL_ASCII database holds bytes in no encoding;
// text that is not UTF-8 is written with each bad byte as U+FFFD and counted
// per column in the warnings, valid UTF-8 passes unchanged, and the task
// completes.
func TestSQLASCIIDatabase(t *testing.T) {
	db, pool := scratchDatabase(t, "ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	mustExec(t, pool, "CREATE TABLE raw (id int PRIMARY KEY, a text, b varchar(10), c bytea)")
	mustExec(t, pool, `INSERT INTO raw VALUES (1, E'caf\xe9 \xff\xdf', 'ok é', 'x'), (2, 'plain', E'\xc3', NULL), (3, E'\xe9\xe9', 'ünï', NULL)`)
	rec, dir, _, err := exportDatabase(t, dbURL(t, db), db, snapexport.TaskOptions{})
	if err != nil {
		t.Fatalf("export: %v (FailureCause %q)", err, rec.FailureCause)
	}
	duck := duckcheck.Open(t)
	files := parquetFiles(t, filepath.Join(dir, "public.raw"))
	got := duck.Rows("SELECT a, b FROM read_parquet(" + duckList(files) + ") ORDER BY id")
	want := [][]any{{"caf\uFFFD \uFFFD\uFFFD", "ok é"}, {"plain", "\uFFFD"}, {"\uFFFD\uFFFD", "ünï"}}
	if !equalRows(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	if err != nil {
		t.Fatal(err)
	}
	details := map[string]bool{}
	for _, e := range w.General {
		if e.Reason == pgsource.ReasonInvalidUTF8Replaced {
			details[e.Detail] = true
		}
	}
	for _, d := range []string{
		"column a: 2 values held bytes that are not UTF-8 (a SQL_ASCII database), each replaced by U+FFFD; override the column to binary to keep the bytes",
		"column b: 1 value held bytes that are not UTF-8 (a SQL_ASCII database), each replaced by U+FFFD; override the column to binary to keep the bytes",
	} {
		if !details[d] {
			t.Errorf("warnings %+v lack %q", w.General, d)
		}
	}
	if len(details) != 2 {
		t.Errorf("warnings %v, want one per column with replacements", details)
	}
}

// TestDomainsNamedLikeBuiltins: domains called bigserial, smallserial and
// serial4, and a shadow.int4 that the search_path puts before pg_catalog
// (so format_type prints it as plain "int4"), are DOMAIN → STRING as §10.2
// says, not the built-in they are named after: the catalog's OIDs decide.
func TestDomainsNamedLikeBuiltins(t *testing.T) {
	db, pool := scratchDatabase(t, "")
	for _, q := range []string{
		"CREATE SCHEMA shadow",
		"CREATE DOMAIN public.bigserial AS text",
		"CREATE DOMAIN public.smallserial AS text",
		"CREATE DOMAIN public.serial4 AS text",
		"CREATE DOMAIN shadow.int4 AS text",
		"CREATE TABLE public.d (id integer PRIMARY KEY, a public.bigserial, b public.smallserial, c public.serial4, e shadow.int4)",
		"INSERT INTO public.d VALUES (1, 'not a number', 'x', '1.5', 'four')",
	} {
		mustExec(t, pool, q)
	}
	// The database's own search_path puts shadow first (a URL parameter
	// is refused: sessions use only the settings this package allows).
	mustExec(t, pool, "ALTER DATABASE "+db+" SET search_path = shadow, public, pg_catalog")
	u := dbURL(t, db)

	src, err := pgsource.OpenURL(context.Background(), u, &pgsource.Options{Databases: []string{db}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _, err := snap.Tables(context.Background(), schemaFilter{db, "public"})
	if err != nil || len(tables) != 1 {
		t.Fatalf("Tables: %v, %v", tables, err)
	}
	printed := map[string]string{}
	for _, c := range tables[0].Columns {
		printed[c.Name] = c.ColumnType
	}
	// The precondition of the defect: the names print as the built-ins.
	if printed["a"] != "bigserial" || printed["e"] != "int4" {
		t.Fatalf("format_type printed %v; the test needs bigserial and int4 unqualified", printed)
	}

	rec, dir, _, err := exportDatabase(t, u, db, snapexport.TaskOptions{})
	if err != nil {
		t.Fatalf("export: %v (FailureCause %q)", err, rec.FailureCause)
	}
	duck := duckcheck.Open(t)
	files := parquetFiles(t, filepath.Join(dir, "public.d"))
	got := duck.Rows("SELECT a, b, c, e FROM read_parquet(" + duckList(files) + ")")
	if want := [][]any{{"not a number", "x", "1.5", "four"}}; !equalRows(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	for _, f := range files {
		for _, c := range duck.Schema(f) {
			if c.Name != "id" && (c.Type != "BYTE_ARRAY" || c.ConvertedType != "UTF8") {
				t.Errorf("column %s is %s %s, want BYTE_ARRAY UTF8 (DOMAIN → STRING)", c.Name, c.Type, c.ConvertedType)
			}
		}
	}
}

func duckList(files []string) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func equalRows(got, want [][]any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return false
		}
		for j := range got[i] {
			g, w := got[i][j], want[i][j]
			if b, ok := g.([]byte); ok {
				g = string(b)
			}
			if g != w {
				return false
			}
		}
	}
	return true
}

// TestColumnTypeOIDs: the catalog gives each column its type's OID and
// typtype, the type under nested domains, an array's element with the
// element typmod, and the declared dimensions.
func TestColumnTypeOIDs(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	for _, q := range []string{
		"CREATE TYPE " + s + ".mood AS ENUM ('a')",
		"CREATE DOMAIN " + s + ".money2 AS numeric(10,2)",
		"CREATE DOMAIN " + s + ".money3 AS " + s + ".money2",
		"CREATE DOMAIN " + s + ".ints AS integer[]",
		"CREATE TABLE " + s + ".o (a integer, b " + s + ".money3, c " + s + ".ints, d numeric(7,3)[], e integer[][], f " + s + ".mood[], g " + s + ".mood)",
	} {
		mustExec(t, pool, q)
	}
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	got := map[string]typemap.PGType{}
	for _, c := range tables["o"].Columns {
		pg := c.PG
		if pg.Kind == 'd' || pg.Kind == 'e' || pg.ElemKind == 'e' {
			pg.OID = 0 // user types: any OID
		}
		if pg.BaseKind == 'e' || pg.ElemKind == 'e' {
			pg.BaseOID = 0
		}
		if pg.ElemKind == 'e' {
			pg.ElemOID = 0
		}
		got[c.Name] = pg
	}
	want := map[string]typemap.PGType{
		"a": {OID: typemap.OIDInt4, Kind: 'b', BaseOID: typemap.OIDInt4, BaseKind: 'b'},
		"b": {Kind: 'd', BaseOID: typemap.OIDNumeric, BaseKind: 'b'},
		"c": {Kind: 'd', BaseOID: 1007, BaseKind: 'b', ElemOID: typemap.OIDInt4, ElemKind: 'b', ElemPrecision: 32},
		"d": {OID: 1231, Kind: 'b', BaseOID: 1231, BaseKind: 'b', ElemOID: typemap.OIDNumeric, ElemKind: 'b', ElemPrecision: 7, ElemScale: 3, Dims: 1},
		"e": {OID: 1007, Kind: 'b', BaseOID: 1007, BaseKind: 'b', ElemOID: typemap.OIDInt4, ElemKind: 'b', ElemPrecision: 32, Dims: 2},
		"f": {Kind: 'b', BaseKind: 'b', ElemKind: 'e', Dims: 1},
		"g": {Kind: 'e', BaseKind: 'e'},
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("column %s: %+v, want %+v", name, got[name], w)
		}
	}
	// information_schema reports no precision for a domain over a domain
	// over numeric(10,2), so the typed profile takes it as an unbounded
	// numeric (the policy: STRING by default), which loses nothing.
	typed, _ := typemap.Profile(typemap.ProfileTyped, typemap.ProfileOptions{})
	for _, c := range tables["o"].Columns {
		if c.Name == "b" {
			if tg, err := typed.Map(typemap.EnginePostgres, "x", c); err != nil || tg.Kind != typemap.String {
				t.Errorf("nested domain over numeric(10,2): %v, %v", tg, err)
			}
		}
	}
}
