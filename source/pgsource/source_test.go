package pgsource_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/typemap"
)

func TestRegisteredSchemes(t *testing.T) {
	u := requireDB(t)
	for _, scheme := range []string{"postgres", "postgresql"} {
		if !slices.Contains(source.Schemes(), scheme) {
			t.Fatalf("scheme %q is not registered (have %v)", scheme, source.Schemes())
		}
		raw := scheme + strings.TrimPrefix(u, "postgres")
		src, err := source.OpenURL(context.Background(), raw)
		if err != nil {
			t.Fatalf("OpenURL(%s): %v", raw, err)
		}
		if src.Engine() != typemap.EnginePostgres {
			t.Errorf("Engine() = %q, want %q", src.Engine(), typemap.EnginePostgres)
		}
		if err := src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestIdentityHasNoPassword(t *testing.T) {
	requireDB(t)
	cases := map[string]string{
		"postgres://postgres:hunter2-secret@127.0.0.1:5432/" + testDatabase + "?sslmode=disable":                     "postgres://postgres@127.0.0.1:5432/" + testDatabase + "?sslmode=disable",
		"postgresql://postgres@127.0.0.1:5432/" + testDatabase + "?password=hunter2-secret&sslmode=disable":          "postgresql://postgres@127.0.0.1:5432/" + testDatabase + "?sslmode=disable",
		"host=127.0.0.1 port=5432 user=postgres password=hunter2-secret dbname=" + testDatabase + " sslmode=disable": "postgres://postgres@127.0.0.1:5432/" + testDatabase,
	}
	for raw, want := range cases {
		src, err := pgsource.OpenURL(context.Background(), raw, nil)
		if err != nil {
			t.Fatalf("OpenURL: %v", err)
		}
		if got := src.Identity(); got != want {
			t.Errorf("Identity() = %q, want %q", got, want)
		}
		src.Close()
	}
}

// TestOpenPool: a Source on the caller's pool reads through it and leaves
// it open.
func TestOpenPool(t *testing.T) {
	pool := adminPool(t)
	schema := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+schema+".t (id int PRIMARY KEY, s text)")
	mustExec(t, pool, "INSERT INTO "+schema+".t VALUES (1, 'a'), (2, 'b')")

	src, err := pgsource.Open(context.Background(), pool, &pgsource.Options{Databases: []string{testDatabase}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	snap, err := src.Snapshot(context.Background(), source.SnapshotOptions{Workers: 2})
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	tables, _ := listSchema(t, snap, schema)
	if got := len(scanAll(t, snap, rdsRequest(t, tables["t"]))); got != 2 {
		t.Errorf("read %d rows, want 2", got)
	}
	if err := snap.Close(); err != nil {
		t.Fatalf("Snapshot.Close: %v", err)
	}
	if err := src.Close(); err != nil {
		t.Fatalf("Source.Close: %v", err)
	}
	var one int
	if err := pool.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil {
		t.Fatalf("the caller's pool no longer works after Source.Close: %v", err)
	}
	// The pool's connections came back idle: no transaction left open.
	var open int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = $1 AND application_name <> 'snapexport' AND state LIKE 'idle in transaction%'`, testDatabase).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Errorf("%d connections of the caller's pool are idle in a transaction", open)
	}
}

func TestOpenConfig(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(requireDB(t))
	if err != nil {
		t.Fatal(err)
	}
	src, err := pgsource.OpenConfig(context.Background(), cfg, &pgsource.Options{Databases: []string{testDatabase}})
	if err != nil {
		t.Fatalf("OpenConfig: %v", err)
	}
	defer src.Close()
	if want := "postgres://postgres@127.0.0.1:5432/" + testDatabase; src.Identity() != want {
		t.Errorf("Identity() = %q, want %q", src.Identity(), want)
	}
	snap := snapshot(t, src, source.SnapshotOptions{})
	if snap.Info().Time.IsZero() {
		t.Errorf("snapshot has no time")
	}
}

// TestUnreachableHost: a closed loopback port fails Open at once, with an
// error that names the server and not the password.
func TestUnreachableHost(t *testing.T) {
	port, err := freePort() // free, so nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	raw := fmt.Sprintf("postgres://postgres:hunter2-secret@127.0.0.1:%d/db?sslmode=disable&connect_timeout=5", port)
	_, err = source.OpenURL(ctx, raw)
	if err == nil {
		t.Fatal("OpenURL on a closed port succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, "hunter2") {
		t.Errorf("error shows the password: %s", msg)
	}
	if !strings.Contains(msg, "pgsource: connect to") || !strings.Contains(msg, fmt.Sprint(port)) {
		t.Errorf("error does not say which server failed: %s", msg)
	}
	var connErr *pgconn.ConnectError
	if !errors.As(err, &connErr) {
		t.Errorf("error does not wrap *pgconn.ConnectError: %v", err)
	}
}

func TestMissingDatabase(t *testing.T) {
	raw := dbURL(t, "snapexport_pgsource_no_such_db")
	requireDB(t)
	_, err := pgsource.OpenURL(context.Background(), raw, nil)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Fatalf("OpenURL on a missing database: %v, want a PgError 3D000 (invalid_catalog_name)", err)
	}
	if !strings.Contains(err.Error(), "snapexport_pgsource_no_such_db") {
		t.Errorf("error does not name the database: %v", err)
	}
}

func TestInvalidURL(t *testing.T) {
	_, err := pgsource.OpenURL(context.Background(), "postgres://u:hunter2-secret@127.0.0.1:notaport/db", nil)
	if err == nil {
		t.Fatal("OpenURL accepted a port that is not a number")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "pgsource: invalid URL") {
		t.Errorf("error = %v, want it to start with \"pgsource: invalid URL\"", err)
	}
}

// TestWrongPassword runs against the private cluster, which checks
// passwords (the shared server trusts loopback connections).
func TestWrongPassword(t *testing.T) {
	c := privateCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wrong := "Wr0ng-Passw0rd-xyz"
	_, err := source.OpenURL(ctx, c.url("postgres", wrong, "postgres"))
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("OpenURL with a wrong password: %v, want a PgError 28P01 (invalid_password)", err)
	}
	for _, secret := range []string{wrong, clusterPassword} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows a password: %v", err)
		}
	}

	// The right password works, and Identity does not show it.
	src, err := source.OpenURL(ctx, c.url("postgres", clusterPassword, "postgres"))
	if err != nil {
		t.Fatalf("OpenURL with the right password: %v", err)
	}
	defer src.Close()
	if strings.Contains(src.Identity(), clusterPassword) {
		t.Errorf("Identity() shows the password: %s", src.Identity())
	}
}

// TestCloseWithOpenSnapshot: Source.Close ends a snapshot the caller left
// open instead of waiting for its connection forever, and the snapshot's
// transaction is gone from the server.
func TestCloseWithOpenSnapshot(t *testing.T) {
	pool := adminPool(t)
	src, err := pgsource.OpenURL(context.Background(), requireDB(t), &pgsource.Options{Databases: []string{testDatabase}})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Snapshot(context.Background(), source.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := snap.Info().ID[testDatabase+".exported_snapshot"]
	done := make(chan error, 1)
	go func() { done <- src.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Source.Close with an open snapshot did not return")
	}
	if err := snap.Close(); err != nil {
		t.Errorf("Snapshot.Close after Source.Close: %v", err)
	}
	// The exported snapshot no longer exists.
	tx, err := pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	mustExec(t, tx, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
	if _, err := tx.Exec(context.Background(), "SET TRANSACTION SNAPSHOT '"+id+"'"); err == nil {
		t.Errorf("snapshot %s can still be imported after Source.Close", id)
	}
}
