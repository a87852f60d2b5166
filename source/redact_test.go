package source_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/snapexport/snapexport/source"
)

// TestRedactError: the secret leaves the message, the chain stays.
func TestRedactError(t *testing.T) {
	base := fmt.Errorf("near 'S3cr3t, time_zone': %w", context.Canceled)
	err := source.RedactError(fmt.Errorf("mysqlsource: scan: %w", base), "S3cr3t", "")
	if err.Error() != "mysqlsource: scan: near 'xxxxx, time_zone': context canceled" || !errors.Is(err, context.Canceled) {
		t.Errorf("RedactError = %q", err)
	}
	if source.RedactError(base, "other") != base || source.RedactError(nil, "x") != nil {
		t.Error("an error without the secret changed")
	}
}
