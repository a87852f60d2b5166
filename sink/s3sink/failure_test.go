package s3sink_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/snapexport/snapexport/sink"
)

var storeFailures = []error{sink.ErrNoSuchBucket, sink.ErrWrongRegion, sink.ErrAccessDenied, sink.ErrKMSKeyUnusable, sink.ErrRoleNotAssumable}

// wantFailure checks what the core reads off err without importing this
// package: errors.Is finds want (nil: none) and no other store failure,
// and errors.As finds an *sink.OpError with the bucket, the IAM action and
// the store's code (code "" is not checked), through a further wrapping.
func wantFailure(t *testing.T, err, want error, bucket, action, code string) {
	t.Helper()
	err = fmt.Errorf("wrapped: %w", err)
	for _, f := range storeFailures {
		if got := errors.Is(err, f); got != (f == want) {
			t.Errorf("errors.Is(%v, %q) = %v, want %v", err, f, got, f == want)
		}
	}
	var op *sink.OpError
	if !errors.As(err, &op) {
		t.Fatalf("no *sink.OpError in %v", err)
	}
	if op.Location != bucket || op.Op != action || (code != "" && op.Code != code) || op.Err != want {
		t.Errorf("OpError = %+v, want Location %q, Op %q, Code %q, Err %v", *op, bucket, action, code, want)
	}
}
