package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/scheduler/riversched"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// consistencyModes are the values of --consistency.
var consistencyModes = []string{riversched.ConsistencySnapshot, riversched.ConsistencyNone}

// coordinator is what start-export-task --queue holds besides the task:
// the queue, the source it opened (so that the scheduler has its
// fingerprint) and the sink the scheduler sweeps.
type coordinator struct {
	pool  *pgxpool.Pool
	src   source.Source
	sink  sink.Sink
	sched *riversched.Scheduler
}

func (c *coordinator) close() {
	if c.sink != nil {
		c.sink.Close()
	}
	if c.src != nil {
		c.src.Close()
	}
	if c.pool != nil {
		c.pool.Close()
	}
}

// newCoordinator prepares a distributed export: it opens the queue (and
// checks River's schema), the source (in.Source, so the task reads the
// source it fingerprinted) and a sink on the destination for the
// scheduler's sweeps. A source that cannot join a snapshot is refused
// unless consistency is none.
func newCoordinator(ctx context.Context, queueURL, consistency, queueName string, in *snapexport.StartExportTaskInput, stderr io.Writer) (*coordinator, int) {
	c := &coordinator{}
	fail := func(code int, format string, args ...any) (*coordinator, int) {
		fmt.Fprintf(stderr, "snapexport: "+format+"\n", args...)
		c.close()
		return nil, code
	}
	cfg, err := pgxpool.ParseConfig(queueURL)
	if err != nil {
		return fail(exitUsage, "--queue %q: %v", source.Redact(queueURL), err)
	}
	if c.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return fail(exitFailed, "--queue %q: %v", source.Redact(queueURL), source.RedactError(err, cfg.ConnConfig.Password))
	}
	if err := riversched.CheckSchema(ctx, c.pool); err != nil {
		return fail(exitFailed, "%v", source.RedactError(err, cfg.ConnConfig.Password))
	}
	if c.src, err = source.OpenURL(ctx, in.SourceArn); err != nil {
		return fail(exitFailed, "cannot open source %q: %v", source.Redact(in.SourceArn), err)
	}
	if _, joins := c.src.(source.Joiner); !joins && consistency != riversched.ConsistencyNone {
		return fail(exitUsage, "a %s source cannot share its snapshot with workers (it has no snapshot import): give --consistency none to let each part read its own point in time, or export without --queue", c.src.Engine())
	}
	fp := ""
	if f, ok := c.src.(source.Fingerprinter); ok {
		if fp, err = f.Fingerprint(ctx); err != nil {
			return fail(exitFailed, "%v", err)
		}
	}
	if c.sink, err = sink.OpenURL(ctx, taskSinkURL(*in)); err != nil {
		return fail(exitFailed, "cannot open destination %q: %v", source.Redact(in.S3BucketName), err)
	}
	c.sched, err = riversched.NewScheduler(ctx, riversched.SchedulerConfig{Queue: c.pool, Sink: c.sink,
		Destination: destinationName(in.S3BucketName), Fingerprint: fp, Consistency: consistency, QueueName: queueName})
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	in.Source = c.src
	if consistency == riversched.ConsistencyNone {
		fmt.Fprintf(stderr, "snapexport: --consistency none: each part reads its own point in time; tables read by several parts are not one snapshot\n")
	}
	return c, exitOK
}

// taskSinkURL is the destination as the task opens it, with its role and
// KMS key (the root's withS3TaskSettings), so the scheduler's deletes run
// with the task's permissions.
func taskSinkURL(in snapexport.StartExportTaskInput) string {
	dest := in.S3BucketName
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
	for k, v := range map[string]string{"kms_key_id": in.KmsKeyId, "role_arn": in.IamRoleArn} {
		if v != "" && q.Get(k) == "" {
			q.Set(k, v)
		}
	}
	if in.IamRoleArn != "" && q.Get("role_session_name") == "" {
		q.Set("role_session_name", "snapexport-"+in.ExportTaskIdentifier)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// destinationName names the destination in the queue: the bucket (or
// directory) without parameters or credentials.
func destinationName(dest string) string {
	if !strings.Contains(dest, "://") {
		return "s3://" + dest
	}
	u, err := url.Parse(dest)
	if err != nil {
		return source.Redact(dest)
	}
	return u.Scheme + "://" + u.Host + u.Path
}
