package snapexport

import (
	"runtime"
	"strconv"
	"time"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/exportonly"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/records"
	"github.com/snapexport/snapexport/scheduler"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// MaxExportTaskIdentifierLength is the longest identifier accepted. RDS does
// not document its limit; 60 is what tools written against it assume, and
// it keeps every key and metadata file name well within S3's limits.
const MaxExportTaskIdentifierLength = layout.MaxIdentifierLength

// MaxExportOnlyBytes is RDS's limit on the whole ExportOnly list.
const MaxExportOnlyBytes = exportonly.MaxBytes

// DefaultHeartbeatInterval is how often a running task rewrites its record
// in the destination when TaskOptions.HeartbeatInterval is zero.
const DefaultHeartbeatInterval = records.DefaultHeartbeatInterval

// staleAfter is how many heartbeat intervals may pass without a write
// before a reader reports a running task's process as gone.
const staleAfter = lease.StaleAfter

// FixedMemoryOverhead is the process memory outside a task's budget: the Go
// runtime and the program, database drivers' read buffers, and the sink's
// upload buffers (s3sink: part size × upload concurrency per file being
// written). Budget plus this is what a process running one task needs;
// rows of 4 MiB or more add a term that grows with the largest of them,
// since a Parquet page holds a whole value (see TaskOptions.MemoryLimit).
const FixedMemoryOverhead = 128 << 20

// DefaultMemoryLimit is the memory budget of a task when
// TaskOptions.MemoryLimit is 0.
const DefaultMemoryLimit = 128 << 20

// DefaultMaxValueBytes is the size of a single value at which a task fails,
// as RDS fails an export on a large object of about 500 MB.
const DefaultMaxValueBytes = 500 << 20

// TaskOptions tune how a task exports. The zero value of every field is a
// documented default, resolved in one place (resolve).
type TaskOptions struct {
	// Concurrency is how many parts are exported at once, each on its
	// own source connection; 0 means the number of CPUs.
	Concurrency int
	// Compression is the Parquet codec; the zero value is GZIP, as RDS.
	Compression writer.Codec
	// CompressionLevel is the codec's level; 0 means the codec's default
	// (GZIP 1..9, default writer.DefaultGzipLevel; ZSTD 1..22,
	// default 3). Snappy and none have no levels.
	CompressionLevel int
	// MemoryLimit is the task's memory budget in bytes, shared by all
	// workers; 0 means DefaultMemoryLimit. Row groups are sized from it
	// (RowGroupBytes 0 means MemoryLimit / (3 × Concurrency), at most 32
	// MiB), and every worker reserves twice its row-group size (the
	// buffered values and their encoded pages) before it reads; a worker
	// whose reservation does not fit waits. A row of 4 MiB or more is in
	// memory up to six times while it is written (the driver's value, and
	// SQLite's copy or pgx's read buffer rounded up to a power of two;
	// parquet-go's column buffer, encoded page and page with levels: a
	// Parquet page holds a whole value), so from such a row on its worker
	// reserves six times the row on top of its reservation, at most the
	// whole budget, until its part ends, and other workers wait before
	// their next part. A worker that reads a huge row while another holds
	// the budget waits with that row read: two copies of it. With L the
	// largest row of 4 MiB or more, peak RSS stays under
	//
	//	MemoryLimit + FixedMemoryOverhead + max(0, 6L − MemoryLimit) + 2L × (Concurrency − 1)
	//
	// (bench/MEMORY.md has the measurements).
	MemoryLimit int64
	// RowGroupBytes bounds a row group's uncompressed size, and with it
	// each worker's memory; 0 derives it from MemoryLimit.
	RowGroupBytes int64
	// TargetFileBytes is the size at which a part's file is closed and
	// the next one started; 0 means 1 GiB.
	TargetFileBytes int64
	// TargetPartBytes is the estimated source size of one part when a
	// large table is split into key or page ranges read in parallel; 0
	// means 512 MiB. A table that is split gets at least one part per
	// worker.
	TargetPartBytes int64
	// MaxValueBytes fails the task on a single value of at least this size;
	// 0 means DefaultMaxValueBytes.
	MaxValueBytes int64
	// TypeMapper chooses each column's Parquet type; nil means the profile
	// TypeProfile names, with TypeOptions. A mapper given here wins over
	// both (build one on a profile with typemap.Profile and
	// typemap.WithOverrides).
	TypeMapper typemap.Mapper
	// TypeProfile names the type profile: "rds" (the zero value: the
	// reference's tables, exactly) or "typed" (DECIMAL, DATE, TIMESTAMP,
	// TIME, UUID, JSON, ENUM and LIST; see the typemap package). The
	// profile is recorded in export_tables_info and every file.
	TypeProfile string
	// TypeOptions tune the profile: the policy for unbounded numerics and
	// the unit of every timestamp (milliseconds for old Athena and Glue).
	TypeOptions typemap.ProfileOptions
	// Strict turns what would be warnings about the request into a FAILED
	// task: a type override (typemap.WithOverrides) that matches no column
	// of the exported tables. False records them in WarningMessage.
	Strict bool
	// HeartbeatInterval is how often the running task rewrites its record
	// in the destination and looks for a cancel request from another
	// process; 0 means DefaultHeartbeatInterval. A record not rewritten
	// for three intervals is reported FAILED by readers.
	HeartbeatInterval time.Duration
	// FailFast fails the whole task at the first table that fails. By
	// default a table that fails fails alone: the other tables are
	// exported, the task ends FAILED with a cause naming every failed
	// table, and a resume exports only what failed.
	FailFast bool
	// OnEvent, if set, is called with every event of the task (started,
	// status changes, each table done, and the final completed, failed or
	// canceled event with its RDS event identifier), in order, from the
	// task's goroutines; the task waits for it to return, so it should be
	// quick.
	OnEvent func(Event)
	// Scheduler runs the task's parts; nil runs them in this process,
	// Concurrency at a time. A distributed scheduler (package
	// scheduler/riversched) runs them on workers on other machines.
	Scheduler scheduler.Scheduler
	// Consistency is how the parts' reads relate: ConsistencySnapshot (the
	// zero value: every part reads the task's one snapshot) or
	// ConsistencyNone, which a distributed scheduler on a source whose
	// snapshot other machines cannot join (MySQL, MariaDB) needs: each part
	// then reads a snapshot of its own, the tables are not from one point
	// in time, and the record says so (ExportTask.Consistency and a
	// NO_SHARED_SNAPSHOT warning).
	Consistency string
	// Events, if set, receives the same events without ever blocking the
	// task or StartExportTask: an event that finds the channel full is
	// dropped (the final event's Message says how many were), the final
	// event is always delivered, and the channel is closed after it. Give
	// each task its own channel, buffered (64 holds every event of most
	// tasks), and read it until it is closed.
	Events chan<- Event
}

// Values of TaskOptions.Consistency and ExportTask.Consistency.
const (
	ConsistencySnapshot = "snapshot"
	ConsistencyNone     = "none"
)

// ReasonNoSharedSnapshot is the general warning of a task whose parts
// read snapshots of their own (TaskOptions.Consistency none).
const ReasonNoSharedSnapshot = engine.ReasonNoSharedSnapshot

func (o *TaskOptions) resolve() TaskOptions {
	var r TaskOptions
	if o != nil {
		r = *o
	}
	if r.Concurrency <= 0 {
		r.Concurrency = runtime.NumCPU()
	}
	if r.MemoryLimit <= 0 {
		r.MemoryLimit = DefaultMemoryLimit
	}
	if r.RowGroupBytes <= 0 {
		r.RowGroupBytes = max(1<<20, min(32<<20, r.MemoryLimit/int64(3*r.Concurrency)))
	}
	if r.TargetFileBytes <= 0 {
		r.TargetFileBytes = 1 << 30
	}
	if r.MaxValueBytes <= 0 {
		r.MaxValueBytes = DefaultMaxValueBytes
	}
	if r.TypeMapper == nil {
		// StartExportTask refuses a profile Profile rejects, before this.
		if m, err := typemap.Profile(r.TypeProfile, r.TypeOptions); err == nil {
			r.TypeMapper = m
		} else {
			r.TypeMapper = typemap.RDS()
		}
	}
	if r.HeartbeatInterval <= 0 {
		r.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if r.Consistency == "" {
		r.Consistency = ConsistencySnapshot
	}
	return r
}

// validateOptions refuses option values that have no meaning. Zero is every
// field's documented default; a negative value is a mistake, and taking the
// default for it would hide the mistake.
func validateOptions(o *TaskOptions) error {
	if o == nil {
		return nil
	}
	if o.Consistency != "" && o.Consistency != ConsistencySnapshot && o.Consistency != ConsistencyNone {
		return newError(ErrInvalidParameterValue, nil, "TaskOptions.Consistency %q is not %q or %q", o.Consistency, ConsistencySnapshot, ConsistencyNone)
	}
	if o.Consistency == ConsistencyNone && o.Scheduler == nil {
		return newError(ErrInvalidParameterValue, nil, "TaskOptions.Consistency %q is for a Scheduler whose workers cannot join the task's snapshot; the in-process pool always reads one snapshot", ConsistencyNone)
	}
	if o.TypeMapper == nil {
		if _, err := typemap.Profile(o.TypeProfile, o.TypeOptions); err != nil {
			return newError(ErrInvalidParameterValue, err, "invalid type profile %q: %v", o.TypeProfile, err)
		}
	}
	if err := o.Compression.CheckLevel(o.CompressionLevel); err != nil {
		return newError(ErrInvalidParameterValue, err, "compression level %d is not valid for %s", o.CompressionLevel, o.Compression)
	}
	for _, f := range []struct {
		name string
		v    int64
		zero string
	}{
		{"Concurrency", int64(o.Concurrency), "one worker per CPU"},
		{"MemoryLimit", o.MemoryLimit, "DefaultMemoryLimit, 128 MiB"},
		{"RowGroupBytes", o.RowGroupBytes, "derived from MemoryLimit"},
		{"TargetFileBytes", o.TargetFileBytes, "1 GiB"},
		{"TargetPartBytes", o.TargetPartBytes, "512 MiB"},
		{"MaxValueBytes", o.MaxValueBytes, "DefaultMaxValueBytes, 500 MiB"},
		{"HeartbeatInterval", int64(o.HeartbeatInterval), "DefaultHeartbeatInterval, 5s"},
	} {
		if f.v < 0 {
			v := strconv.FormatInt(f.v, 10)
			if f.name == "HeartbeatInterval" {
				v = o.HeartbeatInterval.String()
			}
			return newError(ErrInvalidParameterValue, nil, "TaskOptions.%s %s is negative: give a positive value, or 0 for the default (%s)", f.name, v, f.zero)
		}
	}
	return nil
}

// engineOptions are the options the data path uses.
func (o TaskOptions) engineOptions() engine.Options {
	return engine.Options{
		Concurrency: o.Concurrency, MemoryLimit: o.MemoryLimit, RowGroupBytes: o.RowGroupBytes,
		TargetFileBytes: o.TargetFileBytes, TargetPartBytes: o.TargetPartBytes, MaxValueBytes: o.MaxValueBytes,
		Compression: o.Compression, CompressionLevel: o.CompressionLevel, TypeMapper: o.TypeMapper,
		Strict: o.Strict, FailFast: o.FailFast, NoSharedSnapshot: o.Consistency == ConsistencyNone,
	}
}
