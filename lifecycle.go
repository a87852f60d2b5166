package snapexport

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/notify"
)

// Task is a running or finished export task. Its methods are safe to call
// from any goroutine at any time.
type Task struct {
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu   sync.Mutex
	rec  ExportTask
	err  error // the final error, set with the final status
	subs []*notify.Latest[Progress]

	events *emitter // nil when nobody listens
	sealed bool     // the run is writing its final record: no cancel is accepted
	// redact hides the task's secrets in what Info, Wait and Progress
	// return (redact.go).
	redact *redactor
}

func newTask(rec ExportTask, cancel context.CancelCauseFunc) *Task {
	return &Task{rec: rec, cancel: cancel, done: make(chan struct{})}
}

// ID is the task's ExportTaskIdentifier.
func (t *Task) ID() string { return t.rec.ExportTaskIdentifier } // immutable

// Info returns a copy of the current record; safe to call any time.
func (t *Task) Info() ExportTask {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.redact.Record(cloneRecord(t.rec))
}

func cloneRecord(r ExportTask) ExportTask {
	r.ExportOnly = slices.Clone(r.ExportOnly)
	r.Tables = slices.Clone(r.Tables)
	if r.SnapshotIdentity != nil {
		m := make(map[string]string, len(r.SnapshotIdentity))
		for k, v := range r.SnapshotIdentity {
			m[k] = v
		}
		r.SnapshotIdentity = m
	}
	return r
}

// Done is closed when the task reached a final status.
func (t *Task) Done() <-chan struct{} { return t.done }

// Progress returns a new subscription to the task's progress. Values are
// cumulative, so a slow reader loses nothing by missing some; the export
// never waits for a reader. The last value carries the final status, then
// the channel is closed. A subscription taken after the task finished gets
// the final value alone.
func (t *Task) Progress() <-chan Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := notify.NewLatest[Progress]()
	if t.rec.Status.Final() {
		s.Finish(t.progressLocked(""))
		return s.C
	}
	s.Offer(t.progressLocked(""))
	t.subs = append(t.subs, s)
	return s.C
}

// Cancel asks the task to stop, as CancelExportTask does; it is a no-op
// on a finished task.
func (t *Task) Cancel() { _, _ = t.requestCancel() }

// requestCancel moves a running task to CANCELING and cancels its context.
func (t *Task) requestCancel() (ExportTask, error) {
	t.mu.Lock()
	switch t.rec.Status {
	case StatusStarting, StatusInProgress:
		if t.sealed {
			t.mu.Unlock()
			return ExportTask{}, newError(ErrInvalidExportTaskState, nil,
				"can't cancel export task %s: it finished exporting and is writing its final record", t.ID())
		}
	case StatusCanceling:
		rec := t.redact.Record(cloneRecord(t.rec))
		t.mu.Unlock()
		return rec, nil
	default:
		st := t.rec.Status
		t.mu.Unlock()
		return ExportTask{}, newError(ErrInvalidExportTaskState, nil,
			"can't cancel export task %s: it is %s already; only STARTING and IN_PROGRESS tasks can be cancelled", t.ID(), st)
	}
	t.setStatusLocked(StatusCanceling)
	rec := t.redact.Record(cloneRecord(t.rec))
	t.mu.Unlock()
	t.cancel(errCanceledByRequest)
	t.events.emit(Event{Type: EventStatusChanged, Task: rec})
	return rec, nil
}

var errCanceledByRequest = errors.New("export task canceled")

// Wait blocks until the task is final or ctx is done, and returns the
// final record. The error is nil only for COMPLETE: a FAILED task gives an
// *Error matching ErrExportFailed (and the fault, such as
// ErrInvalidS3Bucket), a CANCELED one an error matching context.Canceled.
func (t *Task) Wait(ctx context.Context) (ExportTask, error) {
	select {
	case <-t.done:
	case <-ctx.Done():
		return t.Info(), ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.redact.Record(cloneRecord(t.rec)), t.redact.Error(t.err)
}

// seal stops the task from accepting a cancel, reporting false when one
// was accepted first (the task is CANCELING).
func (t *Task) seal() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.rec.Status == StatusCanceling {
		return false
	}
	t.sealed = true
	return true
}

// update changes the record under the lock and publishes progress; it is how
// the run reports counters. It never blocks on readers.
func (t *Task) update(table string, f func(*ExportTask)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.rec)
	p := t.progressLocked(table)
	for _, s := range t.subs {
		s.Offer(p)
	}
}

// transition moves the task to next if the lifecycle allows it, reporting
// whether it did. A task already CANCELING goes nowhere but CANCELED.
func (t *Task) transition(next Status, f func(*ExportTask)) bool {
	t.mu.Lock()
	if !t.rec.Status.canMoveTo(next) {
		t.mu.Unlock()
		return false
	}
	if f != nil {
		f(&t.rec)
	}
	t.setStatusLocked(next)
	rec := cloneRecord(t.rec)
	t.mu.Unlock()
	t.events.emit(Event{Type: EventStatusChanged, Task: rec})
	return true
}

func (t *Task) setStatusLocked(s Status) {
	t.rec.Status = s
	p := t.progressLocked("")
	for _, sub := range t.subs {
		sub.Offer(p)
	}
}

// finish sets the final status and error, delivers the final progress value
// to every reader, closes their channels and Done.
func (t *Task) finish(status Status, err error, f func(*ExportTask)) {
	t.mu.Lock()
	now := time.Now().UTC()
	t.rec.TaskEndTime = &now
	if f != nil {
		f(&t.rec)
	}
	t.rec.Status = status
	if status == StatusComplete {
		t.rec.PercentProgress = 100
	}
	t.err = err
	p := t.progressLocked("")
	for _, s := range t.subs {
		s.Finish(p)
	}
	t.subs = nil
	rec := cloneRecord(t.rec)
	t.mu.Unlock()
	// The final event goes out before Done closes, so a program that exits
	// after Wait has delivered it.
	t.events.final(finalEvent(rec))
	close(t.done)
}

func (t *Task) progressLocked(table string) Progress {
	return t.redact.Progress(Progress{
		Status:          t.rec.Status,
		PercentProgress: t.rec.PercentProgress,
		Rows:            t.rec.ExportedRows,
		Bytes:           t.rec.TotalExtractedDataInBytes,
		TablesCompleted: t.rec.TablesCompleted,
		TablesTotal:     t.rec.TablesTotal,
		Table:           table,
		Time:            time.Now().UTC(),
	})
}

// ending is how a task ends: its final status, FailureCause and the error
// Wait returns.
type ending struct {
	status Status
	cause  string
	final  error
}

// end moves the task to its final status and writes the final metadata:
// the tables info, then the record. A COMPLETE task whose metadata is not
// in the destination would lie, so a write that fails makes it FAILED.
func (r *taskRun) end(ctx context.Context, err error) {
	// Final writes must happen even when ctx is cancelled.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metadataTimeout)
	defer cancel()
	if lost := lostLease(ctx, err); lost != nil {
		// Another process owns the task: its records are the truth, and
		// this one writes none.
		e := ending{status: StatusFailed, cause: lost.Error(), final: r.failedError(ErrExportFailed, lost.Error(), lost)}
		r.task.finish(e.status, e.final, finalRecord(e, r.engine.Settle(engine.StateFailed)))
		return
	}
	e := r.outcome(ctx, mctx, err)
	summary := r.engine.Settle(engine.State(e.status))
	recordErr := r.engine.WriteTablesInfo(mctx)
	if recordErr != nil && e.status == StatusComplete {
		e, summary = r.metadataFailed(recordErr)
	}
	rec := r.task.Info()
	finalRecord(e, summary)(&rec)
	if werr := r.writeExportInfo(mctx, rec); werr != nil {
		recordErr = errors.Join(recordErr, werr)
		if e.status == StatusComplete {
			e, summary = r.metadataFailed(werr)
		}
	}
	if recordErr != nil {
		// Readers elsewhere would see a stale record ("stopped
		// responding"): the caller must hear it.
		e.final = errors.Join(e.final, newError(ErrRecordNotWritten, recordErr,
			"the final record of export task %s (%s) could not be written to %s; other processes see an outdated one", r.task.ID(), e.status, rec.S3Bucket))
	}
	if e.status == StatusComplete && recordErr == nil {
		r.store.Tidy(mctx)
	}
	r.task.finish(e.status, e.final, finalRecord(e, summary))
}

// outcome decides the final status from the export's error. A finished
// export must still win the cancel slot (a cancel accepted before the
// final record ends CANCELED) and sweep what older runs left.
func (r *taskRun) outcome(ctx, mctx context.Context, err error) ending {
	canceled := err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled))
	if err == nil {
		switch won, serr := r.claimCompletion(mctx); {
		case serr != nil:
			err = engine.DestinationFailure(r.destination(), serr)
		case !won:
			canceled = true
			err = errCanceledByRequest
		}
	}
	r.engine.SweepAbandoned(mctx) // every writer of this run has finished or been aborted
	if serr := r.engine.SweepOlder(mctx); serr != nil && err == nil {
		err = engine.DestinationFailure(r.destination(), serr)
	} // after a failure the sweep is best effort: a resume sweeps again
	switch {
	case err == nil:
		return ending{status: StatusComplete}
	case canceled:
		r.task.transition(StatusCanceling, nil)
		return ending{status: StatusCanceled, final: newError(context.Canceled, context.Cause(ctx), "export task %s was canceled", r.task.ID())}
	}
	f := engine.AsFailure(err)
	return ending{status: StatusFailed, cause: f.Cause, final: r.failedError(f.Fault, f.Cause, f.Err)}
}

// metadataFailed is the ending of a task that exported everything but
// whose final metadata could not be written.
func (r *taskRun) metadataFailed(err error) (ending, engine.Summary) {
	f := engine.MetadataFailure(r.task.Info().S3Bucket, err)
	e := ending{status: StatusFailed, cause: f.Cause, final: r.failedError(ErrExportFailed, f.Cause, err)}
	return e, r.engine.Settle(engine.StateFailed)
}

// lostLease returns the error of a run that lost its lease, nil otherwise.
func lostLease(ctx context.Context, err error) error {
	if errors.Is(err, lease.ErrLost) {
		return err
	}
	if c := context.Cause(ctx); errors.Is(c, lease.ErrLost) {
		return c
	}
	return nil
}

// finalRecord sets the final fields of the record.
func finalRecord(e ending, s engine.Summary) func(*ExportTask) {
	return func(rec *ExportTask) {
		now := time.Now().UTC()
		rec.TaskEndTime = &now
		rec.Status = e.status
		rec.FailureCause = e.cause
		rec.WarningMessage = s.Warnings
		rec.Tables = tableStatuses(s.Tables)
		rec.ExportedRows = s.Rows
		rec.TotalExtractedDataInBytes = s.Bytes
		rec.TotalExtractedDataInGB = int(s.Bytes >> 30)
		rec.TablesCompleted = s.TablesCompleted
		if e.status == StatusComplete {
			rec.PercentProgress = 100
		}
	}
}

// failedError is the error Wait returns for a FAILED task: it matches
// ErrExportFailed, the specific fault, and the driver error underneath.
func (r *taskRun) failedError(fault error, cause string, err error) error {
	if fault != ErrExportFailed {
		err = errors.Join(ErrExportFailed, err)
	}
	return &Error{Fault: fault, Message: "export task " + r.task.ID() + " failed: " + cause, Err: err}
}
