package drivers

import (
	"context"
	"net/url"
	"strings"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// Request is what a task's input says of its drivers.
type Request struct {
	TaskID               string
	SourceArn            string
	Source               source.Source
	S3BucketName         string
	Sink                 sink.Sink
	IamRoleArn, KmsKeyId string
}

// Drivers are a task's source and sink, and whether the task opened (and
// so closes) them.
type Drivers struct {
	Source             source.Source
	Sink               sink.Sink
	ownSource, ownSink bool
}

// Open opens the request's source, then its sink.
func Open(ctx context.Context, r Request) (*Drivers, error) {
	src, ownSource, err := openSource(ctx, r)
	if err != nil {
		return nil, err
	}
	snk, ownSink, err := openSink(ctx, r)
	if err != nil {
		if ownSource {
			src.Close()
		}
		return nil, err
	}
	return &Drivers{Source: src, Sink: snk, ownSource: ownSource, ownSink: ownSink}, nil
}

// Close closes what Open opened.
func (d *Drivers) Close() {
	if d.ownSink {
		d.Sink.Close()
	}
	if d.ownSource {
		d.Source.Close()
	}
}

func openSource(ctx context.Context, r Request) (source.Source, bool, error) {
	if r.Source != nil {
		return r.Source, false, nil
	}
	if r.SourceArn == "" {
		return nil, false, fault.New(fault.InvalidParameterValue, nil, "SourceArn is empty: give a database URL such as sqlite:///path/db.sqlite or postgres://user@host/db, or an open Source")
	}
	src, err := source.OpenURL(ctx, r.SourceArn)
	if err != nil {
		return nil, false, fault.New(fault.SourceNotFound, err, "cannot open source %q", source.Redact(r.SourceArn))
	}
	return src, true, nil
}

func openSink(ctx context.Context, r Request) (sink.Sink, bool, error) {
	if r.Sink != nil {
		return r.Sink, false, nil
	}
	if r.S3BucketName == "" {
		return nil, false, fault.New(fault.InvalidParameterValue, nil, "S3BucketName is empty: give a bucket name, or a URL such as s3://bucket, file:///abs/dir or mem://name, or an open Sink")
	}
	s, err := sink.OpenURL(ctx, withS3TaskSettings(r.S3BucketName, r))
	if err != nil {
		return nil, false, fault.New(fault.InvalidS3Bucket, err, "cannot open destination %q", source.Redact(r.S3BucketName))
	}
	return s, true, nil
}

// withS3TaskSettings passes the task's IamRoleArn and KmsKeyId to an S3
// destination given by name or URL, as the s3:// parameters role_arn,
// role_session_name and kms_key_id (parameters already in the URL win). An
// already-open Sink is configured by whoever opened it.
func withS3TaskSettings(dest string, r Request) string {
	if r.IamRoleArn == "" && r.KmsKeyId == "" {
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
	set("kms_key_id", r.KmsKeyId)
	set("role_arn", r.IamRoleArn)
	if r.IamRoleArn != "" {
		set("role_session_name", "snapexport-"+r.TaskID)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
