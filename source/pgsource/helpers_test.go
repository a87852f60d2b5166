package pgsource_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/typemap"
)

// testDatabase is this package's own database on the shared server; tests
// create uniquely named objects in it and drop them.
const testDatabase = "snapexport_pgsource_test"

var (
	setupOnce sync.Once
	setupErr  error
)

// dbURL is the test server's URL with the database replaced.
func dbURL(t testing.TB, database string) string {
	t.Helper()
	u, err := url.Parse(testenv.PostgresURL())
	if err != nil {
		t.Fatalf("SNAPEXPORT_PG_URL: %v", err)
	}
	u.Path = "/" + database
	return u.String()
}

// requireDB returns the URL of the test database, creating it once, or
// skips (fails under SNAPEXPORT_REQUIRE_INTEGRATION=1) without a server.
func requireDB(t testing.TB) string {
	t.Helper()
	setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testenv.PostgresURL())
		if err != nil {
			setupErr = err
			return
		}
		defer conn.Close(ctx)
		var exists bool
		if setupErr = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", testDatabase).Scan(&exists); setupErr != nil {
			return
		}
		if !exists {
			_, setupErr = conn.Exec(ctx, "CREATE DATABASE "+testDatabase)
			var pgErr *pgconn.PgError
			if errors.As(setupErr, &pgErr) && pgErr.Code == "42P04" { // created meanwhile
				setupErr = nil
			}
		}
		// The suite leaves nothing on the shared server.
		testenv.AtExit(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if conn, err := pgx.Connect(ctx, testenv.PostgresURL()); err == nil {
				_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+testDatabase+" WITH (FORCE)")
				conn.Close(ctx)
			}
		})
	})
	if setupErr != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", setupErr)
	}
	return dbURL(t, testDatabase)
}

// adminPool is a superuser pool on the test database, outside any snapshot.
func adminPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), requireDB(t))
	if err != nil {
		t.Fatalf("admin pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func mustExec(t testing.TB, pool interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
}, sql string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// scratchSchema creates a schema of its own for one test and drops it (with
// everything in it) when the test ends.
func scratchSchema(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	name := "pgs_" + strings.ToLower(t.Name()[:min(len(t.Name()), 20)]) + "_" + randomSuffix()
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, name)
	mustExec(t, pool, "CREATE SCHEMA "+name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// openSource opens a Source on the test database only.
func openSource(t testing.TB, opts *pgsource.Options) *pgsource.Source {
	t.Helper()
	u := requireDB(t)
	o := pgsource.Options{Databases: []string{testDatabase}}
	if opts != nil {
		o = *opts
	}
	src, err := pgsource.OpenURL(context.Background(), u, &o)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Errorf("Source.Close: %v", err)
		}
	})
	return src
}

func snapshot(t testing.TB, src source.Source, opts source.SnapshotOptions) source.Snapshot {
	t.Helper()
	snap, err := src.Snapshot(context.Background(), opts)
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	t.Cleanup(func() {
		if err := snap.Close(); err != nil {
			t.Errorf("Snapshot.Close: %v", err)
		}
	})
	return snap
}

// schemaFilter admits the tables of one schema of one database.
type schemaFilter struct{ database, schema string }

func (f schemaFilter) Database(db string) bool { return db == f.database }
func (f schemaFilter) Table(db, schema, _ string) bool {
	return db == f.database && schema == f.schema
}

// listSchema lists the tables of one schema of the test database.
func listSchema(t testing.TB, snap source.Snapshot, schema string) (map[string]source.Table, map[string]source.Skipped) {
	t.Helper()
	tables, skipped, err := snap.Tables(context.Background(), schemaFilter{testDatabase, schema})
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	tm := map[string]source.Table{}
	for _, tb := range tables {
		tm[tb.Name] = tb
	}
	sm := map[string]source.Skipped{}
	for _, s := range skipped {
		sm[s.Target] = s
	}
	return tm, sm
}

// rdsRequest asks for every column of tb with the default RDS mapping,
// leaving out the omitted ones.
func rdsRequest(t testing.TB, tb source.Table) source.ScanRequest {
	t.Helper()
	req := source.ScanRequest{Table: tb}
	for _, c := range tb.Columns {
		target, err := typemap.RDS().Map(typemap.EnginePostgres, tb.Target(), c)
		if err != nil {
			t.Fatalf("map %s: %v", c.Name, err)
		}
		if target.Kind == typemap.Omit {
			continue
		}
		req.Columns = append(req.Columns, source.ScanColumn{Column: c, Target: target})
	}
	return req
}

// scanAll reads a whole scan, cloning values.
func scanAll(t testing.TB, snap source.Snapshot, req source.ScanRequest) [][]parquet.Value {
	t.Helper()
	out, err := sourcetest.ReadAll(context.Background(), snap, req)
	if err != nil {
		t.Fatalf("scan %s: %v", req.Table.Target(), err)
	}
	return out
}
