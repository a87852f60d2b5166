package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/scheduler"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Run is one task's data path, from the snapshot to the tables info. The
// task lifecycle drives it: Export, then SweepAbandoned, SweepOlder,
// Settle and WriteTablesInfo when the task ends.
type Run struct {
	job    Job
	rep    Reporter
	budget *Budget
	ctx    context.Context // the task's, set by Export

	snap     source.Snapshot
	info     source.SnapshotInfo
	tables   []*tableRun
	estimate int64 // estimated rows of all tables, for percent progress
	kept     int   // parts kept from the run a resumed task continues
	// keptFiles are the files of the parts kept from the run this task
	// continues, oldFiles those of its unfinished parts: older runs' keys
	// not kept are removed (SweepOlder).
	keptFiles map[string]bool
	oldFiles  []string

	rows, bytes atomic.Int64
	tablesMu    sync.Mutex  // serializes writes of export_tables_info
	tablesDirty atomic.Bool // a part finished since the tables info was written

	mu       sync.Mutex // guards warnings and the tables' counters
	warnings manifest.Warnings
}

// New prepares a run of job that reports to rep.
func New(job Job, rep Reporter) *Run {
	if job.Scheduler == nil {
		job.Scheduler = scheduler.Pool{Concurrency: job.Options.Concurrency}
	}
	if job.Redact == nil {
		job.Redact = func(s string) string { return s }
	}
	return &Run{job: job, rep: rep, budget: NewBudget(job.Options.MemoryLimit), keptFiles: map[string]bool{}}
}

func (r *Run) redact(s string) string { return r.job.Redact(s) }

// Export takes the snapshot, lists and plans the tables, reports the
// start, sweeps what older runs left, runs every part and writes the
// tables info. The snapshot is closed when it returns.
func (r *Run) Export(ctx context.Context) error {
	r.ctx = ctx
	r.checkAtomicWrites()
	if r.job.Options.NoSharedSnapshot {
		r.warn(manifest.Entry{Reason: ReasonNoSharedSnapshot, Detail: "every part was read from a snapshot of its own (consistency none): the tables are not from one point in time, and rows that moved between parts while they were read may be missing or twice"})
	}
	snap, err := r.job.Source.Snapshot(ctx, source.SnapshotOptions{Databases: r.job.Filter.Databases(), Workers: r.job.Options.Concurrency})
	if err != nil {
		return snapshotFailure(err)
	}
	r.snap = snap
	defer snap.Close()
	if err := r.listAndPlan(ctx); err != nil {
		return err
	}
	unchanged := r.checkSnapshots(r.info)
	if err := r.rep.Started(ctx, r.started(unchanged)); err != nil {
		return err
	}
	// What the run this task continues left and did not finish goes
	// before anything new is written.
	if err := r.SweepOlder(ctx); err != nil {
		return DestinationFailure(r.destination(), err)
	}
	if r.job.Resume != nil {
		r.SweepAbandoned(ctx)
	}
	if err := r.exportParts(ctx); err != nil {
		return err
	}
	return r.WriteTablesInfo(ctx)
}

// ReasonNoSharedSnapshot is the general warning of a task whose parts
// read snapshots of their own.
const ReasonNoSharedSnapshot = "NO_SHARED_SNAPSHOT"

// ReasonOwnershipNotAtomic is the general warning of a task whose sink
// cannot create an object atomically only if it does not exist: two
// processes claiming one lease generation may then both win, and the
// task's fencing (one owner, a loser publishes nothing) is not guaranteed.
const ReasonOwnershipNotAtomic = "OWNERSHIP_NOT_ATOMIC"

func (r *Run) checkAtomicWrites() {
	if cw, ok := r.job.Sink.(sink.ConditionalWriter); ok && cw.AtomicIfNotExists() {
		return
	}
	r.warn(manifest.Entry{Reason: ReasonOwnershipNotAtomic, Detail: "the destination " + r.job.Sink.Location() +
		" does not create objects atomically if absent (S3 If-None-Match, or a sink.ConditionalWriter): two processes starting or resuming this task at the same moment could both own it; run one at a time"})
}

// destination is how failure causes name the sink.
func (r *Run) destination() Destination { return Destination{Location: r.job.Sink.Location()} }

// listAndPlan lists the tables the filter selects, records the listing's
// warnings and plans every table.
func (r *Run) listAndPlan(ctx context.Context) error {
	tables, skipped, err := r.snap.Tables(ctx, r.job.Filter)
	if err != nil {
		return listFailure(err)
	}
	// After Tables: listing adds warnings of its own (non-transactional
	// tables that are not part of the snapshot).
	r.info = r.snap.Info()
	for _, w := range r.info.Warnings {
		r.warnings.General = append(r.warnings.General, manifest.Entry(w))
	}
	for _, s := range skipped {
		r.warnings.SkippedTables = append(r.warnings.SkippedTables, manifest.Entry(s))
	}
	unmatched := r.job.Filter.Unmatched(tables, skipped)
	r.warnings.SkippedObjectives = append(r.warnings.SkippedObjectives, unmatched...)
	if cause := r.job.Filter.NoMatch(unmatched); cause != "" {
		return &Failure{Fault: fault.InvalidExportOnly, Err: errNoMatch, Cause: cause}
	}
	unused, err := unusedOverrides(r.job.Options.TypeMapper, tables, r.job.Options.Strict)
	r.warnings.General = append(r.warnings.General, unused...)
	if err != nil {
		return err
	}
	return r.planTables(ctx, tables)
}

var errNoMatch = errors.New(source.ReasonNoMatch)

func (r *Run) started(unchanged bool) Started {
	r.mu.Lock()
	warnings := r.warnings.String()
	r.mu.Unlock()
	return Started{
		SnapshotTime: r.info.Time.UTC(), SnapshotIdentity: r.info.ID, Tables: r.tableProgress(),
		Rows: r.rows.Load(), Bytes: r.bytes.Load(), Warnings: warnings, Kept: r.kept, SourceUnchanged: unchanged,
	}
}

// exportParts runs every unfinished part of every table through the
// scheduler, the largest parts first so the pool does not end waiting on
// one big table. A part that fails fails its table alone: the table's
// other parts are not started and the other tables go on, unless
// Options.FailFast. What stops every table is a cancel and the loss of the
// task's lease.
func (r *Run) exportParts(ctx context.Context) error {
	specs, tables := r.pendingParts()
	for _, t := range r.tables {
		if t.partsDone >= len(t.parts) {
			r.tableDone(t)
		}
	}
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var local sync.Map // parts run in this process, whose progress came through OnRows and OnBytes
	run := r.runLocal(tables)
	runLocal := func(ctx context.Context, spec PartSpec) (PartResult, error) {
		local.Store(partID(spec), true)
		return run(ctx, spec)
	}
	report := func(spec PartSpec, res PartResult, err error) {
		if _, ran := local.Load(partID(spec)); !ran && err == nil {
			t := tables[spec.Dir] // a part a worker elsewhere ran: its progress comes with its result
			r.addRows(t, res.Rows)
			r.addBytes(t, res.Bytes)
		}
		r.reported(ctx, stop, tables[spec.Dir], spec, res, err)
	}
	skip := func(spec PartSpec) bool { return wctx.Err() != nil || r.tableFailed(tables[spec.Dir]) }
	err := r.job.Scheduler.Run(wctx, specs, runLocal, skip, report)
	if w, ok := r.job.Scheduler.(scheduler.Warner); ok {
		for _, e := range w.Warnings() {
			r.warn(manifest.Entry(e))
		}
	}
	switch {
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case context.Cause(wctx) != nil && !errors.Is(context.Cause(wctx), context.Canceled):
		return context.Cause(wctx)
	case err != nil:
		return err
	}
	return r.failedTables()
}

// reported records how a part ended: done, cancelled with its files
// kept, failed alone, or failing the task (a lost lease, FailFast).
func (r *Run) reported(ctx context.Context, stop context.CancelCauseFunc, t *tableRun, spec PartSpec, res PartResult, err error) {
	for _, w := range res.Warnings {
		r.warn(manifest.Entry(w))
	}
	switch {
	case err == nil:
		r.partDone(t, spec.Part, partState{complete: true, rows: res.Rows, bytes: res.Bytes, files: res.Files, gen: spec.Generation})
	case ctx.Err() != nil:
		r.partCanceled(t, spec.Part, partState{rows: res.Rows, bytes: res.Bytes, files: res.Files, gen: r.job.Lease.Generation()})
	case errors.Is(err, lease.ErrLost) || r.job.Options.FailFast:
		stop(err)
	default:
		r.failTable(t, err)
	}
}

// partID names a part within its task.
func partID(spec PartSpec) string {
	return fmt.Sprintf("%s\x00%d\x00%d", spec.Dir, spec.Part.Batch, spec.Part.Index)
}

// pendingParts describes every part still to export, largest first, and
// indexes the tables by folder (which PartSpec.Dir names uniquely).
func (r *Run) pendingParts() ([]PartSpec, map[string]*tableRun) {
	var specs []PartSpec
	tables := map[string]*tableRun{}
	settings := WriterSettings{
		Codec: r.job.Options.Compression, Level: r.job.Options.CompressionLevel, RowGroupBytes: r.job.Options.RowGroupBytes,
		TargetFileBytes: r.job.Options.TargetFileBytes, MaxValueBytes: r.job.Options.MaxValueBytes,
		TypeProfile: typemap.ProfileName(r.job.Options.TypeMapper),
	}
	for _, t := range r.tables {
		tables[t.dir] = t
		for i, p := range t.parts {
			if !t.partState[i].complete {
				specs = append(specs, PartSpec{TaskID: r.job.Layout.ID, Prefix: r.job.Layout.Prefix, Generation: r.job.Lease.Generation(),
					Table: t.table, Columns: t.cols, Dir: t.dir, Part: p, Writer: settings, Snapshot: r.info.ID})
			}
		}
	}
	slices.SortStableFunc(specs, func(a, b PartSpec) int { return cmp.Compare(b.Part.EstimatedRows, a.Part.EstimatedRows) })
	return specs, tables
}

// runLocal runs a part in this process, on the run's snapshot, sink,
// lease and budget.
func (r *Run) runLocal(tables map[string]*tableRun) scheduler.RunFunc {
	return func(ctx context.Context, spec PartSpec) (PartResult, error) {
		t := tables[spec.Dir]
		return RunPart(ctx, PartEnv{
			Snapshot: r.snap, Sink: r.job.Sink, Fence: r.job.Lease, Budget: r.budget,
			Canceled: func() bool { return r.ctx.Err() != nil },
			OnRows:   func(n int64) { r.addRows(t, n) },
			OnBytes:  func(n int64) { r.addBytes(t, n) },
		}, spec)
	}
}
