package mysqlsource

import (
	"context"
	"math"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

type allTables struct{}

func (allTables) Database(string) bool              { return true }
func (allTables) Table(string, string, string) bool { return true }

type noTables struct{}

func (noTables) Database(string) bool              { return false }
func (noTables) Table(string, string, string) bool { return false }

// TestTablesListsWhatRDSExports: base tables of user databases only (no
// system database, no view, no sequence), schema = database, estimated
// sizes, a stable order.
func TestTablesListsWhatRDSExports(t *testing.T) {
	admin := adminDB(t)
	base := uniqueName(t, "list")
	createTable(t, admin, base+"_b", "(id INT PRIMARY KEY)")
	createTable(t, admin, base+"_a", "(id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(base+"_a")+" SELECT seq, 'x' FROM seq_1_to_100", "ANALYZE TABLE "+quoteIdent(base+"_a"))
	t.Cleanup(func() { admin.Exec("DROP VIEW IF EXISTS " + quoteIdent(base+"_v")) })
	mustExec(t, admin, "CREATE VIEW "+quoteIdent(base+"_v")+" AS SELECT id FROM "+quoteIdent(base+"_a"))
	t.Cleanup(func() { admin.Exec("DROP SEQUENCE IF EXISTS " + quoteIdent(base+"_s")) })
	mustExec(t, admin, "CREATE SEQUENCE "+quoteIdent(base+"_s"))

	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tables, _, err := snap.Tables(context.Background(), allTables{})
	if err != nil {
		t.Fatal(err)
	}
	var mine []string
	for i, tb := range tables {
		switch strings.ToLower(tb.Database) {
		case "mysql", "information_schema", "performance_schema", "sys":
			t.Errorf("system table listed: %s", tb.Target())
		}
		if tb.Schema != tb.Database {
			t.Errorf("%s: schema %q, want the database", tb.Target(), tb.Schema)
		}
		if i > 0 && (tables[i-1].Database > tb.Database || (tables[i-1].Database == tb.Database && tables[i-1].Name >= tb.Name)) {
			t.Errorf("not in order: %s after %s", tb.Target(), tables[i-1].Target())
		}
		if tb.Database == testDatabase && strings.HasPrefix(tb.Name, base) {
			mine = append(mine, tb.Name)
			if tb.Name == base+"_a" && (tb.EstimatedRows <= 0 || tb.EstimatedBytes <= 0) {
				t.Errorf("%s: estimates %d rows, %d bytes", tb.Name, tb.EstimatedRows, tb.EstimatedBytes)
			}
		}
	}
	if !slices.Equal(mine, []string{base + "_a", base + "_b"}) {
		t.Errorf("listed %v, want the two tables (no view, no sequence)", mine)
	}
	// A filter that matches nothing lists nothing, without error.
	tables, skipped, err := snap.Tables(context.Background(), noTables{})
	if err != nil || len(tables) != 0 || len(skipped) != 0 {
		t.Errorf("empty filter: %v %v %v", tables, skipped, err)
	}
	// SnapshotOptions.Databases narrows before the filter.
	other, err := src.Snapshot(context.Background(), source.SnapshotOptions{Databases: []string{"no_such_database"}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if tables, _, err := other.Tables(context.Background(), allTables{}); err != nil || len(tables) != 0 {
		t.Errorf("Databases narrowed to a missing database: %d tables, %v", len(tables), err)
	}
}

// TestKeyDetection: an integer primary key, else a unique index on one NOT
// NULL integer column; else a string column with a unique index of its own
// (NOT NULL first); else the leading column of the primary key or of a
// multi-column unique index, integer or string. Never a prefix index, a
// hash index for anything but today's integer key, or a column of another
// type.
func TestKeyDetection(t *testing.T) {
	admin := adminDB(t)
	base := uniqueName(t, "key")
	type want struct {
		column, index string
		integer       bool
	}
	cases := map[string]struct {
		def  string
		want want
	}{
		"pk":        {"(id INT PRIMARY KEY, v INT)", want{"id", "PRIMARY", true}},
		"uniq":      {"(code VARCHAR(10) PRIMARY KEY, n BIGINT NOT NULL, UNIQUE KEY un (n))", want{"n", "un", true}},
		"mixed":     {"(a INT NOT NULL, b INT NOT NULL, UNIQUE KEY ab (a, b), UNIQUE KEY bb (b))", want{"b", "bb", true}},
		"string":    {"(s VARCHAR(10) PRIMARY KEY)", want{"s", "PRIMARY", false}},
		"binary":    {"(s VARBINARY(10) NOT NULL, UNIQUE KEY us (s), v INT)", want{"s", "us", false}},
		"notnull":   {"(a VARCHAR(10), b CHAR(10) NOT NULL, UNIQUE KEY ua (a), UNIQUE KEY ub (b))", want{"b", "ub", false}},
		"nullable":  {"(v INT, UNIQUE KEY uv (v))", want{"v", "uv", true}},
		"nullstr":   {"(v VARCHAR(5), UNIQUE KEY uv (v))", want{"v", "uv", false}},
		"composite": {"(a INT, b INT, PRIMARY KEY (a, b))", want{"a", "PRIMARY", true}},
		"compstr":   {"(a VARCHAR(5), b INT, PRIMARY KEY (a, b), UNIQUE KEY z (b, a))", want{"a", "PRIMARY", false}},
		"single1st": {"(a VARCHAR(5), b VARCHAR(5) NOT NULL, PRIMARY KEY (a, b), UNIQUE KEY z (b))", want{"b", "z", false}},
		"prefix":    {"(s VARCHAR(100) NOT NULL, UNIQUE KEY up (s(10)))", want{}},
		"text":      {"(s TEXT NOT NULL, d DATE NOT NULL, UNIQUE KEY ut (s(10)), UNIQUE KEY ud (d))", want{}},
		"hash":      {"(s VARCHAR(10) NOT NULL, UNIQUE KEY uh (s) USING HASH) ENGINE=MEMORY", want{}},
		"ignored":   {"(id DECIMAL(5) PRIMARY KEY, s VARCHAR(10) NOT NULL, UNIQUE KEY ui (s) IGNORED, t VARCHAR(10) NOT NULL, UNIQUE KEY ut (t))", want{"t", "ut", false}},
		"none":      {"(v INT)", want{}},
	}
	var names []string
	for k, c := range cases {
		createTable(t, admin, base+"_"+k, c.def)
		names = append(names, base+"_"+k)
	}
	mustExec(t, admin, "INSERT INTO "+quoteIdent(base+"_pk")+" VALUES (-5, 1), (42, 2)",
		"INSERT INTO "+quoteIdent(base+"_composite")+" VALUES (3, 1), (3, 2), (7, 1)")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tables, _, err := snap.Tables(context.Background(), only(names...))
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != len(cases) {
		t.Fatalf("%d tables listed, want %d", len(tables), len(cases))
	}
	for _, tb := range tables {
		k := strings.TrimPrefix(tb.Name, base+"_")
		var got want
		if tb.Key != nil {
			got = want{tb.Key.Column, snap.keyIndex(tb, tb.Key.Column), tb.Key.Integer}
		}
		if got != cases[k].want {
			t.Errorf("%s: key %+v, want %+v", k, got, cases[k].want)
		}
		switch {
		case k == "pk" && (tb.Key.Min == nil || *tb.Key.Min != -5 || *tb.Key.Max != 42):
			t.Errorf("pk bounds %v %v", tb.Key.Min, tb.Key.Max)
		case k == "composite" && (tb.Key.Min == nil || *tb.Key.Min != 3 || *tb.Key.Max != 7):
			t.Errorf("composite key bounds %v %v", tb.Key.Min, tb.Key.Max)
		case k == "uniq" && (tb.Key.Min != nil || tb.Key.Max != nil):
			t.Errorf("empty table has bounds")
		case tb.Key != nil && !tb.Key.Integer && (tb.Key.Min != nil || tb.Key.Max != nil):
			t.Errorf("%s: string key with integer bounds", k)
		}
	}
}

// TestUnsignedBigintKey: BIGINT UNSIGNED keys beyond MaxInt64 are reported
// with Max clamped, and a plan whose last range has no upper bound reads
// every row exactly once, the huge ones in the last range.
func TestUnsignedBigintKey(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "ukey")
	createTable(t, admin, name, "(id BIGINT UNSIGNED NOT NULL PRIMARY KEY)")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" VALUES (0), (1), (9223372036854775807), (9223372036854775808), (18446744073709551615)")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tb := table(t, snap, name)
	if tb.Key == nil || tb.Key.Column != "id" || *tb.Key.Min != 0 || *tb.Key.Max != math.MaxInt64 {
		t.Fatalf("key %+v", tb.Key)
	}
	p := func(v int64) *int64 { return &v }
	target, _ := typemap.RDS().Map(src.Engine(), "", tb.Columns[0])
	var all []string
	for i, r := range []source.KeyRange{
		{Column: "id", Upper: p(1), IncludeNull: true},
		{Column: "id", Lower: p(1), Upper: p(math.MaxInt64)},
		{Column: "id", Lower: p(math.MaxInt64)},
	} {
		got, _ := scanAll(t, snap, source.ScanRequest{Table: tb, Range: &r,
			Columns: []source.ScanColumn{{Column: tb.Columns[0], Target: target}}})
		for _, row := range got {
			all = append(all, decimalText(row[0]))
		}
		if want := []int{1, 1, 3}[i]; len(got) != want {
			t.Errorf("range %d read %d rows, want %d", i, len(got), want)
		}
	}
	slices.Sort(all)
	if want := []string{"0", "1", "18446744073709551615", "9223372036854775807", "9223372036854775808"}; !slices.Equal(all, want) {
		t.Errorf("read %v, want %v", all, want)
	}
}

// decimalText renders a FIXED_LEN_BYTE_ARRAY DECIMAL(20,0) as a number.
func decimalText(v parquet.Value) string {
	b := v.ByteArray()
	var u uint64
	for _, x := range b[1:] {
		u = u<<8 | uint64(x)
	}
	return uintText(u)
}

func uintText(u uint64) string {
	if u == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for u > 0 {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	return string(buf[i:])
}

// TestPartitions: a partitioned table lists its partitions in order, and a
// scan of each reads that partition's rows only.
func TestPartitions(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "parts")
	createTable(t, admin, name, `(id INT NOT NULL PRIMARY KEY, v VARCHAR(5))
		PARTITION BY RANGE (id) (PARTITION p_low VALUES LESS THAN (100), PARTITION p_mid VALUES LESS THAN (200),
		PARTITION p_high VALUES LESS THAN MAXVALUE)`)
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" SELECT seq, 'x' FROM seq_1_to_250")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tb := table(t, snap, name)
	if !slices.Equal(tb.TablePartitions, []string{"p_low", "p_mid", "p_high"}) {
		t.Fatalf("partitions %v", tb.TablePartitions)
	}
	total := 0
	for i, p := range tb.TablePartitions {
		got, _ := scanAll(t, snap, source.ScanRequest{Table: tb, TablePartition: p, Columns: []source.ScanColumn{
			{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int32}}}})
		want := []int{99, 100, 51}[i]
		if len(got) != want {
			t.Errorf("partition %s: %d rows, want %d", p, len(got), want)
		}
		for _, r := range got {
			if id := r[0].Int32(); id/100 != int32(i) && !(i == 2 && id >= 200) {
				t.Errorf("partition %s read id %d", p, id)
			}
		}
		total += len(got)
	}
	if total != 250 {
		t.Errorf("partitions hold %d rows, want 250", total)
	}
	// Subpartitions are read with their partition.
	sub := uniqueName(t, "subparts")
	createTable(t, admin, sub, `(id INT NOT NULL) PARTITION BY RANGE (id) SUBPARTITION BY HASH (id) SUBPARTITIONS 2
		(PARTITION a VALUES LESS THAN (10), PARTITION b VALUES LESS THAN MAXVALUE)`)
	mustExec(t, admin, "INSERT INTO "+quoteIdent(sub)+" SELECT seq FROM seq_1_to_20")
	stb := table(t, snap, sub)
	if !slices.Equal(stb.TablePartitions, []string{"a", "b"}) {
		t.Fatalf("subpartitioned table: partitions %v", stb.TablePartitions)
	}
}

// TestPermissionsSkipTables: a table the account cannot SELECT (no table
// privilege, or only some columns) is skipped with PERMISSIONS_DO_NOT_EXIST
// and the GRANT to run; readable tables are listed.
func TestPermissionsSkipTables(t *testing.T) {
	admin := adminDB(t)
	base := uniqueName(t, "perm")
	readable, insertOnly, someColumns := base+"_r", base+"_i", base+"_c"
	for _, n := range []string{readable, insertOnly, someColumns} {
		createTable(t, admin, n, "(id INT PRIMARY KEY, secret VARCHAR(10))")
	}
	user, _, rawURL := createUser(t, admin,
		"SELECT ON "+testDatabase+"."+quoteIdent(readable),
		"INSERT ON "+testDatabase+"."+quoteIdent(insertOnly),
		"SELECT (id) ON "+testDatabase+"."+quoteIdent(someColumns))
	src, err := OpenURL(context.Background(), rawURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshotOf(t, src, 1)
	tables, skipped, err := snap.Tables(context.Background(), only(readable, insertOnly, someColumns))
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 1 || tables[0].Name != readable {
		t.Errorf("listed %v, want only %s", tables, readable)
	}
	got := map[string]source.Skipped{}
	for _, s := range skipped {
		got[s.Target] = s
	}
	for _, n := range []string{insertOnly, someColumns} {
		s, ok := got[testDatabase+"."+n]
		if !ok || s.Reason != source.ReasonPermissionsDoNotExist {
			t.Errorf("%s: skipped %+v", n, s)
			continue
		}
		wantGrant := "GRANT SELECT ON `" + testDatabase + "`.`" + n + "` TO '" + user + "'@'127.0.0.1'"
		if s.Detail != wantGrant {
			t.Errorf("%s: detail %q, want %q", n, s.Detail, wantGrant)
		}
	}
}

// TestURLDatabaseIsTheScope: a URL naming a database exports that database
// only; one naming none exports every database the account sees. The
// identity says which.
func TestURLDatabaseIsTheScope(t *testing.T) {
	admin := adminDB(t)
	dbA, dbB := uniqueName(t, "src_scope_a"), uniqueName(t, "src_scope_b")
	for _, db := range []string{dbA, dbB} {
		t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + quoteIdent(db)) })
		mustExec(t, admin, "CREATE DATABASE "+quoteIdent(db), "CREATE TABLE "+quoteIdent(db)+".t (id INT PRIMARY KEY)")
	}
	targets := func(rawURL string) (string, []string) {
		t.Helper()
		src, err := OpenURL(context.Background(), rawURL, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		snap, err := src.Snapshot(context.Background(), source.SnapshotOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		tables, _, err := snap.Tables(context.Background(), allTables{})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tb := range tables {
			if tb.Database == dbA || tb.Database == dbB {
				out = append(out, tb.Target())
			}
		}
		return src.Identity(), out
	}
	u, _ := url.Parse(testURL(t))
	u.Path = "/" + dbA
	id, got := targets(u.String())
	if want := []string{dbA + ".t"}; !slices.Equal(got, want) || !strings.HasSuffix(id, "/"+dbA) {
		t.Errorf("URL naming %s: %s exported %v, want %v", dbA, id, got, want)
	}
	u.Path = "/"
	id, got = targets(u.String())
	if want := []string{dbA + ".t", dbB + ".t"}; !slices.Equal(got, want) || !strings.HasSuffix(id, ":3306/") {
		t.Errorf("URL naming no database: %s exported %v, want %v", id, got, want)
	}
}

// TestInvisibleDatabaseIsAPermissionsWarning: a database asked for that the
// account has no privileges on is PERMISSIONS_DO_NOT_EXIST with the GRANT
// (as PostgreSQL's missing CONNECT), and a URL naming it fails to connect
// saying so.
func TestInvisibleDatabaseIsAPermissionsWarning(t *testing.T) {
	admin := adminDB(t)
	hidden := uniqueName(t, "src_hidden")
	t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + quoteIdent(hidden)) })
	mustExec(t, admin, "CREATE DATABASE "+quoteIdent(hidden))
	user, _, rawURL := createUser(t, admin, "SELECT ON "+testDatabase+".*")
	src, err := OpenURL(context.Background(), rawURL, Options{Databases: []string{testDatabase, hidden}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap, err := src.Snapshot(context.Background(), source.SnapshotOptions{Databases: []string{hidden}})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if _, _, err := snap.Tables(context.Background(), allTables{}); err != nil {
		t.Fatal(err)
	}
	var w []source.Warning
	for _, x := range snap.Info().Warnings {
		if x.Reason != source.ReasonConsistencyFallback {
			w = append(w, x)
		}
	}
	if len(w) != 1 || w[0].Target != hidden || w[0].Reason != source.ReasonPermissionsDoNotExist ||
		!strings.Contains(w[0].Detail, "GRANT SELECT ON `"+hidden+"`.* TO '"+user+"'@") {
		t.Errorf("warnings %+v", w)
	}
	u, _ := url.Parse(rawURL)
	u.Path = "/" + hidden
	if _, err := OpenURL(context.Background(), u.String(), Options{}); err == nil || !strings.Contains(err.Error(), source.ReasonPermissionsDoNotExist) {
		t.Errorf("URL naming a database without privileges: %v", err)
	}
}
