package dirsink_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: a
// writer's context.AfterFunc or a List must not leak one.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
