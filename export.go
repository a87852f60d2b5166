package snapexport

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// Sink is where a task writes; see package sink for the contract and drivers.
type Sink = sink.Sink

// Source is what a task reads; see package source for the contract and drivers.
type Source = source.Source

// Exporter runs export tasks. [New] returns the in-process implementation;
// other implementations (a remote client, a distributed runner) satisfy the
// same interface.
type Exporter interface {
	// StartExportTask validates the input, opens the source and the sink,
	// and starts the task in the background; it returns the task in
	// STARTING. Cancelling ctx later cancels the task the same way
	// CancelExportTask does.
	StartExportTask(ctx context.Context, in StartExportTaskInput) (Task, error)
	// DescribeExportTasks lists tasks, newest first, filtered and paginated
	// as RDS does.
	DescribeExportTasks(ctx context.Context, in DescribeExportTasksInput) (*DescribeExportTasksOutput, error)
	// CancelExportTask asks a running task to stop and returns its record
	// in CANCELING; the task ends CANCELED. What was already written stays.
	CancelExportTask(ctx context.Context, exportTaskIdentifier string) (ExportTask, error)
	// Close cancels running tasks and waits for them to end.
	Close() error
}

// Config configures an Exporter. The zero value is valid.
type Config struct {
	// MaxConcurrentTasks bounds the tasks running at once; 0 means 5, the
	// RDS quota.
	MaxConcurrentTasks int
	// Destination is where task records of other processes are found: a
	// sink URL as in StartExportTaskInput.S3BucketName. When set (or
	// DestinationSink is), DescribeExportTasks lists the tasks recorded
	// there merged with this exporter's, and CancelExportTask cancels a
	// task that another process runs by writing a cancel request beside its
	// record.
	Destination string
	// DestinationSink is an already-open destination; it wins over
	// Destination. The exporter does not close it.
	DestinationSink sink.Sink
	// DestinationPrefix is the S3Prefix the tasks were started with.
	DestinationPrefix string
}

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
	// Concurrency is how many partitions are exported at once, each on its
	// own source connection; 0 means the number of CPUs.
	Concurrency int
	// Compression is the Parquet codec; the zero value is GZIP, as RDS.
	Compression writer.Codec
	// CompressionLevel is the codec's level; 0 means the codec's default
	// (GZIP 1..9, default 1, see writer.DefaultGzipLevel; ZSTD 1..22,
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
	// (measured, 64 MiB budget, 2 workers: SQLite 20 MB values beside a
	// 300-column table 178 MiB, under budget + FixedMemoryOverhead = 192;
	// PostgreSQL 20 MB values 125 MiB; SQLite 50 MB values 330 MiB in one
	// table and 430 MiB in two read at once, bound 528 MiB).
	MemoryLimit int64
	// RowGroupBytes bounds a row group's uncompressed size, and with it
	// each worker's memory; 0 derives it from MemoryLimit.
	RowGroupBytes int64
	// TargetFileBytes is the size at which a partition's file is closed and
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
	// Events, if set, receives the same events without ever blocking the
	// task or StartExportTask: an event that finds the channel full is
	// dropped (the final event's Message says how many were), the final
	// event is always delivered, and the channel is closed after it. Give
	// each task its own channel, buffered (64 holds every event of most
	// tasks), and read it until it is closed.
	Events chan<- Event
}

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
	return r
}

// StartExportTaskInput is the request of StartExportTask, with RDS's field
// names.
type StartExportTaskInput struct {
	// ExportTaskIdentifier is required: it starts with an ASCII letter,
	// holds only ASCII letters, digits and hyphens, does not end with a
	// hyphen or contain two in a row, and is at most
	// MaxExportTaskIdentifierLength long.
	ExportTaskIdentifier string
	// SourceArn is the database URL (postgres://, mysql://, sqlite://...),
	// opened through the source registry. Ignored when Source is set.
	SourceArn string
	// Source is an already-open source; it wins over SourceArn. The task
	// does not close it.
	Source source.Source
	// S3BucketName is a bucket name (AWS S3) or a sink URL (s3://b?…,
	// file:///dir, mem://x). Ignored when Sink is set.
	S3BucketName string
	// Sink is an already-open sink; it wins over S3BucketName. The task
	// does not close it.
	Sink sink.Sink
	// S3Prefix is prepended to every key; it must not contain ":".
	S3Prefix string
	// IamRoleArn and KmsKeyId are recorded in the task, and honoured by
	// sinks that support them (s3sink: AssumeRole and SSE-KMS).
	IamRoleArn string
	KmsKeyId   string
	// ExportOnly narrows the export: "database", "database.table"
	// (MySQL, MariaDB, SQLite), "database.schema" or
	// "database.schema.table" (PostgreSQL, and SQLite with schema "main").
	ExportOnly []string
	// Options tune the export; nil means defaults.
	Options *TaskOptions
	// Resume continues the task with this identifier whose last record in
	// the destination is FAILED or CANCELED (or stale: its process died):
	// parts recorded complete are kept, the rest are exported again, and
	// the result is what one clean run produces. The source and ExportOnly
	// must be the ones the task started with.
	Resume bool
}

// DescribeExportTasksInput selects tasks, as RDS's DescribeExportTasks.
type DescribeExportTasksInput struct {
	ExportTaskIdentifier string
	SourceArn            string
	// Filters by name: export-task-identifier, s3-bucket, source-arn,
	// status (lowercase values: canceled, canceling, complete, failed,
	// in_progress, starting). A task matches when it matches every filter,
	// and a filter when the task's field equals one of its values.
	Filters []Filter
	// SourceType is SNAPSHOT or CLUSTER ("" for any).
	SourceType string
	// MaxRecords is 20 to 100; 0 means 100.
	MaxRecords int
	// Marker continues a previous listing.
	Marker string
}

// Filter is one describe filter.
type Filter struct {
	Name   string
	Values []string
}

// DescribeExportTasksOutput is a page of tasks.
type DescribeExportTasksOutput struct {
	ExportTasks []ExportTask `json:"ExportTasks"`
	// Marker is set when more tasks remain; pass it back to continue.
	Marker string `json:"Marker,omitempty"`
	// Warnings name records in the destination that were skipped because
	// they could not be read or are not export task records.
	Warnings []string `json:"Warnings,omitempty"`
}

// New returns an in-process Exporter.
func New(cfg Config) (Exporter, error) {
	if cfg.MaxConcurrentTasks < 0 {
		return nil, newError(ErrInvalidParameterValue, nil, "MaxConcurrentTasks %d is negative (0 means the default of 5)", cfg.MaxConcurrentTasks)
	}
	if cfg.MaxConcurrentTasks == 0 {
		cfg.MaxConcurrentTasks = 5
	}
	if err := validatePrefix(cfg.DestinationPrefix); err != nil {
		return nil, err
	}
	e := &exporter{cfg: cfg, tasks: map[string]*task{}}
	switch {
	case cfg.DestinationSink != nil:
		e.dest = &destination{sink: cfg.DestinationSink, prefix: cfg.DestinationPrefix}
	case cfg.Destination != "":
		s, err := sink.OpenURL(context.Background(), cfg.Destination)
		if err != nil {
			return nil, newRedactor(cfg.Destination).Error(newError(ErrInvalidS3Bucket, err, "cannot open destination %q", source.Redact(cfg.Destination)))
		}
		e.dest = &destination{sink: s, prefix: cfg.DestinationPrefix}
		e.ownDest = true
	}
	return e, nil
}

type exporter struct {
	cfg     Config
	dest    *destination // nil: no records of other processes
	ownDest bool

	mu     sync.Mutex
	tasks  map[string]*task
	order  []*task // in start order
	closed bool
	wg     sync.WaitGroup
}

func (e *exporter) StartExportTask(ctx context.Context, in StartExportTaskInput) (Task, error) {
	red := newRedactor(in.SourceArn, in.S3BucketName)
	t, err := e.startExportTask(ctx, in, red)
	return t, red.Error(err)
}

func (e *exporter) startExportTask(ctx context.Context, in StartExportTaskInput, red *redactor) (Task, error) {
	if err := validateIdentifier(in.ExportTaskIdentifier); err != nil {
		return nil, err
	}
	if err := validatePrefix(in.S3Prefix); err != nil {
		return nil, err
	}
	entries, err := parseExportOnly(in.ExportOnly)
	if err != nil {
		return nil, err
	}
	if err := validateOptions(in.Options); err != nil {
		return nil, err
	}
	if in.Options != nil && in.Options.TypeMapper == nil {
		if _, err := typemap.Profile(in.Options.TypeProfile, in.Options.TypeOptions); err != nil {
			return nil, newError(ErrInvalidParameterValue, err, "invalid type profile %q: %v", in.Options.TypeProfile, err)
		}
	}
	opts := in.Options.resolve()
	if err := opts.Compression.CheckLevel(opts.CompressionLevel); err != nil {
		return nil, newError(ErrInvalidParameterValue, err, "compression level %d is not valid for %s", opts.CompressionLevel, opts.Compression)
	}

	// Cheap refusals first, before any connection is opened.
	e.mu.Lock()
	err = e.admitLocked(in.ExportTaskIdentifier, "", in.Resume)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}

	src, ownSource, err := openSource(ctx, in)
	if err != nil {
		return nil, err
	}
	snk, ownSink, err := openSink(ctx, in)
	if err != nil {
		if ownSource {
			src.Close()
		}
		return nil, err
	}
	closeAll := func() {
		if ownSink {
			snk.Close()
		}
		if ownSource {
			src.Close()
		}
	}
	filter, err := newExportOnlyFilter(src.Engine(), entries)
	if err != nil {
		closeAll()
		return nil, err
	}
	l := layout{prefix: in.S3Prefix, id: in.ExportTaskIdentifier, codec: opts.Compression}
	var prev ExportTask
	var resumeParts map[string][]manifest.Part
	if in.Resume {
		prev, resumeParts, err = prepareResume(ctx, snk, l, in, src.Identity())
	} else {
		err = checkNoRecord(ctx, snk, l)
	}
	if err != nil {
		closeAll()
		return nil, err
	}

	now := time.Now().UTC()
	rec := ExportTask{
		ExportTaskIdentifier: in.ExportTaskIdentifier,
		SourceArn:            src.Identity(),
		ExportOnly:           slices.Clone(in.ExportOnly),
		TaskStartTime:        &now,
		S3Bucket:             snk.Location(),
		S3Prefix:             in.S3Prefix,
		IamRoleArn:           in.IamRoleArn,
		KmsKeyId:             in.KmsKeyId,
		Status:               StatusStarting,
		SourceType:           SourceTypeSnapshot,
		Engine:               src.Engine(),
	}
	if in.Resume {
		rec.ResumedFrom = &ResumedFrom{TaskStartTime: prev.TaskStartTime, Status: prev.Status, FailureCause: prev.FailureCause,
			SnapshotTime: prev.SnapshotTime, SnapshotIdentity: prev.SnapshotIdentity}
	}

	e.mu.Lock()
	if in.Resume {
		// The finished run of this identifier, if this exporter ran it,
		// gives way to the one that continues it.
		if old, ok := e.tasks[in.ExportTaskIdentifier]; ok && old.Info().Status.Final() {
			delete(e.tasks, in.ExportTaskIdentifier)
			e.order = slices.DeleteFunc(e.order, func(t *task) bool { return t == old })
		}
	}
	if err := e.admitLocked(in.ExportTaskIdentifier, rec.SourceArn, false); err != nil {
		e.mu.Unlock()
		closeAll()
		return nil, err
	}
	// The task's context follows the caller's: cancelling ctx cancels the
	// task, as the contract says.
	taskCtx, cancel := context.WithCancelCause(ctx)
	t := newTask(rec, cancel)
	t.redact = red
	if opts.OnEvent != nil || opts.Events != nil {
		t.events = &emitter{fn: opts.OnEvent, ch: opts.Events, redact: red}
	}
	e.tasks[t.ID()] = t
	e.order = append(e.order, t)
	e.wg.Add(1)
	e.mu.Unlock()

	r := &run{
		task: t, src: src, sink: snk, filter: filter, opts: opts, layout: l,
		closeDrivers: closeAll, resume: resumeParts,
	}
	// Claim the task in the destination before anything else is written
	// (run.claim: the conditional create of the record, the lease).
	if err := r.claim(ctx, in.Resume); err != nil {
		e.mu.Lock()
		delete(e.tasks, t.ID())
		e.order = slices.DeleteFunc(e.order, func(x *task) bool { return x == t })
		e.mu.Unlock()
		e.wg.Done()
		cancel(nil)
		closeAll()
		return nil, err
	}
	t.events.emit(Event{Type: EventStarted, Task: t.Info()})
	go func() {
		defer e.wg.Done()
		r.run(taskCtx)
	}()
	return t, nil
}

// admitLocked applies the refusals that depend on other tasks. identity is ""
// before the source is open. resume lets a finished task of the identifier
// be, since a resume replaces it.
func (e *exporter) admitLocked(id, identity string, resume bool) error {
	if e.closed {
		return newError(ErrClosed, nil, "the exporter is closed")
	}
	if t, dup := e.tasks[id]; dup && !(resume && t.Info().Status.Final()) {
		return newError(ErrExportTaskAlreadyExists, nil, "the export task with the ID %s already exists", id)
	}
	running := 0
	for _, t := range e.order {
		info := t.Info()
		if info.Status.Final() {
			continue
		}
		running++
		if identity != "" && info.SourceArn == identity {
			return newError(ErrInvalidExportSourceState, nil,
				"source %q is already being exported by task %s; one task per source runs at a time", identity, info.ExportTaskIdentifier)
		}
	}
	if running >= e.cfg.MaxConcurrentTasks {
		return newError(ErrTooManyExportTasks, nil,
			"%d export tasks are already running, the limit (Config.MaxConcurrentTasks); wait for one to finish or cancel one", running)
	}
	return nil
}

func openSource(ctx context.Context, in StartExportTaskInput) (source.Source, bool, error) {
	if in.Source != nil {
		return in.Source, false, nil
	}
	if in.SourceArn == "" {
		return nil, false, newError(ErrInvalidParameterValue, nil, "SourceArn is empty: give a database URL such as sqlite:///path/db.sqlite or postgres://user@host/db, or an open Source")
	}
	src, err := source.OpenURL(ctx, in.SourceArn)
	if err != nil {
		return nil, false, newError(ErrSourceNotFound, err, "cannot open source %q", source.Redact(in.SourceArn))
	}
	return src, true, nil
}

func openSink(ctx context.Context, in StartExportTaskInput) (sink.Sink, bool, error) {
	if in.Sink != nil {
		return in.Sink, false, nil
	}
	if in.S3BucketName == "" {
		return nil, false, newError(ErrInvalidParameterValue, nil, "S3BucketName is empty: give a bucket name, or a URL such as s3://bucket, file:///abs/dir or mem://name, or an open Sink")
	}
	s, err := sink.OpenURL(ctx, withS3TaskSettings(in.S3BucketName, in))
	if err != nil {
		return nil, false, newError(ErrInvalidS3Bucket, err, "cannot open destination %q", source.Redact(in.S3BucketName))
	}
	return s, true, nil
}

// withS3TaskSettings passes the task's IamRoleArn and KmsKeyId to an S3
// destination given by name or URL, as the s3:// parameters role_arn,
// role_session_name and kms_key_id (parameters already in the URL win). An
// already-open Sink is configured by whoever opened it.
func withS3TaskSettings(dest string, in StartExportTaskInput) string {
	if in.IamRoleArn == "" && in.KmsKeyId == "" {
		return dest
	}
	if !strings.Contains(dest, "://") {
		dest = "s3://" + dest
	}
	u, err := url.Parse(dest)
	if err != nil || u.Scheme != "s3" {
		return dest
	}
	q := u.Query()
	set := func(k, v string) {
		if v != "" && q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	set("kms_key_id", in.KmsKeyId)
	set("role_arn", in.IamRoleArn)
	if in.IamRoleArn != "" {
		set("role_session_name", "snapexport-"+in.ExportTaskIdentifier)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (e *exporter) lookup(id string) (*task, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[id]
	if !ok {
		return nil, newError(ErrExportTaskNotFound, nil, "no export task with the ID %q", id)
	}
	return t, nil
}

func (e *exporter) CancelExportTask(ctx context.Context, id string) (ExportTask, error) {
	t, err := e.lookup(id)
	if err == nil {
		return t.requestCancel()
	}
	if e.dest == nil {
		return ExportTask{}, err
	}
	// Another process runs it: ask through the destination.
	rec, err := e.dest.readRecord(ctx, id)
	if err != nil {
		return ExportTask{}, err
	}
	if rec.Status.Final() {
		return ExportTask{}, newError(ErrInvalidExportTaskState, nil,
			"can't cancel export task %s: it is %s already; only STARTING and IN_PROGRESS tasks can be cancelled", id, rec.Status)
	}
	if err := e.dest.requestCancel(ctx, id); err != nil {
		var se *Error
		if errors.As(err, &se) {
			return ExportTask{}, err // refused: the task is completing
		}
		return ExportTask{}, newError(ErrInvalidS3Bucket, err, "cannot write the cancel request of export task %s to %s", id, e.dest.sink.Location())
	}
	rec.Status = StatusCanceling
	return rec, nil
}

func (e *exporter) Close() error {
	e.mu.Lock()
	e.closed = true
	tasks := slices.Clone(e.order)
	e.mu.Unlock()
	for _, t := range tasks {
		t.Cancel()
	}
	e.wg.Wait()
	if e.ownDest {
		return e.dest.sink.Close()
	}
	return nil
}

var filterNames = []string{"export-task-identifier", "s3-bucket", "source-arn", "status"}

func (e *exporter) DescribeExportTasks(ctx context.Context, in DescribeExportTasksInput) (*DescribeExportTasksOutput, error) {
	max := in.MaxRecords
	if max == 0 {
		max = 100
	}
	if max < 20 || max > 100 {
		return nil, newError(ErrInvalidParameterValue, nil, "MaxRecords %d is out of range: give a value from 20 to 100", in.MaxRecords)
	}
	for _, f := range in.Filters {
		if !slices.Contains(filterNames, f.Name) {
			return nil, newError(ErrInvalidParameterValue, nil, "unknown filter name %q: supported names are %s", f.Name, strings.Join(filterNames, ", "))
		}
		if f.Name == "status" {
			for _, v := range f.Values {
				if v != strings.ToLower(v) {
					return nil, newError(ErrInvalidParameterValue, nil, "status filter value %q must be lowercase (canceled, canceling, complete, failed, in_progress, starting)", v)
				}
			}
		}
	}
	if in.SourceType != "" && in.SourceType != SourceTypeSnapshot && in.SourceType != SourceTypeCluster {
		return nil, newError(ErrInvalidParameterValue, nil, "SourceType %q is not SNAPSHOT or CLUSTER", in.SourceType)
	}
	e.mu.Lock()
	all := make([]ExportTask, 0, len(e.order))
	local := map[string]bool{}
	for _, t := range e.order {
		all = append(all, t.Info())
		local[t.ID()] = true
	}
	e.mu.Unlock()
	var warnings []string
	if e.dest != nil {
		recs, w, err := e.dest.listRecords(ctx)
		if err != nil {
			return nil, err
		}
		warnings = w
		for _, r := range recs {
			if !local[r.ExportTaskIdentifier] { // this process knows its own tasks best
				all = append(all, r)
			}
		}
	}
	// Newest first, like RDS; the identifier breaks ties so pages are stable.
	slices.SortStableFunc(all, func(a, b ExportTask) int {
		if c := b.TaskStartTime.Compare(*a.TaskStartTime); c != 0 {
			return c
		}
		return strings.Compare(a.ExportTaskIdentifier, b.ExportTaskIdentifier)
	})
	var matched []ExportTask
	for _, t := range all {
		if matchTask(t, in) {
			matched = append(matched, t)
		}
	}
	if in.ExportTaskIdentifier != "" && len(matched) == 0 {
		// RDS answers a describe of one identifier it does not know with
		// the fault, not an empty list.
		return nil, newError(ErrExportTaskNotFound, nil, "the export task with the ID %s doesn't exist", in.ExportTaskIdentifier)
	}
	start := 0
	if in.Marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(in.Marker)
		if err != nil {
			return nil, newError(ErrInvalidParameterValue, nil, "marker %q was not returned by DescribeExportTasks", in.Marker)
		}
		start = slices.IndexFunc(matched, func(t ExportTask) bool { return t.ExportTaskIdentifier == string(raw) })
		if start < 0 {
			return nil, newError(ErrInvalidParameterValue, nil, "marker %q no longer matches a task; describe again without it", in.Marker)
		}
	}
	end := min(start+max, len(matched))
	out := &DescribeExportTasksOutput{ExportTasks: matched[start:end], Warnings: warnings}
	if out.ExportTasks == nil {
		out.ExportTasks = []ExportTask{}
	}
	if end < len(matched) {
		out.Marker = base64.RawURLEncoding.EncodeToString([]byte(matched[end].ExportTaskIdentifier))
	}
	return out, nil
}

func matchTask(t ExportTask, in DescribeExportTasksInput) bool {
	if in.ExportTaskIdentifier != "" && t.ExportTaskIdentifier != in.ExportTaskIdentifier {
		return false
	}
	if in.SourceArn != "" && t.SourceArn != in.SourceArn {
		return false
	}
	if in.SourceType != "" && t.SourceType != in.SourceType {
		return false
	}
	for _, f := range in.Filters {
		var field string
		switch f.Name {
		case "export-task-identifier":
			field = t.ExportTaskIdentifier
		case "s3-bucket":
			field = t.S3Bucket
			if slices.Contains(f.Values, strings.TrimPrefix(field, "s3://")) {
				continue // a bare bucket name matches its s3:// location
			}
		case "source-arn":
			field = t.SourceArn
		case "status":
			field = strings.ToLower(string(t.Status))
		}
		if !slices.Contains(f.Values, field) {
			return false
		}
	}
	return true
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
