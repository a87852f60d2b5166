package riversched

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/sink"
)

// errSuperseded is wrapped by the fence of an attempt that no longer owns
// its job: River rescued it (and another worker may run it now), the
// coordinator cancelled it, or it was finalised.
var errSuperseded = errors.New("riversched: this attempt no longer owns its part")

// errTaskLost is wrapped by the fence of a part whose coordinator lost the
// task to another run (a resume with a newer lease generation).
var errTaskLost = errors.New("riversched: the coordinator that planned this part no longer owns the task")

// errWrongDestination: the worker's sink does not hold the coordinator's
// lease, so it is not the task's destination.
var errWrongDestination = errors.New("riversched: the worker's sink is not the task's destination")

// attemptFence is the engine.Fence of one attempt of a part on a worker.
// Before every publish it checks, in River, that the job is still running
// at this attempt and not cancelled, and in the destination that no other
// run of the task took a newer lease generation. Every key is journaled
// in the queue database before its file opens.
type attemptFence struct {
	pool    *pgxpool.Pool
	sink    sink.Sink
	args    *PartArgs
	jobID   int64
	attempt int
}

var _ engine.Fence = (*attemptFence)(nil)

func (f *attemptFence) Generation() int { return f.args.Spec.Generation }

func (f *attemptFence) Intend(ctx context.Context, key string) error {
	return intend(ctx, f.pool, f.args.TaskKey, f.args.Spec.Generation, partName(f.args.Spec), f.jobID, f.attempt, key)
}

func (f *attemptFence) Fence(ctx context.Context) error {
	if err := checkAttempt(ctx, f.pool, f.jobID, f.attempt); err != nil {
		return err
	}
	return checkLease(ctx, f.sink, f.args.Spec)
}

// checkAttempt fails with errSuperseded unless job jobID is running at
// attempt and no cancel was requested.
func checkAttempt(ctx context.Context, pool *pgxpool.Pool, jobID int64, attempt int) error {
	var (
		state     string
		current   int
		cancelled bool
	)
	err := pool.QueryRow(ctx, `SELECT state::text, attempt, metadata ? 'cancel_attempted_at' FROM river_job WHERE id = $1`, jobID).
		Scan(&state, &current, &cancelled)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: job %d was deleted", errSuperseded, jobID)
	case err != nil:
		return fmt.Errorf("riversched: check the part's job %d: %w", jobID, err)
	case cancelled:
		return fmt.Errorf("%w: job %d was cancelled", errSuperseded, jobID)
	case state != "running" || current != attempt:
		return fmt.Errorf("%w: job %d is %s at attempt %d, this is attempt %d (River rescued it from a worker it took for dead)",
			errSuperseded, jobID, state, current, attempt)
	}
	return nil
}

// leaseRun is the part of a lease object (internal/lease) the fence reads.
type leaseRun struct {
	RunID string `json:"runId"`
}

// checkLease fails unless the destination holds the lease of the part's
// generation and every newer lease was claimed by the same run (a lease
// renewal): the task's records are the part's coordinator's.
func checkLease(ctx context.Context, s sink.Sink, spec engine.PartSpec) error {
	l := specLayout(spec)
	top := 0
	for obj, err := range s.List(ctx, l.LeasePrefix()) {
		if err != nil {
			return fmt.Errorf("riversched: list the task's leases: %w", err)
		}
		if g, ok := layout.GenerationOf(obj.Key, l.LeasePrefix()); ok {
			top = max(top, g)
		}
	}
	own, err := readLease(ctx, s, l.LeaseKey(spec.Generation))
	if errors.Is(err, sink.ErrNotExist) {
		return fmt.Errorf("%w: %s is missing (point the worker's sink at the coordinator's bucket and prefix)", errWrongDestination, l.LeaseKey(spec.Generation))
	}
	if err != nil {
		return err
	}
	for g := spec.Generation + 1; g <= top; g++ {
		newer, err := readLease(ctx, s, l.LeaseKey(g))
		if errors.Is(err, sink.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if newer.RunID != own.RunID {
			return fmt.Errorf("%w: lease generation %d (%s) belongs to another run", errTaskLost, g, l.LeaseKey(g))
		}
	}
	return nil
}

func readLease(ctx context.Context, s sink.Sink, key string) (leaseRun, error) {
	b, err := sink.ReadObject(ctx, s, key)
	if err != nil {
		return leaseRun{}, err
	}
	var lr leaseRun
	if err := json.Unmarshal(b, &lr); err != nil {
		return leaseRun{}, fmt.Errorf("riversched: %s is not a lease: %w", key, err)
	}
	return lr, nil
}

// beat is the attempt's heartbeat: it moves the job's attempted_at
// forward, so River's rescuer, which takes a job running since longer than
// RescueStuckJobsAfter for stuck, leaves a live attempt alone and rescues
// a dead worker's within RescueStuckJobsAfter of its last beat. It fails
// with errSuperseded when the attempt no longer owns the job (rescued,
// cancelled, finalised): the worker then stops the part.
func beat(ctx context.Context, pool *pgxpool.Pool, jobID int64, attempt int) error {
	tag, err := pool.Exec(ctx, `UPDATE river_job SET attempted_at = now()
		WHERE id = $1 AND state = 'running' AND attempt = $2 AND NOT metadata ? 'cancel_attempted_at'`, jobID, attempt)
	if err != nil {
		return fmt.Errorf("riversched: heartbeat of job %d: %w", jobID, err)
	}
	if tag.RowsAffected() == 0 {
		return checkAttempt(ctx, pool, jobID, attempt) // says why
	}
	return nil
}
