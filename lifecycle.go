package snapexport

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// task is the in-process Task: the record, guarded by mu, the progress
// subscribers, and the cancel function of the run's context.
type task struct {
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu   sync.Mutex
	rec  ExportTask
	err  error // the final error, set with the final status
	subs []*subscription

	events *emitter // nil when nobody listens
	sealed bool     // the run is writing its final record: no cancel is accepted
	// redact hides the task's secrets in what Info, Wait and Progress
	// return (redact.go).
	redact *redactor
}

func newTask(rec ExportTask, cancel context.CancelCauseFunc) *task {
	return &task{rec: rec, cancel: cancel, done: make(chan struct{})}
}

func (t *task) ID() string { return t.rec.ExportTaskIdentifier } // immutable

func (t *task) Info() ExportTask {
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

func (t *task) Done() <-chan struct{} { return t.done }

func (t *task) Progress() <-chan Progress {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := newSubscription()
	if t.rec.Status.Final() {
		s.finish(t.progressLocked(""))
		return s.ch
	}
	s.offer(t.progressLocked(""))
	t.subs = append(t.subs, s)
	return s.ch
}

func (t *task) Cancel() { _, _ = t.requestCancel() }

// requestCancel moves a running task to CANCELING and cancels its context.
func (t *task) requestCancel() (ExportTask, error) {
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

func (t *task) Wait(ctx context.Context) (ExportTask, error) {
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
func (t *task) seal() bool {
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
func (t *task) update(table string, f func(*ExportTask)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	f(&t.rec)
	p := t.progressLocked(table)
	for _, s := range t.subs {
		s.offer(p)
	}
}

// transition moves the task to next if the lifecycle allows it, reporting
// whether it did. A task already CANCELING goes nowhere but CANCELED.
func (t *task) transition(next Status, f func(*ExportTask)) bool {
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

func (t *task) setStatusLocked(s Status) {
	t.rec.Status = s
	p := t.progressLocked("")
	for _, sub := range t.subs {
		sub.offer(p)
	}
}

// finish sets the final status and error, delivers the final progress value
// to every reader, closes their channels and Done.
func (t *task) finish(status Status, err error, f func(*ExportTask)) {
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
		s.finish(p)
	}
	t.subs = nil
	rec := cloneRecord(t.rec)
	t.mu.Unlock()
	// The final event goes out before Done closes, so a program that exits
	// after Wait has delivered it.
	t.events.final(finalEvent(rec))
	close(t.done)
}

func (t *task) progressLocked(table string) Progress {
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
