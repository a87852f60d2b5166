package engine

import (
	"context"
	"time"

	"github.com/snapexport/snapexport/internal/exportonly"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/scheduler"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// Job is one task's data path: what to read, where to write, and how.
type Job struct {
	Source source.Source
	Sink   sink.Sink
	Filter *exportonly.Filter
	Layout layout.Layout
	// Lease is the run's ownership of the task: every publish and every
	// tables info write is fenced by it, and its journal names every key.
	Lease   *lease.Lease
	Options Options
	// Resume is what the run this task continues finished; nil for a
	// fresh task.
	Resume *Resume
	// Redact hides the task's secrets in what the engine writes to the
	// destination (a failed table's message).
	Redact func(string) string
	// Scheduler runs the parts; nil is the in-process pool.
	Scheduler Scheduler
}

// Options are the task's resolved options that the data path uses.
type Options struct {
	Concurrency      int
	MemoryLimit      int64
	RowGroupBytes    int64
	TargetFileBytes  int64
	TargetPartBytes  int64
	MaxValueBytes    int64
	Compression      writer.Codec
	CompressionLevel int
	TypeMapper       typemap.Mapper
	// Strict fails the task on an unused type override; FailFast on the
	// first failed table.
	Strict, FailFast bool
}

// Resume is what the run a resumed task continues left: its parts by
// layout.TableKey, and its snapshot.
type Resume struct {
	Parts            map[string][]manifest.Part
	SnapshotTime     *time.Time
	SnapshotIdentity map[string]string
}

// Reporter is how the engine tells the task lifecycle what happens. Its
// methods are called from the engine's goroutines and must not block.
type Reporter interface {
	// Started is called once the snapshot is taken and every table is
	// planned: the task moves to IN_PROGRESS with these figures and writes
	// its record. An error stops the export (a cancel accepted meanwhile,
	// a record that could not be written).
	Started(ctx context.Context, s Started) error
	// Progress reports changed totals (rows, bytes, tables).
	Progress(p Progress)
	// TableCompleted reports a table whose every part is done.
	TableCompleted(target string)
}

// Started is the state of a task when its export begins.
type Started struct {
	SnapshotTime     time.Time
	SnapshotIdentity map[string]string
	Tables           []TableProgress
	Rows, Bytes      int64
	Warnings         string // the WarningMessage document so far
	// Kept counts the parts kept from the run a resumed task continues;
	// SourceUnchanged that its snapshot holds the same data as this one's.
	Kept            int
	SourceUnchanged bool
}

// Progress is the task's totals after a change.
type Progress struct {
	Table       string // the table that moved
	Rows, Bytes int64
	// Percent is the estimated share of rows exported, at most 99; -1
	// when the source gave no estimate.
	Percent int
	// Tables is every table's progress, nil when only rows moved;
	// TableDone that Table has just completed.
	Tables    []TableProgress
	TableDone bool
}

// State is a table's state, with the task statuses' words.
type State string

const (
	StateInProgress State = "IN_PROGRESS"
	StateComplete   State = "COMPLETE"
	StateFailed     State = "FAILED"
	StateCanceled   State = "CANCELED"
)

// TableProgress is one table's progress.
type TableProgress struct {
	Target             string
	State              State
	Rows, Bytes        int64
	Files, Parts, Done int
}

// Summary is the final state of a run's tables, what its record says.
type Summary struct {
	Tables          []TableProgress
	TablesCompleted int
	Rows, Bytes     int64
	Warnings        string
}

// The unit of work and the scheduling seam are public (package scheduler),
// so that schedulers outside this module can carry parts.
type (
	PartSpec       = scheduler.PartSpec
	WriterSettings = scheduler.WriterSettings
	PartResult     = scheduler.PartResult
	Scheduler      = scheduler.Scheduler
)

// Fence is the ownership check a part passes before it publishes a file
// (*lease.Lease is one).
type Fence interface {
	// Fence fails, wrapping lease.ErrLost, when another process owns the
	// task now.
	Fence(ctx context.Context) error
	// Intend records key before the file is opened (write-ahead), so a
	// later owner can remove it if this run never records it.
	Intend(ctx context.Context, key string) error
	// Generation is the generation the part's files are written under.
	Generation() int
}

// PartEnv is what RunPart needs besides the part's description.
type PartEnv struct {
	// Snapshot is a snapshot of the source at the part's Snapshot.
	Snapshot source.Snapshot
	Sink     sink.Sink
	Fence    Fence
	// Budget is the process's memory budget, shared by its parts.
	Budget *Budget
	// Canceled reports whether an interrupted part was cancelled with its
	// task (its published files stay, as RDS keeps what a cancelled export
	// wrote) rather than stopped for a failure (they are deleted). nil
	// means ctx's error alone decides.
	Canceled func() bool
	// OnRows and OnBytes report progress (bytes are negative when a file
	// is aborted); either may be nil.
	OnRows  func(n int64)
	OnBytes func(n int64)
}
