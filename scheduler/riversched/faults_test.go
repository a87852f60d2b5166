package riversched

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

// publishOne is a part runner that journals and publishes one small
// object of the part, as RunPart does with a data file, and returns its
// key.
func publishOne(ctx context.Context, env engine.PartEnv, spec engine.PartSpec) (string, error) {
	key := specLayout(spec).PartKey(spec.Dir, spec.Part.Batch, spec.Part.Index)
	if err := env.Fence.Intend(ctx, key); err != nil {
		return "", err
	}
	if err := env.Fence.Fence(ctx); err != nil {
		return "", err
	}
	return key, sink.WriteObject(ctx, env.Sink, key, []byte("not parquet"), nil)
}

func exists(t testing.TB, s sink.Sink, key string) bool {
	t.Helper()
	_, err := sink.ReadObject(context.Background(), s, key)
	if err != nil && !errors.Is(err, sink.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// TestCancelStopsWorkers: cancelling the coordinator's context cancels the
// jobs; an attempt that is running stops (its context ends, through
// River's cancel or the heartbeat), Run returns, and the object the
// attempt had published is deleted by the sweep; every job ends
// cancelled.
func TestCancelStopsWorkers(t *testing.T) {
	queue, _ := queueDB(t)
	db := sourceDB(t, 100)
	s := openDir(t, t.TempDir())
	coord := planParts(t, openPG(t, db, ""), s, "cancel-"+randomSuffix(), 1, 100, 2)
	published := make(chan string, 2)
	var stopped atomic.Int32
	startWorker(t, WorkerConfig{Queue: queue, Source: openPG(t, db, ""), Sink: s, Concurrency: 2,
		RunPart: func(ctx context.Context, env engine.PartEnv, spec engine.PartSpec) (engine.PartResult, error) {
			key, err := publishOne(ctx, env, spec)
			if err != nil {
				return engine.PartResult{}, err
			}
			published <- key
			<-ctx.Done() // a part that would run for ever
			stopped.Add(1)
			return engine.PartResult{}, ctx.Err()
		}})
	sched, err := NewScheduler(context.Background(), SchedulerConfig{Queue: queue, Sink: s, Fingerprint: fingerprint(t, db)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	res := newResults()
	go func() { done <- sched.Run(ctx, coord.parts, nil, noSkip, res.report) }()
	keys := []string{<-published, <-published}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after the cancel")
	}
	if stopped.Load() != 2 {
		t.Errorf("%d of 2 running attempts stopped", stopped.Load())
	}
	for _, k := range keys {
		if exists(t, s, k) {
			t.Errorf("%s of a cancelled attempt is still there", k)
		}
	}
	var states string
	if err := queue.QueryRow(context.Background(), "SELECT string_agg(DISTINCT state::text, ',') FROM river_job").Scan(&states); err != nil {
		t.Fatal(err)
	}
	if states != "cancelled" {
		t.Errorf("job states after the cancel: %s", states)
	}
}

func fingerprint(t testing.TB, db string) string {
	t.Helper()
	fp, err := openPG(t, db, "").Fingerprint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// TestRescuedWhileAlive: a worker whose attempt stops beating (stalled, cut
// off from the queue) but is alive loses its job to River's rescuer;
// another worker runs the part; the coordinator accepts that result and
// deletes the object the first attempt published, and the first attempt's
// next publish is refused by its fence.
func TestRescuedWhileAlive(t *testing.T) {
	const rows = 500
	queue, _ := queueDB(t)
	db := sourceDB(t, rows)
	dir := t.TempDir()
	s := openDir(t, dir)
	coord := planParts(t, openPG(t, db, ""), s, "rescue-"+randomSuffix(), 1, rows, 1)
	first := make(chan string, 1)
	resume := make(chan struct{})
	secondFence := make(chan error, 1)
	_, stopA := startWorker(t, WorkerConfig{Queue: queue, Source: openPG(t, db, ""), Sink: s, ID: "stalled",
		Heartbeat: time.Hour, RescueAfter: time.Second,
		RunPart: func(ctx context.Context, env engine.PartEnv, spec engine.PartSpec) (engine.PartResult, error) {
			key, err := publishOne(ctx, env, spec)
			if err != nil {
				return engine.PartResult{}, err
			}
			first <- key
			<-resume
			_, err = publishOne(context.WithoutCancel(ctx), env, spec)
			secondFence <- err
			return engine.PartResult{}, err
		}})
	sched, err := NewScheduler(context.Background(), SchedulerConfig{Queue: queue, Sink: s, Fingerprint: fingerprint(t, db)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	res := newResults()
	go func() { done <- sched.Run(ctx, coord.parts, nil, noSkip, res.report) }()
	stale := <-first
	startWorker(t, WorkerConfig{Queue: queue, Source: openPG(t, db, ""), Sink: s, ID: "healthy", RescueAfter: time.Second})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(resume)
	if err := <-secondFence; !errors.Is(err, errSuperseded) {
		t.Errorf("the stalled attempt's next publish: %v, want it refused by the fence", err)
	}
	stopA()
	if len(res.ok) != 1 || res.ok[0].Rows != rows {
		t.Fatalf("results %v, errors %v", res.ok, res.errs)
	}
	if exists(t, s, stale) {
		t.Errorf("%s of the rescued attempt is still there", stale)
	}
	files := dataFiles(t, dir)
	if fmt.Sprint(files) == "[]" {
		t.Fatal("no data file")
	}
	duck := duckcheck.Open(t)
	if n := duck.Int("SELECT count(*) FROM read_parquet(" + duckList(files) + ")"); n != rows {
		t.Errorf("files hold %d rows, want %d", n, rows)
	}
	if got := partsPerWorker(t, queue); got["healthy"] != 1 {
		t.Errorf("completed by %v, want the healthy worker", got)
	}
}

// killChildEnv carries the queue database, the source database and the
// destination to the child process of TestKilledWorker.
const killChildEnv = "RIVERSCHED_KILL_CHILD"

// TestKilledWorker: a worker process killed with SIGKILL after it
// published an object of its part and while it writes a second leaves its
// job running; River rescues it once its heartbeat stops; another worker
// runs the part; the output has every row once, the dead attempt's object
// is gone, and so is the temporary file of the write it had in flight.
func TestKilledWorker(t *testing.T) {
	if os.Getenv(killChildEnv) != "" {
		killedWorkerChild(t)
		return
	}
	const rows = 800
	queue, qdb := queueDB(t)
	db := sourceDB(t, rows)
	dir := t.TempDir()
	s := openDir(t, dir)
	coord := planParts(t, openPG(t, db, ""), s, "kill-"+randomSuffix(), 1, rows, 1)
	sched, err := NewScheduler(context.Background(), SchedulerConfig{Queue: queue, Sink: s, Fingerprint: fingerprint(t, db)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	res := newResults()
	go func() { done <- sched.Run(ctx, coord.parts, nil, noSkip, res.report) }()
	testenv.RunAndKill(t, "TestKilledWorker", killChildEnv+"="+qdb+","+db+","+dir)
	var dead []string
	q, err := queue.Query(context.Background(), "SELECT key FROM snapexport_part_key")
	if err != nil {
		t.Fatal(err)
	}
	if dead, err = pgx.CollectRows(q, pgx.RowTo[string]); err != nil || len(dead) != 2 {
		t.Fatalf("the killed attempt journaled %v (%v); want two keys", dead, err)
	}
	if !exists(t, s, dead[0]) && !exists(t, s, dead[1]) {
		t.Fatalf("neither %v was published", dead)
	}
	if len(abandoned(t, s, coord.layout.Root())) != 1 {
		t.Fatalf("the write in flight left no temporary file: nothing to check")
	}
	startWorker(t, WorkerConfig{Queue: queue, Source: openPG(t, db, ""), Sink: s, ID: "survivor", RescueAfter: time.Second})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(res.ok) != 1 || res.ok[0].Rows != rows {
		t.Fatalf("results %v, errors %v", res.ok, res.errs)
	}
	for _, k := range dead {
		if exists(t, s, k) {
			t.Errorf("%s of the killed attempt is still there", k)
		}
	}
	if left := abandoned(t, s, coord.layout.Root()); len(left) != 0 {
		t.Errorf("abandoned writes stay: %v", left)
	}
	duck := duckcheck.Open(t)
	if n := duck.Int("SELECT count(*) FROM read_parquet(" + duckList(dataFiles(t, dir)) + ")"); n != rows {
		t.Errorf("files hold %d rows, want %d", n, rows)
	}
}

// killedWorkerChild is the worker that TestKilledWorker kills: it
// publishes one object of the part it takes and waits to be killed.
func killedWorkerChild(t *testing.T) {
	parts := strings.Split(os.Getenv(killChildEnv), ",")
	queue, err := pgxpool.New(context.Background(), withDatabase(parts[0], ""))
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(context.Background(), WorkerConfig{Queue: queue, Source: openPG(t, parts[1], ""), Sink: openDir(t, parts[2]),
		ID: "doomed", Heartbeat: 300 * time.Millisecond, RescueAfter: time.Second,
		RunPart: func(ctx context.Context, env engine.PartEnv, spec engine.PartSpec) (engine.PartResult, error) {
			if _, err := publishOne(ctx, env, spec); err != nil {
				t.Error(err)
			}
			// A second file in flight when the kill comes.
			key := specLayout(spec).PartKey(spec.Dir, spec.Part.Batch, spec.Part.Index)
			if err := env.Fence.Intend(ctx, key); err != nil {
				t.Error(err)
			}
			w, err := env.Sink.NewWriter(ctx, key, nil)
			if err != nil {
				t.Error(err)
			}
			w.Write([]byte("half a file"))
			testenv.AwaitKill()
			return engine.PartResult{}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	w.Run(context.Background(), time.Second)
}

// TestRefusals: a worker of another version, a worker whose source has
// another fingerprint, and one whose source cannot join the snapshot each
// refuse the part, naming both sides; the part is reported failed with
// that message, at the first attempt.
func TestRefusals(t *testing.T) {
	queue, _ := queueDB(t)
	db := sourceDB(t, 10)
	other := sourceDB(t, 10)
	path := t.TempDir() + "/x.db"
	if db, err := sql.Open("sqlite", path); err != nil {
		t.Fatal(err)
	} else if _, err := db.Exec("CREATE TABLE t (id integer)"); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
	lite, err := sqlitesource.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	cases := []struct {
		name   string
		src    source.Source
		fp     string
		ver    string
		wanted []string
	}{
		{"version", openPG(t, db, ""), fingerprint(t, db), "v0.0.0-other", []string{"v0.0.0-other", Version()}},
		{"fingerprint", openPG(t, other, ""), fingerprint(t, db), "", []string{fingerprint(t, db), fingerprint(t, other)}},
		{"no join", lite, "", "", []string{"cannot join", "--consistency none"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := openDir(t, t.TempDir())
			coord := planParts(t, openPG(t, db, ""), s, "refuse-"+randomSuffix(), 1, 10, 1)
			_, stop := startWorker(t, WorkerConfig{Queue: queue, Source: c.src, Sink: s, Version: c.ver})
			defer stop()
			sched, err := NewScheduler(context.Background(), SchedulerConfig{Queue: queue, Sink: s, Fingerprint: c.fp})
			if err != nil {
				t.Fatal(err)
			}
			res := newResults()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := sched.Run(ctx, coord.parts, nil, noSkip, res.report); err != nil {
				t.Fatal(err)
			}
			err = res.errs[0]
			for _, w := range c.wanted {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("reported %v, want it to name %q", err, w)
				}
			}
		})
	}
}

// TestQueueWithoutSchema: a queue database without River's schema, and
// one that is unreachable, are refused by NewWorker and NewScheduler with
// errors that say so (the first names the command that installs it).
func TestQueueWithoutSchema(t *testing.T) {
	empty := scratchDB(t, "snapexport_rq")
	pool, err := pgxpool.New(context.Background(), withDatabase(empty, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := openDir(t, t.TempDir())
	_, err = NewScheduler(context.Background(), SchedulerConfig{Queue: pool, Sink: s})
	if !errors.Is(err, ErrNoSchema) || !strings.Contains(err.Error(), "snapexport queue migrate") {
		t.Errorf("NewScheduler on an empty database: %v", err)
	}
	db := sourceDB(t, 1)
	_, err = NewWorker(context.Background(), WorkerConfig{Queue: pool, Source: openPG(t, db, ""), Sink: s})
	if !errors.Is(err, ErrNoSchema) {
		t.Errorf("NewWorker on an empty database: %v", err)
	}
	down, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if _, err := NewScheduler(context.Background(), SchedulerConfig{Queue: down, Sink: s}); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("NewScheduler on a closed port: %v", err)
	}
}

func abandoned(t testing.TB, s sink.Sink, prefix string) []string {
	t.Helper()
	var out []string
	for a, err := range s.(sink.Sweeper).Abandoned(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a.Key)
	}
	return out
}
