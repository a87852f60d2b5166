package snapexport

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/records"
	"github.com/snapexport/snapexport/sink"
)

// metadataTimeout bounds the final metadata writes, which run on a fresh
// context because the task's own may already be cancelled.
const metadataTimeout = 30 * time.Second

// taskRun is one task's life from STARTING to its final status: the
// record in the destination (claimed, rewritten by heartbeats, final), the
// status transitions, and the engine that moves the data.
type taskRun struct {
	task         *Task
	sink         sink.Sink
	opts         TaskOptions
	layout       layout.Layout
	store        records.Store // the task's records in the destination
	lease        *lease.Lease
	engine       *engine.Run
	job          engine.Job
	closeDrivers func()
	// claimErr is why the task could not be claimed in the destination,
	// reported as the task's FailureCause once it runs.
	claimErr error
	infoMu   sync.Mutex // serializes writes of export_info
}

func (r *taskRun) run(ctx context.Context) {
	defer r.closeDrivers()
	stop := make(chan struct{})
	beating := make(chan struct{})
	go func() {
		defer close(beating)
		r.heartbeat(ctx, stop)
	}()
	err := r.export(ctx)
	close(stop)
	<-beating // no heartbeat may overwrite the final record
	r.end(ctx, err)
}

// heartbeat rewrites the record every interval, so readers elsewhere see
// progress and can tell a live task from one whose process died, writes the
// tables info when parts finished (what a resume keeps), and polls for a
// cancel request written by another process.
func (r *taskRun) heartbeat(ctx context.Context, stop <-chan struct{}) {
	tick := time.NewTicker(r.opts.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := r.beat(ctx); errors.Is(err, lease.ErrLost) {
			r.task.cancel(err) // another process owns the task: stop everything
			return
		}
		if r.store.CancelRequested(ctx) {
			r.task.Cancel()
		}
	}
}

// beat is one heartbeat's writes. One that has not landed when the lease
// runs out is given up: landing later, it could overwrite the record of a
// process that took the task over meanwhile. The fence first renews a
// lease that ran out (a store that was slow for a while), so the deadline
// is never already past.
func (r *taskRun) beat(ctx context.Context) error {
	if err := r.lease.Fence(ctx); err != nil {
		return err
	}
	bctx, cancel := context.WithDeadline(ctx, r.lease.Expiry())
	defer cancel()
	// The tables info first: what the record then says is complete is
	// already what a resume keeps (a process killed between the two
	// writes left a record counting a table its tables info did not).
	rec := r.task.Info()
	if err := r.engine.WriteTablesInfoIfChanged(bctx); err != nil {
		return err
	}
	return r.writeExportInfo(bctx, rec)
}

func (r *taskRun) destination() engine.Destination {
	rec := r.task.Info()
	return engine.Destination{Location: rec.S3Bucket, Role: rec.IamRoleArn, KMSKey: rec.KmsKeyId}
}

// export checks the destination, writes the first record and runs the
// engine.
func (r *taskRun) export(ctx context.Context) error {
	if c, ok := r.sink.(sink.Checker); ok {
		if err := c.Check(ctx); err != nil {
			return engine.DestinationFailure(r.destination(), err)
		}
	}
	if r.claimErr != nil {
		return engine.DestinationFailure(r.destination(), r.claimErr)
	}
	if err := r.writeExportInfo(ctx, r.task.Info()); err != nil {
		return engine.DestinationFailure(r.destination(), err)
	}
	return r.engine.Export(ctx)
}

// Started implements engine.Reporter: the task moves to IN_PROGRESS and
// says so in the destination.
func (r *taskRun) Started(ctx context.Context, s engine.Started) error {
	if !r.task.transition(StatusInProgress, func(rec *ExportTask) {
		rec.SnapshotTime = &s.SnapshotTime
		rec.SnapshotIdentity = s.SnapshotIdentity
		rec.TablesTotal = len(s.Tables)
		rec.WarningMessage = s.Warnings
		rec.Tables = tableStatuses(s.Tables)
		rec.ExportedRows = s.Rows
		rec.TotalExtractedDataInBytes = s.Bytes
		if rec.ResumedFrom != nil {
			rf := *rec.ResumedFrom
			rf.PartitionsKept = s.Kept
			rf.SourceUnchanged = s.SourceUnchanged
			rec.ResumedFrom = &rf
		}
	}) {
		return context.Cause(ctx) // cancelled while starting
	}
	if err := r.writeExportInfo(ctx, r.task.Info()); err != nil {
		return engine.DestinationFailure(r.destination(), err)
	}
	return nil
}

// Progress implements engine.Reporter.
func (r *taskRun) Progress(p engine.Progress) {
	r.task.update(p.Table, func(rec *ExportTask) {
		rec.TotalExtractedDataInBytes = p.Bytes
		rec.TotalExtractedDataInGB = int(p.Bytes >> 30)
		if p.Tables != nil {
			rec.Tables = tableStatuses(p.Tables)
			if p.TableDone {
				rec.TablesCompleted++
			}
			return
		}
		rec.ExportedRows = p.Rows
		if p.Percent >= 0 {
			rec.PercentProgress = max(rec.PercentProgress, p.Percent) // never backwards
		}
	})
}

// TableCompleted implements engine.Reporter.
func (r *taskRun) TableCompleted(target string) {
	r.task.events.emit(Event{Type: EventTableCompleted, Table: target, Task: r.task.Info()})
}

func tableStatuses(tables []engine.TableProgress) []TableStatus {
	out := make([]TableStatus, len(tables))
	for i, t := range tables {
		out[i] = TableStatus{Target: t.Target, Status: Status(t.State), Rows: t.Rows, Bytes: t.Bytes, Files: t.Files,
			Partitions: t.Parts, CompletedPartitions: t.Done}
	}
	return out
}

// ReasonMixedSnapshots is the general warning of a resumed task whose data
// comes from two snapshots of a source that changed in between.
const ReasonMixedSnapshots = engine.ReasonMixedSnapshots

// ReasonKeyCollision is the warning reason of a table whose folder was
// renamed because another table's name sanitises to the same folder.
const ReasonKeyCollision = layout.ReasonKeyCollision

// ReasonUnusedTypeOverride is the warning reason of a type override that
// matches no column of the task.
const ReasonUnusedTypeOverride = engine.ReasonUnusedTypeOverride

// ReasonOwnershipNotAtomic is the general warning of a task whose sink
// cannot create an object atomically only if it does not exist (S3
// If-None-Match): one owner per task is then not guaranteed.
const ReasonOwnershipNotAtomic = engine.ReasonOwnershipNotAtomic

// ErrRecordNotWritten is matched by the error of a task whose final record
// could not be written to the destination: the task ended (its status is
// in the error and Info), but describe from another process shows an
// older record.
var ErrRecordNotWritten = errors.New("snapexport: the final record could not be written")

// claim takes the task in the destination before anything else is
// written: a fresh task creates its record with a conditional create (of
// two processes starting one identifier exactly one wins), then every run
// claims the next generation of the task's lease (internal/lease). The
// error is the refusal StartExportTask returns; a destination that cannot
// be written is reported by the run's checks as the task's FailureCause.
func (r *taskRun) claim(ctx context.Context, resume bool) error {
	if !resume {
		err := r.putExportInfo(ctx, r.task.Info(), true)
		if errors.Is(err, sink.ErrExist) {
			return newError(ErrExportTaskAlreadyExists, err, "the export task with the ID %s already exists: another process created %s first", r.layout.ID, r.layout.ExportInfoKey())
		}
		if err != nil {
			r.claimErr = err
			return nil
		}
	}
	top, err := lease.Highest(ctx, r.sink, r.layout)
	if err == nil && resume && !r.recordFinal(ctx) {
		if err = r.refuseLiveOwner(ctx, top); err != nil {
			return err
		}
	}
	if err == nil {
		err = r.lease.Claim(ctx, top+1)
	}
	switch {
	case errors.Is(err, sink.ErrExist) && resume:
		return newError(ErrInvalidExportTaskState, err, "export task %s was taken over by another process at the same time (generation %d is claimed); follow it with describe-export-tasks", r.layout.ID, top+1)
	case errors.Is(err, sink.ErrExist):
		return newError(ErrExportTaskAlreadyExists, err, "the export task with the ID %s already exists: another process claimed it first", r.layout.ID)
	case err != nil:
		r.claimErr = err
		return nil
	}
	if resume {
		return r.takeOver(ctx)
	}
	return nil
}

// refuseLiveOwner refuses a resume while the newest lease is still being
// renewed: its run is alive, whatever its record says.
func (r *taskRun) refuseLiveOwner(ctx context.Context, top int) error {
	until, err := lease.LiveUntil(ctx, r.sink, r.layout, top)
	if err != nil || !time.Now().Before(until) {
		return err
	}
	return newError(ErrInvalidExportTaskState, nil, "export task %s is still owned by a live process: it renewed its lease (generation %d) until %s; wait for it, or cancel it first",
		r.layout.ID, top, until.UTC().Format(time.RFC3339Nano))
}

// takeOver clears the cancel request that stopped the earlier run, which
// must not stop this one, and writes this run's record.
func (r *taskRun) takeOver(ctx context.Context) error {
	if err := r.store.ClearCancelRequest(ctx); err != nil {
		return err
	}
	if err := r.putExportInfo(ctx, r.task.Info(), false); err != nil {
		r.claimErr = err
	}
	return nil
}

// recordFinal reports whether the task's record in the destination holds a
// final status its own run wrote (not one a reader infers from a stale
// heartbeat): that run is over, whatever its lease says.
func (r *taskRun) recordFinal(ctx context.Context) bool {
	info, err := r.store.Read(ctx)
	return err == nil && Status(info.Status).Final()
}

func (r *taskRun) writeExportInfo(ctx context.Context, rec ExportTask) error {
	return r.putExportInfo(ctx, rec, false)
}

// putExportInfo is the one writer of export_info; infoMu keeps heartbeats,
// status changes and the final record from interleaving. Every write but
// the first conditional create is fenced by the lease.
func (r *taskRun) putExportInfo(ctx context.Context, rec ExportTask, ifNotExists bool) error {
	r.infoMu.Lock()
	defer r.infoMu.Unlock()
	if !ifNotExists {
		if err := r.lease.Fence(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	rec = r.task.redact.Record(rec) // no secret reaches the destination
	info := infoFromRecord(rec, r.layout, r.opts.HeartbeatInterval)
	info.Generation, info.RunID = r.lease.Generation(), r.lease.RunID()
	if err := r.store.Put(ctx, info, ifNotExists); err != nil {
		return err
	}
	r.lease.Beat(start)
	return nil
}

// claimCompletion takes the task's cancel slot for the completion, first
// in the process (a local cancel accepted earlier wins), then in the
// destination with a conditional create of the cancel request's key (a
// cancel request written by another process earlier wins). won is false
// when a cancel won.
func (r *taskRun) claimCompletion(ctx context.Context) (won bool, err error) {
	if !r.task.seal() {
		return false, nil
	}
	if err := r.lease.Fence(ctx); err != nil {
		return false, err
	}
	return r.store.ClaimCompletion(ctx)
}
