package s3sink

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/snapexport/snapexport/sink"
)

// BucketError is the error of every S3 request the sink makes: which bucket,
// which object, which S3 operation, and what the store answered. The SDK's
// error stays reachable with errors.As (smithy.APIError,
// *awshttp.ResponseError); a missing object also matches
// [sink.ErrNotExist], a refused IfNotExists write [sink.ErrExist].
//
// The methods classify the failure the way RDS reports it (§8.1 of the
// reference). A caller which cannot import this package (the exporter core
// imports no AWS code) matches the same classification through package
// sink: errors.Is finds the sentinel [BucketError.Failure] names
// ([sink.ErrNoSuchBucket], [sink.ErrAccessDenied], ...), and errors.As
// finds a *[sink.OpError] with the bucket (Location), the IAM action
// (Op, as S3Action gives it) and the store's code (Code):
//
//	var op *sink.OpError
//	if errors.Is(err, sink.ErrNoSuchBucket) && errors.As(err, &op) { ... op.Location ... }
type BucketError struct {
	// Bucket is the bucket name.
	Bucket string
	// Key is the full object key (prefix included), "" for bucket-level
	// operations.
	Key string
	// Op is the S3 API operation: "HeadBucket", "PutObject",
	// "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", ...
	Op string
	// Code is the store's error code ("NoSuchBucket", "AccessDenied",
	// "KMS.NotFoundException", ...), "WrongRegion" when the bucket is in
	// another region than the client's, "" when the request got no answer
	// (refused connection, cancelled context).
	Code string
	// StatusCode is the HTTP status of the answer, 0 without one.
	StatusCode int
	// Region is the bucket's region when the store named it (the
	// x-amz-bucket-region header), else "".
	Region string
	// ClientRegion is the region the client signs for.
	ClientRegion string
	// Err is the SDK's error.
	Err error

	sentinel error // sink.ErrNotExist or sink.ErrExist, when they apply
	role     bool  // the credentials came from an AssumeRole that failed
}

func (e *BucketError) Error() string {
	loc := "s3://" + e.Bucket
	if e.Key != "" {
		loc += "/" + e.Key
	}
	switch {
	case e.Code == "WrongRegion":
		return fmt.Sprintf("s3sink: %s %q: the bucket is in region %q, the client uses %q", e.Op, loc, e.Region, e.ClientRegion)
	case e.Err == nil:
		return fmt.Sprintf("s3sink: %s %q: %s", e.Op, loc, e.Code)
	}
	return fmt.Sprintf("s3sink: %s %q: %v", e.Op, loc, e.Err)
}

// Unwrap gives the SDK error; a *[sink.OpError] naming the bucket, the IAM
// action (S3Action) and the store's code, which wraps the one store failure
// sentinel that applies (see [BucketError.Failure]); and, where one
// applies, sink.ErrNotExist or sink.ErrExist. The OpError is a view of e,
// so that a caller that imports no driver matches on errors.Is and
// errors.As while the message stays e's.
func (e *BucketError) Unwrap() []error {
	out := make([]error, 0, 3)
	out = append(out, &sink.OpError{Location: e.Bucket, Op: e.S3Action(), Code: e.Code, Err: e.Failure()})
	if e.sentinel != nil {
		out = append(out, e.sentinel)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// S3Bucket is the bucket name, for messages.
func (e *BucketError) S3Bucket() string { return e.Bucket }

// S3Action is the IAM action the operation needs ("s3:PutObject" for
// PutObject, CreateMultipartUpload, UploadPart and CompleteMultipartUpload,
// "s3:ListBucket" for HeadBucket and ListObjectsV2, ...), for the RDS
// message "The IAM role … isn't authorized to call [S3 action] on the S3
// bucket …".
func (e *BucketError) S3Action() string {
	switch e.Op {
	case "PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload":
		return "s3:PutObject"
	case "HeadBucket", "ListObjectsV2":
		return "s3:ListBucket"
	case "ListMultipartUploads":
		return "s3:ListBucketMultipartUploads"
	case "AbortMultipartUpload":
		return "s3:AbortMultipartUpload"
	case "GetObject", "HeadObject":
		return "s3:GetObject"
	case "DeleteObject":
		return "s3:DeleteObject"
	case "GetBucketLocation":
		return "s3:GetBucketLocation"
	}
	return "s3:" + e.Op
}

// ErrorCode is the store's error code, "" without one.
func (e *BucketError) ErrorCode() string { return e.Code }

// BucketNotFound reports that the bucket does not exist (NoSuchBucket, or a
// 404 answer to HeadBucket, which has no body to carry a code).
func (e *BucketError) BucketNotFound() bool {
	return e.Code == "NoSuchBucket" || e.Op == "HeadBucket" && e.StatusCode == http.StatusNotFound
}

// WrongRegion reports that the bucket is in another region than the one the
// client is configured for: the store said so (a redirect, a region named
// in the error) or HeadBucket named another region.
func (e *BucketError) WrongRegion() bool {
	switch e.Code {
	case "WrongRegion", "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		return true
	}
	return e.StatusCode == http.StatusMovedPermanently
}

// AccessDenied reports that the store refused the credentials or the
// operation: 403, AccessDenied, InvalidAccessKeyId,
// SignatureDoesNotMatch, or AssumeRole refused (see RoleNotAssumable).
// KMS refusals are reported by KMSKeyNotAccessible instead.
func (e *BucketError) AccessDenied() bool {
	if e.KMSKeyNotAccessible() {
		return false
	}
	if e.role {
		return true
	}
	switch e.Code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled", "InvalidToken", "ExpiredToken",
		"XAdminUserNotFound": // versitygw's InvalidAccessKeyId
		return true
	}
	return e.StatusCode == http.StatusForbidden
}

// KMSKeyNotAccessible reports that the store could not use the KMS key for
// server-side encryption: a "KMS.*" error code (KMS.NotFoundException,
// KMS.DisabledException, KMS.KMSInvalidStateException, ...), or an access
// denial whose message is about KMS ("not authorized to perform:
// kms:GenerateDataKey").
func (e *BucketError) KMSKeyNotAccessible() bool {
	if strings.HasPrefix(e.Code, "KMS") {
		return true
	}
	var ae smithy.APIError
	if (e.Code == "AccessDenied" || e.Code == "InvalidArgument") && errors.As(e.Err, &ae) {
		msg := ae.ErrorMessage()
		return strings.Contains(msg, "kms:") || strings.Contains(msg, "KMS")
	}
	return false
}

// RoleNotAssumable reports that the request was never sent because
// AssumeRole (ClientOptions.RoleARN) failed: the role does not exist, or the
// caller may not assume it.
func (e *BucketError) RoleNotAssumable() bool { return e.role }

// Failure is the store failure sentinel of package sink that e matches
// with errors.Is, nil for none. Where the classifications overlap, the
// first that applies wins, in the order the exporter reports them:
// RoleNotAssumable ([sink.ErrRoleNotAssumable]; AccessDenied is true too),
// KMSKeyNotAccessible ([sink.ErrKMSKeyUnusable]), WrongRegion
// ([sink.ErrWrongRegion]), BucketNotFound ([sink.ErrNoSuchBucket]),
// AccessDenied ([sink.ErrAccessDenied]).
func (e *BucketError) Failure() error {
	switch {
	case e.RoleNotAssumable():
		return sink.ErrRoleNotAssumable
	case e.KMSKeyNotAccessible():
		return sink.ErrKMSKeyUnusable
	case e.WrongRegion():
		return sink.ErrWrongRegion
	case e.BucketNotFound():
		return sink.ErrNoSuchBucket
	case e.AccessDenied():
		return sink.ErrAccessDenied
	}
	return nil
}

// newBucketError classifies an SDK error.
func newBucketError(op, bucket, key, clientRegion string, err error) *BucketError {
	e := &BucketError{Op: op, Bucket: bucket, Key: key, ClientRegion: clientRegion, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		e.StatusCode = re.HTTPStatusCode()
		e.Region = re.Response.Header.Get("X-Amz-Bucket-Region")
		if e.Code == "" || e.Code == "NotFound" || e.Code == "Forbidden" || e.Code == "MovedPermanently" {
			// HEAD answers have no body: name the status the way S3's
			// own codes would.
			switch e.StatusCode {
			case http.StatusNotFound:
				if op == "HeadBucket" {
					e.Code = "NoSuchBucket"
				} else if op == "HeadObject" {
					e.Code = "NoSuchKey"
				}
			case http.StatusForbidden:
				e.Code = "AccessDenied"
			case http.StatusMovedPermanently:
				e.Code = "PermanentRedirect"
			}
		}
	}
	e.role = assumeRoleFailed(err)
	switch {
	case e.Code == "NoSuchKey" || op == "GetObject" && e.StatusCode == http.StatusNotFound && e.Code != "NoSuchBucket":
		e.sentinel = sink.ErrNotExist
	case e.Code == "PreconditionFailed" || e.StatusCode == http.StatusPreconditionFailed:
		e.sentinel = sink.ErrExist
	}
	return e
}

// assumeRoleFailed reports whether err comes from the STS AssumeRole call
// the credentials provider makes, rather than from S3.
func assumeRoleFailed(err error) bool {
	for _, e := range allErrors(err) {
		if oe, ok := e.(*smithy.OperationError); ok && oe.ServiceID == "STS" {
			return true
		}
	}
	return false
}

// allErrors lists err and everything it wraps, depth first.
func allErrors(err error) []error {
	var out []error
	var walk func(error)
	walk = func(e error) {
		if e == nil || len(out) > 64 {
			return
		}
		out = append(out, e)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		}
	}
	walk(err)
	return out
}

// isConditionalConflict reports AWS's 409 ConditionalRequestConflict: a
// concurrent conditional write to the same key was in progress; the request
// may be retried.
func isConditionalConflict(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "ConditionalRequestConflict"
}
