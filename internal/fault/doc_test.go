package fault_test

import (
	"errors"
	"testing"

	"github.com/snapexport/snapexport/internal/fault"
)

func TestErrorMatchesFaultAndCause(t *testing.T) {
	cause := errors.New("refused")
	err := fault.New(fault.InvalidS3Bucket, cause, "cannot write %s", "b")
	if !errors.Is(err, fault.InvalidS3Bucket) || !errors.Is(err, cause) {
		t.Fatalf("%v does not match its fault and cause", err)
	}
	if got, want := err.Error(), "snapexport: cannot write b: refused"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got := fault.New(fault.Closed, nil, "100%% sure").Error(); got != "snapexport: 100%% sure" {
		t.Fatalf("a message without arguments is not formatted: %q", got)
	}
}
