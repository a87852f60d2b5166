package sqlitesource_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/source/sqlitesource"
	"github.com/snapexport/snapexport/typemap"
)

// testDB creates a database file with table t(id INTEGER PRIMARY KEY, v TEXT)
// of n rows, and returns its path and a writer on it.
func testDB(t *testing.T, journal string, n int) (string, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "snap.db")
	w, err := openWriter(ctx, path, journal)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	mustExec(t, w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
	mustExec(t, w, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < "+strconv.Itoa(n)+") INSERT INTO t SELECT x, 'orig' FROM c")
	return path, w
}

func mustExec(t *testing.T, db *sql.DB, query string) {
	t.Helper()
	if _, err := db.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func openSource(t *testing.T, path string) *sqlitesource.Source {
	t.Helper()
	s, err := sqlitesource.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// counts returns count(*) of t as each snapshot connection sees it.
func counts(t *testing.T, snap source.Snapshot) []int {
	t.Helper()
	var out []int
	err := sqlitesource.EachSnapshotConn(snap, func(c *sql.Conn) error {
		var n int
		err := c.QueryRowContext(context.Background(), "SELECT count(*) FROM t").Scan(&n)
		out = append(out, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hasFallback(info source.SnapshotInfo) bool {
	for _, w := range info.Warnings {
		if w.Reason == source.ReasonConsistencyFallback {
			return true
		}
	}
	return false
}

// TestSnapshotJoinsConnections: Workers connections, one point in time, no
// warning, when nothing writes.
func TestSnapshotJoinsConnections(t *testing.T) {
	path, w := testDB(t, "WAL", 10)
	s := openSource(t, path)
	snap, err := s.Snapshot(context.Background(), source.SnapshotOptions{Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	mustExec(t, w, "INSERT INTO t (v) VALUES ('new')")
	info := snap.Info()
	if info.ID["connections"] != "3" || len(info.Warnings) != 0 {
		t.Errorf("Info = %+v, want 3 connections and no warnings", info)
	}
	if got := counts(t, snap); len(got) != 3 || got[0] != 10 || got[1] != 10 || got[2] != 10 {
		t.Errorf("connections see %v rows, want [10 10 10]", got)
	}
}

// TestSnapshotFallback: when every attempt to join is disturbed by a commit,
// the snapshot keeps one connection, says so, and still reads one point in
// time (the first connection's).
func TestSnapshotFallback(t *testing.T) {
	path, w := testDB(t, "WAL", 10)
	s := openSource(t, path)
	var commits atomic.Int32
	sqlitesource.SetJoin(s, 2, func(i int) {
		if i == 0 { // after the first connection began: a commit it must not see
			mustExec(t, w, "INSERT INTO t (v) VALUES ('during')")
			commits.Add(1)
		}
	})
	snap, err := s.Snapshot(context.Background(), source.SnapshotOptions{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if commits.Load() != 2 {
		t.Errorf("joined %d times, want 2 attempts", commits.Load())
	}
	info := snap.Info()
	if !hasFallback(info) || info.ID["connections"] != "1" {
		t.Fatalf("Info = %+v, want one connection and a %s warning", info, source.ReasonConsistencyFallback)
	}
	// The kept connection began before the second attempt's commit.
	if got := counts(t, snap); len(got) != 1 || got[0] != 11 {
		t.Errorf("connections see %v rows, want [11]", got)
	}
	// Concurrent scans share it and agree.
	tables, _, err := snap.Tables(context.Background(), allFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			n, err := countRows(snap, tables[0])
			if err != nil || n != 11 {
				t.Errorf("concurrent scan read %d rows, err %v; want 11", n, err)
			}
		})
	}
	wg.Wait()
}

// TestSnapshotUnderWrites: with a writer committing continuously, every
// snapshot's connections agree, joined or fallen back.
func TestSnapshotUnderWrites(t *testing.T) {
	path, w := testDB(t, "WAL", 10)
	s := openSource(t, path)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := w.Exec("INSERT INTO t (v) VALUES ('w')"); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
		}
	})
	defer func() { cancel(); wg.Wait() }()
	fallbacks := 0
	for i := 0; i < 10; i++ {
		snap, err := s.Snapshot(ctx, source.SnapshotOptions{Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		got := counts(t, snap)
		for _, n := range got[1:] {
			if n != got[0] {
				t.Errorf("snapshot %d: connections see %v rows", i, got)
			}
		}
		if hasFallback(snap.Info()) {
			fallbacks++
		}
		if err := snap.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d of 10 snapshots fell back to one connection", fallbacks)
}

// TestSnapshotCloseWithOpenScan: Close with a scan open says so; the scan
// reads on, and the connections are released when it closes.
func TestSnapshotCloseWithOpenScan(t *testing.T) {
	path, _ := testDB(t, "WAL", 10)
	s := openSource(t, path)
	ctx := context.Background()
	snap, err := s.Snapshot(ctx, source.SnapshotOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	tables, _, err := snap.Tables(ctx, allFilter{})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := snap.Scan(ctx, scanAll(tables[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.Close(); err == nil || !strings.Contains(err.Error(), "open scans") {
		t.Errorf("Close with an open scan = %v, want an error about open scans", err)
	}
	if _, err := snap.Scan(ctx, scanAll(tables[0])); err == nil {
		t.Errorf("Scan on a closed snapshot succeeded")
	}
	n := 0
	for rows.Next() {
		n++
	}
	if rows.Err() != nil || n != 10 {
		t.Errorf("the open scan read %d rows after Close, err %v", n, rows.Err())
	}
	rows.Close()
	err = sqlitesource.EachSnapshotConn(snap, func(c *sql.Conn) error {
		return c.PingContext(ctx)
	})
	if !errors.Is(err, sql.ErrConnDone) {
		t.Errorf("a snapshot connection after the last scan closed: %v, want sql.ErrConnDone", err)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestRollbackJournal: a database in rollback-journal mode snapshots too;
// its readers' shared locks keep writers out until the snapshot closes (the
// documented cost of that mode).
func TestRollbackJournal(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "delete.db")
	w, err := sql.Open("sqlite", path+"?_pragma=journal_mode(DELETE)&_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	mustExec(t, w, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
	mustExec(t, w, "INSERT INTO t (v) VALUES ('a'), ('b'), ('c')")
	s := openSource(t, path)
	snap, err := s.Snapshot(ctx, source.SnapshotOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if info := snap.Info(); info.ID["journal_mode"] != "delete" || info.ID["connections"] != "2" || info.ID["file_change_counter"] == "" {
		t.Errorf("Info = %+v", info)
	}
	if _, err := w.Exec("INSERT INTO t (v) VALUES ('d')"); err == nil {
		t.Errorf("a write succeeded while a rollback-journal snapshot was open")
	}
	tables, _, err := snap.Tables(ctx, allFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := countRows(snap, tables[0]); n != 3 || err != nil {
		t.Errorf("scan read %d rows, err %v; want 3", n, err)
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, w, "INSERT INTO t (v) VALUES ('d')")
}

type allFilter struct{}

func (allFilter) Database(string) bool              { return true }
func (allFilter) Table(string, string, string) bool { return true }

func scanAll(tb source.Table) source.ScanRequest {
	req := source.ScanRequest{Table: tb}
	for _, c := range tb.Columns {
		req.Columns = append(req.Columns, source.ScanColumn{Column: c, Target: typemap.Target{Kind: typemap.SQLiteAffinityKind(c.ColumnType)}})
	}
	return req
}

func countRows(snap source.Snapshot, tb source.Table) (int, error) {
	rows, err := sourcetest.ReadAll(context.Background(), snap, scanAll(tb))
	return len(rows), err
}

// TestSnapshotConnectionCap: Workers beyond MaxConnections share them.
func TestSnapshotConnectionCap(t *testing.T) {
	path, _ := testDB(t, "WAL", 3)
	s := openSource(t, path)
	snap, err := s.Snapshot(context.Background(), source.SnapshotOptions{Workers: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if got := snap.Info().ID["connections"]; got != strconv.Itoa(sqlitesource.MaxConnections) {
		t.Errorf("connections = %s, want %d", got, sqlitesource.MaxConnections)
	}
	tables, _, err := snap.Tables(context.Background(), allFilter{})
	if err != nil {
		t.Fatal(err)
	}
	// More open scans than connections, all read.
	var open []source.Rows
	for i := 0; i < sqlitesource.MaxConnections+4; i++ {
		rows, err := snap.Scan(context.Background(), scanAll(tables[0]))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, rows)
	}
	for _, rows := range open {
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil || n != 3 {
			t.Errorf("scan read %d rows, err %v", n, err)
		}
		rows.Close()
	}
}
