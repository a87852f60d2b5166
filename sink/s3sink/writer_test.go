package s3sink_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/s3sink"
)

const part = s3sink.MinPartSize

// env is a bucket on the test server, reached directly and through a proxy.
type env struct {
	t      *testing.T
	ctx    context.Context
	srv    testenv.S3Server
	bucket string
	proxy  *proxy
	direct *s3sink.Sink // no proxy: the truth about the bucket
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := testenv.S3(t)
	e := &env{t: t, ctx: t.Context(), srv: srv, bucket: srv.NewBucket(t)}
	e.proxy = newProxy(t, srv.Endpoint)
	var err error
	e.direct, err = s3sink.Open(e.ctx, newClient(t, clientOptions(srv, "")), e.bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// sink opens a sink through the proxy. tweak may change the client options.
func (e *env) sink(opts *s3sink.Options, tweak func(*s3sink.ClientOptions)) *s3sink.Sink {
	e.t.Helper()
	co := clientOptions(e.srv, e.proxy.URL())
	if tweak != nil {
		tweak(co)
	}
	s, err := s3sink.Open(e.ctx, newClient(e.t, co), e.bucket, opts)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// wantObject checks the object's bytes, read without the proxy.
func (e *env) wantObject(key string, want []byte) {
	e.t.Helper()
	got, err := sink.ReadObject(e.ctx, e.direct, key)
	if err != nil {
		e.t.Fatalf("reading %q: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		e.t.Fatalf("%q holds %d bytes that differ from the %d written", key, len(got), len(want))
	}
}

// wantNothing checks that key is not visible and that no multipart upload
// is left in the bucket.
func (e *env) wantNothing(key string) {
	e.t.Helper()
	if _, err := e.direct.NewReader(e.ctx, key); !errors.Is(err, sink.ErrNotExist) {
		e.t.Errorf("NewReader(%q) = %v, want ErrNotExist", key, err)
	}
	for o, err := range e.direct.List(e.ctx, "") {
		if err != nil {
			e.t.Fatal(err)
		}
		if o.Key == key {
			e.t.Errorf("List shows %q", key)
		}
	}
	ups, err := e.direct.IncompleteUploads(e.ctx, "")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ups) > 0 {
		e.t.Errorf("multipart uploads left behind: %+v", ups)
	}
}

func data(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, (n+7)/8*8)
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b[:n]
}

// writeChunks writes b in chunks of size.
func writeChunks(t *testing.T, w sink.Writer, b []byte, size int) {
	t.Helper()
	for len(b) > 0 {
		n := min(size, len(b))
		if _, err := w.Write(b[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		b = b[n:]
	}
}

// TestStreams checks that parts leave while the object is being written,
// that the multipart upload is invisible until Close, and how objects around
// one part are sent.
func TestStreams(t *testing.T) {
	e := newEnv(t)
	s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, nil)
	payload := data(1, 3*part+part/2)
	w, err := s.NewWriter(e.ctx, "big", &sink.WriterOptions{ContentType: "application/vnd.apache.parquet"})
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, w, payload[:2*part+1], 1<<20)
	// Two full parts were handed over; wait for them to reach the server
	// (they upload in the background).
	waitFor(t, "two part uploads before Close", func() bool { return e.proxy.Count("UploadPart") >= 2 })
	if n := e.proxy.Count("CreateMultipartUpload"); n != 1 {
		t.Errorf("%d CreateMultipartUpload before Close, want 1", n)
	}
	ups, err := e.direct.IncompleteUploads(e.ctx, "")
	if err != nil || len(ups) != 1 || ups[0].Key != "big" {
		t.Errorf("IncompleteUploads while writing = %+v, %v; want the one upload of \"big\"", ups, err)
	}
	if _, err := e.direct.NewReader(e.ctx, "big"); !errors.Is(err, sink.ErrNotExist) {
		t.Errorf("object visible before Close: %v", err)
	}
	writeChunks(t, w, payload[2*part+1:], 1<<20)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	e.wantObject("big", payload)
	if n := e.proxy.Count("UploadPart"); n != 4 {
		t.Errorf("%d UploadPart, want 4", n)
	}
	for _, r := range e.proxy.Requests() {
		if r.Op == "CreateMultipartUpload" && r.Header.Get("Content-Type") != "application/vnd.apache.parquet" {
			t.Errorf("CreateMultipartUpload Content-Type = %q", r.Header.Get("Content-Type"))
		}
	}
	e.wantNothing("none") // and no upload left

	for _, c := range []struct {
		size       int
		wantPut    int
		wantCreate int
		wantParts  int
	}{
		{0, 1, 0, 0},
		{1, 1, 0, 0},
		{part - 1, 1, 0, 0},
		{part, 1, 0, 0},
		{part + 1, 0, 1, 2},
		{2 * part, 0, 1, 2},
	} {
		before := map[string]int{}
		for _, op := range []string{"PutObject", "CreateMultipartUpload", "UploadPart"} {
			before[op] = e.proxy.Count(op)
		}
		payload := data(uint64(c.size), c.size)
		if err := sink.WriteObject(e.ctx, s, "sized", payload, nil); err != nil {
			t.Fatalf("%d bytes: %v", c.size, err)
		}
		e.wantObject("sized", payload)
		got := map[string]int{}
		for op, n := range before {
			got[op] = e.proxy.Count(op) - n
		}
		if got["PutObject"] != c.wantPut || got["CreateMultipartUpload"] != c.wantCreate || got["UploadPart"] != c.wantParts {
			t.Errorf("%d bytes: %v requests, want PutObject %d, CreateMultipartUpload %d, UploadPart %d", c.size, got, c.wantPut, c.wantCreate, c.wantParts)
		}
	}
}

// waitFor polls cond; the deadline only keeps a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMemoryBound holds the part uploads at the proxy and checks that the
// writer stops accepting bytes once it holds Concurrency parts.
func TestMemoryBound(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var held atomic.Int32
	e.proxy.SetRule(func(r recorded) *fault {
		if r.Op == "UploadPart" {
			held.Add(1)
			<-release
		}
		return nil
	})
	const conc = 2
	s := e.sink(&s3sink.Options{PartSize: part, Concurrency: conc}, nil)
	payload := data(2, 6*part)
	w, err := s.NewWriter(e.ctx, "bounded", nil)
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int64
	done := make(chan error, 1)
	go func() {
		for b := payload; len(b) > 0; {
			n := min(len(b), 1<<20)
			if _, err := w.Write(b[:n]); err != nil {
				done <- err
				return
			}
			accepted.Add(int64(n))
			b = b[n:]
		}
		done <- w.Close()
	}()
	waitFor(t, "two held part uploads", func() bool { return held.Load() == conc })
	// Give an unbounded writer time to run ahead; a bounded one is stuck.
	time.Sleep(300 * time.Millisecond)
	if got := accepted.Load(); got > conc*part {
		t.Errorf("writer accepted %d bytes with %d part uploads held; the bound is %d", got, conc, conc*part)
	}
	if held.Load() != conc {
		t.Errorf("%d part uploads started with %d buffers", held.Load(), conc)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.wantObject("bounded", payload)
}

// TestAbort: a cancelled or failed write publishes nothing and leaves no
// multipart upload.
func TestAbort(t *testing.T) {
	t.Run("CancelWithoutClose", func(t *testing.T) {
		e := newEnv(t)
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, nil)
		ctx, cancel := context.WithCancel(e.ctx)
		w, err := s.NewWriter(ctx, "obj", nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, w, data(3, 2*part+10), 1<<20)
		waitFor(t, "the multipart upload", func() bool {
			ups, _ := e.direct.IncompleteUploads(e.ctx, "")
			return len(ups) == 1
		})
		cancel()
		// Nobody calls Close yet: the cancellation alone aborts.
		waitFor(t, "the abort after cancel", func() bool {
			ups, err := e.direct.IncompleteUploads(e.ctx, "")
			return err == nil && len(ups) == 0
		})
		// The abort may be retried (the store can still be busy with a
		// part whose request the cancellation cut); the upload is gone,
		// as checked above.
		if n := e.proxy.Count("AbortMultipartUpload"); n == 0 {
			t.Error("no AbortMultipartUpload")
		}
		if _, err := w.Write([]byte("more")); !errors.Is(err, context.Canceled) {
			t.Errorf("Write after cancel = %v, want context.Canceled", err)
		}
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close after cancel = %v, want context.Canceled", err)
		}
		e.wantNothing("obj")
	})
	t.Run("CancelWhilePartsHeld", func(t *testing.T) {
		e := newEnv(t)
		release := make(chan struct{})
		e.proxy.SetRule(func(r recorded) *fault {
			if r.Op == "UploadPart" {
				<-release
			}
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 3}, nil)
		ctx, cancel := context.WithCancel(e.ctx)
		w, err := s.NewWriter(ctx, "obj", nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, w, data(4, 2*part+10), 1<<20)
		waitFor(t, "held part uploads", func() bool { return e.proxy.Count("UploadPart") == 2 })
		cancel()
		// The parts in flight reach the store after the cancellation;
		// the abort must still leave nothing.
		close(release)
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("Close after cancel = %v, want context.Canceled", err)
		}
		e.wantNothing("obj")
	})
	t.Run("PartRefused", func(t *testing.T) {
		e := newEnv(t)
		e.proxy.SetRule(func(r recorded) *fault {
			if r.Op == "UploadPart" && r.Query.Get("partNumber") == "2" {
				return &fault{Status: 403, Code: "AccessDenied"}
			}
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, nil)
		w, err := s.NewWriter(e.ctx, "obj", nil)
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for b := data(5, 4*part); len(b) > 0 && werr == nil; b = b[min(len(b), 1<<20):] {
			_, werr = w.Write(b[:min(len(b), 1<<20)])
		}
		err = w.Close()
		var be *s3sink.BucketError
		if !errors.As(err, &be) || be.Op != "UploadPart" || !be.AccessDenied() || be.Key != "obj" {
			t.Fatalf("Close = %v (Write: %v), want a *BucketError for UploadPart, AccessDenied", err, werr)
		}
		wantFailure(t, err, sink.ErrAccessDenied, e.bucket, "s3:PutObject", "AccessDenied")
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Errorf("the SDK's APIError is not reachable: %v", err)
		}
		if !strings.Contains(err.Error(), "s3://"+e.bucket+"/obj") {
			t.Errorf("error %q does not name the object", err)
		}
		e.wantNothing("obj")
	})
	t.Run("CompleteFails", func(t *testing.T) {
		e := newEnv(t)
		e.proxy.SetRule(func(r recorded) *fault {
			if r.Op == "CompleteMultipartUpload" {
				return &fault{Status: 500, Code: "InternalError"}
			}
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part}, func(o *s3sink.ClientOptions) { o.MaxAttempts = 2 })
		err := sink.WriteObject(e.ctx, s, "obj", data(6, part+1), nil)
		if err == nil {
			t.Fatal("write succeeded although every CompleteMultipartUpload failed")
		}
		if n := e.proxy.Count("CompleteMultipartUpload"); n != 2 {
			t.Errorf("%d CompleteMultipartUpload attempts, want MaxAttempts=2", n)
		}
		e.wantNothing("obj")
	})
	t.Run("AbortRefused", func(t *testing.T) {
		// When the abort itself fails, Close says which upload stays.
		e := newEnv(t)
		e.proxy.SetRule(func(r recorded) *fault {
			switch r.Op {
			case "UploadPart":
				return &fault{Status: 403, Code: "AccessDenied"}
			case "AbortMultipartUpload":
				return &fault{Status: 403, Code: "AccessDenied"}
			}
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part}, nil)
		err := sink.WriteObject(e.ctx, s, "obj", data(7, part+1), nil)
		ups, lerr := e.direct.IncompleteUploads(e.ctx, "")
		if lerr != nil || len(ups) != 1 {
			t.Fatalf("IncompleteUploads = %+v, %v; want the upload whose abort was refused", ups, lerr)
		}
		if err == nil || !strings.Contains(err.Error(), ups[0].UploadID) || !strings.Contains(err.Error(), "could not be aborted") {
			t.Errorf("Close = %v; want it to name upload %q as left behind", err, ups[0].UploadID)
		}
		if n := e.proxy.Count("AbortMultipartUpload"); n != 1 {
			t.Errorf("%d AbortMultipartUpload attempts for a 403, want 1", n)
		}
		if _, err := e.direct.Client().AbortMultipartUpload(e.ctx, &s3.AbortMultipartUploadInput{Bucket: &e.bucket, Key: aws.String("obj"), UploadId: &ups[0].UploadID}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFaults: transient failures are retried and the object is byte
// identical; permanent ones fail at once.
func TestFaults(t *testing.T) {
	t.Run("Transient", func(t *testing.T) {
		e := newEnv(t)
		first := firstTime()
		e.proxy.SetRule(func(r recorded) *fault {
			pn := r.Query.Get("partNumber")
			switch {
			case r.Op == "CreateMultipartUpload" && r.OpSeq == 0:
				return &fault{Status: 503, Code: "SlowDown"}
			case r.Op == "UploadPart" && pn == "2" && first(pn):
				return &fault{Status: 500, Code: "InternalError"}
			case r.Op == "UploadPart" && pn == "3" && first(pn):
				return &fault{Reset: true}
			case r.Op == "UploadPart" && pn == "4" && first(pn):
				// The part is stored, the answer lost: uploaded again.
				return &fault{Reset: true, After: true}
			case r.Op == "CompleteMultipartUpload" && r.OpSeq == 0:
				// The store completes the upload, the answer is lost: the
				// retry finds no upload, the sink finds its object.
				return &fault{Reset: true, After: true}
			case r.Op == "PutObject" && r.OpSeq == 0:
				return &fault{Status: 503, Code: "ServiceUnavailable"}
			case r.Op == "PutObject" && r.OpSeq == 1:
				// Stored, answer lost: the conditional retry gets 412 for
				// the sink's own object.
				return &fault{Reset: true, After: true}
			}
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 3}, func(o *s3sink.ClientOptions) { o.MaxAttempts = 4 })
		big := data(8, 4*part+777)
		w, err := s.NewWriter(e.ctx, "big", nil)
		if err != nil {
			t.Fatal(err)
		}
		writeChunks(t, w, big, 100_000)
		if err := w.Close(); err != nil {
			t.Fatalf("Close with transient faults: %v", err)
		}
		e.wantObject("big", big)
		small := data(9, 1000)
		if err := sink.WriteObject(e.ctx, s, "small", small, &sink.WriterOptions{IfNotExists: true}); err != nil {
			t.Fatalf("conditional PutObject whose first answer was lost: %v", err)
		}
		e.wantObject("small", small)
		for op, want := range map[string]int{"CreateMultipartUpload": 2, "UploadPart": 5 + 3, "CompleteMultipartUpload": 2, "PutObject": 3} {
			if got := e.proxy.Count(op); got != want {
				t.Errorf("%d %s requests, want %d", got, op, want)
			}
		}
		e.wantNothing("none")
	})
	t.Run("ConditionalConflict", func(t *testing.T) {
		e := newEnv(t)
		e.proxy.SetRule(func(r recorded) *fault {
			if r.Op == "CompleteMultipartUpload" && r.OpSeq == 0 {
				return &fault{Status: 409, Code: "ConditionalRequestConflict"}
			}
			return nil
		})
		s := e.sink(&s3sink.Options{PartSize: part}, nil)
		payload := data(10, part+5)
		if err := sink.WriteObject(e.ctx, s, "obj", payload, &sink.WriterOptions{IfNotExists: true}); err != nil {
			t.Fatal(err)
		}
		e.wantObject("obj", payload)
		if n := e.proxy.Count("CompleteMultipartUpload"); n != 2 {
			t.Errorf("%d CompleteMultipartUpload, want 2", n)
		}
	})
	t.Run("PermanentFailFast", func(t *testing.T) {
		for _, c := range []struct {
			op, code string
			status   int
			size     int
			check    func(*s3sink.BucketError) bool
		}{
			{"PutObject", "AccessDenied", 403, 10, (*s3sink.BucketError).AccessDenied},
			{"PutObject", "NoSuchBucket", 404, 10, (*s3sink.BucketError).BucketNotFound},
			{"CreateMultipartUpload", "AccessDenied", 403, part + 1, (*s3sink.BucketError).AccessDenied},
			{"UploadPart", "AccessDenied", 403, part + 1, (*s3sink.BucketError).AccessDenied},
			{"CompleteMultipartUpload", "NoSuchBucket", 404, part + 1, (*s3sink.BucketError).BucketNotFound},
		} {
			t.Run(c.op+"_"+c.code, func(t *testing.T) {
				e := newEnv(t)
				e.proxy.SetRule(func(r recorded) *fault {
					if r.Op == c.op {
						return &fault{Status: c.status, Code: c.code}
					}
					return nil
				})
				s := e.sink(&s3sink.Options{PartSize: part}, func(o *s3sink.ClientOptions) { o.MaxAttempts = 5 })
				err := sink.WriteObject(e.ctx, s, "obj", data(11, c.size), nil)
				var be *s3sink.BucketError
				if !errors.As(err, &be) || be.Op != c.op || be.Code != c.code || !c.check(be) {
					t.Fatalf("WriteObject = %v, want a *BucketError of %s with code %s", err, c.op, c.code)
				}
				// One attempt per request: parts 1 and 2 may both have
				// been sent, but neither again.
				attempts := map[string]int{}
				for _, r := range e.proxy.Requests() {
					if r.Op == c.op {
						attempts[r.Query.Get("partNumber")]++
					}
				}
				for pn, n := range attempts {
					if n != 1 {
						t.Errorf("%d %s attempts (part %q) for a %d, want 1 (no retries)", n, c.op, pn, c.status)
					}
				}
				e.wantNothing("obj")
			})
		}
	})
	t.Run("EndpointGoesAway", func(t *testing.T) {
		// Every connection is reset from the second part on, so the write
		// fails; the endpoint comes back once the sink starts aborting,
		// and the abort's own retries clean up.
		e := newEnv(t)
		var down atomic.Bool
		var sawAbort atomic.Bool
		e.proxy.SetRule(func(r recorded) *fault {
			if r.Op == "UploadPart" && r.Query.Get("partNumber") == "2" {
				down.Store(true)
			}
			if !down.Load() {
				return nil
			}
			if r.Op == "AbortMultipartUpload" {
				if sawAbort.Swap(true) {
					down.Store(false) // back for the abort's retry
					return nil
				}
			}
			return &fault{Reset: true}
		})
		s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, func(o *s3sink.ClientOptions) { o.MaxAttempts = 2 })
		err := sink.WriteObject(e.ctx, s, "obj", data(12, 3*part), nil)
		if err == nil {
			t.Fatal("write succeeded with the endpoint gone")
		}
		var be *s3sink.BucketError
		if !errors.As(err, &be) || be.StatusCode != 0 || be.Key != "obj" || !strings.Contains(err.Error(), "s3://"+e.bucket+"/obj") {
			t.Errorf("error %v: want a *BucketError naming the object, without an HTTP status", err)
		}
		if !sawAbort.Load() {
			t.Error("no abort was tried")
		}
		e.wantNothing("obj")
	})
}

// TestConcurrentWritersShareNothing runs many writers at once through one
// sink: pooled part buffers must not leak bytes between objects.
func TestConcurrentWritersShareNothing(t *testing.T) {
	e := newEnv(t)
	s := e.sink(&s3sink.Options{PartSize: part, Concurrency: 2}, nil)
	const n = 6
	payloads := make([][]byte, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		payloads[i] = data(uint64(100+i), part*(i%3)+i*4099+1)
		wg.Go(func() {
			errs[i] = sink.WriteObject(e.ctx, s, "o"+string(rune('a'+i)), payloads[i], nil)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		e.wantObject("o"+string(rune('a'+i)), payloads[i])
	}
}

// TestListPaginates lists more objects than one ListObjectsV2 page (1,000).
func TestListPaginates(t *testing.T) {
	e := newEnv(t)
	const n = 1003
	keys := make(chan string, n)
	for i := range n {
		keys <- fmt.Sprintf("p/%04d", i)
	}
	close(keys)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range 8 {
		wg.Go(func() {
			for k := range keys {
				if err := sink.WriteObject(e.ctx, e.direct, k, nil, nil); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	i := 0
	for o, err := range e.sink(nil, nil).List(e.ctx, "p/") {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("p/%04d", i); o.Key != want || o.Size != 0 {
			t.Fatalf("object %d: %q (%d bytes), want %q", i, o.Key, o.Size, want)
		}
		i++
	}
	if i != n {
		t.Errorf("List gave %d objects, want %d", i, n)
	}
	if pages := e.proxy.Count("ListObjectsV2"); pages < 2 {
		t.Errorf("%d ListObjectsV2 pages for %d objects, want 2 or more", pages, n)
	}
}
