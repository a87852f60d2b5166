// Package scheduler is the seam between an export task and whatever runs
// its parts. A task plans its tables into parts, each described by a
// [PartSpec] that is serialisable and holds no secret, and hands them to
// a [Scheduler]: the in-process [Pool] (the default), or a queue whose
// workers on other machines run them (package scheduler/riversched). The
// task's lifecycle, records, progress, events, describe and cancel are
// the same with either.
package scheduler

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/writer"
)

// PartSpec is one part of a task: everything a process needs to export it,
// given a snapshot of the source and the sink. It is serialisable (JSON)
// and holds no secret: it is the unit of work a queue carries.
type PartSpec struct {
	// TaskID and Prefix are the task's identifier and S3Prefix; with
	// Writer.Codec they make the keys of the part's files.
	TaskID string
	Prefix string
	// Generation is the lease generation of the run that planned the part
	// (the fencing token its files are written under).
	Generation int
	Table      source.Table
	// Columns are the columns read, with their Parquet targets.
	Columns []source.ScanColumn
	// Dir is the table's folder: every key of the part's files starts
	// with it.
	Dir    string
	Part   plan.Part
	Writer WriterSettings
	// Snapshot is the identity of the snapshot the part must be read from
	// (source.SnapshotInfo.ID).
	Snapshot map[string]string
}

// WriterSettings are the Parquet settings of a part's files.
type WriterSettings struct {
	Codec           writer.Codec
	Level           int
	RowGroupBytes   int64
	TargetFileBytes int64
	MaxValueBytes   int64
	// TypeProfile is the type profile's name, recorded in every file.
	TypeProfile string
}

// PartResult is what a part wrote. With an error it holds the files a
// part cancelled with its task had published, which stay.
type PartResult struct {
	Rows, Bytes int64
	// Files are the keys of the published data files, in order.
	Files []string
	// Warnings are the part's own (string conversions, what a sink could
	// not clean up).
	Warnings []source.Warning
}

// RunFunc runs one part in this process.
type RunFunc func(context.Context, PartSpec) (PartResult, error)

// Scheduler runs a task's parts. Run returns when every part has ended or
// ctx is done. report is called once for each part that ran, from any
// goroutine; skip reports whether a part need not start any more (its
// table failed already); runLocal runs a part in this process, and a
// scheduler whose workers are elsewhere has them run it instead.
type Scheduler interface {
	Run(ctx context.Context, parts []PartSpec, runLocal RunFunc, skip func(PartSpec) bool, report func(PartSpec, PartResult, error)) error
}

// Pool is the in-process scheduler: Concurrency parts at a time, each on
// its own source connection, in the order given.
type Pool struct {
	Concurrency int
}

// Run implements Scheduler.
func (p Pool) Run(ctx context.Context, parts []PartSpec, runLocal RunFunc, skip func(PartSpec) bool, report func(PartSpec, PartResult, error)) error {
	var g errgroup.Group
	g.SetLimit(max(p.Concurrency, 1))
	for _, spec := range parts {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if skip(spec) {
				return nil
			}
			res, err := runLocal(ctx, spec)
			report(spec, res, err)
			return nil
		})
	}
	return g.Wait()
}
