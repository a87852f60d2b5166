package sinktest

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/sink"
)

// NonexistentMaker is implemented by harnesses that can make a sink whose
// destination does not exist and that no write creates, as gocloud's
// drivertest asks of MakeNonexistentBucket: an S3 bucket never created, a
// directory sink whose root is a file, a memsink.Absent store. The suite
// then checks that Check (for a [sink.Checker]), NewWriter with Close,
// NewReader and List each fail with an error matching
// [sink.ErrNoSuchBucket], and no other store failure, that gives a
// *[sink.OpError] naming the destination.
type NonexistentMaker interface {
	// MakeNonexistentSink returns the sink. The suite closes it.
	MakeNonexistentSink(ctx context.Context) (sink.Sink, error)
}

// DeniedMaker is implemented by harnesses that can make a sink over an
// existing destination that refuses the sink for lack of permission: S3
// with a wrong secret key, which refuses every request; a directory the
// process may not write, which refuses writes only. The suite then checks
// that the refused operations fail with an error matching
// [sink.ErrAccessDenied], and no other store failure, that gives a
// *[sink.OpError] naming the destination, and that the refused writes
// leave nothing behind.
type DeniedMaker interface {
	// MakeDeniedSink returns the sink, and whether it refuses reads
	// (Check, NewReader, List) too; writes (NewWriter with Close) it must
	// refuse. The suite closes the sink. An error wrapping
	// [errors.ErrUnsupported] means the harness cannot make one here (a
	// file system that has no way to refuse this process); the subtest
	// then skips with the error as the reason.
	MakeDeniedSink(ctx context.Context) (s sink.Sink, readsDenied bool, err error)
}

// storeFailures are the store failure sentinels, each of which an error
// matches only if it is the one that applies.
var storeFailures = []error{sink.ErrNoSuchBucket, sink.ErrWrongRegion, sink.ErrAccessDenied, sink.ErrKMSKeyUnusable, sink.ErrRoleNotAssumable}

func testNonexistent(e *env) {
	nm, ok := e.h.(NonexistentMaker)
	if !ok {
		e.t.Skip("the harness makes no sink whose destination does not exist (NonexistentMaker)")
	}
	s, err := nm.MakeNonexistentSink(e.ctx)
	if err != nil {
		e.t.Fatalf("MakeNonexistentSink: %v", err)
	}
	defer closeSink(e.t, s)
	e.wantRefused(s, sink.ErrNoSuchBucket, true)
}

func testDenied(e *env) {
	dm, ok := e.h.(DeniedMaker)
	if !ok {
		e.t.Skip("the harness makes no sink that is refused for permissions (DeniedMaker)")
	}
	s, reads, err := dm.MakeDeniedSink(e.ctx)
	if errors.Is(err, errors.ErrUnsupported) {
		e.t.Skipf("MakeDeniedSink: %v", err)
	}
	if err != nil {
		e.t.Fatalf("MakeDeniedSink: %v", err)
	}
	defer closeSink(e.t, s)
	e.wantRefused(s, sink.ErrAccessDenied, reads)
	e.wantNoLeftovers()
}

func closeSink(t *testing.T, s sink.Sink) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Errorf("Sink.Close: %v", err)
	}
}

// wantRefused checks that s refuses writes, and with reads its reads too,
// with errors that match want.
func (e *env) wantRefused(s sink.Sink, want error, reads bool) {
	e.t.Helper()
	key := e.key("refused")
	if c, ok := s.(sink.Checker); ok && reads {
		e.wantFailure(s, "Check", c.Check(e.ctx), want)
	}
	w, err := s.NewWriter(e.ctx, key, nil)
	if err == nil {
		if _, werr := w.Write([]byte("never stored")); werr != nil {
			err = werr
			_ = w.Close()
		} else {
			err = w.Close()
		}
	}
	e.wantFailure(s, "NewWriter and Close", err, want)
	if !reads {
		return
	}
	r, err := s.NewReader(e.ctx, key)
	if err == nil {
		_, _ = io.Copy(io.Discard, r)
		r.Close()
	}
	e.wantFailure(s, "NewReader", err, want)
	var listErr error
	n := 0
	for _, err := range s.List(e.ctx, e.prefix) {
		if err != nil {
			listErr = err
			break
		}
		n++
	}
	if n > 0 {
		e.t.Errorf("List(%q) yielded %d objects before failing", e.prefix, n)
	}
	e.wantFailure(s, "List", listErr, want)
}

// wantFailure checks that err matches want and no other store failure,
// and that its *sink.OpError names s's destination (the bucket, the root
// directory, the store name) and an operation.
func (e *env) wantFailure(s sink.Sink, what string, err, want error) {
	e.t.Helper()
	if err == nil {
		e.t.Errorf("%s succeeded on %s, want an error matching %q", what, s.Location(), want)
		return
	}
	e.t.Logf("%s: %v", what, err)
	for _, f := range storeFailures {
		if got := errors.Is(err, f); got != (f == want) {
			e.t.Errorf("%s: errors.Is(err, %q) = %v, want %v; err: %v", what, f, got, f == want, err)
		}
	}
	var op *sink.OpError
	if !errors.As(err, &op) {
		e.t.Errorf("%s: no *sink.OpError in %v", what, err)
		return
	}
	if names := locationNames(s.Location()); op.Location == "" || !names[op.Location] {
		e.t.Errorf("%s: OpError.Location = %q, want one of %v (from Location %q)", what, op.Location, names, s.Location())
	}
	if op.Op == "" {
		e.t.Errorf("%s: OpError.Op is empty", what)
	}
	if !errors.Is(op, want) {
		e.t.Errorf("%s: the OpError (%v) does not wrap %q", what, op, want)
	}
}

// locationNames are the names a sink's OpError may give its destination:
// the host of its Location URL (the bucket, the memory store) or its path
// (the directory; without a trailing "/").
func locationNames(loc string) map[string]bool {
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	if u.Host != "" {
		out[u.Host] = true
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && u.Host == "" {
		out[p] = true
	}
	return out
}
