package s3sink_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

// slowParts makes every UploadPart wait d at the proxy before it goes on to
// the server, as a slow link does.
func slowParts(e *env, d time.Duration) {
	e.proxy.SetRule(func(r recorded) *fault {
		if r.Op == "UploadPart" {
			time.Sleep(d)
		}
		return nil
	})
}

// wantNoUploads checks, at once, that the bucket holds no incomplete
// multipart upload.
func (e *env) wantNoUploads(when string) {
	e.t.Helper()
	ups, err := e.direct.IncompleteUploads(e.ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ups) > 0 {
		e.t.Errorf("%s: %d incomplete multipart upload(s) left: %+v", when, len(ups), ups)
	}
}

// TestSinkCloseAwaitsAborts is the reproduction: a process that is
// cancelled (SIGINT) or fails while part uploads are slow gives up its
// writers without closing them, then closes the sink and exits. Once
// Sink.Close returns, no incomplete upload may be left; the old Close
// returned at once while the aborts still waited for the slow parts.
func TestSinkCloseAwaitsAborts(t *testing.T) {
	t.Run("Cancel", func(t *testing.T) {
		e := newEnv(t)
		slowParts(e, 1500*time.Millisecond)
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 3}, nil)
		ctx, cancel := context.WithCancel(e.ctx)
		var ws []sink.Writer
		for _, key := range []string{"a", "b"} {
			w, err := s.NewWriter(ctx, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			writeChunks(t, w, data(50, 2*part+1), 1<<20)
			ws = append(ws, w)
		}
		waitFor(t, "the slow part uploads", func() bool { return e.proxy.Count("UploadPart") >= 4 })
		cancel() // SIGINT: the writers are never closed
		if err := s.Close(); err != nil {
			t.Errorf("Sink.Close: %v", err)
		}
		e.wantNoUploads("after cancel and Sink.Close")
		for _, w := range ws {
			if err := w.Close(); !errors.Is(err, context.Canceled) {
				t.Errorf("writer Close after cancel = %v, want context.Canceled", err)
			}
		}
		e.wantNothing("a")
		e.wantNothing("b")
	})
	t.Run("OpenWriters", func(t *testing.T) {
		// No cancel at all: the process just closes the sink (an error
		// elsewhere ended the task).
		e := newEnv(t)
		slowParts(e, time.Second)
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, nil)
		w, err := s.NewWriter(e.ctx, "obj", nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, w, data(51, 2*part+1), 1<<20)
		if err := s.Close(); err != nil {
			t.Errorf("Sink.Close: %v", err)
		}
		e.wantNoUploads("after Sink.Close")
		if err := w.Close(); err == nil {
			t.Error("a writer of a closed sink published")
		}
		if _, err := s.NewWriter(e.ctx, "late", nil); err == nil {
			t.Error("NewWriter on a closed sink succeeded")
		}
		e.wantNothing("obj")
	})
	t.Run("PartFails", func(t *testing.T) {
		// One part is refused while the others are slow; the caller stops
		// at the Write error without closing the writer.
		e := newEnv(t)
		e.proxy.SetRule(func(r recorded) *fault {
			if r.Op != "UploadPart" {
				return nil
			}
			if r.Query.Get("partNumber") == "2" {
				return &fault{Status: 403, Code: "AccessDenied"}
			}
			time.Sleep(1500 * time.Millisecond)
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 3}, nil)
		w, err := s.NewWriter(e.ctx, "obj", nil)
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for b := data(52, 5*part); len(b) > 0 && werr == nil; b = b[min(len(b), 1<<20):] {
			_, werr = w.Write(b[:min(len(b), 1<<20)])
		}
		if werr == nil {
			waitFor(t, "the refused part", func() bool { return e.proxy.Count("UploadPart") >= 2 })
		}
		if err := s.Close(); err != nil {
			t.Errorf("Sink.Close: %v", err)
		}
		e.wantNoUploads("after a failed part and Sink.Close")
		if err := w.Close(); err == nil {
			t.Error("Close of a failed writer succeeded")
		}
		e.wantNothing("obj")
	})
	t.Run("CancelThenClose", func(t *testing.T) {
		// The writer's own Close after cancel also waits for the abort.
		e := newEnv(t)
		slowParts(e, 1500*time.Millisecond)
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 3}, nil)
		ctx, cancel := context.WithCancel(e.ctx)
		w, err := s.NewWriter(ctx, "obj", nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, w, data(53, 2*part+1), 1<<20)
		cancel()
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close after cancel = %v", err)
		}
		e.wantNoUploads("after cancel and Close")
	})
}

// TestLeftoverError: when an abort finally fails, the writer's Close and
// the sink's Close give a *sink.LeftoverError naming the key (as the
// caller gave it, without the sink's prefix) and the upload ID, which
// Sweep then removes once the store allows it.
func TestLeftoverError(t *testing.T) {
	e := newEnv(t)
	var refuse atomic.Bool
	refuse.Store(true)
	e.proxy.SetRule(func(r recorded) *fault {
		switch {
		case r.Op == "UploadPart" && r.Query.Get("partNumber") == "2":
			return &fault{Status: 403, Code: "AccessDenied"}
		case r.Op == "AbortMultipartUpload" && refuse.Load():
			return &fault{Status: 403, Code: "AccessDenied"}
		}
		return nil
	})
	s := e.sink(&s3sink.Options{Prefix: "pre", PartSize: part}, nil)
	err := sink.WriteObject(e.ctx, s, "t/obj", data(54, 3*part), nil)
	var le *sink.LeftoverError
	if !errors.As(err, &le) {
		t.Fatalf("Close = %v, want an error wrapping *sink.LeftoverError", err)
	}
	ups, lerr := e.direct.IncompleteUploads(e.ctx, "")
	if lerr != nil || len(ups) != 1 {
		t.Fatalf("IncompleteUploads = %+v, %v", ups, lerr)
	}
	if le.Abandoned.Key != "t/obj" || le.Abandoned.ID != ups[0].UploadID || le.Abandoned.Started.IsZero() {
		t.Errorf("LeftoverError names %+v, want key t/obj and upload %s", le.Abandoned, ups[0].UploadID)
	}
	if !strings.Contains(err.Error(), ups[0].UploadID) {
		t.Errorf("error %q does not name the upload", err)
	}
	// Sink.Close of an open writer whose abort fails says so too.
	w, err := s.NewWriter(e.ctx, "t/open", nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, w, data(55, part+1), 1<<20)
	if _, err := w.Write([]byte("x")); err != nil { // sends part 1
		t.Fatal(err)
	}
	cerr := s.Close()
	if !errors.As(cerr, &le) || le.Abandoned.Key != "t/open" {
		t.Errorf("Sink.Close = %v, want a *sink.LeftoverError for t/open", cerr)
	}
	// The resuming process sweeps both once the store allows aborts.
	refuse.Store(false)
	s2 := e.sink(&s3sink.Options{Prefix: "pre", PartSize: part}, nil)
	var n int
	for a, err := range s2.Abandoned(e.ctx, "t/") {
		if err != nil {
			t.Fatal(err)
		}
		if err := s2.Sweep(e.ctx, a); err != nil {
			t.Errorf("Sweep(%+v): %v", a, err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("swept %d uploads, want 2", n)
	}
	e.wantNoUploads("after the sweep")
}

// TestOutageRetried: with the default retries, every request of an object
// survives an outage of 1.5 s that resets every connection while four part
// uploads run at once. The SDK's default retryer failed it: three attempts
// within a fraction of a second, and a client-wide retry quota that such a
// burst empties ("retry quota exceeded").
func TestOutageRetried(t *testing.T) {
	e := newEnv(t)
	e.proxy.SetRule(testenv.Outage("3", 1500*time.Millisecond))
	s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 4}, nil)
	payload := data(56, 6*part+3)
	if err := sink.WriteObject(e.ctx, s, "obj", payload, nil); err != nil {
		t.Fatalf("write through a 1.5 s outage: %v", err)
	}
	e.wantObject("obj", payload)
	faulted := 0
	for _, r := range e.proxy.Requests() {
		if r.Faulted != nil {
			faulted++
		}
	}
	if faulted == 0 {
		t.Fatal("the outage hit no request")
	}
	t.Logf("%d requests reset during the outage", faulted)
	e.wantNoUploads("after the write")
}

// TestCleanupOwnBudget: the abort has its own retries. A client allowed a
// single attempt per request (max_attempts=1) fails the write at the first
// reset, and the abort, sent while the store is still away for 4 s,
// retries until it is back: nothing is left.
func TestCleanupOwnBudget(t *testing.T) {
	e := newEnv(t)
	e.proxy.SetRule(testenv.Outage("2", 4*time.Second))
	s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, func(o *s3sink.ClientOptions) { o.MaxAttempts = 1 })
	if err := sink.WriteObject(e.ctx, s, "obj", data(57, 3*part), nil); err == nil {
		t.Fatal("write succeeded with one attempt per request through an outage")
	}
	aborts := 0
	for _, r := range e.proxy.Requests() {
		if r.Op == "AbortMultipartUpload" {
			aborts++
		}
	}
	if aborts < 2 {
		t.Errorf("%d AbortMultipartUpload attempts, want retries beyond max_attempts=1", aborts)
	}
	e.wantNothing("obj")
}
