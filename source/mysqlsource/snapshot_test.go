package mysqlsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/typemap"
)

// createUser creates an account on 127.0.0.1 with a password and the given
// privileges ("SELECT ON db.*", "RELOAD ON *.*"), dropped at the end of the
// test, and returns its URL on the test database.
func createUser(t testing.TB, db *sql.DB, grants ...string) (user, password, rawURL string) {
	t.Helper()
	user = uniqueName(t, "sxu")
	password = "pw-" + user
	account := quoteString(user) + "@'127.0.0.1'"
	t.Cleanup(func() { db.Exec("DROP USER IF EXISTS " + account) })
	mustExec(t, db, "CREATE USER "+account+" IDENTIFIED BY "+quoteString(password))
	for _, g := range grants {
		mustExec(t, db, "GRANT "+g+" TO "+account)
	}
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return user, password, u.String()
}

func fillTable(t testing.TB, db *sql.DB, name string, n int) {
	t.Helper()
	createTable(t, db, name, "(id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
	mustExec(t, db, fmt.Sprintf("INSERT INTO %s SELECT seq, 'orig' FROM seq_1_to_%d", quoteIdent(name), n))
}

func idValueRequest(tb source.Table) source.ScanRequest {
	return source.ScanRequest{Table: tb, Columns: []source.ScanColumn{
		{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}},
		{Column: tb.Columns[1], Target: typemap.Target{Kind: typemap.String}},
	}}
}

// summary is a scan's content in a comparable form.
func summary(rows [][]parquet.Value) string {
	var b strings.Builder
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, fmt.Sprintf("%d=%s", r[0].Int64(), r[1].ByteArray()))
	}
	slices.Sort(ids)
	fmt.Fprintf(&b, "%d rows: %s", len(rows), strings.Join(ids, ","))
	return b.String()
}

// TestSnapshotWithAndWithoutLockPrivilege: an account with RELOAD gets a
// snapshot shared by several connections (FTWRL), one without falls back to
// a single connection and says so; for both, rows inserted, updated and
// deleted by another connection after Snapshot returned are invisible to
// several concurrent scans, whole-table and key ranges.
func TestSnapshotWithAndWithoutLockPrivilege(t *testing.T) {
	admin := adminDB(t)
	for _, tc := range []struct {
		name       string
		grants     []string
		wantMethod string
	}{
		{"with RELOAD", []string{"SELECT ON " + testDatabase + ".*", "RELOAD ON *.*"}, "ftwrl"},
		{"without RELOAD", []string{"SELECT ON " + testDatabase + ".*"}, "single_connection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := uniqueName(t, "iso")
			fillTable(t, admin, name, 1000)
			_, _, rawURL := createUser(t, admin, tc.grants...)
			src, err := OpenURL(context.Background(), rawURL, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			snap := snapshotOf(t, src, 3)
			info := snap.Info()
			if got := info.ID[IDConsistency]; got != tc.wantMethod {
				t.Fatalf("consistency %q, want %q (warnings %v)", got, tc.wantMethod, info.Warnings)
			}
			fallback := slices.ContainsFunc(info.Warnings, func(w source.Warning) bool { return w.Reason == source.ReasonConsistencyFallback })
			if fallback != (tc.wantMethod == "single_connection") {
				t.Errorf("warnings %v", info.Warnings)
			}
			if fallback && !strings.Contains(info.Warnings[0].Detail, "RELOAD") {
				t.Errorf("fallback warning %q does not say which privilege is missing", info.Warnings[0].Detail)
			}
			if info.Time.IsZero() {
				t.Error("snapshot has no time")
			}
			tb := table(t, snap, name)
			if tb.Key == nil || *tb.Key.Min != 1 || *tb.Key.Max != 1000 {
				t.Fatalf("key %+v", tb.Key)
			}
			want := "1000 rows"

			q := quoteIdent(name)
			mustExec(t, admin,
				"INSERT INTO "+q+" VALUES (1001, 'new'), (0, 'new')",
				"UPDATE "+q+" SET v = 'changed' WHERE id IN (1, 500, 1000)",
				"DELETE FROM "+q+" WHERE id BETWEEN 10 AND 19")

			p := func(v int64) *int64 { return &v }
			reqs := []source.ScanRequest{idValueRequest(tb), idValueRequest(tb)}
			for _, r := range []source.KeyRange{{Column: "id", Upper: p(300)}, {Column: "id", Lower: p(300), Upper: p(700)}, {Column: "id", Lower: p(700)}} {
				req := idValueRequest(tb)
				req.Range = &r
				reqs = append(reqs, req)
			}
			results := make([][][]parquet.Value, len(reqs))
			var wg sync.WaitGroup
			for i, req := range reqs {
				wg.Go(func() { results[i], _ = scanAll(t, snap, req) })
			}
			wg.Wait()
			full := summary(results[0])
			if !strings.HasPrefix(full, want+":") || strings.Contains(full, "new") || strings.Contains(full, "changed") {
				t.Errorf("full scan after the writes: %.80s...", full)
			}
			if s := summary(results[1]); s != full {
				t.Errorf("two concurrent full scans differ")
			}
			ranged := slices.Concat(results[2], results[3], results[4])
			if s := summary(ranged); s != full {
				t.Errorf("the ranges do not add up to the full scan: %.80s", s)
			}
			if len(results[2]) != 299 || len(results[3]) != 400 || len(results[4]) != 301 {
				t.Errorf("range sizes %d %d %d", len(results[2]), len(results[3]), len(results[4]))
			}
		})
	}
}

// TestSnapshotConnectionsShareOnePointInTime: while a writer commits pairs
// of rows into two tables in one transaction, every snapshot's connections
// (scans held open at once, so each on its own connection) read the same
// set of pairs. Connections that started their transactions at different
// moments would disagree.
func TestSnapshotConnectionsShareOnePointInTime(t *testing.T) {
	admin := adminDB(t)
	a, b := uniqueName(t, "pair_a"), uniqueName(t, "pair_b")
	createTable(t, admin, a, "(id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
	createTable(t, admin, b, "(id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
	ctx, cancel := context.WithCancel(context.Background())
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(1); ctx.Err() == nil; i++ {
			tx, err := admin.BeginTx(ctx, nil)
			if err != nil {
				return
			}
			_, err1 := tx.Exec(fmt.Sprintf("INSERT INTO %s VALUES (%d, 'x')", quoteIdent(a), i))
			_, err2 := tx.Exec(fmt.Sprintf("INSERT INTO %s VALUES (%d, 'x')", quoteIdent(b), i))
			if err1 != nil || err2 != nil || tx.Commit() != nil {
				tx.Rollback()
				return
			}
			writes.Add(1)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	for writes.Load() < 20 {
		time.Sleep(10 * time.Millisecond)
	}
	src := openTestSource(t, Options{})
	for round := range 4 {
		snap := snapshotOf(t, src, 4)
		if m := snap.Info().ID[IDConsistency]; m != "ftwrl" {
			t.Fatalf("consistency %q", m)
		}
		ta, tb := table(t, snap, a), table(t, snap, b)
		// Four scans open at once: four connections.
		reqs := []source.ScanRequest{idValueRequest(ta), idValueRequest(tb), idValueRequest(ta), idValueRequest(tb)}
		opened := make([]source.Rows, len(reqs))
		for i, req := range reqs {
			r, err := snap.Scan(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			opened[i] = r
			// Let commits happen between the scans' statements.
			time.Sleep(5 * time.Millisecond)
		}
		counts := make([]int, len(opened))
		for i, r := range opened {
			for r.Next() {
				counts[i]++
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			r.Close()
		}
		if counts[0] != counts[1] || counts[0] != counts[2] || counts[0] != counts[3] {
			t.Fatalf("round %d: connections of one snapshot read %v rows", round, counts)
		}
		snap.Close()
	}
	if writes.Load() < 40 {
		t.Logf("only %d writes happened during the test", writes.Load())
	}
}

// TestSingleConnectionFallbackSerializesScans: in the fallback, a second
// scan waits for the first to be closed (one connection), and a scan waiting
// for the connection gives up when its ctx ends.
func TestSingleConnectionFallbackSerializesScans(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "serial")
	fillTable(t, admin, name, 10)
	src := openTestSource(t, Options{NoLock: true})
	snap := snapshotOf(t, src, 4)
	if m := snap.Info().ID[IDConsistency]; m != "single_connection" {
		t.Fatalf("consistency %q", m)
	}
	if w := snap.Info().Warnings; len(w) != 1 || w[0].Reason != source.ReasonConsistencyFallback {
		t.Fatalf("warnings %v", w)
	}
	tb := table(t, snap, name)
	first, err := snap.Scan(context.Background(), idValueRequest(tb))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := snap.Scan(ctx, idValueRequest(tb)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second scan while the first holds the connection: %v, want the ctx's deadline", err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := snap.Scan(context.Background(), idValueRequest(tb))
		if err == nil {
			n := 0
			for r.Next() {
				n++
			}
			if n != 10 {
				err = fmt.Errorf("read %d rows", n)
			}
			r.Close()
		}
		got <- err
	}()
	for first.Next() {
	}
	first.Close()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TestLockTimeoutFallsBack: FLUSH TABLES WITH READ LOCK waits for running
// writes (and blocks every other write meanwhile); past LockWaitTimeout the
// snapshot falls back to one connection rather than keep the server's writes
// blocked.
func TestLockTimeoutFallsBack(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "slow")
	fillTable(t, admin, name, 3)
	slow := make(chan error, 1)
	stmt := "UPDATE " + quoteIdent(name) + " SET v = IF(SLEEP(1), 'a', 'b')"
	go func() {
		// A write that runs for three seconds.
		_, err := admin.Exec(stmt)
		slow <- err
	}()
	for {
		var n int
		if err := admin.QueryRow("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = ?", stmt).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-slow:
			t.Fatalf("the slow statement ended before it was seen running: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	src := openTestSource(t, Options{LockWaitTimeout: time.Second})
	snap := snapshotOf(t, src, 2)
	info := snap.Info()
	if info.ID[IDConsistency] != "single_connection" || len(info.Warnings) != 1 || !strings.Contains(info.Warnings[0].Detail, "lock wait timeout") {
		t.Errorf("snapshot during a long write: %v %v", info.ID, info.Warnings)
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}
}

// TestNonTransactionalTablesAreWarnedAbout: MyISAM and Aria tables are
// flagged and warned about (their reads are not part of the snapshot);
// InnoDB tables are not.
func TestNonTransactionalTablesAreWarnedAbout(t *testing.T) {
	admin := adminDB(t)
	my, aria, inno := uniqueName(t, "myisam"), uniqueName(t, "aria"), uniqueName(t, "inno")
	createTable(t, admin, my, "(id INT PRIMARY KEY) ENGINE=MyISAM")
	createTable(t, admin, aria, "(id INT PRIMARY KEY) ENGINE=Aria")
	createTable(t, admin, inno, "(id INT PRIMARY KEY) ENGINE=InnoDB")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tables, _, err := snap.Tables(context.Background(), only(my, aria, inno))
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	for _, tb := range tables {
		flags[tb.Name] = tb.NonTransactional
	}
	if !flags[my] || !flags[aria] || flags[inno] || len(flags) != 3 {
		t.Errorf("NonTransactional flags %v", flags)
	}
	warned := map[string]bool{}
	for _, w := range snap.Info().Warnings {
		if w.Reason == source.ReasonNonTransactionalTable {
			warned[w.Target] = true
		}
	}
	if !warned[testDatabase+"."+my] || !warned[testDatabase+"."+aria] || warned[testDatabase+"."+inno] || len(warned) != 2 {
		t.Errorf("warnings %v", snap.Info().Warnings)
	}
	// Listing again does not repeat them.
	snap.Tables(context.Background(), only(my, aria, inno))
	if n := len(snap.Info().Warnings); n != 2 {
		t.Errorf("%d warnings after a second Tables", n)
	}
}

// TestCancelKeepsTheSnapshotConnection: cancelling a scan (KILL QUERY) and
// closing one early leave the single snapshot connection inside its
// transaction: the next scans still read the snapshot.
func TestCancelKeepsTheSnapshotConnection(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "cancel")
	fillTable(t, admin, name, 200000)
	src := openTestSource(t, Options{NoLock: true})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	mustExec(t, admin, "DELETE FROM "+quoteIdent(name)+" WHERE id <= 1000")

	// Cancelled mid-table.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := snap.Scan(ctx, idValueRequest(tb))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		if n++; n == 10 {
			cancel()
		}
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), name) {
		t.Fatalf("after cancel: %v, want context.Canceled naming the table", err)
	}
	rows.Close()

	// Closed early, after one row.
	rows, err = snap.Scan(context.Background(), idValueRequest(tb))
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	rows.Close()

	// The same connection, same transaction: all 200000 rows, deletions invisible.
	got, _ := scanAll(t, snap, idValueRequest(tb))
	if len(got) != 200000 {
		t.Fatalf("after cancel and early close, the snapshot reads %d rows, want 200000", len(got))
	}
	snap.mu.Lock()
	live := snap.live
	snap.mu.Unlock()
	if live != 1 {
		t.Errorf("%d live connections, want 1", live)
	}
}

// TestKilledConnection: a snapshot connection killed from another session
// mid-table ends the scan with an error naming the table; the connection is
// dropped from the snapshot, and a snapshot with no connection left says so.
func TestKilledConnection(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "killed")
	fillTable(t, admin, name, 200000)
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d workers", workers), func(t *testing.T) {
			src := openTestSource(t, Options{NoLock: workers == 1})
			snap := snapshotOf(t, src, workers)
			tb := table(t, snap, name)
			scan, err := snap.Scan(context.Background(), idValueRequest(tb))
			if err != nil {
				t.Fatal(err)
			}
			id := scan.(*rows).conn.id
			n := 0
			for scan.Next() {
				if n++; n == 10 {
					mustExec(t, admin, fmt.Sprintf("KILL %d", id))
				}
			}
			err = scan.Err()
			if err == nil || !strings.Contains(err.Error(), testDatabase+"."+name) || !strings.Contains(err.Error(), "the server closed the connection") {
				t.Fatalf("scan of a killed connection: err = %v, want an error naming the table and saying the server closed the connection", err)
			}
			scan.Close()
			if workers == 1 {
				if _, err := snap.Scan(context.Background(), idValueRequest(tb)); !errors.Is(err, errSnapshotLost) {
					t.Fatalf("scan after the only connection died: %v", err)
				}
				return
			}
			if got, _ := scanAll(t, snap, idValueRequest(tb)); len(got) != 200000 {
				t.Fatalf("the other connection reads %d rows", len(got))
			}
		})
	}
}

// TestSnapshotClose: Close ends the snapshot; scans afterwards fail, and
// Close twice is fine.
func TestSnapshotClose(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "closed")
	fillTable(t, admin, name, 5)
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tb := table(t, snap, name)
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := snap.Scan(context.Background(), idValueRequest(tb)); !errors.Is(err, errSnapshotClosed) {
		t.Errorf("scan after Close: %v", err)
	}
	if err := snap.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestScanBehindQueuedDDL: one snapshot connection reads a table (and so
// holds its metadata lock until the snapshot ends); an ALTER TABLE queues
// behind it; a scan of the table on the other connection queues behind the
// ALTER. Cancelling that scan's context interrupts the wait (KILL QUERY)
// even with a lock wait of an hour; and the wait is bounded by
// Options.LockWaitTimeout, after which the scan fails naming the table and
// the DDL, where the server's own default would have it wait a day while
// the ALTER waits for the export.
func TestScanBehindQueuedDDL(t *testing.T) {
	admin := adminDB(t)
	name := uniqueName(t, "ddlwait")
	// No key: listing it reads nothing on a snapshot connection, so only
	// the first scan's connection takes its metadata lock.
	createTable(t, admin, name, "(id BIGINT NOT NULL, v VARCHAR(20)) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" SELECT seq, 'orig' FROM seq_1_to_1000")
	alterer, err := sql.Open("mysql", serverConfig(t).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer alterer.Close()

	// behindDDL opens a snapshot with the given lock wait, reads one row of
	// the table on one connection, and queues ddl behind it. It returns the
	// snapshot and a function that closes it and checks the DDL then ran.
	behindDDL := func(lockWait time.Duration, ddl string) (*Snapshot, source.Table, func()) {
		snap := snapshotOf(t, openTestSource(t, Options{LockWaitTimeout: lockWait}), 2)
		tb := table(t, snap, name)
		first, err := snap.Scan(context.Background(), idValueRequest(tb))
		if err != nil {
			t.Fatal(err)
		}
		if !first.Next() {
			t.Fatal(first.Err())
		}
		altered := make(chan error, 1)
		go func() {
			_, err := alterer.Exec(ddl)
			altered <- err
		}()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var waiting int
			admin.QueryRow(`SELECT COUNT(*) FROM information_schema.PROCESSLIST
				WHERE STATE = 'Waiting for table metadata lock' AND INFO = ?`, ddl).Scan(&waiting)
			if waiting > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the ALTER TABLE never waited for the snapshot's metadata lock")
			}
		}
		return snap, tb, func() {
			first.Close()
			snap.Close()
			select {
			case err := <-altered:
				if err != nil {
					t.Errorf("%s after the snapshot closed: %v", ddl, err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s still waits after the snapshot closed", ddl)
			}
		}
	}

	t.Run("Cancel", func(t *testing.T) {
		snap, tb, done := behindDDL(time.Hour, "ALTER TABLE "+quoteIdent(name)+" ADD COLUMN a1 INT")
		defer done()
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		ended := make(chan error, 1)
		go func() {
			_, err := sourcetest.ReadAll(ctx, snap, idValueRequest(tb))
			ended <- err
		}()
		select {
		case err := <-ended:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled scan behind the ALTER: %v, want context.Canceled", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the cancelled scan still waits for the metadata lock: cancelling did not interrupt it")
		}
		// The interrupted statement left the connection in the snapshot.
		snap.mu.Lock()
		live := snap.live
		snap.mu.Unlock()
		if live != 2 {
			t.Errorf("%d live connections after the cancelled scan, want 2", live)
		}
	})

	t.Run("LockWaitTimeout", func(t *testing.T) {
		snap, tb, done := behindDDL(time.Second, "ALTER TABLE "+quoteIdent(name)+" ADD COLUMN a2 INT")
		defer done()
		_, err := sourcetest.ReadAll(context.Background(), snap, idValueRequest(tb))
		if err == nil || !strings.Contains(err.Error(), "waits for the metadata lock the export holds") || !strings.Contains(err.Error(), name) {
			t.Errorf("scan behind the ALTER: %v, want the lock wait's error naming the table", err)
		}
	})
}

// TestSnapshotConnectionsAreBounded: however many workers are asked for,
// a snapshot holds at most MaxSnapshotConns connections.
func TestSnapshotConnectionsAreBounded(t *testing.T) {
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 100000)
	if n := cap(snap.free); n != MaxSnapshotConns {
		t.Errorf("snapshot holds %d connections for 100000 workers, want %d", n, MaxSnapshotConns)
	}
	for _, w := range snap.Info().Warnings {
		if w.Reason == source.ReasonFewerConnections {
			t.Errorf("warning %+v: the bound is not a refusal", w)
		}
	}
}
