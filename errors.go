package snapexport

import (
	"errors"
)

// Sentinel errors, named after the RDS faults they stand for. Match them with
// errors.Is; the driver error underneath (a *pgconn.PgError, a
// *mysql.MySQLError, a smithy.APIError) stays reachable with errors.As.
var (
	// ErrExportTaskAlreadyExists: the identifier is in use in this exporter
	// or its destination already holds a record for it.
	ErrExportTaskAlreadyExists = errors.New("ExportTaskAlreadyExists")
	// ErrExportTaskNotFound: no task has the identifier.
	ErrExportTaskNotFound = errors.New("ExportTaskNotFound")
	// ErrInvalidExportTaskState: the task is in a status that does not allow
	// the operation (cancelling a finished task).
	ErrInvalidExportTaskState = errors.New("InvalidExportTaskStateFault")
	// ErrInvalidExportOnly: an ExportOnly entry is malformed.
	ErrInvalidExportOnly = errors.New("InvalidExportOnly")
	// ErrInvalidS3Bucket: the destination does not exist or cannot be
	// reached.
	ErrInvalidS3Bucket = errors.New("InvalidS3BucketFault")
	// ErrKMSKeyNotAccessible: the KMS key cannot be used.
	ErrKMSKeyNotAccessible = errors.New("KMSKeyNotAccessibleFault")
	// ErrIAMRoleNotAuthorized: the role cannot be assumed or lacks a
	// permission on the bucket.
	ErrIAMRoleNotAuthorized = errors.New("IamRoleMissingPermissions")
	// ErrInvalidExportSourceState: the source is already being exported by
	// a running task, or cannot take part in an export.
	ErrInvalidExportSourceState = errors.New("InvalidExportSourceState")
	// ErrSourceNotFound: the source cannot be opened (a missing file, an
	// unreachable server, a database that does not exist).
	ErrSourceNotFound = errors.New("DBSnapshotNotFound")
	// ErrTooManyExportTasks: Config.MaxConcurrentTasks tasks are running.
	ErrTooManyExportTasks = errors.New("ExportTaskLimitReached")
	// ErrInvalidParameterValue: an input field is malformed.
	ErrInvalidParameterValue = errors.New("InvalidParameterValue")
	// ErrExportFailed: the task ended FAILED; its FailureCause says why.
	ErrExportFailed = errors.New("ExportTaskFailed")
	// ErrClosed: the exporter was closed.
	ErrClosed = errors.New("ExporterClosed")
)

// Error is the error type of the package: a sentence a person can act on,
// the RDS fault it stands for, and the underlying cause.
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

func newError(fault error, err error, format string, args ...any) *Error {
	return &Error{Fault: fault, Message: sprintf(format, args...), Err: err}
}
