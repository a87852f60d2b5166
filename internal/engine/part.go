package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/writer"
)

// progressEvery is how many rows a part exports between progress reports:
// often enough for a live bar, rare enough that the lock never shows up in
// a profile.
const progressEvery = 16384

// cleanupTimeout bounds the deletes of a failed part's files, which run on
// a fresh context because the part's own may be cancelled.
const cleanupTimeout = 30 * time.Second

const parquetContentType = "application/vnd.apache.parquet"

// RunPart exports one part: budget → Scan → Rows.Row → writer.Roller →
// sink.Writer. Every file's key is intended (journal) before it opens, and
// the fence is passed before it is published. On a failure nothing of the
// part stays visible: the file in flight is aborted (and the abort
// awaited), files already published are deleted. On a cancel of the task
// (PartEnv.Canceled) the files already published stay and are in the
// result with the error; when another process took the task over, this
// one touches nothing more (the new owner sweeps what the journal names).
func RunPart(ctx context.Context, env PartEnv, spec PartSpec) (res PartResult, err error) {
	p := &partRun{env: env, spec: spec, keys: map[int]string{}}
	rsv, err := env.Budget.reserve(ctx, spec.Writer.RowGroupBytes)
	if err != nil {
		return res, err
	}
	defer rsv.release()
	rows, err := env.Snapshot.Scan(ctx, source.ScanRequest{
		Table: spec.Table, Columns: spec.Columns, TablePartition: spec.Part.TablePartition, Range: spec.Part.Range,
		Blocks: spec.Part.Blocks, MaxValueBytes: spec.Writer.MaxValueBytes,
	})
	if err != nil {
		return res, p.describe(err)
	}
	defer rows.Close()
	roller := p.roller(ctx)
	defer func() {
		if err != nil {
			res = p.interrupted(ctx, roller, err)
			err = p.describe(err)
		}
	}()
	if err := p.copyRows(ctx, rows, roller, rsv); err != nil {
		return res, err
	}
	files, err := roller.Close()
	if err != nil {
		return res, err
	}
	res = p.published(files)
	if rw, ok := rows.(source.RowsWarnings); ok {
		res.Warnings = append(res.Warnings, rw.Warnings()...)
	}
	res.Warnings = append(res.Warnings, p.warnings...)
	return res, nil
}

// partRun is one RunPart call's state.
type partRun struct {
	env  PartEnv
	spec PartSpec
	keys map[int]string // file keys by the roller's file number

	mu       sync.Mutex
	warnings []source.Warning // what a sink could not clean up
}

// roller opens the part's files: batch folder Batch (or Batch, Batch+1, …
// when the part rolls batches, RDS's layout for a table read by one
// worker), each key intended before its file opens.
func (p *partRun) roller(ctx context.Context) *writer.Roller {
	spec := p.spec
	return writer.NewRoller(func(seq int) (io.WriteCloser, error) {
		batch := spec.Part.Batch
		if spec.Part.RollBatches {
			batch += seq
		}
		key := specLayout(spec).PartKey(spec.Dir, batch, spec.Part.Index)
		if err := p.env.Fence.Intend(ctx, key); err != nil {
			return nil, err
		}
		fctx, abort := context.WithCancel(ctx)
		w, err := p.env.Sink.NewWriter(fctx, key, &sink.WriterOptions{ContentType: parquetContentType})
		if err != nil {
			abort()
			return nil, err
		}
		p.keys[seq] = key
		return &countingWriter{w: w, part: p, ctx: ctx, abort: abort}, nil
	}, writerColumns(spec.Columns), writer.RollerOptions{Options: writerOptions(spec), TargetFileBytes: spec.Writer.TargetFileBytes})
}

// options are the writer's options for the part's files.
func writerOptions(spec PartSpec) writer.Options {
	s := spec.Writer
	return writer.Options{
		Codec:         s.Codec,
		Level:         s.Level,
		RowGroupBytes: s.RowGroupBytes,
		PageBytes:     pageBytes(s.RowGroupBytes, len(spec.Columns)),
		Metadata: map[string]string{"snapexport.table": spec.Table.Target(), "snapexport.export_task": spec.TaskID,
			"snapexport.type_profile": s.TypeProfile},
	}
}

// specLayout is the key layout of the part's task.
func specLayout(spec PartSpec) layout.Layout {
	return layout.Layout{Prefix: spec.Prefix, ID: spec.TaskID, Codec: spec.Writer.Codec}
}

// writerColumns are the file's columns for the scanned ones.
func writerColumns(cols []source.ScanColumn) []writer.Column {
	out := make([]writer.Column, len(cols))
	for i, c := range cols {
		name := c.ColumnType
		if name == "" {
			name = c.DataType
		}
		out[i] = writer.Column{Name: c.Name, Target: c.Target, SourceType: name}
	}
	return out
}

// copyRows writes every row of the scan, growing the reservation for huge
// rows and reporting progress.
func (p *partRun) copyRows(ctx context.Context, rows source.Rows, roller *writer.Roller, rsv *reservation) error {
	row := make([]parquet.Value, 0, len(p.spec.Columns))
	var pending int64
	var err error
	for rows.Next() {
		if row, err = rows.Row(row[:0]); err != nil {
			return err
		}
		size := int64(rowBytes(row))
		if size >= hugeRowBytes {
			if err := rsv.grow(ctx, size); err != nil {
				return err
			}
		}
		if err := roller.WriteRow(row); err != nil {
			return err
		}
		if size >= hugeRowBytes {
			rsv.wrote(size)
		}
		if pending++; pending == progressEvery {
			p.onRows(pending)
			pending = 0
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p.onRows(pending)
	return nil
}

func (p *partRun) onRows(n int64) {
	if p.env.OnRows != nil && n > 0 {
		p.env.OnRows(n)
	}
}

func (p *partRun) onBytes(n int64) {
	if p.env.OnBytes != nil && n != 0 {
		p.env.OnBytes(n)
	}
}

// published is what the part's finished files hold.
func (p *partRun) published(files []writer.FileInfo) PartResult {
	var res PartResult
	for _, f := range files {
		res.Files = append(res.Files, p.keys[f.Seq])
		res.Rows += f.Rows
		res.Bytes += f.Bytes
	}
	return res
}

// interrupted cleans up after a part that did not finish and returns what
// of it stays (see RunPart).
func (p *partRun) interrupted(ctx context.Context, roller *writer.Roller, err error) PartResult {
	_ = roller.Abort() // aborts the file in flight and waits for it (countingWriter.Abort)
	res := p.published(roller.Files())
	switch {
	case errors.Is(err, lease.ErrLost) || errors.Is(context.Cause(ctx), lease.ErrLost):
		res = PartResult{} // the new owner removes what the journal names
	case p.canceled(ctx):
	default:
		p.delete(res.Files)
		res = PartResult{}
	}
	res.Warnings = append(res.Warnings, p.warnings...)
	return res
}

func (p *partRun) canceled(ctx context.Context) bool {
	if p.env.Canceled != nil {
		return p.env.Canceled()
	}
	return ctx.Err() != nil
}

// delete removes a failed part's published files; what it cannot remove
// is named in the warnings.
func (p *partRun) delete(keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	for _, k := range keys {
		if err := p.env.Sink.Delete(ctx, k); err != nil && !errors.Is(err, sink.ErrNotExist) {
			p.warn(source.Warning{Target: k, Reason: ReasonCleanupFailed,
				Detail: "a file of a failed part could not be deleted: " + err.Error()})
		}
	}
}

// ReasonCleanupFailed is the warning reason of an object the task could
// not remove: a failed part's file, an aborted or abandoned write.
const ReasonCleanupFailed = "CLEANUP_FAILED"

func (p *partRun) warn(e source.Warning) {
	p.mu.Lock()
	p.warnings = append(p.warnings, e)
	p.mu.Unlock()
}

// leftover names in the warnings what a sink could not remove of an
// aborted write.
func (p *partRun) leftover(err error) {
	var le *sink.LeftoverError
	if errors.As(err, &le) {
		p.warn(source.Warning{Target: le.Abandoned.Key, Reason: ReasonCleanupFailed,
			Detail: fmt.Sprintf("an aborted write could not be removed (ID %s): %v; remove it by hand", le.Abandoned.ID, le.Err)})
	}
}

// pageBytes sizes pages so that a writer's open pages, one per column, fit
// in a quarter of its row group: a 300-column table with the default 256 KiB
// pages would hold 75 MiB however small the budget.
func pageBytes(rowGroupBytes int64, columns int) int {
	return int(max(8<<10, min(writer.DefaultPageBytes, rowGroupBytes/int64(4*max(columns, 1)))))
}

// countingWriter reports the bytes written to a data file (and takes them
// back when the file is aborted), fences the publish, and awaits the abort
// of a file given up.
type countingWriter struct {
	w     sink.Writer
	part  *partRun
	ctx   context.Context // the part's
	abort context.CancelFunc
	n     int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.part.onBytes(int64(n))
	return n, err
}

// Close publishes the file if the task is still this run's.
func (c *countingWriter) Close() error {
	if err := c.part.env.Fence.Fence(c.ctx); err != nil {
		_ = c.Abort()
		return err
	}
	err := c.w.Close()
	c.abort()
	if err != nil {
		c.uncount()
		c.part.leftover(err)
	}
	return err
}

// Abort implements writer.Aborter: it cancels the file's context and waits
// in Close for the sink to discard it, so no abort is still running when
// the task reaches its final status.
func (c *countingWriter) Abort() error {
	c.abort()
	c.part.leftover(c.w.Close())
	c.uncount()
	return nil
}

func (c *countingWriter) uncount() {
	c.part.onBytes(-c.n)
	c.n = 0
}
