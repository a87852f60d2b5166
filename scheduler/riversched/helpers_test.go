package riversched

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase is the test server's URL with another database (and, when
// password is set, a password the trusting server never asks for).
func withDatabase(database, password string) string {
	u, _ := url.Parse(testenv.PostgresURL())
	u.Path = "/" + database
	if password != "" {
		u.User = url.UserPassword(u.User.Username(), password)
	}
	return u.String()
}

// scratchDB creates a database of its own for the test and drops it at
// the end; it returns its name.
func scratchDB(t testing.TB, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL())
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", "start it or set SNAPEXPORT_PG_URL", err)
	}
	defer conn.Close(ctx)
	name := prefix + "_" + randomSuffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, testenv.PostgresURL()); err == nil {
			if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop database %s: %v", name, err)
			}
			c.Close(ctx)
		}
	})
	return name
}

// queueDB is a scratch queue database with the schema installed.
func queueDB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	name := scratchDB(t, "snapexport_rq")
	pool, err := pgxpool.New(context.Background(), withDatabase(name, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool, name
}

// sourceDB is a scratch source database with table accounts(id, v, n) of
// rows rows.
func sourceDB(t testing.TB, rows int) string {
	t.Helper()
	name := scratchDB(t, "snapexport_rs")
	conn, err := pgx.Connect(context.Background(), withDatabase(name, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for _, q := range []string{
		"CREATE TABLE accounts (id int PRIMARY KEY, v text, n bigint)",
		fmt.Sprintf("INSERT INTO accounts SELECT g, md5(g::text), g * 7 FROM generate_series(1, %d) g", rows),
		"ANALYZE accounts",
	} {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

func openPG(t testing.TB, database, password string) *pgsource.Source {
	t.Helper()
	src, err := pgsource.OpenURL(context.Background(), withDatabase(database, password), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func openDir(t testing.TB, dir string) sink.Sink {
	t.Helper()
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// coordinator is what the root's task run does before it schedules: a
// snapshot, a claimed lease, and a plan of key-range parts.
type coordinator struct {
	snap   source.Snapshot
	layout layout.Layout
	parts  []engine.PartSpec
}

// planParts snapshots database and plans table accounts in parts key ranges of
// width rows/parts, under generation gen's lease (written as the root
// writes it: runId is what the worker fence compares).
func planParts(t testing.TB, src source.Source, s sink.Sink, id string, gen, rows, parts int) *coordinator {
	t.Helper()
	ctx := context.Background()
	snap, err := src.Snapshot(ctx, source.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snap.Close() })
	tables, _, err := snap.Tables(ctx, nil)
	if err != nil || len(tables) != 1 {
		t.Fatalf("Tables: %v %v", tables, err)
	}
	tb := tables[0]
	var cols []source.ScanColumn
	for _, c := range tb.Columns {
		target, err := typemap.RDS().Map(typemap.EnginePostgres, tb.Target(), c)
		if err != nil {
			t.Fatal(err)
		}
		cols = append(cols, source.ScanColumn{Column: c, Target: target})
	}
	l := layout.Layout{ID: id, Codec: writer.Snappy}
	c := &coordinator{snap: snap, layout: l}
	writeLease(t, s, l, gen, "run-"+id)
	width := int64((rows + parts - 1) / parts)
	for i := range parts {
		lo, hi := 1+int64(i)*width, 1+int64(i+1)*width
		r := &source.KeyRange{Lower: &lo, Upper: &hi}
		if i == 0 {
			r.Lower, r.IncludeNull = nil, true
		}
		if i == parts-1 {
			r.Upper = nil
		}
		c.parts = append(c.parts, engine.PartSpec{TaskID: id, Generation: gen, Table: tb, Columns: cols, Dir: l.TableDir(tb),
			Part:     plan.Part{Batch: 1, Index: i, Range: r},
			Writer:   engine.WriterSettings{Codec: writer.Snappy, RowGroupBytes: 1 << 20, TargetFileBytes: 64 << 20, TypeProfile: "rds"},
			Snapshot: snap.Info().ID})
	}
	return c
}

func writeLease(t testing.TB, s sink.Sink, l layout.Layout, gen int, runID string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"exportTaskIdentifier": l.ID, "generation": gen, "runId": runID,
		"claimTime": time.Now().UTC(), "leaseSeconds": 60})
	if err := sink.WriteObject(context.Background(), s, l.LeaseKey(gen), b, &sink.WriterOptions{IfNotExists: true}); err != nil {
		t.Fatal(err)
	}
}

// results collects what Run reports.
type results struct {
	mu    sync.Mutex
	ok    map[int]engine.PartResult
	errs  map[int]error
	count int
}

func newResults() *results {
	return &results{ok: map[int]engine.PartResult{}, errs: map[int]error{}}
}

func (r *results) report(spec engine.PartSpec, res engine.PartResult, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if err != nil {
		r.errs[spec.Part.Index] = err
		return
	}
	r.ok[spec.Part.Index] = res
}

func noSkip(engine.PartSpec) bool { return false }

// startWorker runs a worker until the test ends (or stop is called).
func startWorker(t testing.TB, cfg WorkerConfig) (w *Worker, stop func()) {
	t.Helper()
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 300 * time.Millisecond
	}
	if cfg.RescueAfter == 0 {
		cfg.RescueAfter = 2 * time.Second
	}
	cfg.RetryDelay = 100 * time.Millisecond
	w, err := NewWorker(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := w.Run(ctx, 5*time.Second); err != nil {
			t.Errorf("worker %s: %v", w.ID(), err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return w, stop
}

// dataFiles lists the Parquet files under dir.
func dataFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "*", "*", "1", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}
