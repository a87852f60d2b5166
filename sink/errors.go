package sink

import "errors"

// Store failures. Every driver wraps its errors so that errors.Is finds the
// sentinel that says what is wrong with the destination as a whole, and
// errors.As finds an *OpError that names where and what the store answered.
// The exporter turns them into RDS's failure causes (which bucket, which
// action, which code) without importing any driver; sinktest checks each
// driver against them.
var (
	// ErrNoSuchBucket: the destination does not exist (S3 NoSuchBucket, a
	// dirsink root that is not a directory, a memsink store never created).
	ErrNoSuchBucket = errors.New("sink: the destination does not exist")
	// ErrWrongRegion: the bucket exists in another region than the one the
	// client signs for.
	ErrWrongRegion = errors.New("sink: the bucket is in another region")
	// ErrAccessDenied: the credentials may not do what was asked (S3
	// AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch; a directory
	// the process may not write).
	ErrAccessDenied = errors.New("sink: access denied")
	// ErrKMSKeyUnusable: the store could not use the encryption key the
	// sink was configured with.
	ErrKMSKeyUnusable = errors.New("sink: the encryption key cannot be used")
	// ErrRoleNotAssumable: the role the sink was configured to assume was
	// refused; no request reached the store.
	ErrRoleNotAssumable = errors.New("sink: the role cannot be assumed")
)

// OpError describes one failed store operation in the store's own terms.
type OpError struct {
	// Location is the bucket name (S3) or root directory (dirsink).
	Location string
	// Op is the store's operation: an S3 action ("PutObject",
	// "HeadBucket", ...) or a file system call ("mkdir", "rename").
	Op string
	// Code is the store's error code ("NoSuchBucket", "AccessDenied",
	// "KMS.NotFoundException", "EACCES"), "" when there was no answer.
	Code string
	// Err is the driver's error. It wraps the sentinel above that applies,
	// if any, and ErrNotExist or ErrExist where those apply.
	Err error
}

func (e *OpError) Error() string {
	msg := e.Op
	if e.Location != "" {
		msg += " on " + e.Location
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *OpError) Unwrap() error { return e.Err }
