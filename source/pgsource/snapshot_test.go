package pgsource_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/source/sourcetest"
)

// TestSnapshotConsistency: with several tables and concurrent scans (whole
// tables and key ranges, more scans than tables), rows inserted, updated and
// deleted by another connection after Snapshot returned are invisible, and
// deleted rows are still there.
func TestSnapshotConsistency(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	tables := []string{"orders", "items", "nokey"}
	for _, name := range tables {
		key := "PRIMARY KEY"
		if name == "nokey" {
			key = ""
		}
		mustExec(t, pool, fmt.Sprintf("CREATE TABLE %s.%s (id int %s, v text)", s, name, key))
		mustExec(t, pool, fmt.Sprintf("INSERT INTO %s.%s SELECT g, 'orig' FROM generate_series(1, 1000) g", s, name))
	}

	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{Workers: 4})
	info := snap.Info()

	// Another connection writes after the snapshot, before Tables.
	for _, name := range tables {
		mustExec(t, pool, fmt.Sprintf("INSERT INTO %s.%s SELECT g, 'new' FROM generate_series(1001, 1100) g", s, name))
		mustExec(t, pool, fmt.Sprintf("UPDATE %s.%s SET v = 'changed' WHERE id %% 10 = 0", s, name))
		mustExec(t, pool, fmt.Sprintf("DELETE FROM %s.%s WHERE id %% 7 = 0", s, name))
	}
	listed, _ := listSchema(t, snap, s)

	type job struct {
		table string
		req   source.ScanRequest
	}
	var jobs []job
	for _, name := range tables {
		tb := listed[name]
		req := rdsRequest(t, tb)
		jobs = append(jobs, job{name, req})
		if tb.Key != nil {
			p := func(v int64) *int64 { return &v }
			for _, r := range []source.KeyRange{{Upper: p(300), IncludeNull: true}, {Lower: p(300), Upper: p(700)}, {Lower: p(700)}} {
				rr := req
				rr.Range = &r
				jobs = append(jobs, job{name, rr})
			}
		}
	}
	// More writes while the scans run.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			for _, name := range tables {
				pool.Exec(context.Background(), fmt.Sprintf("UPDATE %s.%s SET v = 'during' WHERE id = %d", s, name, 1+i%1000))
			}
		}
	})
	results := make([][]string, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Go(func() {
			rows, err := sourcetest.ReadAll(context.Background(), snap, j.req)
			errs[i] = err
			for _, r := range rows {
				results[i] = append(results[i], fmt.Sprintf("%d=%s", r[0].Int32(), r[1].ByteArray()))
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(stop)
	wg.Wait()

	var want []string
	for id := 1; id <= 1000; id++ {
		want = append(want, fmt.Sprintf("%d=orig", id))
	}
	slices.Sort(want)
	perTable := map[string][]string{}
	for i, j := range jobs {
		if errs[i] != nil {
			t.Fatalf("scan of %s: %v", j.table, errs[i])
		}
		if j.req.Range == nil {
			got := slices.Clone(results[i])
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: the whole-table scan differs from the table at the snapshot (%d rows, want 1000)", j.table, len(got))
			}
		} else {
			perTable[j.table] = append(perTable[j.table], results[i]...)
		}
	}
	for name, got := range perTable {
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: the key-range scans together differ from the table at the snapshot (%d rows, want 1000)", name, len(got))
		}
	}

	// The snapshot's identity.
	for _, k := range []string{".exported_snapshot", ".txid_snapshot", ".lsn"} {
		if info.ID[testDatabase+k] == "" {
			t.Errorf("Info().ID has no %q: %v", testDatabase+k, info.ID)
		}
	}
	if info.Time.IsZero() || info.Time.Location() != time.UTC {
		t.Errorf("Info().Time = %v, want a UTC time", info.Time)
	}
}

// TestSnapshotLocks: the listed tables cannot be truncated while the
// snapshot is open; one truncated between Snapshot and Tables is reported.
func TestSnapshotLocks(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".a (id int)")
	mustExec(t, pool, "CREATE TABLE "+s+".b (id int)")
	mustExec(t, pool, "INSERT INTO "+s+".a VALUES (1)")
	mustExec(t, pool, "INSERT INTO "+s+".b VALUES (1)")
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	listed, _, err := snap.Tables(context.Background(), tableFilter{testDatabase, s, "a"})
	if err != nil || len(listed) != 1 {
		t.Fatalf("Tables: %v %v", listed, err)
	}
	// TRUNCATE needs ACCESS EXCLUSIVE, which the snapshot's lock holds off.
	conn, err := pool.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	mustExec(t, conn, "SET lock_timeout = '200ms'")
	_, err = conn.Exec(context.Background(), "TRUNCATE "+s+".a")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
		t.Errorf("TRUNCATE of a listed table during the snapshot: %v, want a lock timeout", err)
	}
	mustExec(t, conn, "RESET lock_timeout")
	if n := len(scanAll(t, snap, rdsRequest(t, listed[0]))); n != 1 {
		t.Errorf("a: %d rows, want 1", n)
	}

	// b was not listed yet: truncating it now is possible, and then listing
	// it is an error, not an empty table.
	mustExec(t, pool, "TRUNCATE "+s+".b")
	_, _, err = snap.Tables(context.Background(), tableFilter{testDatabase, s, "b"})
	if err == nil || !strings.Contains(err.Error(), "after the snapshot was taken") {
		t.Errorf("Tables after a TRUNCATE following the snapshot: %v, want an error saying the table changed", err)
	}
	// The failed listing left the snapshot usable.
	if n := len(scanAll(t, snap, rdsRequest(t, listed[0]))); n != 1 {
		t.Errorf("a after a failed Tables: %d rows, want 1", n)
	}
}

// TestScanLockConflict: an ALTER TABLE queued behind the snapshot's lock
// would wait for the export, and a scan of that table for the ALTER: the
// scan fails after lock_timeout with a message saying why, instead of
// hanging.
func TestScanLockConflict(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 5 s lock timeout")
	}
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".a (id int)")
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	listed, _, err := snap.Tables(context.Background(), tableFilter{testDatabase, s, "a"})
	if err != nil || len(listed) != 1 {
		t.Fatalf("Tables: %v %v", listed, err)
	}
	alterCtx, cancelAlter := context.WithCancel(context.Background())
	alterDone := make(chan error, 1)
	go func() {
		_, err := pool.Exec(alterCtx, "ALTER TABLE "+s+".a ADD COLUMN x int")
		alterDone <- err
	}()
	// Wait until the ALTER is queued.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = $1::regclass`, s+".a").Scan(&waiting)
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ALTER TABLE never queued")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = sourcetest.ReadAll(context.Background(), snap, rdsRequest(t, listed[0]))
	if err == nil || !strings.Contains(err.Error(), "waits for an exclusive lock") {
		t.Errorf("scan behind a queued ALTER: %v, want the lock-conflict error", err)
	}
	cancelAlter()
	<-alterDone
}

// TestTerminatedMidScan: a connection killed in the middle of a table ends
// the scan with an error naming the table.
func TestTerminatedMidScan(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".big (id int, pad text)")
	mustExec(t, pool, "INSERT INTO "+s+".big SELECT g, repeat('x', 200) FROM generate_series(1, 200000) g")
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	listed, _ := listSchema(t, snap, s)
	rows, err := snap.Scan(context.Background(), rdsRequest(t, listed["big"]))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for i := 0; i < 10; i++ {
		if !rows.Next() {
			t.Fatalf("scan ended after %d rows: %v", i, rows.Err())
		}
	}
	var killed int
	if err := pool.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = $1 AND query LIKE '%'||$2||'%' AND query LIKE 'SELECT%' AND pid <> pg_backend_pid()`,
		testDatabase, s+".big").Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the scan's backend: %d killed, %v", killed, err)
	}
	n := 10
	for rows.Next() {
		n++
	}
	err = rows.Err()
	if err == nil {
		t.Fatalf("the scan ended cleanly after %d rows although its connection was terminated", n)
	}
	if !strings.Contains(err.Error(), testDatabase+"."+s+".big") {
		t.Errorf("error does not name the table: %v", err)
	}
	if n >= 200000 {
		t.Errorf("read all %d rows although the connection was terminated", n)
	}
	if err := rows.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// The snapshot lives on: its exporting connection was not touched.
	one := int64(2)
	req := rdsRequest(t, listed["big"])
	req.Table.Key = &source.Key{Column: "id", Integer: true}
	req.Range = &source.KeyRange{Column: "id", Upper: &one}
	if got := len(scanAll(t, snap, req)); got != 1 {
		t.Errorf("scan after the terminated one: %d rows, want 1", got)
	}
}

// TestSnapshotDatabases: a Source whose URL names no database reaches every
// database of the server, deriving the other databases' connections from
// its own URL, and one whose URL names a database reads that one only; a database
// the role may not connect to is left out, or reported with the GRANT when
// it was asked for. Runs on the private cluster, whose every database the
// test owns.
func TestSnapshotDatabases(t *testing.T) {
	c := privateCluster(t)
	suffix := randomSuffix()
	dbA, dbB, dbLocked, dbTemplate := "pgs_a_"+suffix, "pgs_b_"+suffix, "pgs_locked_"+suffix, "pgs_tmpl_"+suffix
	role := "pgs_user_" + suffix
	c.exec(t, "postgres",
		"CREATE ROLE "+role+" LOGIN PASSWORD '"+clusterPassword+"'",
		"CREATE DATABASE "+dbA+" OWNER "+role, "CREATE DATABASE "+dbB+" OWNER "+role,
		"CREATE DATABASE "+dbLocked, "REVOKE CONNECT ON DATABASE "+dbLocked+" FROM PUBLIC",
		"CREATE DATABASE "+dbTemplate+" IS_TEMPLATE true")
	c.exec(t, "postgres", "CREATE DATABASE "+rejectedDatabase)
	t.Cleanup(func() {
		c.exec(t, "postgres", "DROP DATABASE "+dbA+" WITH (FORCE)", "DROP DATABASE "+dbB+" WITH (FORCE)",
			"DROP DATABASE "+dbLocked+" WITH (FORCE)", "ALTER DATABASE "+dbTemplate+" IS_TEMPLATE false",
			"DROP DATABASE "+dbTemplate+" WITH (FORCE)", "DROP DATABASE "+rejectedDatabase+" WITH (FORCE)", "DROP ROLE "+role)
	})
	for _, db := range []string{dbA, dbB} {
		c.exec(t, db, "CREATE TABLE t_"+db+" (id int)", "INSERT INTO t_"+db+" VALUES (1), (2)", "ALTER TABLE t_"+db+" OWNER TO "+role)
	}
	scoped, err := source.OpenURL(context.Background(), c.url(role, clusterPassword, dbA))
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	defer scoped.Close()
	if ids := snapshot(t, scoped, source.SnapshotOptions{}).Info().ID; len(ids) == 0 || ids[dbA+".exported_snapshot"] == "" || ids[dbB+".exported_snapshot"] != "" {
		t.Errorf("a URL naming %s snapshotted %v, want %s only", dbA, ids, dbA)
	}
	src, err := source.OpenURL(context.Background(), c.url(role, clusterPassword, ""))
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	defer src.Close()
	if want := "postgres://" + role + "@127.0.0.1:" + strconv.Itoa(c.port) + "/?sslmode=disable"; src.Identity() != want {
		t.Errorf("whole-server identity %q, want %q", src.Identity(), want)
	}

	// Without a database: every database the role may connect to, templates aside.
	snap := snapshot(t, src, source.SnapshotOptions{})
	var dbs []string
	for k := range snap.Info().ID {
		if db, ok := strings.CutSuffix(k, ".exported_snapshot"); ok {
			dbs = append(dbs, db)
		}
	}
	slices.Sort(dbs)
	if want := []string{dbA, dbB, "postgres"}; !slices.Equal(dbs, want) { // not the locked, template or rejected ones
		t.Errorf("snapshotted databases %v, want %v", dbs, want)
	}
	tables, _, err := snap.Tables(context.Background(), nil)
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	var targets []string
	for _, tb := range tables {
		targets = append(targets, tb.Target())
		if n := len(scanAll(t, snap, rdsRequest(t, tb))); n != 2 {
			t.Errorf("%s: %d rows, want 2", tb.Target(), n)
		}
	}
	if want := []string{dbA + ".public.t_" + dbA, dbB + ".public.t_" + dbB}; !slices.Equal(targets, want) {
		t.Errorf("tables %v, want %v", targets, want)
	}
	// The database pg_hba.conf refuses is left out with a warning, not an
	// error: the others still export.
	if w := snap.Info().Warnings; len(w) != 1 || w[0].Target != rejectedDatabase ||
		w[0].Reason != source.ReasonFailedToExtractTablesList || !strings.Contains(w[0].Detail, "pg_hba.conf") {
		t.Errorf("warnings %+v, want one %s for %s naming pg_hba.conf", w, source.ReasonFailedToExtractTablesList, rejectedDatabase)
	}

	// Asked for by name: the locked database is reported with its GRANT.
	snap2 := snapshot(t, src, source.SnapshotOptions{Databases: []string{dbB, dbLocked, "pgs_missing"}})
	w := snap2.Info().Warnings
	if len(w) != 1 || w[0].Target != dbLocked || w[0].Reason != source.ReasonFailedToExtractTablesList ||
		w[0].Detail != "GRANT CONNECT ON DATABASE "+dbLocked+" TO "+role {
		t.Errorf("warnings %+v, want one for %s with its GRANT CONNECT", w, dbLocked)
	}
	for k := range snap2.Info().ID {
		if !strings.HasPrefix(k, dbB+".") {
			t.Errorf("snapshot ids %v, want only %s's", snap2.Info().ID, dbB)
		}
	}
	if _, ok := snap2.Info().ID[dbB+".exported_snapshot"]; !ok {
		t.Errorf("snapshot ids %v, want %s's exported snapshot", snap2.Info().ID, dbB)
	}
}

// TestStandby: a hot standby exports a snapshot like a primary; the LSN is
// the replay position, and the recovery-conflict risk is a warning.
func TestStandby(t *testing.T) {
	c := privateCluster(t)
	db := "pgs_standby_" + randomSuffix()
	c.exec(t, "postgres", "CREATE DATABASE "+db)
	t.Cleanup(func() { c.exec(t, "postgres", "DROP DATABASE "+db+" WITH (FORCE)") })
	c.exec(t, db, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 50)")
	port := c.standby(t)
	standbyURL := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", clusterPassword, port, db)

	// Wait for the standby to replay the table.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var src source.Source
	for {
		var err error
		src, err = pgsource.OpenURL(ctx, standbyURL, &pgsource.Options{Databases: []string{db}})
		if err == nil {
			snap, err := src.Snapshot(ctx, source.SnapshotOptions{})
			if err == nil {
				tables, _, _ := snap.Tables(ctx, nil)
				snap.Close()
				if len(tables) == 1 {
					break
				}
			}
			src.Close()
		}
		if ctx.Err() != nil {
			t.Fatalf("the standby never showed the table: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer src.Close()
	snap := snapshot(t, src, source.SnapshotOptions{Workers: 2})
	c.exec(t, db, "INSERT INTO t SELECT generate_series(51, 60)")
	tables, _, err := snap.Tables(ctx, nil)
	if err != nil {
		t.Fatalf("Tables on the standby: %v", err)
	}
	if n := len(scanAll(t, snap, rdsRequest(t, tables[0]))); n != 50 {
		t.Errorf("standby scan read %d rows, want the 50 of the snapshot", n)
	}
	info := snap.Info()
	if info.ID[db+".lsn"] == "" || info.ID[db+".exported_snapshot"] == "" {
		t.Errorf("Info().ID = %v, want the replay LSN and the snapshot id", info.ID)
	}
	if len(info.Warnings) != 1 || info.Warnings[0].Reason != pgsource.ReasonStandbyConflicts {
		t.Errorf("warnings %+v, want %s (hot_standby_feedback is off by default)", info.Warnings, pgsource.ReasonStandbyConflicts)
	}
}
