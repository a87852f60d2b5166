package engine

import (
	"testing"

	"github.com/snapexport/snapexport/source"
)

// TestSkipReasonControlCharactersInTableName: a table whose name holds a
// newline or another control character is skipped, not written under a
// key with a raw newline.
func TestSkipReasonControlCharactersInTableName(t *testing.T) {
	for _, name := range []string{"a\nb", "tab\there", "bell\x07", "del\x7f"} {
		if reason, _ := skipReason(source.Table{Database: "d", Schema: "s", Name: name}); reason != source.ReasonUnsupportedTableName {
			t.Errorf("%q: reason %q", name, reason)
		}
	}
	if reason, _ := skipReason(source.Table{Database: "d", Schema: "s", Name: "ordinary_ünïcode"}); reason != "" {
		t.Errorf("ordinary name skipped: %s", reason)
	}
}
