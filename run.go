package snapexport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/partition"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// progressEvery is how many rows a worker exports between progress reports:
// often enough for a live bar, rare enough that the lock never shows up in a
// profile.
const progressEvery = 16384

// metadataTimeout bounds the final metadata writes, which run on a fresh
// context because the task's own may already be cancelled.
const metadataTimeout = 30 * time.Second

const parquetContentType = "application/vnd.apache.parquet"

// run is one task's export, from STARTING to its final status.
type run struct {
	task         *task
	src          source.Source
	sink         sink.Sink
	filter       *exportOnlyFilter
	opts         TaskOptions
	layout       layout
	closeDrivers func()

	// resume holds the finished parts of the run this task continues,
	// by tableKey; nil for a fresh task.
	resume map[string][]manifest.Part
	// keptFiles are the files of the parts kept from the run this task
	// continues, oldFiles those of its unfinished parts (cancelled parts
	// keep what they published): older runs' keys not kept are removed.
	keptFiles map[string]bool
	oldFiles  []string

	// ctx is the task's context, lease its ownership of the task's objects
	// (see lease.go), claimErr why the lease could not be claimed.
	ctx      context.Context
	lease    *lease
	claimErr error

	snap     source.Snapshot
	tables   []*tableRun
	estimate int64 // estimated rows of all tables, for percent progress

	infoMu      sync.Mutex  // serializes writes of export_info
	tablesMu    sync.Mutex  // serializes writes of export_tables_info
	tablesDirty atomic.Bool // a part finished since the tables info was written
	kept        int         // parts kept from the run a resumed task continues

	rows  atomic.Int64
	bytes atomic.Int64

	// memory is the task's budget; each running part holds a reservation
	// of twice its row-group size, and more while it writes a row of
	// hugeRowBytes or more (see growForHugeRow).
	memory *semaphore.Weighted

	mu       sync.Mutex // guards warnings and the tables' counters
	warnings manifest.Warnings
}

// tableRun is the state of one table within a run.
type tableRun struct {
	table    source.Table
	dir      string // the table's folder (layout.tableFolders)
	cols     []source.ScanColumn
	wcols    []writer.Column
	mappings []manifest.TypeMapping
	parts    []partition.Part

	bytes atomic.Int64 // Parquet bytes written for the table
	// guarded by run.mu
	failed    error // the failure of one of its parts
	rows      int64
	partsDone int
	files     []string
	status    Status
	partState []partState // per part, parallel to parts
}

type partState struct {
	complete    bool
	rows, bytes int64
	files       []string
	gen         int // the generation that wrote files
}

func (r *run) run(ctx context.Context) {
	defer r.closeDrivers()
	r.ctx = ctx
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
func (r *run) heartbeat(ctx context.Context, stop <-chan struct{}) {
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
		// A heartbeat that has not landed when the lease runs out is
		// given up: landing later, it could overwrite the record of a
		// process that took the task over meanwhile. The fence first
		// renews a lease that ran out (a store that was slow for a
		// while), so the deadline is never already past.
		err := r.lease.fence(ctx)
		if errors.Is(err, errLeaseLost) {
			r.task.cancel(err)
			return
		}
		bctx, cancel := context.WithDeadline(ctx, r.lease.expiry())
		if err == nil {
			err = r.writeExportInfo(bctx, r.task.Info())
		}
		if err == nil && r.tablesDirty.Swap(false) {
			if err = r.writeTablesInfo(bctx); err != nil {
				r.tablesDirty.Store(true)
			}
		}
		cancel()
		if errors.Is(err, errLeaseLost) {
			r.task.cancel(err) // another process owns the task: stop everything
			return
		}
		if cancelRequested(ctx, r.sink, r.layout) {
			r.task.Cancel()
		}
	}
}

func (r *run) export(ctx context.Context) error {
	r.memory = semaphore.NewWeighted(r.opts.MemoryLimit)
	if c, ok := r.sink.(sink.Checker); ok {
		if err := c.Check(ctx); err != nil {
			return destinationFailure(r.task.Info(), err)
		}
	}
	if r.claimErr != nil {
		return destinationFailure(r.task.Info(), r.claimErr)
	}
	if err := r.writeExportInfo(ctx, r.task.Info()); err != nil {
		return destinationFailure(r.task.Info(), err)
	}

	snap, err := r.src.Snapshot(ctx, source.SnapshotOptions{Databases: r.filter.databases(), Workers: r.opts.Concurrency})
	if err != nil {
		return &taskFailure{fault: ErrInvalidExportSourceState, err: err, cause: "Failed to take a consistent snapshot of the source: " + err.Error()}
	}
	r.snap = snap
	defer snap.Close()

	tables, skipped, err := snap.Tables(ctx, r.filter)
	if err != nil {
		return &taskFailure{fault: ErrInvalidExportSourceState, err: err, cause: "Failed to list the tables to export: " + err.Error()}
	}
	// After Tables: listing adds warnings of its own (non-transactional
	// tables that are not part of the snapshot).
	info := snap.Info()
	for _, w := range info.Warnings {
		r.warnings.General = append(r.warnings.General, manifest.Entry(w))
	}
	for _, s := range skipped {
		r.warnings.SkippedTables = append(r.warnings.SkippedTables, manifest.Entry(s))
	}
	unmatched := r.filter.unmatched(tables, skipped)
	r.warnings.SkippedObjectives = append(r.warnings.SkippedObjectives, unmatched...)
	if err := r.filter.noMatch(unmatched); err != nil {
		return err
	}
	unused, err := unusedOverrides(r.opts.TypeMapper, tables, r.opts.Strict)
	r.warnings.General = append(r.warnings.General, unused...)
	if err != nil {
		return err
	}
	if err := r.planTables(ctx, tables); err != nil {
		return err
	}

	snapTime := info.Time.UTC()
	unchanged := false
	if rf := r.task.Info().ResumedFrom; rf != nil {
		unchanged = sameSnapshot(rf.SnapshotIdentity, info.ID)
		if r.kept > 0 && !unchanged {
			at := "an unknown time"
			if rf.SnapshotTime != nil {
				at = rf.SnapshotTime.UTC().Format(time.RFC3339)
			}
			r.warnings.General = append(r.warnings.General, manifest.Entry{Reason: ReasonMixedSnapshots, Detail: fmt.Sprintf(
				"this resumed task kept %d parts read from the snapshot of %s and read the rest from the snapshot of %s, and the source changed in between (or its unchanged-ness cannot be shown): the tables are not from one point in time; start a new task for a consistent export",
				r.kept, at, snapTime.Format(time.RFC3339))})
		}
	}
	if !r.task.transition(StatusInProgress, func(rec *ExportTask) {
		rec.SnapshotTime = &snapTime
		rec.SnapshotIdentity = info.ID
		rec.TablesTotal = len(r.tables)
		rec.WarningMessage = r.warnings.String()
		rec.Tables = r.tableStatuses()
		rec.ExportedRows = r.rows.Load()
		rec.TotalExtractedDataInBytes = r.bytes.Load()
		if rec.ResumedFrom != nil {
			rf := *rec.ResumedFrom
			rf.PartitionsKept = r.kept
			rf.SourceUnchanged = unchanged
			rec.ResumedFrom = &rf
		}
	}) {
		return context.Cause(ctx) // cancelled while starting
	}

	if err := r.writeExportInfo(ctx, r.task.Info()); err != nil {
		return destinationFailure(r.task.Info(), err)
	}
	// What the run this task continues left and did not finish goes
	// before anything new is written.
	if err := r.sweepOlder(ctx); err != nil {
		return destinationFailure(r.task.Info(), err)
	}
	if r.resume != nil {
		r.sweepAbandoned(ctx)
	}

	if err := r.exportTables(ctx); err != nil {
		return err
	}
	return r.writeTablesInfo(ctx)
}

// planTables applies the skip rules, maps every column and plans the parts.
func (r *run) planTables(ctx context.Context, tables []source.Table) error {
	for _, t := range tables {
		if reason, detail := skipReason(t); reason != "" {
			r.warnings.SkippedTables = append(r.warnings.SkippedTables, manifest.Entry{Target: t.Target(), Reason: reason, Detail: detail})
			continue
		}
		tr := &tableRun{table: t, status: StatusInProgress}
		var omitted []string
		for _, c := range t.Columns {
			target, err := r.opts.TypeMapper.Map(r.src.Engine(), t.Database+"."+t.Schema+"."+t.Name, c)
			if err != nil {
				return &taskFailure{fault: ErrInvalidParameterValue, err: err,
					cause: fmt.Sprintf("Column %s of table %s has type %s, which cannot be mapped to Parquet: %v", c.Name, t.Target(), c.DataType, err)}
			}
			tr.mappings = append(tr.mappings, manifest.TypeMapping{
				ColumnName: c.Name, OriginalType: c.DataType, ExpectedExportedType: target.ExpectedExportedType(),
				OriginalCharMaxLength: c.Length, OriginalNumPrecision: c.Precision, OriginalDateTimePrecision: c.DateTimePrecision,
			})
			if target.Kind == typemap.Omit {
				omitted = append(omitted, fmt.Sprintf("%s (%s)", c.Name, c.DataType))
				continue
			}
			tr.cols = append(tr.cols, source.ScanColumn{Column: c, Target: target})
			tr.wcols = append(tr.wcols, writer.Column{Name: c.Name, Target: target, SourceType: sourceTypeName(c)})
		}
		if len(omitted) > 0 {
			r.warnings.General = append(r.warnings.General, manifest.Entry{Target: t.Target(), Reason: source.ReasonOmittedColumns,
				Detail: "columns left out of the files (object identifiers have no Parquet mapping): " + strings.Join(omitted, ", ")})
		}
		if err := checkConversions(r.snap, t, tr.cols); err != nil {
			return err
		}
		if len(tr.cols) == 0 {
			r.warnings.SkippedTables = append(r.warnings.SkippedTables, manifest.Entry{Target: t.Target(), Reason: source.ReasonOmittedColumns,
				Detail: "no column of the table can be exported"})
			continue
		}
		if prev, ok := r.resume[tableKey(t)]; ok && len(prev) > 0 {
			tr.parts = resumedParts(prev) // the kept parts and the new ones must tile the table
		} else {
			parts, err := partition.Plan(ctx, r.snap, t, partition.Options{Workers: r.opts.Concurrency, TargetPartBytes: r.opts.TargetPartBytes})
			if err != nil {
				return &taskFailure{fault: ErrInvalidExportSourceState, err: err, cause: fmt.Sprintf("Failed to plan the parallel read of %s: %v", t.Target(), err)}
			}
			tr.parts = parts
		}
		tr.partState = make([]partState, len(tr.parts))
		if prev, ok := r.resume[tableKey(t)]; ok {
			r.keepFinished(tr, prev)
		}
		r.estimate += max(t.EstimatedRows, 0)
		r.tables = append(r.tables, tr)
	}
	// Every table gets a folder of its own, whatever sanitising makes of
	// its name; a resumed table keeps the folder its files are in.
	recorded := map[string]string{}
	for key, parts := range r.resume {
		for _, p := range parts {
			for _, f := range p.Files {
				recorded[key] = path.Dir(path.Dir(f))
			}
		}
	}
	list := make([]source.Table, len(r.tables))
	for i, tr := range r.tables {
		list[i] = tr.table
	}
	dirs, clashes := r.layout.tableFolders(list, recorded)
	for i, tr := range r.tables {
		tr.dir = dirs[i]
	}
	r.warnings.General = append(r.warnings.General, clashes...)
	return nil
}

// unsupportedColumnChars are the characters that make RDS skip a table when a
// column name holds one (reference §5.6).
const unsupportedColumnChars = ",;{}()\n\t= "

func skipReason(t source.Table) (reason, detail string) {
	if strings.Contains(t.Name, "/") {
		return source.ReasonUnsupportedTableName, fmt.Sprintf("table name %q contains '/'", t.Name)
	}
	if strings.IndexFunc(t.Name, unicode.IsControl) >= 0 { // a newline would become a raw newline in an object key
		return source.ReasonUnsupportedTableName, fmt.Sprintf("table name %q contains a control character (newline, tab...); rename the table", t.Name)
	}
	for _, c := range t.Columns {
		if i := strings.IndexAny(c.Name, unsupportedColumnChars); i >= 0 {
			return source.ReasonUnsupportedColumnName, fmt.Sprintf("column name %q contains %q; names with any of , ; { } ( ) = space tab or newline are not exported (rename the column)", c.Name, c.Name[i:i+1])
		}
	}
	return "", ""
}

func sourceTypeName(c source.Column) string {
	if c.ColumnType != "" {
		return c.ColumnType
	}
	return c.DataType
}

// exportTables runs every part of every table on one pool of workers, the
// largest parts first so the pool does not end waiting on one big table. A
// part that fails fails its table alone: the table's other parts are not
// started and the other tables go on, unless TaskOptions.FailFast. What
// stops every table is a cancel and the loss of the task's lease.
func (r *run) exportTables(ctx context.Context) error {
	type job struct {
		t *tableRun
		p partition.Part
	}
	var jobs []job
	for _, t := range r.tables {
		for i, p := range t.parts {
			if !t.partState[i].complete {
				jobs = append(jobs, job{t, p})
			}
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(b.p.EstimatedRows, a.p.EstimatedRows) })
	for _, t := range r.tables {
		if t.partsDone >= len(t.parts) {
			r.tableDone(t)
		}
	}
	wctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var g errgroup.Group
	g.SetLimit(r.opts.Concurrency)
	for _, j := range jobs {
		if wctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if wctx.Err() != nil || r.tableFailed(j.t) {
				return nil
			}
			err := r.exportPart(wctx, j.t, j.p)
			switch {
			case err == nil || ctx.Err() != nil:
				return err
			case errors.Is(err, errLeaseLost) || r.opts.FailFast:
				stop(err)
				return err
			}
			r.failTable(j.t, err)
			return nil
		})
	}
	err := g.Wait()
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

func (r *run) tableFailed(t *tableRun) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return t.failed != nil
}

// failTable marks a table FAILED with the error of its failed part.
func (r *run) failTable(t *tableRun, err error) {
	r.mu.Lock()
	if t.failed == nil {
		t.failed = err
		t.status = StatusFailed
	}
	r.mu.Unlock()
	r.tablesDirty.Store(true)
	r.publishTables(t, false)
}

// failedTables is the failure of a task whose tables failed, its cause
// naming every one of them; nil when none did.
func (r *run) failedTables() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	var causes []string
	var first *taskFailure
	for _, t := range r.tables {
		if t.failed == nil {
			continue
		}
		errs = append(errs, t.failed)
		var f *taskFailure
		if !errors.As(t.failed, &f) {
			f = &taskFailure{fault: ErrExportFailed, err: t.failed, cause: fmt.Sprintf("Failed to export table %s: %v", t.table.Target(), t.failed)}
		}
		if first == nil {
			first = f
		}
		causes = append(causes, f.cause)
	}
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return first
	}
	return &taskFailure{fault: ErrExportFailed, err: errors.Join(errs...), cause: fmt.Sprintf(
		"%d tables failed; the other tables were exported, and a resume (CLI --resume) exports only what failed. %s", len(errs), strings.Join(causes, " "))}
}

// exportPart scans one part into its files. On a failure nothing of the
// part stays visible: the file in flight is aborted (and the abort awaited),
// files already rolled and published are deleted. On a cancel the files
// already published stay and are recorded, as RDS keeps what a cancelled
// export wrote; the one in flight is aborted.
func (r *run) exportPart(ctx context.Context, t *tableRun, p partition.Part) (err error) {
	// Reading waits while the budget is spent. A reservation larger than
	// the whole budget (RowGroupBytes set above it) takes the whole budget.
	reserve := min(2*r.opts.RowGroupBytes, r.opts.MemoryLimit)
	if err := r.memory.Acquire(ctx, reserve); err != nil {
		return err
	}
	held := reserve // more from the first huge row on (growForHugeRow)
	defer func() { r.releasePart(held, reserve) }()
	rows, err := r.snap.Scan(ctx, source.ScanRequest{
		Table: t.table, Columns: t.cols, Partition: p.Partition, Range: p.Range, Blocks: p.Blocks, MaxValueBytes: r.opts.MaxValueBytes,
	})
	if err != nil {
		return r.partError(t, p, err)
	}
	defer rows.Close()

	keys := map[int]string{} // by the roller's file number
	var partBytes atomic.Int64
	var partRows int64
	roller := writer.NewRoller(func(seq int) (io.WriteCloser, error) {
		batch := p.Batch
		if p.RollBatches {
			batch += seq // one worker's files go to batch folders 1, 2, …, as RDS
		}
		key := r.layout.partKey(t.dir, batch, p.Index)
		// Write-ahead intent: a later owner of the task can remove the
		// file if this run never records it.
		if err := r.lease.intend(ctx, key); err != nil {
			return nil, err
		}
		fctx, abort := context.WithCancel(ctx)
		w, err := r.sink.NewWriter(fctx, key, &sink.WriterOptions{ContentType: parquetContentType})
		if err != nil {
			abort()
			return nil, err
		}
		keys[seq] = key
		return &countingWriter{w: w, run: r, ctx: ctx, abort: abort, key: key, total: &r.bytes, table: &t.bytes, part: &partBytes}, nil
	}, t.wcols, writer.RollerOptions{
		Options: writer.Options{
			Codec:         r.opts.Compression,
			Level:         r.opts.CompressionLevel,
			RowGroupBytes: r.opts.RowGroupBytes,
			PageBytes:     pageBytes(r.opts.RowGroupBytes, len(t.wcols)),
			Metadata: map[string]string{"snapexport.table": t.table.Target(), "snapexport.export_task": r.layout.id,
				"snapexport.type_profile": typemap.ProfileName(r.opts.TypeMapper)},
		},
		TargetFileBytes: r.opts.TargetFileBytes,
	})
	defer func() {
		if err == nil {
			return
		}
		_ = roller.Abort() // aborts the file in flight and waits for it (countingWriter.Abort)
		published := publishedFiles(roller.Files(), keys)
		switch {
		case errors.Is(err, errLeaseLost) || errors.Is(context.Cause(r.ctx), errLeaseLost):
			// Another process owns the task: it removes what the
			// journal names; this one touches nothing more.
		case r.ctx.Err() != nil:
			r.partCanceled(t, p, published)
		default:
			r.deleteObjects(published.files)
		}
		err = r.partError(t, p, err)
	}()

	row := make([]parquet.Value, 0, len(t.cols))
	var pending int64
	var hugeGarbage int64 // what huge rows left since freeHugeRow last ran
	for rows.Next() {
		if row, err = rows.Row(row[:0]); err != nil {
			return err
		}
		size := rowBytes(row)
		if size >= hugeRowBytes {
			if held, err = r.growForHugeRow(ctx, held, reserve, int64(size)); err != nil {
				return err
			}
		}
		if err = roller.WriteRow(row); err != nil {
			return err
		}
		if size >= hugeRowBytes {
			// Freeing costs some 30 ms with what it makes the next rows
			// fault in again (a row of 5 MB takes about 150 ms to export),
			// so rows small beside the budget share one: 40 rows of 5 MB,
			// 64 MiB budget, export in 7.7 s at 91 MiB peak RSS, against
			// 6.5 s at 180 MiB without and 8.8 s at 73 MiB after each.
			if hugeGarbage += hugeRowCopies * int64(size); hugeGarbage >= r.opts.MemoryLimit/2 {
				freeHugeRow()
				hugeGarbage = 0
			}
		}
		partRows++
		if pending++; pending == progressEvery {
			r.addRows(t, pending)
			pending = 0
		}
	}
	if err = rows.Err(); err != nil {
		return err
	}
	files, err := roller.Close()
	if err != nil {
		return err
	}
	r.addRows(t, pending)
	if rw, ok := rows.(source.RowsWarnings); ok {
		r.mu.Lock()
		for _, w := range rw.Warnings() {
			r.warnings.General = append(r.warnings.General, manifest.Entry(w))
		}
		r.mu.Unlock()
	}
	done := publishedFiles(files, keys)
	r.partDone(t, p, partState{complete: true, rows: done.rows, bytes: done.bytes, files: done.files, gen: r.lease.generation()})
	return nil
}

// publishedFiles is what a part's finished files hold.
func publishedFiles(files []writer.FileInfo, keys map[int]string) partState {
	var st partState
	for _, f := range files {
		st.files = append(st.files, keys[f.Seq])
		st.rows += f.Rows
		st.bytes += f.Bytes
	}
	return st
}

// pageBytes sizes pages so that a writer's open pages, one per column, fit
// in a quarter of its row group: a 300-column table with the default 256 KiB
// pages would hold 75 MiB however small the budget.
func pageBytes(rowGroupBytes int64, columns int) int {
	return int(max(8<<10, min(writer.DefaultPageBytes, rowGroupBytes/int64(4*max(columns, 1)))))
}

// hugeRowBytes is the row size from which a worker reserves memory for the
// row itself (growForHugeRow).
const hugeRowBytes = 4 << 20

// hugeRowCopies is how many times a huge row is in memory while it is
// written: the driver's value (pgx reads it into a buffer rounded up to a
// power of two; SQLite holds its own copy besides the Go string), and
// parquet-go's column buffer (rounded up to at most 1.5 times), encoded page
// and page with levels, which it also compresses into. The writer itself
// copies none (writer.FileWriter.WriteRow).
const hugeRowCopies = 6

// growForHugeRow makes the worker's reservation cover a row of n bytes: its
// row group's reservation plus hugeRowCopies times the row, at most the
// whole budget, so other workers wait before their next part. The worker
// keeps it to the end of its part: a table with one huge row usually has
// more, and handing the memory back and forth between two workers that
// read huge rows would have each hold a row read from the driver while it
// waits, and parquet-go's pools a set of buffers per worker. It gives back
// what it holds before it waits: a worker that waits holds nothing, so two
// workers waiting for each other's memory cannot deadlock. While it waits,
// the row it has read and the rows its writer buffers are in memory
// uncounted: one driver value and less than a row group per waiting worker.
func (r *run) growForHugeRow(ctx context.Context, held, reserve, n int64) (int64, error) {
	need := min(r.opts.MemoryLimit, reserve+hugeRowCopies*n)
	if need <= held {
		return held, nil
	}
	r.memory.Release(held)
	if r.memory.TryAcquire(need) {
		return need, nil
	}
	if err := r.memory.Acquire(ctx, need); err != nil {
		return 0, err
	}
	// The workers waited for freed their row groups: many small buffers,
	// whose pages a value of megabytes cannot reuse until they go back to
	// the system.
	debug.FreeOSMemory()
	return need, nil
}

// releasePart gives back a part's memory, after freeing what its huge rows
// left behind (the file's last row group is written when the part ends).
func (r *run) releasePart(held, reserve int64) {
	if held > reserve {
		freeHugeRow()
	}
	r.memory.Release(held)
}

// freeHugeRow runs two collections after a huge row is written (or several
// that are small beside the budget), the second returning free pages to the
// system. parquet-go keeps the buffers that
// held the row (column buffer, page buffers) in sync.Pools, as pgx keeps
// its read buffer, and a pool frees them only at the second collection
// after they are put back; the driver's previous value is garbage too.
// Without them the next huge row is allocated beside them, and the memory
// a waiting worker is given is still taken, in pages sized for huge values
// that small buffers do not reuse (SQLite, 20 MB values, 64 MiB budget:
// 248 MiB peak without, 214 MiB with one collection, 169 MiB with this).
func freeHugeRow() {
	runtime.GC()
	debug.FreeOSMemory()
}

// rowBytes is the size of a row's variable-length values.
func rowBytes(row []parquet.Value) int {
	n := 0
	for i := range row {
		if row[i].Kind() == parquet.ByteArray {
			n += len(row[i].ByteArray())
		}
	}
	return n
}

func (r *run) partError(t *tableRun, p partition.Part, err error) error {
	var f *taskFailure
	if errors.As(err, &f) || errors.Is(err, context.Canceled) {
		return err
	}
	where := "table " + t.table.Target()
	if p.Partition != "" {
		where += " partition " + p.Partition
	}
	if p.Range != nil {
		where += " key range " + describeRange(p.Range)
	}
	if p.Blocks != nil {
		where += " pages " + describeBlocks(p.Blocks)
	}
	var big *source.ValueTooLargeError
	if errors.As(err, &big) {
		return &taskFailure{fault: ErrExportFailed, err: err, cause: fmt.Sprintf(
			"The export failed because a value in column %s of %s is %d bytes, at or above the limit of %d bytes for a single value (TaskOptions.MaxValueBytes; RDS fails on large objects of about 500 MB).",
			big.Column, t.table.Target(), big.Size, big.Limit)}
	}
	return &taskFailure{fault: ErrExportFailed, err: err, cause: fmt.Sprintf("Failed to export %s (batch %d, partition %d): %v", where, p.Batch, p.Index, err)}
}

func describeRange(k *source.KeyRange) string {
	bound := func(i *int64, b []byte, inf string) string {
		switch {
		case i != nil:
			return fmt.Sprint(*i)
		case b != nil:
			return fmt.Sprintf("%q", b)
		}
		return inf
	}
	s := k.Column + " in [" + bound(k.Lower, k.LowerBytes, "-inf") + ", " + bound(k.Upper, k.UpperBytes, "+inf") + ")"
	if k.IncludeNull {
		s += " or NULL"
	}
	return s
}

func describeBlocks(b *source.BlockRange) string {
	if b.Upper == nil {
		return fmt.Sprintf("[%d, end)", b.Lower)
	}
	return fmt.Sprintf("[%d, %d)", b.Lower, *b.Upper)
}

func (r *run) deleteObjects(keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), metadataTimeout)
	defer cancel()
	for _, k := range keys {
		if err := r.sink.Delete(ctx, k); err != nil && !errors.Is(err, sink.ErrNotExist) {
			r.mu.Lock()
			r.warnings.General = append(r.warnings.General, manifest.Entry{Target: k, Reason: "CLEANUP_FAILED",
				Detail: "a file of a failed partition could not be deleted: " + err.Error()})
			r.mu.Unlock()
		}
	}
}

func (r *run) addRows(t *tableRun, n int64) {
	total := r.rows.Add(n)
	bytes := r.bytes.Load()
	r.mu.Lock()
	t.rows += n
	r.mu.Unlock()
	r.task.update(t.table.Target(), func(rec *ExportTask) {
		rec.ExportedRows = total
		rec.TotalExtractedDataInBytes = bytes
		rec.TotalExtractedDataInGB = int(bytes >> 30)
		if r.estimate > 0 {
			// 99 at most until COMPLETE, and never backwards.
			rec.PercentProgress = max(rec.PercentProgress, int(min(99, total*100/r.estimate)))
		}
	})
}

func (r *run) partDone(t *tableRun, p partition.Part, st partState) {
	r.mu.Lock()
	if i := t.partIndex(p); i >= 0 {
		t.partState[i] = st
	}
	t.partsDone++
	t.files = append(t.files, st.files...)
	tableDone := t.partsDone >= len(t.parts)
	r.mu.Unlock()
	r.tablesDirty.Store(true)
	if tableDone {
		r.tableDone(t)
		return
	}
	r.publishTables(t, false)
}

// partCanceled records the files a cancelled part had published: they stay.
func (r *run) partCanceled(t *tableRun, p partition.Part, st partState) {
	if len(st.files) == 0 {
		return
	}
	st.gen = r.lease.generation()
	r.mu.Lock()
	if i := t.partIndex(p); i >= 0 {
		t.partState[i] = st
	}
	t.files = append(t.files, st.files...)
	r.mu.Unlock()
	r.tablesDirty.Store(true)
}

func (t *tableRun) partIndex(p partition.Part) int {
	return slices.IndexFunc(t.parts, func(q partition.Part) bool { return q.Batch == p.Batch && q.Index == p.Index })
}

// tableDone marks a table COMPLETE, reports it and emits its event.
func (r *run) tableDone(t *tableRun) {
	r.mu.Lock()
	t.status = StatusComplete
	r.mu.Unlock()
	r.publishTables(t, true)
	r.task.events.emit(Event{Type: EventTableCompleted, Table: t.table.Target(), Task: r.task.Info()})
}

func (r *run) publishTables(t *tableRun, tableDone bool) {
	statuses := r.tableStatuses()
	bytes := r.bytes.Load()
	r.task.update(t.table.Target(), func(rec *ExportTask) {
		if tableDone {
			rec.TablesCompleted++
		}
		rec.TotalExtractedDataInBytes = bytes
		rec.TotalExtractedDataInGB = int(bytes >> 30)
		rec.Tables = statuses
	})
}

func (r *run) tableStatuses() []TableStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tableStatusesLocked()
}

func (r *run) tableStatusesLocked() []TableStatus {
	out := make([]TableStatus, len(r.tables))
	for i, t := range r.tables {
		out[i] = TableStatus{Target: t.table.Target(), Status: t.status, Rows: t.rows, Bytes: t.bytes.Load(), Files: len(t.files),
			Partitions: len(t.parts), CompletedPartitions: t.partsDone}
	}
	return out
}

// end moves the task to its final status and writes the final metadata.
func (r *run) end(ctx context.Context, err error) {
	// Final writes must happen even when ctx is cancelled.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), metadataTimeout)
	defer cancel()

	if lost := lostLease(ctx, err); lost != nil {
		// Another process owns the task: its records are the truth, and
		// this one writes none.
		r.finishLocal(StatusFailed, lost.Error(), r.failedError(ErrExportFailed, lost.Error(), lost))
		return
	}
	canceled := err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled))
	if err == nil {
		// A cancel accepted before the final record ends CANCELED: the
		// completion takes the cancel slot, locally and in the
		// destination, and loses to a cancel that took it first.
		switch won, serr := r.claimCompletion(mctx); {
		case serr != nil:
			err = destinationFailure(r.task.Info(), serr)
		case !won:
			canceled = true
			err = errCanceledByRequest
		}
	}
	r.sweepAbandoned(mctx) // every writer of this run has finished or been aborted
	if err == nil {
		if serr := r.sweepOlder(mctx); serr != nil {
			err = destinationFailure(r.task.Info(), serr)
		}
	} else {
		_ = r.sweepOlder(mctx) // best effort: a resume sweeps again
	}
	var status Status
	var final error
	switch {
	case err == nil:
		status = StatusComplete
	case canceled:
		status = StatusCanceled
		final = newError(context.Canceled, context.Cause(ctx), "export task %s was canceled", r.task.ID())
		r.task.transition(StatusCanceling, nil)
	default:
		status = StatusFailed
	}
	cause := ""
	if status == StatusFailed {
		var f *taskFailure
		if !errors.As(err, &f) {
			f = &taskFailure{fault: ErrExportFailed, err: err, cause: "An unknown internal error occurred. (" + err.Error() + ")"}
		}
		cause = f.cause
		final = r.failedError(f.fault, cause, f.err)
	}
	r.settle(status)

	var recordErr error
	if werr := r.writeTablesInfo(mctx); werr != nil {
		recordErr = werr
	}
	if recordErr != nil && status == StatusComplete {
		// A COMPLETE task whose tables info is not in the destination would lie.
		status = StatusFailed
		cause = fmt.Sprintf("An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", r.task.Info().S3Bucket, recordErr)
		final = r.failedError(ErrExportFailed, cause, recordErr)
		r.settle(status)
	}
	rec := r.task.Info()
	r.finalRecord(status, cause)(&rec)
	if werr := r.writeExportInfo(mctx, rec); werr != nil {
		recordErr = errors.Join(recordErr, werr)
		if status == StatusComplete {
			// A COMPLETE record that is not in the destination would lie.
			status = StatusFailed
			cause = fmt.Sprintf("An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", rec.S3Bucket, werr)
			final = r.failedError(ErrExportFailed, cause, werr)
			r.settle(status)
		}
	}
	if recordErr != nil {
		// Readers elsewhere would see a stale record ("stopped
		// responding"): the caller must hear it.
		final = errors.Join(final, newError(ErrRecordNotWritten, recordErr,
			"the final record of export task %s (%s) could not be written to %s; other processes see an outdated one", r.task.ID(), status, rec.S3Bucket))
	}
	if status == StatusComplete && recordErr == nil {
		r.tidy(mctx)
	}
	r.task.finish(status, final, r.finalRecord(status, cause))
}

// tidy removes, after the COMPLETE record is written, the objects only an
// unfinished task needs: the journals (a COMPLETE task is never resumed,
// and its files are in the tables info) and the completion's cancel slot
// (a cancel requested from now on finds the COMPLETE record). The lease
// stays: it is the generation a late writer is fenced by.
func (r *run) tidy(ctx context.Context) {
	keys := []string{r.layout.cancelRequestKey()}
	for obj, err := range r.sink.List(ctx, r.layout.journalPrefix()) {
		if err != nil {
			break
		}
		keys = append(keys, obj.Key)
	}
	for _, k := range keys {
		_ = r.sink.Delete(ctx, k) // what stays is harmless and named by the task's prefix
	}
}

// ReasonMixedSnapshots is the general warning of a resumed task whose data
// comes from two snapshots of a source that changed in between.
const ReasonMixedSnapshots = "MIXED_SNAPSHOTS"

// ErrRecordNotWritten is matched by the error of a task whose final record
// could not be written to the destination: the task ended (its status is
// in the error and Info), but describe from another process shows an
// older record.
var ErrRecordNotWritten = errors.New("snapexport: the final record could not be written")

// lostLease returns the error of a run that lost its lease, nil otherwise.
func lostLease(ctx context.Context, err error) error {
	if errors.Is(err, errLeaseLost) {
		return err
	}
	if c := context.Cause(ctx); errors.Is(c, errLeaseLost) {
		return c
	}
	return nil
}

// finishLocal ends the task without writing a record.
func (r *run) finishLocal(status Status, cause string, final error) {
	r.settle(status)
	r.task.finish(status, final, r.finalRecord(status, cause))
}

// settle gives every table that did not finish its final status and makes
// every figure what the recorded files hold.
func (r *run) settle(status Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var rows, bytes int64
	for _, t := range r.tables {
		switch {
		case t.failed != nil:
			t.status = StatusFailed
		case t.status != StatusComplete:
			t.status = status
		}
		t.rows, t.files = 0, nil
		var tb int64
		for _, st := range t.partState {
			t.rows += st.rows
			tb += st.bytes
			t.files = append(t.files, st.files...)
		}
		t.bytes.Store(tb)
		rows += t.rows
		bytes += tb
	}
	r.rows.Store(rows)
	r.bytes.Store(bytes)
}

// finalRecord sets the final fields of the record.
func (r *run) finalRecord(status Status, cause string) func(*ExportTask) {
	statuses := r.tableStatuses()
	r.mu.Lock()
	warn := r.warnings.String()
	r.mu.Unlock()
	rows, bytes := r.rows.Load(), r.bytes.Load()
	return func(rec *ExportTask) {
		now := time.Now().UTC()
		rec.TaskEndTime = &now
		rec.Status = status
		rec.FailureCause = cause
		rec.WarningMessage = warn
		rec.Tables = statuses
		rec.ExportedRows = rows
		rec.TotalExtractedDataInBytes = bytes
		rec.TotalExtractedDataInGB = int(bytes >> 30)
		rec.TablesCompleted = 0
		for _, t := range statuses {
			if t.Status == StatusComplete {
				rec.TablesCompleted++
			}
		}
		if status == StatusComplete {
			rec.PercentProgress = 100
		}
	}
}

// claimCompletion takes the task's cancel slot for the completion, first
// in the process (a local cancel accepted earlier wins), then in the
// destination with a conditional create of the cancel request's key (a
// cancel request written by another process earlier wins). won is false
// when a cancel won.
func (r *run) claimCompletion(ctx context.Context) (won bool, err error) {
	if !r.task.seal() {
		return false, nil
	}
	if err := r.lease.fence(ctx); err != nil {
		return false, err
	}
	b, _ := json.Marshal(manifest.CancelRequest{ExportTaskIdentifier: r.layout.id, RequestTime: time.Now().UTC(), Completing: true})
	err = sink.WriteObject(ctx, r.sink, r.layout.cancelRequestKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: true})
	if errors.Is(err, sink.ErrExist) {
		req, rerr := readCancelRequest(ctx, r.sink, r.layout)
		if rerr != nil {
			return false, rerr
		}
		return req.Completing, nil
	}
	return err == nil, err
}

// failedError is the error Wait returns for a FAILED task: it matches
// ErrExportFailed, the specific fault, and the driver error underneath.
func (r *run) failedError(fault error, cause string, err error) error {
	if fault != ErrExportFailed {
		err = errors.Join(ErrExportFailed, err)
	}
	return &Error{Fault: fault, Message: "export task " + r.task.ID() + " failed: " + cause, Err: err}
}

// taskFailure carries the FailureCause sentence and the fault of a failed
// task alongside the error that caused it.
type taskFailure struct {
	fault error
	cause string
	err   error
}

func (f *taskFailure) Error() string { return f.cause }
func (f *taskFailure) Unwrap() error { return f.err }

// storeFailure is what a sink's errors tell about an object store
// (s3sink.BucketError implements it), matched by behaviour so the core
// imports no driver.
type storeFailure interface {
	S3Bucket() string
	S3Action() string
	ErrorCode() string
	BucketNotFound() bool
	WrongRegion() bool
	AccessDenied() bool
	KMSKeyNotAccessible() bool
	RoleNotAssumable() bool
}

// destinationFailure turns a failed start-of-task check or metadata write
// into RDS's FailureCause text (reference §8.1) and the matching fault.
func destinationFailure(rec ExportTask, err error) *taskFailure {
	bucket := strings.TrimPrefix(rec.S3Bucket, "s3://")
	var sf storeFailure
	if !errors.As(err, &sf) {
		return &taskFailure{fault: ErrInvalidS3Bucket, err: err, cause: fmt.Sprintf(
			"An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", bucket, err)}
	}
	if b := sf.S3Bucket(); b != "" {
		bucket = b
	}
	role := rec.IamRoleArn
	switch {
	case sf.RoleNotAssumable():
		return &taskFailure{fault: ErrIAMRoleNotAuthorized, err: err, cause: fmt.Sprintf(
			"The RDS export failed to write the export task's metadata because it can't assume the IAM role %s. (%v)", role, err)}
	case sf.KMSKeyNotAccessible():
		return &taskFailure{fault: ErrKMSKeyNotAccessible, err: err, cause: fmt.Sprintf(
			"KMS key check failed. Check the credentials on your KMS key and try again. The key %s can't be used with the S3 bucket %s (error code %s).", rec.KmsKeyId, bucket, sf.ErrorCode())}
	case sf.WrongRegion():
		return &taskFailure{fault: ErrInvalidS3Bucket, err: err, cause: fmt.Sprintf(
			"The S3 bucket %s isn't located in the current AWS Region. Review your S3 bucket name and retry the export. (%v)", bucket, err)}
	case sf.BucketNotFound():
		return &taskFailure{fault: ErrInvalidS3Bucket, err: err, cause: fmt.Sprintf(
			"The S3 bucket %s isn't valid. Either it isn't located in the current AWS Region or it doesn't exist. Review your S3 bucket name and retry the export.", bucket)}
	case sf.AccessDenied() && role != "":
		return &taskFailure{fault: ErrIAMRoleNotAuthorized, err: err, cause: fmt.Sprintf(
			"The IAM role %s isn't authorized to call %s on the S3 bucket %s. Review your permissions and retry the export.", role, sf.S3Action(), bucket)}
	case sf.AccessDenied():
		return &taskFailure{fault: ErrInvalidS3Bucket, err: err, cause: fmt.Sprintf(
			"S3 credential check failed. Check the permissions on your S3 bucket and IAM policy. (%s on the S3 bucket %s: %s)", sf.S3Action(), bucket, sf.ErrorCode())}
	}
	return &taskFailure{fault: ErrInvalidS3Bucket, err: err, cause: fmt.Sprintf(
		"An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", bucket, err)}
}

// claim takes the task in the destination before anything else is
// written: a fresh task creates its record with a conditional create (of
// two processes starting one identifier exactly one wins), then every run
// claims the next generation of the task's lease (lease.go). The error is
// the refusal StartExportTask returns; a destination that cannot be
// written is reported by the run's checks as the task's FailureCause.
func (r *run) claim(ctx context.Context, resume bool) error {
	r.lease = newLease(r.sink, r.layout, r.opts.HeartbeatInterval)
	if !resume {
		err := r.putExportInfo(ctx, r.task.Info(), true)
		if errors.Is(err, sink.ErrExist) {
			return newError(ErrExportTaskAlreadyExists, err, "the export task with the ID %s already exists: another process created %s first", r.layout.id, r.layout.exportInfoKey())
		}
		if err != nil {
			r.claimErr = err
			return nil
		}
	}
	top, err := highestGeneration(ctx, r.sink, r.layout)
	if err == nil && resume && !r.recordFinal(ctx) {
		var until time.Time
		if until, err = liveUntil(ctx, r.sink, r.layout, top); err == nil && time.Now().Before(until) {
			return newError(ErrInvalidExportTaskState, nil, "export task %s is still owned by a live process: it renewed its lease (generation %d) until %s; wait for it, or cancel it first",
				r.layout.id, top, until.UTC().Format(time.RFC3339Nano))
		}
	}
	if err == nil {
		err = r.lease.claim(ctx, top+1)
	}
	switch {
	case errors.Is(err, sink.ErrExist) && resume:
		return newError(ErrInvalidExportTaskState, err, "export task %s was taken over by another process at the same time (generation %d is claimed); follow it with describe-export-tasks", r.layout.id, top+1)
	case errors.Is(err, sink.ErrExist):
		return newError(ErrExportTaskAlreadyExists, err, "the export task with the ID %s already exists: another process claimed it first", r.layout.id)
	case err != nil:
		r.claimErr = err
		return nil
	}
	if !resume {
		return nil
	}
	// A cancel request that stopped the earlier run must not stop this one.
	if err := r.sink.Delete(ctx, r.layout.cancelRequestKey()); err != nil && !errors.Is(err, sink.ErrNotExist) {
		return newError(ErrInvalidS3Bucket, err, "cannot delete the old cancel request of export task %s", r.layout.id)
	}
	if err := r.putExportInfo(ctx, r.task.Info(), false); err != nil {
		r.claimErr = err
	}
	return nil
}

// recordFinal reports whether the task's record in the destination holds a
// final status its own run wrote (not one a reader infers from a stale
// heartbeat): that run is over, whatever its lease says.
func (r *run) recordFinal(ctx context.Context) bool {
	b, err := sink.ReadObject(ctx, r.sink, r.layout.exportInfoKey())
	if err != nil {
		return false
	}
	info, err := decodeInfo(b, r.layout.id)
	return err == nil && Status(info.Status).Final()
}

func (r *run) writeExportInfo(ctx context.Context, rec ExportTask) error {
	return r.putExportInfo(ctx, rec, false)
}

// putExportInfo is the one writer of export_info; infoMu keeps heartbeats,
// status changes and the final record from interleaving. Every write but
// the first conditional create is fenced by the lease.
func (r *run) putExportInfo(ctx context.Context, rec ExportTask, ifNotExists bool) error {
	r.infoMu.Lock()
	defer r.infoMu.Unlock()
	if !ifNotExists {
		if err := r.lease.fence(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	rec = r.task.redact.Record(rec) // no secret reaches the destination
	info := infoFromRecord(rec, r.layout, r.opts.HeartbeatInterval)
	info.Generation, info.RunID = r.lease.generation(), r.lease.runID
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	if err := sink.WriteObject(ctx, r.sink, r.layout.exportInfoKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: ifNotExists}); err != nil {
		return err
	}
	r.lease.beat(start)
	return nil
}

func (r *run) writeTablesInfo(ctx context.Context) error {
	r.tablesMu.Lock()
	defer r.tablesMu.Unlock()
	if err := r.lease.fence(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	entries := make([]manifest.TableStatus, 0, len(r.tables))
	for _, t := range r.tables {
		// The figures are those of the recorded parts' files, never of a
		// part still being written.
		parts := partRecords(t)
		var rows, bytes int64
		var files []string
		for _, p := range parts {
			rows += p.Rows
			bytes += p.Bytes
			files = append(files, p.Files...)
		}
		warn := ""
		if t.failed != nil {
			warn = r.task.redact.String(t.failed.Error()) // no secret reaches the destination
		}
		entries = append(entries, manifest.TableStatus{
			Target: t.table.Target(), TableKey: tableKey(t.table), Status: string(t.status), SizeGB: float64(bytes) / (1 << 30), WarningMessage: warn,
			TableStatistics: &manifest.TableStatistics{
				PartitioningInfo: manifest.PartitioningInfo{NumberOfPartitions: len(t.parts), NumberOfCompletedPartitions: t.partsDone},
				ExportedRows:     rows, ExportedBytes: bytes, Files: files,
				Parts: parts,
			},
			SchemaMetadata: &manifest.SchemaMetadata{TypeProfile: typemap.ProfileName(r.opts.TypeMapper), OriginalTypeMappings: t.mappings},
		})
	}
	r.mu.Unlock()
	for _, s := range manifest.Slices(len(entries)) {
		from, to := s[0], s[1]
		b, err := json.MarshalIndent(manifest.TablesInfo{PerTableStatus: entries[from-1 : max(to, from-1)]}, "", "  ")
		if err != nil {
			return err
		}
		if err := sink.WriteObject(ctx, r.sink, r.layout.tablesInfoKey(from, to), b, &sink.WriterOptions{ContentType: "application/json"}); err != nil {
			return fmt.Errorf("writing %s: %w", r.layout.tablesInfoKey(from, to), err)
		}
	}
	return nil
}

// countingWriter counts the bytes written to a data file into the task's
// totals (and takes them back when the file is aborted), fences the
// publish, and awaits the abort of a file given up.
type countingWriter struct {
	w                  sink.Writer
	run                *run
	ctx                context.Context // the part's
	abort              context.CancelFunc
	key                string
	n                  int64
	total, table, part *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.total.Add(int64(n))
	c.table.Add(int64(n))
	c.part.Add(int64(n))
	return n, err
}

// Close publishes the file if the task is still this run's.
func (c *countingWriter) Close() error {
	if err := c.run.lease.fence(c.ctx); err != nil {
		_ = c.Abort()
		return err
	}
	err := c.w.Close()
	c.abort()
	if err != nil {
		c.uncount()
		c.run.leftover(err)
	}
	return err
}

// Abort implements writer.Aborter: it cancels the file's context and waits
// in Close for the sink to discard it, so no abort is still running when
// the task reaches its final status.
func (c *countingWriter) Abort() error {
	c.abort()
	c.run.leftover(c.w.Close())
	c.uncount()
	return nil
}

func (c *countingWriter) uncount() {
	c.total.Add(-c.n)
	c.table.Add(-c.n)
	c.part.Add(-c.n)
	c.n = 0
}

// sweepAbandoned removes the writes under the task's prefix that began and
// were neither finished nor cleaned up (incomplete multipart uploads,
// temporary files of a killed process), where the sink can see them
// (sink.Sweeper), and names in the warnings what it could not remove. It
// runs when a resumed task has taken the task over, before it writes, and
// when a run ends, after its own writers are done: the prefix is the
// task's own.
func (r *run) sweepAbandoned(ctx context.Context) {
	sw, ok := r.sink.(sink.Sweeper)
	if !ok {
		return
	}
	var failed []manifest.Entry
	for a, err := range sw.Abandoned(ctx, r.layout.root()+"/") {
		if err != nil {
			failed = append(failed, manifest.Entry{Target: r.layout.root() + "/", Reason: "CLEANUP_FAILED",
				Detail: "the abandoned writes under the task's prefix could not be listed: " + err.Error()})
			break
		}
		if err := sw.Sweep(ctx, a); err != nil {
			failed = append(failed, manifest.Entry{Target: a.Key, Reason: "CLEANUP_FAILED",
				Detail: fmt.Sprintf("an abandoned write could not be removed (ID %s): %v; remove it by hand", a.ID, err)})
		}
	}
	if len(failed) > 0 {
		r.mu.Lock()
		r.warnings.General = append(r.warnings.General, failed...)
		r.mu.Unlock()
	}
}

// leftover names in the warnings what a sink could not remove of an
// aborted write.
func (r *run) leftover(err error) {
	var le *sink.LeftoverError
	if !errors.As(err, &le) {
		return
	}
	r.mu.Lock()
	r.warnings.General = append(r.warnings.General, manifest.Entry{Target: le.Abandoned.Key, Reason: "CLEANUP_FAILED",
		Detail: fmt.Sprintf("an aborted write could not be removed (ID %s): %v; remove it by hand", le.Abandoned.ID, le.Err)})
	r.mu.Unlock()
}
