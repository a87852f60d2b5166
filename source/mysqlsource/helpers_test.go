package mysqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/source"
)

// TestMain drops the test database when the package's tests are done.
func TestMain(m *testing.M) { testenv.Main(m) }

// testDatabase holds every table these tests create; tables carry unique
// names so the tests can run in parallel.
const testDatabase = "snapexport_mysqlsource_test"

var (
	setupOnce sync.Once
	setupErr  error
)

// serverConfig is the driver configuration of the test server (the
// testenv URL) with the test database as default database, created once.
func serverConfig(t testing.TB) *mysql.Config {
	t.Helper()
	cfg, _, _, err := parseURL(testenv.MySQLURL())
	if err != nil {
		t.Fatalf("SNAPEXPORT_MYSQL_URL: %v", err)
	}
	setupOnce.Do(func() {
		c := cfg.Clone()
		c.DBName = ""
		c.Timeout = 5 * time.Second
		db, err := sql.Open("mysql", c.FormatDSN())
		if err != nil {
			setupErr = err
			return
		}
		defer db.Close()
		_, setupErr = db.Exec("CREATE DATABASE IF NOT EXISTS " + testDatabase + " CHARACTER SET utf8mb4")
		// The suite leaves nothing on the shared server.
		dsn := c.FormatDSN()
		testenv.AtExit(func() {
			if db, err := sql.Open("mysql", dsn); err == nil {
				_, _ = db.Exec("DROP DATABASE IF EXISTS " + testDatabase)
				db.Close()
			}
		})
	})
	if setupErr != nil {
		testenv.Unavailable(t, "MariaDB/MySQL", "start a server on 127.0.0.1:3306 or set SNAPEXPORT_MYSQL_URL", setupErr)
	}
	cfg.DBName = testDatabase
	return cfg
}

// testURL is the test server's URL with the test database as path.
func testURL(t testing.TB) string {
	t.Helper()
	serverConfig(t)
	u := testenv.MySQLURL()
	if i := strings.Index(u, "://"); i >= 0 {
		rest := u[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			q := ""
			if k := strings.IndexByte(rest, '?'); k >= 0 {
				q = rest[k:]
			}
			return u[:i+3] + rest[:j] + "/" + testDatabase + q
		}
		return u + "/" + testDatabase
	}
	return u
}

// adminDB is a plain pool on the test database, outside any snapshot, in a
// permissive session (so tests can create zero dates), closed at the end of
// the test.
func adminDB(t testing.TB) *sql.DB {
	t.Helper()
	cfg := serverConfig(t)
	cfg.Params = map[string]string{"sql_mode": "''", "time_zone": "'+00:00'"}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustExec(t testing.TB, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// uniqueName returns a table or user name no other test uses.
func uniqueName(t testing.TB, base string) string {
	return fmt.Sprintf("%s_%x", base, time.Now().UnixNano()&0xffffffffff)
}

// createTable creates a table in the test database, dropped at the end.
func createTable(t testing.TB, db *sql.DB, name, body string) {
	t.Helper()
	t.Cleanup(func() { db.Exec("DROP TABLE IF EXISTS " + quoteIdent(name)) })
	mustExec(t, db, "CREATE TABLE "+quoteIdent(name)+" "+body)
}

func openTestSource(t testing.TB, opts Options) *Source {
	t.Helper()
	ctx := context.Background()
	s, err := OpenURL(ctx, testURL(t), opts)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func snapshotOf(t testing.TB, s source.Source, workers int) *Snapshot {
	t.Helper()
	snap, err := s.Snapshot(context.Background(), source.SnapshotOptions{Workers: workers})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Cleanup(func() { snap.Close() })
	return snap.(*Snapshot)
}

// onlyTables admits the named tables of the test database.
type onlyTables map[string]bool

func (f onlyTables) Database(db string) bool { return db == testDatabase }
func (f onlyTables) Table(db, schema, table string) bool {
	return db == testDatabase && f[table]
}

func only(names ...string) onlyTables {
	f := onlyTables{}
	for _, n := range names {
		f[n] = true
	}
	return f
}

// table lists one table of the test database through snap.
func table(t testing.TB, snap source.Snapshot, name string) source.Table {
	t.Helper()
	tables, skipped, err := snap.Tables(context.Background(), only(name))
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	if len(tables) != 1 {
		t.Fatalf("Tables(%s) = %v, skipped %v", name, tables, skipped)
	}
	return tables[0]
}
