package mysqlsource

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// TestUnreachableHost: a closed loopback port fails Open with a connect
// error, promptly, without the password.
func TestUnreachableHost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = OpenURL(ctx, "mysql://someone:hunter2@"+addr+"/db?timeout=2s", Options{})
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if !strings.HasPrefix(err.Error(), "mysqlsource: connect: ") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("error %v does not keep the network error reachable", err)
	}
}

// TestWrongPassword: the server's access-denied error comes back as a
// *mysql.MySQLError, and neither the error nor the identity shows the
// password.
func TestWrongPassword(t *testing.T) {
	admin := adminDB(t)
	user, password, rawURL := createUser(t, admin, "SELECT ON "+testDatabase+".*")
	u, _ := url.Parse(rawURL)
	u.User = url.UserPassword(user, "wrong-"+password)
	_, err := OpenURL(context.Background(), u.String(), Options{})
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		t.Fatalf("wrong password: %v, want MySQL error 1045", err)
	}
	if strings.Contains(err.Error(), password) {
		t.Errorf("error shows the password: %v", err)
	}
	// The right password works, and the identity has none.
	src, err := OpenURL(context.Background(), rawURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if id := src.Identity(); strings.Contains(id, password) || !strings.Contains(id, user+"@127.0.0.1") {
		t.Errorf("identity %q", id)
	}
	// Registered schemes reach the same driver.
	for _, scheme := range []string{"mysql", "mariadb"} {
		s, err := source.OpenURL(context.Background(), scheme+strings.TrimPrefix(rawURL, "mysql"))
		if err != nil {
			t.Fatalf("%s://: %v", scheme, err)
		}
		if s.Engine() != typemap.EngineMariaDB && s.Engine() != typemap.EngineMySQL {
			t.Errorf("engine %q", s.Engine())
		}
		if strings.Contains(s.Identity(), password) {
			t.Errorf("identity %q", s.Identity())
		}
		s.Close()
	}
}

// TestUnknownDatabase: a URL naming a database that does not exist fails
// with the server's error naming it.
func TestUnknownDatabase(t *testing.T) {
	serverConfig(t)
	u, _ := url.Parse(testURL(t))
	u.Path = "/snapexport_no_such_database"
	_, err := OpenURL(context.Background(), u.String(), Options{})
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1049 || !strings.Contains(err.Error(), "snapexport_no_such_database") {
		t.Fatalf("unknown database: %v", err)
	}
}

// TestEngineOfThisServer: the engine comes from VERSION().
func TestEngineOfThisServer(t *testing.T) {
	src := openTestSource(t, Options{})
	want := typemap.EngineMySQL
	if strings.Contains(strings.ToLower(src.ServerVersion()), "mariadb") {
		want = typemap.EngineMariaDB
	}
	if src.Engine() != want {
		t.Errorf("engine %q for %q", src.Engine(), src.ServerVersion())
	}
}

// TestOpenDBAndConfig: the explicit constructors. A caller's pool that
// parses times is refused (scans read the server's text); OpenDB does not
// close the caller's pool.
func TestOpenDBAndConfig(t *testing.T) {
	cfg := serverConfig(t)
	src, err := OpenConfig(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Identity() != "mysql://"+cfg.User+"@"+cfg.Addr+"/"+testDatabase {
		t.Errorf("config identity %q", src.Identity())
	}
	src.Close()

	c := cfg.Clone()
	c.ParseTime = true
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := OpenDB(context.Background(), db, Options{}); err == nil || !strings.Contains(err.Error(), "parseTime") {
		t.Errorf("parseTime pool: %v", err)
	}

	db2, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	src, err = OpenDB(context.Background(), db2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(src.Identity(), src.Engine()+"://"+cfg.User+"@") {
		t.Errorf("pool identity %q", src.Identity())
	}
	// A snapshot on the caller's pool reads with the package's session.
	admin := adminDB(t)
	name := uniqueName(t, "pool")
	createTable(t, admin, name, "(id INT PRIMARY KEY, ts TIMESTAMP NULL)")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" VALUES (1, '2001-02-03 04:05:06')")
	snap := snapshotOf(t, src, 2)
	got, _ := scanAll(t, snap, rdsRequest(t, src.Engine(), table(t, snap, name)))
	if len(got) != 1 || got[0][1].Int64() != time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC).UnixMicro() {
		t.Errorf("got %v", got)
	}
	snap.Close()
	src.Close()
	if err := db2.Ping(); err != nil {
		t.Errorf("Source.Close closed the caller's pool: %v", err)
	}
}

// TestMaxValueBytesNamesTheColumn: the limit fails the scan with a
// *source.ValueTooLargeError naming database, table and column, and
// closing the scan does not read the rest of the table (the connection is
// reused by the next scan).
func TestMaxValueBytesNamesTheColumn(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "large")
	createTable(t, admin, name, "(id INT PRIMARY KEY, doc LONGBLOB)")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" SELECT seq, REPEAT('x', IF(seq = 5, 4096, 10)) FROM seq_1_to_50000")
	src := openTestSource(t, Options{NoLock: true})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	req := rdsRequest(t, src.Engine(), tb)
	req.MaxValueBytes = 4096
	rows, err := snap.Scan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
	}
	var tooLarge *source.ValueTooLargeError
	if err := rows.Err(); !errors.As(err, &tooLarge) || tooLarge.Column != "doc" || tooLarge.Table != name ||
		tooLarge.Database != testDatabase || tooLarge.Size != 4096 || tooLarge.Limit != 4096 {
		t.Fatalf("err = %v", rows.Err())
	}
	rows.Close()
	req.MaxValueBytes = 4097
	if got, _ := scanAll(t, snap, req); len(got) != 50000 {
		t.Errorf("after an early close the snapshot connection reads %d rows", len(got))
	}
}

// TestURLParametersAreAllowListed: a URL parameter outside the documented
// list is refused before anything connects, naming the parameter and the
// allowed ones, never its value (go-sql-driver/mysql would send an unknown
// parameter to the server as SET name=value).
func TestURLParametersAreAllowListed(t *testing.T) {
	for _, param := range []string{"password=%27hunter2%27", "sql_mode=%27hunter2%27", "autocommit=0", "x=hunter2",
		"tx_read_only=0", "charset=latin1", "parseTime=true", "interpolateParams=true", "Lock=none"} {
		rawURL := "mysql://u:hunter2@127.0.0.1:1/db?" + param
		_, err := OpenURL(context.Background(), rawURL, Options{})
		name, _, _ := strings.Cut(param, "=")
		if err == nil || !strings.Contains(err.Error(), `parameter "`+name+`" is not allowed`) ||
			!strings.Contains(err.Error(), "allowed: allowCleartextPasswords") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v", param, err)
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			t.Errorf("%s: refused only after connecting: %v", param, err)
		}
	}
	if _, _, _, err := parseURL("mysql://u@h/db?tls=true&timeout=1s&readTimeout=1s&writeTimeout=1s&compress=true&maxAllowedPacket=1048576&allowNativePasswords=true&allowCleartextPasswords=false&allowFallbackToPlaintext=false&lock=none&lock_wait_timeout=1s&socket=/s"); err != nil {
		t.Errorf("documented parameters refused: %v", err)
	}
	if _, _, _, err := parseURL("mysql://u@h/db?timeout=1s&timeout=2s"); err == nil {
		t.Error("a repeated parameter was accepted")
	}
}

// TestURLParameterCannotWriteToTheServer: on the real server, a URL
// carrying ?password=, ?sql_mode= or an unknown parameter is refused and
// the account is unchanged: its password still works, its
// authentication_string is the same.
func TestURLParameterCannotWriteToTheServer(t *testing.T) {
	admin := adminDB(t)
	user, password, rawURL := createUser(t, admin, "SELECT ON "+testDatabase+".*")
	authString := func() string {
		var s string
		if err := admin.QueryRow("SELECT authentication_string FROM mysql.user WHERE user = ? AND host = '127.0.0.1'", user).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := authString()
	for _, param := range []string{"password=%27changed-by-src%27", "sql_mode=%27ANSI%27", "src_unknown=1"} {
		if src, err := OpenURL(context.Background(), rawURL+"?"+param, Options{}); err == nil {
			src.Close()
			t.Errorf("?%s: opened", param)
		}
	}
	if after := authString(); after != before {
		t.Errorf("the account's authentication_string changed from %q to %q", before, after)
	}
	src, err := OpenURL(context.Background(), rawURL, Options{})
	if err != nil {
		t.Fatalf("the original password %q no longer works: %v", password, err)
	}
	src.Close()
}

// TestConnectionsAreReadOnly: every connection the source reads through,
// its pool (catalog queries) and each snapshot connection, refuses a write
// with ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, for a source opened from a
// URL and for one over the caller's pool (OpenDB: the snapshot connections).
func TestConnectionsAreReadOnly(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "src_ro")
	createTable(t, admin, name, "(id INT PRIMARY KEY) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" VALUES (1)")
	stmt := "INSERT INTO " + quoteIdent(name) + " VALUES (2)"
	check := func(what string, errs []error) {
		t.Helper()
		for i, err := range errs {
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != 1792 {
				t.Errorf("%s: connection %d: %v, want error 1792 (read-only transaction)", what, i, err)
			}
		}
	}
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 3)
	errs := writeThrough(context.Background(), src, snap, stmt)
	if len(errs) != 4 {
		t.Fatalf("tried %d connections, want the pool's and 3 snapshot connections", len(errs))
	}
	check("OpenURL", errs)
	// DDL and account changes too.
	for _, q := range []string{"CREATE TABLE " + quoteIdent(name+"_new") + " (i INT)", "CREATE USER " + quoteString(name) + "@'127.0.0.1'"} {
		if _, err := src.db.Exec(q); err == nil {
			t.Errorf("%s went through the source's pool", q)
			admin.Exec("DROP TABLE IF EXISTS " + quoteIdent(name+"_new"))
			admin.Exec("DROP USER IF EXISTS " + quoteString(name) + "@'127.0.0.1'")
		}
	}

	pool := adminDB(t)
	byDB, err := OpenDB(context.Background(), pool, Options{NoLock: true})
	if err != nil {
		t.Fatal(err)
	}
	snap2 := snapshotOf(t, byDB, 1)
	check("OpenDB snapshot", writeThroughSnapshot(context.Background(), snap2, stmt))
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM " + quoteIdent(name)).Scan(&n); err != nil || n != 1 {
		t.Errorf("table has %d rows (%v), want 1", n, err)
	}
}

// TestErrorsHideThePassword: a server error that echoes the password (here
// the name of a table dropped after the snapshot listed it, which is the
// password) leaves the source with the password hidden, the server's
// error still reachable.
func TestErrorsHideThePassword(t *testing.T) {
	admin := adminDB(t)
	_, password, rawURL := createUser(t, admin, "SELECT ON "+testDatabase+".*")
	// No key: listing reads nothing inside the snapshot, so no metadata
	// lock holds the DROP below.
	createTable(t, admin, password, "(id INT, v VARCHAR(20))")
	src, err := OpenURL(context.Background(), rawURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, password)
	mustExec(t, admin, "SET SESSION lock_wait_timeout = 10", "DROP TABLE "+quoteIdent(password))
	r, err := snap.Scan(context.Background(), idValueRequest(tb))
	if err == nil {
		for r.Next() {
		}
		err = r.Err()
		r.Close()
	}
	var me *mysql.MySQLError
	if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "xxxxx") || !errors.As(err, &me) {
		t.Errorf("scan of the dropped table: %v", err)
	}
}
