package source_test

import (
	"context"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/source"
)

// TestOpenURLKeyValueStringHidesThePassword: a key/value connection string
// is refused with a message that says what it is, without its password.
func TestOpenURLKeyValueStringHidesThePassword(t *testing.T) {
	for _, raw := range []string{
		"host=127.0.0.1 user=u password=S3cr3t-kv dbname=d",
		"host=127.0.0.1 user=u password='S3cr3t-kv two' dbname=d",
	} {
		_, err := source.OpenURL(context.Background(), raw)
		if err == nil || strings.Contains(err.Error(), "S3cr3t") || !strings.Contains(err.Error(), "key/value") {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if got := source.Redact("host=h password=S3cr3t-kv"); strings.Contains(got, "S3cr3t") {
		t.Errorf("Redact = %q", got)
	}
}
