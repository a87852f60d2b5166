package dirsink_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/sink/sinktest"
)

var (
	_ sinktest.NonexistentMaker = (*harness)(nil)
	_ sinktest.DeniedMaker      = (*harness)(nil)
)

// MakeNonexistentSink opens a sink on a directory that is then replaced by
// a file: a root no write can create, which Open would have refused.
// Outside h.dir, which the suite leaves empty.
func (h *harness) MakeNonexistentSink(context.Context) (sink.Sink, error) {
	root := filepath.Join(h.t.TempDir(), "root")
	s, err := dirsink.Open(root, nil)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(root, []byte("a file where the root should be"), 0o666); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// MakeDeniedSink opens a sink on a directory this process may not write.
// Permission bits do not stop root, which the tests run as in CI: for
// root the directory is made immutable (chattr +i, which refuses even root
// with EPERM) and the flag is cleared when the subtest ends; for another
// user it is mode 0o555 (EACCES). Reads of such a directory are allowed,
// so only writes are refused. Where neither can be done (no chattr, a file
// system without the flag, not Linux) it says so with ErrUnsupported and
// the suite skips: a permission denial cannot be faked here.
func (h *harness) MakeDeniedSink(context.Context) (sink.Sink, bool, error) {
	root := filepath.Join(h.t.TempDir(), "root")
	if err := os.Mkdir(root, 0o777); err != nil {
		return nil, false, err
	}
	if err := denyWrites(h.t, root); err != nil {
		return nil, false, err
	}
	s, err := dirsink.Open(root, nil)
	return s, false, err
}

type cleanuper interface{ Cleanup(func()) }

func denyWrites(t cleanuper, dir string) error {
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o555); err != nil {
			return err
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o777) })
		return nil
	}
	if runtime.GOOS != "linux" {
		return fmt.Errorf("running as root on %s, where no permission stops root: %w", runtime.GOOS, errors.ErrUnsupported)
	}
	out, err := exec.Command("chattr", "+i", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("running as root, and chattr +i %s failed (%v: %s), so nothing stops root from writing: %w",
			dir, err, strings.TrimSpace(string(out)), errors.ErrUnsupported)
	}
	// Before t.TempDir's removal, which runs after (cleanups are LIFO).
	t.Cleanup(func() { _ = exec.Command("chattr", "-i", dir).Run() })
	return nil
}

// opError returns the *sink.OpError of err, failing the test without one.
func opError(t *testing.T, err error) *sink.OpError {
	t.Helper()
	var oe *sink.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("no *sink.OpError in %v", err)
	}
	return oe
}

// TestRootNotADirectory: Open refuses a root that is a file, or under
// one, with ErrNoSuchBucket and an OpError naming the root, the call and
// ENOTDIR; the errno stays reachable and the message is dirsink's.
func TestRootNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{file, filepath.Join(file, "below")} {
		_, err := dirsink.Open(root, nil)
		if !errors.Is(err, sink.ErrNoSuchBucket) || !errors.Is(err, syscall.ENOTDIR) || errors.Is(err, sink.ErrAccessDenied) {
			t.Errorf("Open(%q) = %v, want ErrNoSuchBucket and ENOTDIR", root, err)
			continue
		}
		if oe := opError(t, err); oe.Location != root || oe.Op != "stat" || oe.Code != "ENOTDIR" {
			t.Errorf("Open(%q): OpError = %+v", root, *oe)
		}
		if !strings.HasPrefix(err.Error(), "dirsink: ") {
			t.Errorf("Open(%q): message %q is not dirsink's", root, err)
		}
	}
}

// TestMissingRootIsNoFailure: a root that does not exist yet is not a
// store failure; reads find nothing, as before the sentinels.
func TestMissingRootIsNoFailure(t *testing.T) {
	s, err := dirsink.Open(filepath.Join(t.TempDir(), "later"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.NewReader(t.Context(), "k")
	if !errors.Is(err, sink.ErrNotExist) || errors.Is(err, sink.ErrNoSuchBucket) {
		t.Errorf("NewReader in a missing root = %v, want ErrNotExist only", err)
	}
	if err := s.Delete(t.Context(), "k"); !errors.Is(err, sink.ErrNotExist) || errors.Is(err, sink.ErrNoSuchBucket) {
		t.Errorf("Delete in a missing root = %v, want ErrNotExist only", err)
	}
}

// TestDeniedFields: a write refused for permissions names the root, the
// call that failed and the errno; objects already there stay readable.
func TestDeniedFields(t *testing.T) {
	ctx := t.Context()
	root := filepath.Join(t.TempDir(), "root")
	s, err := dirsink.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := sink.WriteObject(ctx, s, "before", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := denyWrites(t, root); errors.Is(err, errors.ErrUnsupported) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	err = sink.WriteObject(ctx, s, "after", []byte("y"), nil)
	if !errors.Is(err, sink.ErrAccessDenied) || errors.Is(err, sink.ErrNoSuchBucket) {
		t.Fatalf("write in a denied root = %v, want ErrAccessDenied", err)
	}
	oe := opError(t, err)
	if oe.Location != root || oe.Op != "mkdirat" || (oe.Code != "EPERM" && oe.Code != "EACCES") {
		t.Errorf("OpError = %+v, want the root, mkdirat, EPERM or EACCES", *oe)
	}
	if b, err := sink.ReadObject(ctx, s, "before"); err != nil || string(b) != "x" {
		t.Errorf("reading an object of a denied root: %q, %v", b, err)
	}
}
