package riversched

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/scheduler"
	"github.com/snapexport/snapexport/sink"
)

// SchedulerConfig configures the coordinator's Scheduler. Queue and Sink
// are required.
type SchedulerConfig struct {
	// Queue is a pool on the queue database.
	Queue *pgxpool.Pool
	// Sink is the coordinator's connection to the task's destination: the
	// scheduler deletes there what attempts it did not accept wrote.
	Sink sink.Sink
	// Destination names the destination in the queue, without a secret
	// (the bucket URL): tasks of one identifier in two buckets are two
	// tasks.
	Destination string
	// Fingerprint is the source's (source.Fingerprinter); workers compare
	// theirs with it.
	Fingerprint string
	// Consistency is ConsistencySnapshot (default) or ConsistencyNone.
	Consistency string
	// QueueName, Version, MaxAttempts: see DefaultQueue, Version,
	// DefaultMaxAttempts.
	QueueName   string
	Version     string
	MaxAttempts int
	// PollInterval is how often Run looks for ended jobs (default 50 ms:
	// one indexed query by job IDs).
	PollInterval time.Duration
	// StopWait bounds how long Run waits, after a cancel, for running
	// attempts to stop before it sweeps (default 2 × DefaultHeartbeat +
	// 10 s: a worker notices a cancel within one heartbeat).
	StopWait time.Duration
	Logger   *slog.Logger
}

// Scheduler is the coordinator's engine.Scheduler: one River job per part,
// enqueued in one transaction, run by Workers anywhere.
type Scheduler struct {
	cfg    SchedulerConfig
	client *river.Client[pgx.Tx]
}

var _ scheduler.Scheduler = (*Scheduler)(nil)

// NewScheduler checks the queue's schema and prepares an insert-only River
// client.
func NewScheduler(ctx context.Context, cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Queue == nil || cfg.Sink == nil {
		return nil, errors.New("riversched: a scheduler needs a queue and a sink")
	}
	if err := CheckSchema(ctx, cfg.Queue); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	client, err := river.NewClient(riverpgxv5.New(cfg.Queue), &river.Config{Logger: cfg.Logger, SkipUnknownJobCheck: true})
	if err != nil {
		return nil, fmt.Errorf("riversched: %w", err)
	}
	return &Scheduler{cfg: cfg, client: client}, nil
}

func (c SchedulerConfig) withDefaults() SchedulerConfig {
	if c.Consistency == "" {
		c.Consistency = ConsistencySnapshot
	}
	if c.QueueName == "" {
		c.QueueName = DefaultQueue
	}
	if c.Version == "" {
		c.Version = Version()
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 50 * time.Millisecond
	}
	if c.StopWait <= 0 {
		c.StopWait = 2*DefaultHeartbeat + 10*time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return c
}

// taskKey names a task in the queue.
func (s *Scheduler) taskKey(spec engine.PartSpec) string {
	return s.cfg.Destination + " " + specLayout(spec).Root()
}

// Run implements engine.Scheduler: it enqueues every part, follows the
// jobs to their end and reports each part's result (the job's output),
// cancels the jobs when ctx ends, and finally deletes every object an
// attempt it did not accept may have written. runLocal is not used: the
// workers run the parts.
func (s *Scheduler) Run(ctx context.Context, parts []engine.PartSpec, _ scheduler.RunFunc,
	skip func(engine.PartSpec) bool, report func(engine.PartSpec, engine.PartResult, error)) error {
	if len(parts) == 0 {
		return nil
	}
	key, gen := s.taskKey(parts[0]), parts[0].Generation
	plan := map[string]bool{}
	for _, p := range parts {
		plan[partName(p)] = true
	}
	// What older runs of the task left: their jobs stop, and what they
	// wrote of the parts planned again goes.
	if err := s.cancelOlder(ctx, key, gen); err != nil {
		return err
	}
	if _, err := sweep(ctx, s.cfg.Queue, s.cfg.Sink, key, func(j journaled) bool { return j.gen < gen && plan[j.part] }); err != nil {
		return err
	}
	jobs, err := s.enqueue(ctx, key, parts)
	if err != nil {
		return err
	}
	f := &follower{s: s, key: key, jobs: jobs, skip: skip, report: report, accepted: map[string]bool{}, skipped: map[int64]bool{}}
	err = f.follow(ctx)
	if ctx.Err() != nil {
		f.stopAll()
	}
	failed, serr := sweep(context.WithoutCancel(ctx), s.cfg.Queue, s.cfg.Sink, key, func(j journaled) bool {
		return j.gen <= gen && plan[j.part] && !f.accepted[j.key]
	})
	if len(failed) > 0 {
		s.cfg.Logger.Warn("objects of unaccepted attempts could not be deleted; remove them by hand", "keys", failed)
	}
	return errors.Join(err, serr)
}

// enqueue inserts one job per part in one transaction: a crash leaves all
// of the plan in the queue or none of it.
func (s *Scheduler) enqueue(ctx context.Context, key string, parts []engine.PartSpec) (map[int64]engine.PartSpec, error) {
	params := make([]river.InsertManyParams, len(parts))
	for i, p := range parts {
		params[i] = river.InsertManyParams{
			Args: PartArgs{TaskKey: key, Version: s.cfg.Version, Fingerprint: s.cfg.Fingerprint, Consistency: s.cfg.Consistency, Seq: i, Spec: p},
			InsertOpts: &river.InsertOpts{Queue: s.cfg.QueueName, MaxAttempts: s.cfg.MaxAttempts,
				Tags: []string{"snapexport"}},
		}
	}
	tx, err := s.cfg.Queue.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("riversched: enqueue the parts: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	res, err := s.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("riversched: enqueue the parts: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("riversched: enqueue the parts: %w", err)
	}
	jobs := make(map[int64]engine.PartSpec, len(res))
	for i, r := range res {
		jobs[r.Job.ID] = parts[i]
	}
	return jobs, nil
}

var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled}

// cancelOlder cancels the unfinished jobs of older generations of the
// task (a coordinator that died left them).
func (s *Scheduler) cancelOlder(ctx context.Context, key string, gen int) error {
	params := river.NewJobListParams().Kinds(PartKind).States(unfinished...).First(10000).
		Where("args->>'task_key' = @task AND (args->'spec'->>'Generation')::int < @gen", river.NamedArgs{"task": key, "gen": gen})
	res, err := s.client.JobList(ctx, params)
	if err != nil {
		return fmt.Errorf("riversched: list the jobs of older runs: %w", err)
	}
	for _, j := range res.Jobs {
		if _, err := s.client.JobCancel(ctx, j.ID); err != nil && !errors.Is(err, river.ErrNotFound) {
			return fmt.Errorf("riversched: cancel job %d of an older run: %w", j.ID, err)
		}
	}
	return nil
}

// follower follows one Run's jobs.
type follower struct {
	s        *Scheduler
	key      string
	jobs     map[int64]engine.PartSpec // pending
	skip     func(engine.PartSpec) bool
	report   func(engine.PartSpec, engine.PartResult, error)
	accepted map[string]bool // the files of accepted results
	skipped  map[int64]bool  // jobs cancelled because their table failed
}

var ended = []rivertype.JobState{rivertype.JobStateCompleted, rivertype.JobStateCancelled, rivertype.JobStateDiscarded}

func (f *follower) follow(ctx context.Context) error {
	t := time.NewTicker(f.s.cfg.PollInterval)
	defer t.Stop()
	for len(f.jobs) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		f.cancelSkipped(ctx)
		rows, err := f.list(ctx, ended...)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.s.cfg.Logger.Warn("cannot read the queue; retrying", "error", err)
			continue
		}
		for _, j := range rows {
			f.ended(ctx, j)
		}
	}
	return nil
}

// list returns the pending jobs in the given states.
func (f *follower) list(ctx context.Context, states ...rivertype.JobState) ([]*rivertype.JobRow, error) {
	ids := make([]int64, 0, len(f.jobs))
	for id := range f.jobs {
		ids = append(ids, id)
	}
	var out []*rivertype.JobRow
	for len(ids) > 0 {
		n := min(len(ids), 5000)
		res, err := f.s.client.JobList(ctx, river.NewJobListParams().IDs(ids[:n]...).States(states...).First(n))
		if err != nil {
			return nil, err
		}
		out = append(out, res.Jobs...)
		ids = ids[n:]
	}
	return out, nil
}

// cancelSkipped cancels the jobs of parts that need not run any more.
func (f *follower) cancelSkipped(ctx context.Context) {
	for id, spec := range f.jobs {
		if !f.skipped[id] && f.skip(spec) {
			f.skipped[id] = true
			if _, err := f.s.client.JobCancel(ctx, id); err != nil && !errors.Is(err, river.ErrNotFound) {
				f.s.cfg.Logger.Warn("cannot cancel a job", "job", id, "error", err)
			}
		}
	}
}

// ended reports a job that reached a final state.
func (f *follower) ended(ctx context.Context, j *rivertype.JobRow) {
	spec := f.jobs[j.ID]
	delete(f.jobs, j.ID)
	switch j.State {
	case rivertype.JobStateCompleted:
		var out partOutput
		if err := json.Unmarshal(j.Output(), &out); err != nil {
			f.report(spec, engine.PartResult{}, fmt.Errorf("riversched: job %d completed without a readable result: %w", j.ID, err))
			return
		}
		for _, k := range out.Result.Files {
			f.accepted[k] = true
		}
		// Other attempts of the part leave nothing (a rescued attempt
		// still alive may publish later: Run's final sweep takes that).
		if _, err := sweep(ctx, f.s.cfg.Queue, f.s.cfg.Sink, f.key, func(k journaled) bool { return k.jobID == j.ID && !f.accepted[k.key] }); err != nil {
			f.s.cfg.Logger.Warn("sweep after a part", "job", j.ID, "error", err)
		}
		f.report(spec, out.Result, nil)
	case rivertype.JobStateCancelled:
		if !f.skipped[j.ID] {
			f.report(spec, engine.PartResult{}, fmt.Errorf("riversched: the part was refused or cancelled: %s", lastError(j)))
		}
	default:
		f.report(spec, engine.PartResult{}, fmt.Errorf("riversched: the part failed %d times: %s", j.Attempt, lastError(j)))
	}
}

func lastError(j *rivertype.JobRow) string {
	if len(j.Errors) == 0 {
		return "no error recorded (cancelled from outside)"
	}
	return j.Errors[len(j.Errors)-1].Error
}

// stopAll cancels every job still pending and waits (up to StopWait) for
// the attempts running to stop, so the sweep that follows sees every key
// they journaled. Parts that completed meanwhile are reported.
func (f *follower) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), f.s.cfg.StopWait)
	defer cancel()
	for id := range f.jobs {
		if _, err := f.s.client.JobCancel(ctx, id); err != nil && !errors.Is(err, river.ErrNotFound) {
			f.s.cfg.Logger.Warn("cannot cancel a job", "job", id, "error", err)
		}
		f.skipped[id] = true
	}
	for ctx.Err() == nil && len(f.jobs) > 0 {
		rows, err := f.list(ctx, ended...)
		if err == nil {
			for _, j := range rows {
				f.ended(ctx, j)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(f.s.cfg.PollInterval):
		}
	}
}
