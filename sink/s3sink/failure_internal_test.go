package s3sink

import (
	"errors"
	"net/http"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/snapexport/snapexport/sink"
)

// TestFailurePrecedence: each classification maps to one sentinel, in the
// order the exporter reports them (role, KMS, wrong region, bucket not
// found, access denied), where a BucketError has several at once.
func TestFailurePrecedence(t *testing.T) {
	kmsDenied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform: kms:GenerateDataKey"}
	for _, c := range []struct {
		name string
		e    *BucketError
		want error
	}{
		{"RoleAlsoDenied", &BucketError{Op: "HeadBucket", Code: "AccessDenied", StatusCode: 403, role: true}, sink.ErrRoleNotAssumable},
		{"KMSAccessDenied", &BucketError{Op: "PutObject", Code: "AccessDenied", StatusCode: 403, Err: kmsDenied}, sink.ErrKMSKeyUnusable},
		{"KMSCode", &BucketError{Op: "PutObject", Code: "KMS.NotFoundException", StatusCode: 400}, sink.ErrKMSKeyUnusable},
		{"RedirectForbidden", &BucketError{Op: "GetObject", Code: "PermanentRedirect", StatusCode: http.StatusForbidden}, sink.ErrWrongRegion},
		{"WrongRegionNoSuchBucket", &BucketError{Op: "HeadBucket", Code: "NoSuchBucket", StatusCode: http.StatusMovedPermanently}, sink.ErrWrongRegion},
		{"NoSuchBucketForbidden", &BucketError{Op: "ListObjectsV2", Code: "NoSuchBucket", StatusCode: http.StatusForbidden}, sink.ErrNoSuchBucket},
		{"HeadBucket404", &BucketError{Op: "HeadBucket", StatusCode: http.StatusNotFound}, sink.ErrNoSuchBucket},
		{"Denied", &BucketError{Op: "UploadPart", Code: "SignatureDoesNotMatch", StatusCode: 403}, sink.ErrAccessDenied},
		{"NoSuchKey", &BucketError{Op: "GetObject", Code: "NoSuchKey", StatusCode: 404, sentinel: sink.ErrNotExist}, nil},
		{"NoAnswer", &BucketError{Op: "PutObject", Err: errors.New("connection refused")}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.e.Bucket = "b"
			if got := c.e.Failure(); got != c.want {
				t.Errorf("Failure() = %v, want %v", got, c.want)
			}
			for _, f := range []error{sink.ErrNoSuchBucket, sink.ErrWrongRegion, sink.ErrAccessDenied, sink.ErrKMSKeyUnusable, sink.ErrRoleNotAssumable} {
				if got := errors.Is(c.e, f); got != (f == c.want) {
					t.Errorf("errors.Is(_, %q) = %v", f, got)
				}
			}
			var op *sink.OpError
			if !errors.As(c.e, &op) || op.Location != "b" || op.Op != c.e.S3Action() || op.Code != c.e.Code {
				t.Errorf("OpError = %+v", op)
			}
			if c.e.sentinel != nil && !errors.Is(c.e, c.e.sentinel) {
				t.Errorf("no longer matches %v", c.e.sentinel)
			}
		})
	}
}
