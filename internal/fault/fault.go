// Package fault holds the RDS faults every error of the exporter is matched
// against, and the one error type that carries them. The root package
// re-exports both (snapexport.ErrInvalidS3Bucket is fault.InvalidS3Bucket):
// the internal packages that refuse a request or fail a task return them
// without importing the public API.
package fault

import (
	"errors"
	"fmt"
)

// Sentinel errors, named after the RDS faults they stand for; the root
// package documents each.
var (
	ExportTaskAlreadyExists = errors.New("ExportTaskAlreadyExists")
	ExportTaskNotFound      = errors.New("ExportTaskNotFound")
	InvalidExportTaskState  = errors.New("InvalidExportTaskStateFault")
	InvalidExportOnly       = errors.New("InvalidExportOnly")
	InvalidS3Bucket         = errors.New("InvalidS3BucketFault")
	KMSKeyNotAccessible     = errors.New("KMSKeyNotAccessibleFault")
	IAMRoleNotAuthorized    = errors.New("IamRoleMissingPermissions")
	InvalidExportSource     = errors.New("InvalidExportSourceState")
	SourceNotFound          = errors.New("DBSnapshotNotFound")
	TooManyExportTasks      = errors.New("ExportTaskLimitReached")
	InvalidParameterValue   = errors.New("InvalidParameterValue")
	ExportFailed            = errors.New("ExportTaskFailed")
	Closed                  = errors.New("ExporterClosed")
)

// Error is a sentence a person can act on, the RDS fault it stands for, and
// the underlying cause.
type Error struct {
	// Fault is one of the sentinel errors above.
	Fault error
	// Message is the detail, starting lowercase, without the "snapexport:"
	// prefix.
	Message string
	// Err is the underlying error, if any.
	Err error
}

func (e *Error) Error() string {
	msg := "snapexport: " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap makes both the fault and the cause reachable with errors.Is and
// errors.As.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Fault != nil {
		out = append(out, e.Fault)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// New is an *Error of fault wrapping err, its message formatted.
func New(fault error, err error, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Fault: fault, Message: msg, Err: err}
}
