package pgsource_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
)

// TestConnStringParametersAreAllowListed: a parameter that would reach the
// server as a session setting (options=-c ..., default_transaction_read_only,
// search_path) or change how pgx reads results is refused before
// connecting, in URLs and key/value strings alike, naming it and the
// allowed ones; so is one from PGOPTIONS.
func TestConnStringParametersAreAllowListed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens: a refusal that connected first would show a dial error
	for _, tc := range []struct{ raw, param string }{
		{"postgres://u:hunter2@" + addr + "/d?options=-c%20default_transaction_read_only%3Doff", "options"},
		{"postgres://u:hunter2@" + addr + "/d?default_transaction_read_only=off", "default_transaction_read_only"},
		{"postgresql://u:hunter2@" + addr + "/d?sslmode=disable&search_path=evil", "search_path"},
		{"postgres://u:hunter2@" + addr + "/d?default_query_exec_mode=simple_protocol", "default_query_exec_mode"},
		{"host=127.0.0.1 password=hunter2 options='-c default_transaction_read_only=off'", "options"},
		{"host=127.0.0.1 password='hun ter2' client_encoding=LATIN1", "client_encoding"},
	} {
		_, err := pgsource.OpenURL(context.Background(), tc.raw, nil)
		if err == nil || !strings.Contains(err.Error(), `parameter "`+tc.param+`" is not allowed`) ||
			!strings.Contains(err.Error(), "allowed: application_name") || strings.Contains(err.Error(), "hunter2") ||
			strings.Contains(err.Error(), "hun ter2") {
			t.Errorf("%s: %v", tc.raw, err)
		}
	}
	// A key/value string pgx cannot parse: the message hides the password.
	for _, raw := range []string{"host=127.0.0.1 password=hunter2 port=notaport", "host=127.0.0.1 password='hun ter2' dbname", "postgres://u:hunter2@h:notaport/d"} {
		if _, err := pgsource.OpenURL(context.Background(), raw, nil); err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "hun ter2") {
			t.Errorf("%s: %v", raw, err)
		}
	}
	t.Setenv("PGOPTIONS", "-c default_transaction_read_only=off")
	_, err = pgsource.OpenURL(context.Background(), "postgres://u@"+addr+"/d", nil)
	if err == nil || !strings.Contains(err.Error(), `"options"`) || !strings.Contains(err.Error(), "PGOPTIONS") {
		t.Errorf("PGOPTIONS: %v", err)
	}
}

// TestConnectionsAreReadOnly: the source's sessions are read-only from
// their start (default_transaction_read_only), so a write in autocommit
// on its pool fails with read_only_sql_transaction, as one inside the
// snapshot's transaction does; a caller's pool (Open) gets read-only
// transactions.
func TestConnectionsAreReadOnly(t *testing.T) {
	pool := adminPool(t)
	schema := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+schema+".t (id int)")
	src, err := pgsource.OpenURL(context.Background(), requireDB(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshot(t, src, source.SnapshotOptions{})
	for _, stmt := range []string{"INSERT INTO " + schema + ".t VALUES (1)", "CREATE TABLE " + schema + ".t2 (i int)",
		"SET default_transaction_read_only = off; INSERT INTO " + schema + ".t VALUES (1)"} {
		errs, err := pgsource.WriteThrough(context.Background(), src, snap, stmt)
		if err != nil {
			t.Fatal(err)
		}
		if len(errs) < 2 {
			t.Fatalf("tried %d connections", len(errs))
		}
		for i, err := range errs {
			var pgErr *pgconn.PgError
			if i == 0 && strings.HasPrefix(stmt, "SET") {
				// A session may turn its default off; the exporter's own
				// statements never do, and its transactions are READ ONLY.
				continue
			}
			if !errors.As(err, &pgErr) || pgErr.Code != "25006" {
				t.Errorf("%s: connection %d: %v, want 25006 read_only_sql_transaction", stmt, i, err)
			}
		}
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".t").Scan(&n); err != nil || n != 0 {
		t.Errorf("table has %d rows (%v), want 0", n, err)
	}
}

// TestSourceOptionsDatabasesFromURL: the URL's database is the Source's
// scope; the Options still narrow it.
func TestSourceOptionsDatabasesFromURL(t *testing.T) {
	src, err := pgsource.OpenURL(context.Background(), requireDB(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshot(t, src, source.SnapshotOptions{})
	var dbs []string
	for k := range snap.Info().ID {
		if db, ok := strings.CutSuffix(k, ".exported_snapshot"); ok {
			dbs = append(dbs, db)
		}
	}
	if !slices.Equal(dbs, []string{testDatabase}) {
		t.Errorf("a URL naming %s snapshotted %v", testDatabase, dbs)
	}
}

// TestLocksSizedToTheServer: when locking the tables would take more than
// half of the free shared lock table (shrunk here through the test hook,
// so a few tables suffice), Tables refuses before locking, naming
// max_locks_per_transaction and a value; at the server's real size the
// same tables lock.
func TestLocksSizedToTheServer(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	for i := range 5 {
		mustExec(t, pool, "CREATE TABLE "+s+".t"+string(rune('0'+i))+" (id int)")
	}
	src, err := pgsource.OpenURL(context.Background(), requireDB(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var inUse int64
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_locks").Scan(&inUse); err != nil {
		t.Fatal(err)
	}
	pgsource.SetLockCapacity(src, inUse+12) // 6 free: 5 tables need 10
	snap := snapshot(t, src, source.SnapshotOptions{})
	_, _, err = snap.Tables(context.Background(), schemaFilter{testDatabase, s})
	if err == nil || !strings.Contains(err.Error(), "raise max_locks_per_transaction to at least") || !strings.Contains(err.Error(), "5 tables") {
		t.Fatalf("Tables with a small lock table: %v", err)
	}
	var held int64
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1", s).Scan(&held); err != nil || held != 0 {
		t.Errorf("%d locks on the schema's tables after the refusal (%v)", held, err)
	}
	pgsource.SetLockCapacity(src, 0)
	snap2 := snapshot(t, src, source.SnapshotOptions{})
	if tables, _, err := snap2.Tables(context.Background(), schemaFilter{testDatabase, s}); err != nil || len(tables) != 5 {
		t.Errorf("Tables at the server's size: %d tables, %v", len(tables), err)
	}
}

// TestScansAreBoundedPerSource: however many workers and whatever the
// pools allow (pool_max_conns=40 here), at most 32 scans of one Source hold
// a connection at once; the next waits until one closes.
func TestScansAreBoundedPerSource(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".t (id int)")
	mustExec(t, pool, "INSERT INTO "+s+".t VALUES (1)")
	src, err := pgsource.OpenURL(context.Background(), requireDB(t)+"&pool_max_conns=40", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshot(t, src, source.SnapshotOptions{Workers: 100})
	tables, _, err := snap.Tables(context.Background(), schemaFilter{testDatabase, s})
	if err != nil || len(tables) != 1 {
		t.Fatalf("Tables: %v %v", tables, err)
	}
	req := rdsRequest(t, tables[0])
	var open []source.Rows
	defer func() {
		for _, r := range open {
			r.Close()
		}
	}()
	for i := range 32 {
		r, err := snap.Scan(context.Background(), req)
		if err != nil {
			t.Fatalf("scan %d: %v", i, err)
		}
		open = append(open, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if r, err := snap.Scan(ctx, req); !errors.Is(err, context.DeadlineExceeded) {
		if r != nil {
			r.Close()
		}
		t.Fatalf("scan 33: %v, want it to wait for a slot until its deadline", err)
	}
	open[0].Close()
	open = open[1:]
	r, err := snap.Scan(context.Background(), req)
	if err != nil {
		t.Fatalf("scan after one closed: %v", err)
	}
	r.Close()
}

// TestErrorsHideThePassword: an error whose text holds the connection's
// password (here a value-too-large error naming a table whose name is the
// password) leaves the source with it hidden and stays an
// *source.ValueTooLargeError for errors.As.
func TestErrorsHideThePassword(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	password := "pgs_secret_" + randomSuffix()
	mustExec(t, pool, "CREATE TABLE "+s+"."+password+" (id int, v text)")
	mustExec(t, pool, "INSERT INTO "+s+"."+password+" VALUES (1, 'long enough')")
	u, _ := url.Parse(requireDB(t))
	u.User = url.UserPassword(u.User.Username(), password) // the shared server trusts 127.0.0.1 and never asks for it
	src, err := pgsource.OpenURL(context.Background(), u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _, err := snap.Tables(context.Background(), schemaFilter{testDatabase, s})
	if err != nil || len(tables) != 1 {
		t.Fatalf("Tables: %v %v", tables, err)
	}
	req := rdsRequest(t, tables[0])
	req.MaxValueBytes = 4
	r, err := snap.Scan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	err = r.Err()
	r.Close()
	var tooLarge *source.ValueTooLargeError
	if err == nil || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "xxxxx") || !errors.As(err, &tooLarge) {
		t.Errorf("scan error %v", err)
	}
}
