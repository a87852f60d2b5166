package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/snapexport/snapexport/internal/fault"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/source"
)

// The FailureCause catalogue: every sentence a FAILED task's record can
// carry (RDS's own where RDS has one, reference §8.1), and the fault it
// stands for. Nothing else in the engine words a FailureCause.

// Failure carries the FailureCause sentence and the fault of a failed task
// alongside the error that caused it.
type Failure struct {
	Fault error
	Cause string
	Err   error
}

func (f *Failure) Error() string { return f.Cause }
func (f *Failure) Unwrap() error { return f.Err }

func failure(fault error, err error, format string, args ...any) *Failure {
	return &Failure{Fault: fault, Err: err, Cause: fmt.Sprintf(format, args...)}
}

// Unknown is the failure of an error the catalogue has no sentence for.
func Unknown(err error) *Failure {
	return failure(fault.ExportFailed, err, "An unknown internal error occurred. (%v)", err)
}

// AsFailure is err's Failure, or Unknown(err).
func AsFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return Unknown(err)
}

// MetadataFailure is the failure of a task whose final metadata could not
// be written to bucket.
func MetadataFailure(bucket string, err error) *Failure {
	return failure(fault.ExportFailed, err, "An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", bucket, err)
}

// Destination names the task's destination in failure causes: its
// location (an s3:// URL or bucket name), IAM role and KMS key.
type Destination struct {
	Location, Role, KMSKey string
}

// DestinationFailure turns a failed start-of-task check or metadata write
// into RDS's FailureCause text and the matching fault, from the sink's
// error sentinels.
func DestinationFailure(d Destination, err error) *Failure {
	bucket := strings.TrimPrefix(d.Location, "s3://")
	var op *sink.OpError
	if !errors.As(err, &op) {
		return failure(fault.InvalidS3Bucket, err, "An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", bucket, err)
	}
	if op.Location != "" {
		bucket = op.Location
	}
	switch {
	case errors.Is(err, sink.ErrRoleNotAssumable):
		return failure(fault.IAMRoleNotAuthorized, err, "The RDS export failed to write the export task's metadata because it can't assume the IAM role %s. (%v)", d.Role, err)
	case errors.Is(err, sink.ErrKMSKeyUnusable):
		return failure(fault.KMSKeyNotAccessible, err, "KMS key check failed. Check the credentials on your KMS key and try again. The key %s can't be used with the S3 bucket %s (error code %s).", d.KMSKey, bucket, op.Code)
	case errors.Is(err, sink.ErrWrongRegion):
		return failure(fault.InvalidS3Bucket, err, "The S3 bucket %s isn't located in the current AWS Region. Review your S3 bucket name and retry the export. (%v)", bucket, err)
	case errors.Is(err, sink.ErrNoSuchBucket):
		return failure(fault.InvalidS3Bucket, err, "The S3 bucket %s isn't valid. Either it isn't located in the current AWS Region or it doesn't exist. Review your S3 bucket name and retry the export.", bucket)
	case errors.Is(err, sink.ErrAccessDenied) && d.Role != "":
		return failure(fault.IAMRoleNotAuthorized, err, "The IAM role %s isn't authorized to call %s on the S3 bucket %s. Review your permissions and retry the export.", d.Role, op.Op, bucket)
	case errors.Is(err, sink.ErrAccessDenied):
		return failure(fault.InvalidS3Bucket, err, "S3 credential check failed. Check the permissions on your S3 bucket and IAM policy. (%s on the S3 bucket %s: %s)", op.Op, bucket, op.Code)
	}
	return failure(fault.InvalidS3Bucket, err, "An unknown internal error occurred writing the export task's metadata to the S3 bucket %s. (%v)", bucket, err)
}

func snapshotFailure(err error) *Failure {
	return failure(fault.InvalidExportSource, err, "Failed to take a consistent snapshot of the source: %v", err)
}

func listFailure(err error) *Failure {
	return failure(fault.InvalidExportSource, err, "Failed to list the tables to export: %v", err)
}

func planFailure(target string, err error) *Failure {
	return failure(fault.InvalidExportSource, err, "Failed to plan the parallel read of %s: %v", target, err)
}

func mappingFailure(c source.Column, target string, err error) *Failure {
	return failure(fault.InvalidParameterValue, err, "Column %s of table %s has type %s, which cannot be mapped to Parquet: %v", c.Name, target, c.DataType, err)
}

func conversionFailure(target string, err error) *Failure {
	return failure(fault.InvalidParameterValue, err, "A column of %s cannot be exported as the type mapping asks: %v. Change or remove the type override.", target, err)
}

func tableFailure(target string, err error) *Failure {
	return failure(fault.ExportFailed, err, "Failed to export table %s: %v", target, err)
}

// tablesFailure is the failure of a task several of whose tables failed.
func tablesFailure(errs []error, causes []string) *Failure {
	return failure(fault.ExportFailed, errors.Join(errs...),
		"%d tables failed; the other tables were exported, and a resume (CLI --resume) exports only what failed. %s", len(errs), strings.Join(causes, " "))
}

// describe makes a part's error a failure naming the table and the part,
// or the limit a value broke.
func (p *partRun) describe(err error) error {
	var f *Failure
	if errors.As(err, &f) || errors.Is(err, context.Canceled) {
		return err
	}
	t, part := p.spec.Table, p.spec.Part
	var big *source.ValueTooLargeError
	if errors.As(err, &big) {
		return failure(fault.ExportFailed, err,
			"The export failed because a value in column %s of %s is %d bytes, at or above the limit of %d bytes for a single value (TaskOptions.MaxValueBytes; RDS fails on large objects of about 500 MB).",
			big.Column, t.Target(), big.Size, big.Limit)
	}
	where := "table " + t.Target()
	if part.TablePartition != "" {
		where += " partition " + part.TablePartition
	}
	if part.Range != nil {
		where += " key range " + describeRange(part.Range)
	}
	if part.Blocks != nil {
		where += " pages " + describeBlocks(part.Blocks)
	}
	return failure(fault.ExportFailed, err, "Failed to export %s (batch %d, partition %d): %v", where, part.Batch, part.Index, err)
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
