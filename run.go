package snapexport

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// by table target; nil for a fresh task.
	resume map[string][]manifest.Part

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
	cols     []source.ScanColumn
	wcols    []writer.Column
	mappings []manifest.TypeMapping
	parts    []partition.Part

	bytes atomic.Int64 // Parquet bytes written for the table
	// guarded by run.mu
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
}

func (r *run) run(ctx context.Context) {
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
		_ = r.writeExportInfo(ctx, r.task.Info())
		if r.tablesDirty.Swap(false) {
			if err := r.writeTablesInfo(ctx); err != nil {
				r.tablesDirty.Store(true)
			}
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
			rf.SourceUnchanged = sameSnapshot(rf.SnapshotIdentity, info.ID)
			rec.ResumedFrom = &rf
		}
	}) {
		return context.Cause(ctx) // cancelled while starting
	}

	if err := r.writeExportInfo(ctx, r.task.Info()); err != nil {
		return destinationFailure(r.task.Info(), err)
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
		if prev, ok := r.resume[t.Target()]; ok && len(prev) > 0 {
			tr.parts = resumedParts(prev) // the kept parts and the new ones must tile the table
		} else {
			parts, err := partition.Plan(ctx, r.snap, t, partition.Options{Workers: r.opts.Concurrency, TargetPartBytes: r.opts.TargetPartBytes})
			if err != nil {
				return &taskFailure{fault: ErrInvalidExportSourceState, err: err, cause: fmt.Sprintf("Failed to plan the parallel read of %s: %v", t.Target(), err)}
			}
			tr.parts = parts
		}
		tr.partState = make([]partState, len(tr.parts))
		if prev, ok := r.resume[t.Target()]; ok {
			r.keepFinished(tr, prev)
		}
		r.estimate += max(t.EstimatedRows, 0)
		r.tables = append(r.tables, tr)
	}
	return nil
}

// unsupportedColumnChars are the characters that make RDS skip a table when a
// column name holds one (reference §5.6).
const unsupportedColumnChars = ",;{}()\n\t= "

func skipReason(t source.Table) (reason, detail string) {
	if strings.Contains(t.Name, "/") {
		return source.ReasonUnsupportedTableName, fmt.Sprintf("table name %q contains '/'", t.Name)
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
// largest parts first so the pool does not end waiting on one big table.
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
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, j := range jobs {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return r.exportPart(gctx, j.t, j.p) })
	}
	err := g.Wait()
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// exportPart scans one part into its files. On any error nothing of the
// part stays visible: files in flight are aborted by cancelling their
// context, files already rolled and published are deleted.
func (r *run) exportPart(ctx context.Context, t *tableRun, p partition.Part) (err error) {
	if r.resume != nil {
		// A run that died may have published some of this part's files.
		if err := r.deleteLeftovers(ctx, t, p); err != nil {
			return r.partError(t, p, err)
		}
	}
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

	fileCtx, abort := context.WithCancel(ctx)
	defer abort()
	var keys []string
	var partBytes atomic.Int64
	var partRows int64
	roller := writer.NewRoller(func(seq int) (io.WriteCloser, error) {
		batch := p.Batch
		if p.RollBatches {
			batch += seq // one worker's files go to batch folders 1, 2, …, as RDS
		}
		key := r.layout.partKey(t.table, batch, p.Index)
		w, err := r.sink.NewWriter(fileCtx, key, &sink.WriterOptions{ContentType: parquetContentType})
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
		return &countingWriter{w: w, total: &r.bytes, table: &t.bytes, part: &partBytes}, nil
	}, t.wcols, writer.RollerOptions{
		Options: writer.Options{
			Codec:         r.opts.Compression,
			RowGroupBytes: r.opts.RowGroupBytes,
			PageBytes:     pageBytes(r.opts.RowGroupBytes, len(t.wcols)),
			Metadata:      map[string]string{"snapexport.table": t.table.Target(), "snapexport.export_task": r.layout.id},
		},
		TargetFileBytes: r.opts.TargetFileBytes,
	})
	defer func() {
		if err != nil {
			abort()
			_ = roller.Abort()
			r.deleteObjects(keys)
			err = r.partError(t, p, err)
		}
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
	if _, err = roller.Close(); err != nil {
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
	r.partDone(t, p, keys, partRows, partBytes.Load())
	return nil
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

func (r *run) partDone(t *tableRun, p partition.Part, keys []string, rows, bytes int64) {
	r.mu.Lock()
	for i, q := range t.parts {
		if q.Batch == p.Batch && q.Index == p.Index {
			t.partState[i] = partState{complete: true, rows: rows, bytes: bytes, files: keys}
		}
	}
	t.partsDone++
	t.files = append(t.files, keys...)
	tableDone := t.partsDone >= len(t.parts)
	r.mu.Unlock()
	r.tablesDirty.Store(true)
	if tableDone {
		r.tableDone(t)
		return
	}
	r.publishTables(t, false)
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

	canceled := err != nil && (ctx.Err() != nil || errors.Is(err, context.Canceled))
	var status Status
	var final error
	switch {
	case err == nil:
		status = StatusComplete
	case canceled:
		status = StatusCanceled
		final = newError(context.Canceled, context.Cause(ctx), "export task %s was canceled", r.task.ID())
		r.task.transition(StatusCanceling, nil)
		_ = r.writeTablesInfo(mctx)
	default:
		status = StatusFailed
		_ = r.writeTablesInfo(mctx)
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

	r.mu.Lock()
	for _, t := range r.tables {
		if t.status != StatusComplete {
			t.status = status
		}
	}
	statuses := r.tableStatusesLocked()
	warn := r.warnings.String()
	r.mu.Unlock()
	bytes := r.bytes.Load()
	apply := func(rec *ExportTask) {
		now := time.Now().UTC()
		rec.TaskEndTime = &now
		rec.Status = status
		rec.FailureCause = cause
		rec.WarningMessage = warn
		rec.Tables = statuses
		rec.ExportedRows = r.rows.Load()
		rec.TotalExtractedDataInBytes = bytes
		rec.TotalExtractedDataInGB = int(bytes >> 30)
		if status == StatusComplete {
			rec.PercentProgress = 100
		}
	}
	rec := r.task.Info()
	apply(&rec)
	if werr := r.writeExportInfo(mctx, rec); werr != nil && status == StatusComplete {
		// A COMPLETE record that is not in the destination would lie.
		status = StatusFailed
		cause = fmt.Sprintf("An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", rec.S3Bucket, werr)
		final = r.failedError(ErrExportFailed, cause, werr)
	}
	r.task.finish(status, final, apply)
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

// claim writes the STARTING record; conditional makes it fail with
// sink.ErrExist when a record is already there.
func (r *run) claim(ctx context.Context, conditional bool) error {
	return r.putExportInfo(ctx, r.task.Info(), conditional)
}

func (r *run) writeExportInfo(ctx context.Context, rec ExportTask) error {
	return r.putExportInfo(ctx, rec, false)
}

// putExportInfo is the one writer of export_info; infoMu keeps heartbeats,
// status changes and the final record from interleaving.
func (r *run) putExportInfo(ctx context.Context, rec ExportTask, ifNotExists bool) error {
	r.infoMu.Lock()
	defer r.infoMu.Unlock()
	rec = r.task.redact.Record(rec) // no secret reaches the destination
	b, err := json.MarshalIndent(infoFromRecord(rec, r.layout, r.opts.HeartbeatInterval), "", "  ")
	if err != nil {
		return err
	}
	return sink.WriteObject(ctx, r.sink, r.layout.exportInfoKey(), b, &sink.WriterOptions{ContentType: "application/json", IfNotExists: ifNotExists})
}

func (r *run) writeTablesInfo(ctx context.Context) error {
	r.tablesMu.Lock()
	defer r.tablesMu.Unlock()
	r.mu.Lock()
	entries := make([]manifest.TableStatus, 0, len(r.tables))
	for _, t := range r.tables {
		entries = append(entries, manifest.TableStatus{
			Target: t.table.Target(), Status: string(t.status), SizeGB: float64(t.bytes.Load()) / (1 << 30),
			TableStatistics: &manifest.TableStatistics{
				PartitioningInfo: manifest.PartitioningInfo{NumberOfPartitions: len(t.parts), NumberOfCompletedPartitions: t.partsDone},
				ExportedRows:     t.rows, ExportedBytes: t.bytes.Load(), Files: slices.Clone(t.files),
				Parts: partRecords(t),
			},
			SchemaMetadata: &manifest.SchemaMetadata{OriginalTypeMappings: t.mappings},
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

// countingWriter counts the bytes written to a sink object into the task's
// total.
type countingWriter struct {
	w                  sink.Writer
	total, table, part *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.total.Add(int64(n))
	c.table.Add(int64(n))
	c.part.Add(int64(n))
	return n, err
}

func (c *countingWriter) Close() error { return c.w.Close() }
