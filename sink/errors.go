package sink

import "errors"

// Store failures: what is wrong with the destination as a whole, as
// opposed to one object (ErrNotExist, ErrExist). Every driver's errors
// match, with errors.Is, the one sentinel below that applies (at most one
// per error), and give, with errors.As, an *OpError that names where and
// what the store answered. The exporter turns them into RDS's failure
// causes (which bucket, which action, which code) without importing any
// driver; sinktest checks each driver against them (its NonexistentMaker
// and DeniedMaker cases).
var (
	// ErrNoSuchBucket: the destination does not exist and writing will
	// not create it (S3 NoSuchBucket; a dirsink root, or one of its
	// parents, that is not a directory; a memsink.Absent store). A
	// dirsink root that is merely missing is not this error: the first
	// write creates it.
	ErrNoSuchBucket = errors.New("sink: the destination does not exist")
	// ErrWrongRegion: the bucket exists in another region than the one the
	// client signs for.
	ErrWrongRegion = errors.New("sink: the bucket is in another region")
	// ErrAccessDenied: the credentials may not do what was asked (S3
	// AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch; a
	// directory the process may not read or write: EACCES, EPERM, EROFS).
	ErrAccessDenied = errors.New("sink: access denied")
	// ErrKMSKeyUnusable: the store could not use the encryption key the
	// sink was configured with.
	ErrKMSKeyUnusable = errors.New("sink: the encryption key cannot be used")
	// ErrRoleNotAssumable: the role the sink was configured to assume was
	// refused; no request reached the store. Such an error does not also
	// match ErrAccessDenied (one sentinel per error), though it is a
	// refusal too.
	ErrRoleNotAssumable = errors.New("sink: the role cannot be assumed")
)

// OpError describes one failed store operation in the store's own terms.
//
// A driver either returns it (Err is then the driver's error, which wraps
// the sentinel) or, when its own error type already says all this in its
// message (s3sink.BucketError, dirsink's errors), yields it from that
// type's Unwrap, so that messages stay the driver's; Err is then the
// sentinel alone. Either way errors.Is(err, ErrX) and errors.As(err, &op)
// see the same thing.
type OpError struct {
	// Location is the bucket name (S3, without "s3://"), the root
	// directory's absolute path (dirsink) or the store name (memsink).
	Location string
	// Op is what was refused, in the store's terms: for S3 the IAM action
	// the request needs ("s3:PutObject" for PutObject and the multipart
	// calls, "s3:ListBucket" for HeadBucket and ListObjectsV2: what
	// RDS's message "isn't authorized to call [S3 action]" names); for a
	// file system the call ("stat", "mkdir", "openat", "rename"); for
	// memsink the Sink method.
	Op string
	// Code is the store's error code ("NoSuchBucket", "AccessDenied",
	// "KMS.NotFoundException", "WrongRegion"; "EACCES", "ENOTDIR"), ""
	// when there was no answer.
	Code string
	// Err wraps the sentinel above that applies, if any (nil for none),
	// and ErrNotExist or ErrExist where those apply.
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
