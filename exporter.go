package snapexport

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/snapexport/snapexport/internal/engine"
	"github.com/snapexport/snapexport/internal/exportonly"
	"github.com/snapexport/snapexport/internal/layout"
	"github.com/snapexport/snapexport/internal/lease"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/internal/records"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// Sink is where a task writes; see package sink for the contract and drivers.
type Sink = sink.Sink

// Source is what a task reads; see package source for the contract and drivers.
type Source = source.Source

// Exporter runs export tasks in this process, and describes and cancels
// those of other processes that share its destination.
type Exporter struct {
	cfg     Config
	dest    *destination // nil: no records of other processes
	ownDest bool

	mu     sync.Mutex
	tasks  map[string]*Task
	order  []*Task // in start order
	closed bool
	wg     sync.WaitGroup
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

// New returns an Exporter.
func New(cfg Config) (*Exporter, error) {
	if cfg.MaxConcurrentTasks < 0 {
		return nil, newError(ErrInvalidParameterValue, nil, "MaxConcurrentTasks %d is negative (0 means the default of 5)", cfg.MaxConcurrentTasks)
	}
	if cfg.MaxConcurrentTasks == 0 {
		cfg.MaxConcurrentTasks = 5
	}
	if err := layout.ValidatePrefix(cfg.DestinationPrefix); err != nil {
		return nil, publicError(err)
	}
	e := &Exporter{cfg: cfg, tasks: map[string]*Task{}}
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

// StartExportTask validates the input, opens the source and the sink,
// claims the task in the destination and starts it in the background; it
// returns the task in STARTING. Cancelling ctx later cancels the task the
// same way CancelExportTask does.
func (e *Exporter) StartExportTask(ctx context.Context, in StartExportTaskInput) (*Task, error) {
	red := newRedactor(in.SourceArn, in.S3BucketName)
	t, err := e.startExportTask(ctx, in, red)
	if err != nil {
		return nil, red.Error(publicError(err))
	}
	return t, nil
}

func (e *Exporter) startExportTask(ctx context.Context, in StartExportTaskInput, red *redactor) (*Task, error) {
	entries, opts, err := checkInput(in)
	if err != nil {
		return nil, err
	}
	// Cheap refusals first, before any connection is opened.
	e.mu.Lock()
	err = e.admitLocked(in.ExportTaskIdentifier, "", in.Resume)
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	d, err := openDrivers(ctx, in)
	if err != nil {
		return nil, err
	}
	r, err := prepareRun(ctx, in, entries, opts, d)
	if err != nil {
		d.close()
		return nil, err
	}
	// The task's context follows the caller's: cancelling ctx cancels the
	// task, as the contract says.
	taskCtx, cancel := context.WithCancelCause(ctx)
	if err := e.register(r, cancel, red); err != nil {
		cancel(nil)
		d.close()
		return nil, err
	}
	// Claim the task in the destination before anything else is written
	// (taskRun.claim: the conditional create of the record, the lease).
	if err := r.claim(ctx, in.Resume); err != nil {
		e.unregister(r.task)
		cancel(nil)
		d.close()
		return nil, err
	}
	r.task.events.emit(Event{Type: EventStarted, Task: r.task.Info()})
	go func() {
		defer e.wg.Done()
		r.run(taskCtx)
	}()
	return r.task, nil
}

// checkInput refuses a malformed request before anything is opened.
func checkInput(in StartExportTaskInput) ([]exportonly.Entry, TaskOptions, error) {
	if err := layout.ValidateIdentifier(in.ExportTaskIdentifier); err != nil {
		return nil, TaskOptions{}, err
	}
	if err := layout.ValidatePrefix(in.S3Prefix); err != nil {
		return nil, TaskOptions{}, err
	}
	entries, err := exportonly.Parse(in.ExportOnly)
	if err != nil {
		return nil, TaskOptions{}, err
	}
	if err := validateOptions(in.Options); err != nil {
		return nil, TaskOptions{}, err
	}
	return entries, in.Options.resolve(), nil
}

// drivers are a task's source and sink, and whether the task opened (and
// so closes) them.
type drivers struct {
	src                source.Source
	snk                sink.Sink
	ownSource, ownSink bool
}

func openDrivers(ctx context.Context, in StartExportTaskInput) (*drivers, error) {
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
	return &drivers{src: src, snk: snk, ownSource: ownSource, ownSink: ownSink}, nil
}

func (d *drivers) close() {
	if d.ownSink {
		d.snk.Close()
	}
	if d.ownSource {
		d.src.Close()
	}
}

// prepareRun reads what the task needs from the destination (the run a
// resume continues, or that no record has the identifier yet) and builds
// its record and run, not yet registered or claimed.
func prepareRun(ctx context.Context, in StartExportTaskInput, entries []exportonly.Entry, opts TaskOptions, d *drivers) (*taskRun, error) {
	filter, err := exportonly.NewFilter(d.src.Engine(), entries)
	if err != nil {
		return nil, err
	}
	l := layout.Layout{Prefix: in.S3Prefix, ID: in.ExportTaskIdentifier, Codec: opts.Compression}
	var prev ExportTask
	var resumeParts map[string][]manifest.Part
	store := records.Store{Sink: d.snk, Layout: l}
	if in.Resume {
		prev, resumeParts, err = prepareResume(ctx, store, in, d.src.Identity())
	} else {
		err = checkNoRecord(ctx, store)
	}
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	rec := ExportTask{
		ExportTaskIdentifier: in.ExportTaskIdentifier, SourceArn: d.src.Identity(), ExportOnly: slices.Clone(in.ExportOnly),
		TaskStartTime: &now, S3Bucket: d.snk.Location(), S3Prefix: in.S3Prefix, IamRoleArn: in.IamRoleArn, KmsKeyId: in.KmsKeyId,
		Status: StatusStarting, SourceType: SourceTypeSnapshot, Engine: d.src.Engine(),
	}
	job := engine.Job{Source: d.src, Sink: d.snk, Filter: filter, Layout: l, Options: opts.engineOptions(), Scheduler: opts.Scheduler}
	if in.Resume {
		rec.ResumedFrom = &ResumedFrom{TaskStartTime: prev.TaskStartTime, Status: prev.Status, FailureCause: prev.FailureCause,
			SnapshotTime: prev.SnapshotTime, SnapshotIdentity: prev.SnapshotIdentity}
		job.Resume = &engine.Resume{Parts: resumeParts, SnapshotTime: prev.SnapshotTime, SnapshotIdentity: prev.SnapshotIdentity}
	}
	return &taskRun{task: newTask(rec, nil), sink: d.snk, opts: opts, layout: l, store: store, job: job, closeDrivers: d.close,
		lease: lease.New(d.snk, l, opts.HeartbeatInterval)}, nil
}

// register admits the run's task among this exporter's and gives it its
// cancel function, redactor and events.
func (e *Exporter) register(r *taskRun, cancel context.CancelCauseFunc, red *redactor) error {
	t := r.task
	e.mu.Lock()
	defer e.mu.Unlock()
	if t.rec.ResumedFrom != nil {
		// The finished run of this identifier, if this exporter ran it,
		// gives way to the one that continues it.
		if old, ok := e.tasks[t.ID()]; ok && old.Info().Status.Final() {
			e.removeLocked(old)
		}
	}
	if err := e.admitLocked(t.ID(), t.rec.SourceArn, false); err != nil {
		return err
	}
	t.cancel, t.redact = cancel, red
	t.events = newEmitter(r.opts.OnEvent, r.opts.Events, red)
	r.job.Lease, r.job.Redact = r.lease, red.String
	r.engine = engine.New(r.job, r)
	e.tasks[t.ID()] = t
	e.order = append(e.order, t)
	e.wg.Add(1)
	return nil
}

// unregister forgets a task that could not be claimed.
func (e *Exporter) unregister(t *Task) {
	e.mu.Lock()
	e.removeLocked(t)
	e.mu.Unlock()
	e.wg.Done()
}

func (e *Exporter) removeLocked(t *Task) {
	delete(e.tasks, t.ID())
	e.order = slices.DeleteFunc(e.order, func(x *Task) bool { return x == t })
}

// admitLocked applies the refusals that depend on other tasks. identity is ""
// before the source is open. resume lets a finished task of the identifier
// be, since a resume replaces it.
func (e *Exporter) admitLocked(id, identity string, resume bool) error {
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

func (e *Exporter) lookup(id string) (*Task, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.tasks[id]
	if !ok {
		return nil, newError(ErrExportTaskNotFound, nil, "no export task with the ID %q", id)
	}
	return t, nil
}

// CancelExportTask asks a running task to stop and returns its record in
// CANCELING; the task ends CANCELED. What was already written stays. A
// task another process runs is asked through the destination.
func (e *Exporter) CancelExportTask(ctx context.Context, id string) (ExportTask, error) {
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
		return ExportTask{}, err
	}
	rec.Status = StatusCanceling
	return rec, nil
}

// Close cancels running tasks and waits for them to end.
func (e *Exporter) Close() error {
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
