package s3sink_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

// TestNoGoroutineLeft: once Close has returned (or, without Close, once a
// cancelled writer's abort is done), no goroutine of the writer is left:
// part uploads, the cancellation callback.
func TestNoGoroutineLeft(t *testing.T) {
	e := newEnv(t)
	e.proxy.SetRule(func(r recorded) *fault {
		if r.Key == "refused" && r.Op == "UploadPart" && r.Query.Get("partNumber") == "2" {
			return &fault{Status: 403, Code: "AccessDenied"}
		}
		return nil
	})
	// Clients on a transport of the test's, whose idle connections it
	// can close at the end. The SDK refuses a plain *http.Client when
	// AWS_CA_BUNDLE is set.
	t.Setenv("AWS_CA_BUNDLE", "")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Transport: tr}
	s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 3}, func(o *s3sink.ClientOptions) { o.HTTPClient = hc })
	co := clientOptions(e.srv, "")
	co.HTTPClient = hc
	direct, err := s3sink.Open(e.ctx, newClient(t, co), e.bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := e.ctx
	// A goroutine count rather than goleak: goleak v1.3.0 cannot parse the
	// "frames elided" stacks Go prints for the SDK's deep middleware
	// stacks.
	base := runtime.NumGoroutine()
	if err := sink.WriteObject(ctx, s, "small", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteObject(ctx, s, "large", data(40, 3*part+1), nil); err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteObject(ctx, s, "refused", data(41, 3*part+1), nil); err == nil {
		t.Fatal("refused part: write succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	w, err := s.NewWriter(cctx, "cancelled", nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, w, data(42, 2*part+1), 1<<20)
	cancel()
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close after cancel = %v", err)
	}
	// Cancelled and never closed: the callback aborts, then ends.
	cctx, cancel = context.WithCancel(ctx)
	w, err = s.NewWriter(cctx, "abandoned", nil)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, w, data(43, 2*part+1), 1<<20)
	cancel()
	waitFor(t, "the abandoned writer's abort", func() bool {
		ups, err := direct.IncompleteUploads(ctx, "")
		return err == nil && len(ups) == 0
	})
	// Idle keep-alive connections are not the writers': close them (again
	// and again: the abandoned writer's last request may still be
	// returning its connection to the pool) and wait for every goroutine
	// the writes started to end.
	deadline := time.Now().Add(30 * time.Second)
	for {
		tr.CloseIdleConnections()
		e.proxy.CloseClientConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections() // the proxy's client side
		if runtime.NumGoroutine() <= base {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before the writes:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
