package riversched

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	snapexport "github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// Defaults of the queue's timing. A dead worker's part is taken up again
// between RescueAfter and RescueAfter plus 30 s (River's rescuer runs every
// 30 s) after its last heartbeat.
const (
	DefaultHeartbeat   = 5 * time.Second
	DefaultRescueAfter = 30 * time.Second
	DefaultQueue       = "snapexport"
	DefaultMaxAttempts = 5
	DefaultRetryDelay  = time.Second
)

// WorkerConfig configures a Worker. Queue, Source and Sink are required.
type WorkerConfig struct {
	// Queue is a pool on the queue database (River's schema installed).
	Queue *pgxpool.Pool
	// Source is the worker's own connection to the coordinator's source,
	// with its own credentials; its Fingerprint must equal the
	// coordinator's. For ConsistencySnapshot it must be a source.Joiner.
	Source source.Source
	// Sink is the worker's own connection to the task's destination.
	Sink sink.Sink
	// Concurrency is how many parts run at once (0: 1).
	Concurrency int
	// MemoryLimit is the budget shared by the worker's parts (0:
	// snapexport.DefaultMemoryLimit).
	MemoryLimit int64
	// QueueName is the River queue to work (0: DefaultQueue).
	QueueName string
	// ID names the worker in River (attempted_by) and in the job outputs;
	// default host-pid-random.
	ID string
	// Version is compared with the coordinator's (default Version()).
	Version string
	// Heartbeat and RescueAfter: see DefaultHeartbeat. RescueAfter must be
	// the same on every worker of a queue (the leader's rescues).
	Heartbeat, RescueAfter time.Duration
	// RetryDelay is the wait before a failed part is tried again.
	RetryDelay time.Duration
	// RunPart runs a part (nil: engine.RunPart); tests replace it.
	RunPart func(context.Context, engine.PartEnv, engine.PartSpec) (engine.PartResult, error)
	// Logger receives River's and the worker's messages (nil: warnings
	// and errors on standard error).
	Logger *slog.Logger
}

// Worker runs parts from the queue until its context ends.
type Worker struct {
	cfg         WorkerConfig
	client      *river.Client[pgx.Tx]
	fingerprint string
	budget      *engine.Budget
}

// NewWorker checks the queue's schema and the source, and prepares a
// worker; Run starts it.
func NewWorker(ctx context.Context, cfg WorkerConfig) (*Worker, error) {
	if cfg.Queue == nil || cfg.Source == nil || cfg.Sink == nil {
		return nil, errors.New("riversched: a worker needs a queue, a source and a sink")
	}
	cfg = cfg.withDefaults()
	if err := CheckSchema(ctx, cfg.Queue); err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, budget: engine.NewBudget(cfg.MemoryLimit)}
	if fp, ok := cfg.Source.(source.Fingerprinter); ok {
		var err error
		if w.fingerprint, err = fp.Fingerprint(ctx); err != nil {
			return nil, err
		}
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &partWorker{w: w}); err != nil {
		return nil, fmt.Errorf("riversched: %w", err)
	}
	client, err := river.NewClient(riverpgxv5.New(cfg.Queue), &river.Config{
		ID:      cfg.ID,
		Queues:  map[string]river.QueueConfig{cfg.QueueName: {MaxWorkers: cfg.Concurrency}},
		Workers: workers,
		// A worker with a free slot takes the next part at once: River's
		// default cooldown between fetches (100 ms) is paid once per part.
		FetchCooldown:        10 * time.Millisecond,
		JobTimeout:           -1, // partWorker.Timeout decides
		RescueStuckJobsAfter: cfg.RescueAfter,
		// River warns about every job that outlives its timeout ("stuck"),
		// which a long part does by design (see partWorker.Timeout).
		Logger: slog.New(minLevel{cfg.Logger.Handler(), slog.LevelError}),
	})
	if err != nil {
		return nil, fmt.Errorf("riversched: %w", err)
	}
	w.client = client
	return w, nil
}

func (c WorkerConfig) withDefaults() WorkerConfig {
	c.Concurrency = max(c.Concurrency, 1)
	if c.MemoryLimit <= 0 {
		c.MemoryLimit = snapexport.DefaultMemoryLimit
	}
	if c.QueueName == "" {
		c.QueueName = DefaultQueue
	}
	if c.ID == "" {
		host, _ := os.Hostname()
		c.ID = host + "-" + strconv.Itoa(os.Getpid()) + "-" + uuid.NewString()[:8]
	}
	if c.Version == "" {
		c.Version = Version()
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = DefaultRescueAfter
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.RunPart == nil {
		c.RunPart = engine.RunPart
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return c
}

// ID is the worker's name in River.
func (w *Worker) ID() string { return w.cfg.ID }

// Run works parts until ctx ends, then stops fetching and gives the parts
// running up to stopGrace to end before it cancels them (River retries
// them elsewhere).
func (w *Worker) Run(ctx context.Context, stopGrace time.Duration) error {
	if err := w.client.Start(ctx); err != nil {
		return fmt.Errorf("riversched: start the worker: %w", err)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopGrace)
	defer cancel()
	if err := w.client.Stop(sctx); err != nil {
		return w.client.StopAndCancel(context.WithoutCancel(ctx))
	}
	return nil
}

// partWorker is the River worker of PartKind.
type partWorker struct {
	river.WorkerDefaults[PartArgs]
	w *Worker
}

// Timeout is RescueAfter. River's rescuer ignores a job whose timeout is
// unlimited, and rescues one only once its attempted_at is older than its
// timeout and RescueStuckJobsAfter: with the heartbeat moving attempted_at,
// a live attempt is never older, a dead one is after RescueAfter. The
// timeout's cancellation of the job's context is not passed on to the part
// (Work), which runs as long as it needs.
func (p *partWorker) Timeout(*river.Job[PartArgs]) time.Duration { return p.w.cfg.RescueAfter }

func (p *partWorker) NextRetry(*river.Job[PartArgs]) time.Time {
	return time.Now().Add(p.w.cfg.RetryDelay)
}

// Work runs one attempt of a part.
func (p *partWorker) Work(ctx context.Context, job *river.Job[PartArgs]) error {
	w, a := p.w, &job.Args
	if err := w.admit(a); err != nil {
		w.cfg.Logger.Error("refusing a part", "job", job.ID, "error", err)
		return river.JobCancel(err) // no other attempt would do better
	}
	actx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	go passCancel(ctx, actx, stop)
	go w.heartbeat(actx, stop, job.ID, job.Attempt)
	if err := checkLease(actx, w.cfg.Sink, a.Spec); err != nil {
		return river.JobCancel(err)
	}
	snap, err := w.snapshot(actx, a)
	if errors.Is(err, source.ErrSnapshotGone) {
		return river.JobCancel(fmt.Errorf("riversched: the coordinator's snapshot is gone (it stopped; resume the task): %w", err))
	}
	if err != nil {
		return err
	}
	defer snap.Close()
	fence := &attemptFence{pool: w.cfg.Queue, sink: w.cfg.Sink, args: a, jobID: job.ID, attempt: job.Attempt}
	res, err := w.cfg.RunPart(actx, engine.PartEnv{
		Snapshot: snap, Sink: w.cfg.Sink, Fence: fence, Budget: w.budget,
		Canceled: func() bool { return false }, // an attempt interrupted for any reason leaves nothing
	}, a.Spec)
	if err == nil {
		err = fence.Fence(actx) // the last check before the result is recorded
		if err != nil {
			w.deleteFiles(res.Files)
		}
	}
	if err != nil {
		if cause := context.Cause(actx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", cause, err)
		}
		return err
	}
	return river.RecordOutput(ctx, partOutput{Attempt: job.Attempt, Worker: w.cfg.ID, Result: res})
}

// passCancel ends the attempt when River cancels the job's context (a
// remote cancel, the client stopping), but not when the job's timeout
// passes (see partWorker.Timeout).
func passCancel(job, attempt context.Context, stop context.CancelCauseFunc) {
	select {
	case <-job.Done():
		if cause := context.Cause(job); !errors.Is(cause, context.DeadlineExceeded) {
			stop(cause)
		}
	case <-attempt.Done():
	}
}

// minLevel passes on the records of at least min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}
func (h minLevel) WithGroup(g string) slog.Handler { return minLevel{h.Handler.WithGroup(g), h.min} }

// admit refuses a part of another version, source or consistency mode.
func (w *Worker) admit(a *PartArgs) error {
	if a.Version != w.cfg.Version {
		return fmt.Errorf("riversched: this worker runs snapexport %s and the coordinator %s; run workers of the coordinator's version", w.cfg.Version, a.Version)
	}
	if a.Fingerprint != w.fingerprint {
		return fmt.Errorf("riversched: the worker's source is not the coordinator's: the worker reads %s; the coordinator reads %s", w.fingerprint, a.Fingerprint)
	}
	_, joins := w.cfg.Source.(source.Joiner)
	if a.Consistency != ConsistencyNone && !joins {
		return fmt.Errorf("riversched: a %s source cannot join the coordinator's snapshot; export it with --consistency none (each part reads its own point in time) or in one process", w.cfg.Source.Engine())
	}
	return nil
}

// snapshot is what the part reads from: the coordinator's snapshot,
// joined, or (ConsistencyNone, a source that cannot join) one of its own.
func (w *Worker) snapshot(ctx context.Context, a *PartArgs) (source.Snapshot, error) {
	if j, ok := w.cfg.Source.(source.Joiner); ok {
		return j.JoinSnapshot(ctx, a.Spec.Snapshot)
	}
	return w.cfg.Source.Snapshot(ctx, source.SnapshotOptions{Databases: []string{a.Spec.Table.Database}, Workers: 1})
}

// heartbeat beats for the attempt until ctx ends, and stops the attempt
// (stop) once it no longer owns its job.
func (w *Worker) heartbeat(ctx context.Context, stop context.CancelCauseFunc, jobID int64, attempt int) {
	t := time.NewTicker(w.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := beat(ctx, w.cfg.Queue, jobID, attempt)
		if errors.Is(err, errSuperseded) {
			stop(err)
			return
		}
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("heartbeat failed", "job", jobID, "error", err)
		}
	}
}

func (w *Worker) deleteFiles(keys []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, k := range keys {
		if err := w.cfg.Sink.Delete(ctx, k); err != nil && !errors.Is(err, sink.ErrNotExist) {
			w.cfg.Logger.Warn("could not delete a file of a superseded attempt (the coordinator's sweep retries)", "key", k, "error", err)
		}
	}
}
