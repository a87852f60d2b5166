package snapexport

import "github.com/snapexport/snapexport/internal/fault"

// Sentinel errors, named after the RDS faults they stand for. Match them with
// errors.Is; the driver error underneath (a *pgconn.PgError, a
// *mysql.MySQLError, a smithy.APIError) stays reachable with errors.As.
var (
	// ErrExportTaskAlreadyExists: the identifier is in use in this exporter
	// or its destination already holds a record for it.
	ErrExportTaskAlreadyExists = fault.ExportTaskAlreadyExists
	// ErrExportTaskNotFound: no task has the identifier.
	ErrExportTaskNotFound = fault.ExportTaskNotFound
	// ErrInvalidExportTaskState: the task is in a status that does not allow
	// the operation (cancelling a finished task).
	ErrInvalidExportTaskState = fault.InvalidExportTaskState
	// ErrInvalidExportOnly: an ExportOnly entry is malformed.
	ErrInvalidExportOnly = fault.InvalidExportOnly
	// ErrInvalidS3Bucket: the destination does not exist or cannot be
	// reached.
	ErrInvalidS3Bucket = fault.InvalidS3Bucket
	// ErrKMSKeyNotAccessible: the KMS key cannot be used.
	ErrKMSKeyNotAccessible = fault.KMSKeyNotAccessible
	// ErrIAMRoleNotAuthorized: the role cannot be assumed or lacks a
	// permission on the bucket.
	ErrIAMRoleNotAuthorized = fault.IAMRoleNotAuthorized
	// ErrInvalidExportSourceState: the source is already being exported by
	// a running task, or cannot take part in an export.
	ErrInvalidExportSourceState = fault.InvalidExportSource
	// ErrSourceNotFound: the source cannot be opened (a missing file, an
	// unreachable server, a database that does not exist).
	ErrSourceNotFound = fault.SourceNotFound
	// ErrTooManyExportTasks: Config.MaxConcurrentTasks tasks are running.
	ErrTooManyExportTasks = fault.TooManyExportTasks
	// ErrInvalidParameterValue: an input field is malformed.
	ErrInvalidParameterValue = fault.InvalidParameterValue
	// ErrExportFailed: the task ended FAILED; its FailureCause says why.
	ErrExportFailed = fault.ExportFailed
	// ErrClosed: the exporter was closed.
	ErrClosed = fault.Closed
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

func (e *Error) Error() string { return (*fault.Error)(e).Error() }

// Unwrap makes both the fault and the cause reachable with errors.Is and
// errors.As.
func (e *Error) Unwrap() []error { return (*fault.Error)(e).Unwrap() }

func newError(f error, err error, format string, args ...any) *Error {
	return (*Error)(fault.New(f, err, format, args...))
}

// publicError gives an error of an internal package the public type.
func publicError(err error) error {
	if e, ok := err.(*fault.Error); ok {
		return (*Error)(e)
	}
	return err
}
