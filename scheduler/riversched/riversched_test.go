package riversched

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/internal/duckcheck"
)

// TestDistributedParts: a coordinator's Scheduler enqueues 12 parts, three
// workers (each with its own source connection, which joins the
// coordinator's snapshot, and its own sink) run them, and every part's
// result comes back once. The files hold every row of the snapshot
// exactly once and none written after it (DuckDB: count, key sum, hash of
// all columns), every worker ran some parts, and no row of River's tables
// or snapexport's holds the password of the source's URLs.
func TestDistributedParts(t *testing.T) {
	const rows, parts = 6000, 12
	queue, _ := queueDB(t)
	db := sourceDB(t, rows)
	password := "rs_secret_" + randomSuffix()
	dir := t.TempDir()
	coordSink := openDir(t, dir)
	coord := planParts(t, openPG(t, db, password), coordSink, "dist-"+randomSuffix(), 1, rows, parts)
	late, err := pgx.Connect(context.Background(), withDatabase(db, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close(context.Background())
	if _, err := late.Exec(context.Background(), "INSERT INTO accounts VALUES (100000, 'late', 1); UPDATE accounts SET v = 'changed' WHERE id = 5"); err != nil {
		t.Fatal(err)
	}

	fp, err := openPG(t, db, password).Fingerprint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 3 {
		w, _ := startWorker(t, WorkerConfig{Queue: queue, Source: openPG(t, db, password), Sink: openDir(t, dir), ID: fmt.Sprintf("worker-%d", i)})
		ids = append(ids, w.ID())
	}
	sched, err := NewScheduler(context.Background(), SchedulerConfig{Queue: queue, Sink: coordSink, Destination: "file://test", Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	res := newResults()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := sched.Run(ctx, coord.parts, nil, noSkip, res.report); err != nil {
		t.Fatal(err)
	}
	if res.count != parts || len(res.ok) != parts {
		t.Fatalf("reported %d parts, %d complete, errors %v", res.count, len(res.ok), res.errs)
	}
	var reported int64
	for _, r := range res.ok {
		reported += r.Rows
	}
	if reported != rows {
		t.Errorf("results count %d rows, want %d", reported, rows)
	}

	files := dataFiles(t, dir)
	duck := duckcheck.Open(t)
	list := duckList(files)
	got := duck.Rows("SELECT count(*), sum(id), count(DISTINCT id), bit_xor(hash(id, v, n)) FROM read_parquet(" + list + ")")
	want := want(t, db, rows)
	if fmt.Sprint(got[0]) != want {
		t.Errorf("files hold %v, the snapshot %s", got[0], want)
	}

	var ran []string
	q, err := queue.Query(context.Background(), "SELECT DISTINCT unnest(attempted_by) FROM river_job ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	ran, err = pgx.CollectRows(q, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ran, ",") != strings.Join(ids, ",") {
		t.Errorf("workers that ran parts: %v, want all of %v", ran, ids)
	}
	t.Logf("parts per worker: %v", partsPerWorker(t, queue))
	assertNoSecret(t, queue, password)
}

// want is the snapshot's digest, as the DuckDB query above prints it.
func want(t testing.TB, db string, rows int) string {
	t.Helper()
	duck := duckcheck.Open(t)
	conn, err := pgx.Connect(context.Background(), withDatabase(db, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// The rows as they were at the snapshot: the late insert and update
	// undone.
	if _, err := duck.SQL().Exec(fmt.Sprintf("CREATE TABLE expect AS SELECT g::INTEGER AS id, md5(g::VARCHAR) AS v, (g * 7)::BIGINT AS n FROM range(1, %d) t(g)", rows+1)); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(duck.Rows("SELECT count(*), sum(id), count(DISTINCT id), bit_xor(hash(id, v, n)) FROM expect")[0])
}

func duckList(files []string) string {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + f + "'"
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

func partsPerWorker(t testing.TB, queue *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := queue.Query(context.Background(), "SELECT metadata->'output'->>'worker', count(*) FROM river_job WHERE state = 'completed' GROUP BY 1")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for rows.Next() {
		var w string
		var n int
		if err := rows.Scan(&w, &n); err != nil {
			t.Fatal(err)
		}
		out[w] = n
	}
	return out
}

// assertNoSecret reads every row of every table in the queue database
// (River's and snapexport's) as text and fails when one holds secret.
func assertNoSecret(t testing.TB, queue *pgxpool.Pool, secret string) {
	t.Helper()
	ctx := context.Background()
	tables, err := queue.Query(ctx, "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, name := range names {
		rows, err := queue.Query(ctx, "SELECT t::text FROM "+name+" t")
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			read++
			if strings.Contains(s, secret) {
				t.Errorf("a row of %s holds the password: %.200s", name, s)
			}
		}
	}
	if read == 0 || len(names) < 3 {
		t.Errorf("read %d rows of %d tables; the check saw nothing", read, len(names))
	}
	t.Logf("read %d rows of %d queue tables (%v): no password", read, len(names), names)
}
