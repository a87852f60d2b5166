package sinktest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/snapexport/snapexport/internal/registry"
	"github.com/snapexport/snapexport/sink"
)

// Harness gives the suite sinks over one piece of storage (a bucket, a
// directory, a named memory store).
type Harness interface {
	// MakeSink returns a sink over the harness's storage. Every sink it
	// returns must see the same objects, so the suite can use a second one
	// as "another process" that must not see unfinished objects. The suite
	// closes the sinks it makes.
	MakeSink(ctx context.Context) (sink.Sink, error)
	// Close releases what the harness holds. It is called once, after the
	// sinks are closed.
	Close()
}

// HarnessMaker makes a harness for one subtest.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// LeftoverLister is implemented by harnesses that can see what a write may
// leave behind outside the Sink interface: temp files of a directory sink,
// incomplete multipart uploads of an S3 sink.
type LeftoverLister interface {
	// Leftovers describes every leftover of writes to keys starting with
	// prefix (temp file paths, upload keys and IDs), or nothing. The suite
	// only passes prefixes that end in "/", and calls it when no writer
	// under prefix is open.
	Leftovers(ctx context.Context, prefix string) ([]string, error)
}

// largeSize is above S3's 5 MiB minimum part size, so a multipart upload
// has more than one part, and odd, so no chunk size divides it.
const largeSize = 6<<20 + 12345

// RunConformanceTests runs every conformance subtest against the sinks that
// newHarness makes. newHarness is called once per subtest.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	t.Helper()
	run := "sinktest-" + randomHex(6)
	r := &runner{newHarness: newHarness, run: run}

	t.Run("NewWriter", func(t *testing.T) {
		t.Run("VisibleOnlyAfterClose", r.wrap(testVisibleOnlyAfterClose))
		t.Run("ExactBytes", testExactBytes(r))
		t.Run("ReplaceIsAtomic", r.wrap(testReplaceIsAtomic))
		t.Run("ReplaceWithShorter", r.wrap(testReplaceWithShorter))
		t.Run("CancelBeforeClose", testCancelBeforeClose(r))
		t.Run("InvalidKey", r.wrap(testInvalidKey))
		t.Run("ConcurrentWriters", r.wrap(testConcurrentWriters))
	})
	t.Run("IfNotExists", func(t *testing.T) {
		t.Run("Missing", r.wrap(testIfNotExistsMissing))
		t.Run("Existing", r.wrap(testIfNotExistsExisting))
		t.Run("CreatedWhileWriting", r.wrap(testIfNotExistsCreatedWhileWriting))
		t.Run("Race", r.wrap(testIfNotExistsRace))
	})
	t.Run("NewReader", func(t *testing.T) {
		t.Run("Missing", r.wrap(testReaderMissing))
	})
	t.Run("List", func(t *testing.T) {
		t.Run("LexicalOrderAndSizes", r.wrap(testListOrder))
		t.Run("PrefixNotAtSlash", r.wrap(testListPartialPrefix))
		t.Run("ExcludesInProgress", r.wrap(testListExcludesInProgress))
		t.Run("StopEarly", r.wrap(testListStopEarly))
	})
	t.Run("Delete", func(t *testing.T) {
		t.Run("Existing", r.wrap(testDeleteExisting))
		t.Run("Missing", r.wrap(testDeleteMissing))
	})
	t.Run("Location", r.wrap(testLocation))
	t.Run("Sweeper", func(t *testing.T) {
		t.Run("AbandonedIsSwept", r.wrap(testSweepAbandoned))
		t.Run("SweepGone", r.wrap(testSweepGone))
		t.Run("OnlyUnderPrefix", r.wrap(testSweepOnlyUnderPrefix))
	})
	t.Run("SinkCloseAbortsWriters", r.wrap(testSinkCloseAborts))
	t.Run("StoreFailures", func(t *testing.T) {
		t.Run("Nonexistent", r.wrap(testNonexistent))
		t.Run("AccessDenied", r.wrap(testDenied))
	})
}

type runner struct {
	newHarness HarnessMaker
	run        string
}

// env is what one subtest works with.
type env struct {
	t      *testing.T
	ctx    context.Context
	h      Harness
	s      sink.Sink // the sink under test
	other  sink.Sink // a second sink over the same storage: "another process"
	prefix string    // every key of the subtest starts with it
}

func (r *runner) wrap(f func(e *env)) func(t *testing.T) {
	return func(t *testing.T) { f(r.setup(t)) }
}

func (r *runner) setup(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	h, err := r.newHarness(ctx, t)
	if err != nil {
		t.Fatalf("making harness: %v", err)
	}
	t.Cleanup(h.Close)
	makeSink := func() sink.Sink {
		s, err := h.MakeSink(ctx)
		if err != nil {
			t.Fatalf("MakeSink: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Sink.Close: %v", err)
			}
		})
		return s
	}
	e := &env{t: t, ctx: ctx, h: h, s: makeSink(), other: makeSink()}
	e.prefix = r.run + "/" + keySafe(t.Name()) + "/"
	// Registered last, so it runs before the sinks are closed. t.Context is
	// already cancelled when cleanups run.
	t.Cleanup(func() {
		ctx := context.Background()
		for obj, err := range e.s.List(ctx, e.prefix) {
			if err != nil {
				t.Errorf("cleanup: List(%q): %v", e.prefix, err)
				return
			}
			if err := e.s.Delete(ctx, obj.Key); err != nil {
				t.Errorf("cleanup: Delete(%q): %v", obj.Key, err)
			}
		}
	})
	return e
}

// keySafe turns a test name into key segments S3 and file systems accept.
func keySafe(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	return strings.Join(segs, "/")
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// pattern returns n deterministic pseudo-random bytes; seeds give distinct
// contents, so a mixed-up object cannot compare equal by accident.
func pattern(seed uint64, n int) []byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = mrand.NewChaCha8(s).Read(b)
	return b
}

func (e *env) key(name string) string { return e.prefix + name }

func (e *env) write(key string, data []byte) {
	e.t.Helper()
	if err := sink.WriteObject(e.ctx, e.s, key, data, nil); err != nil {
		e.t.Fatalf("writing %q: %v", key, err)
	}
}

// wantBytes checks that key holds exactly want, read through s.
func (e *env) wantBytes(s sink.Sink, key string, want []byte) {
	e.t.Helper()
	got, err := sink.ReadObject(e.ctx, s, key)
	if err != nil {
		e.t.Errorf("reading %q: %v", key, err)
		return
	}
	if d := diff(got, want); d != "" {
		e.t.Errorf("object %q: %s", key, d)
	}
}

func diff(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at byte %d", len(got), len(want), i)
}

// wantMissing checks that key is invisible through both sinks: NewReader
// fails with ErrNotExist and List does not show it.
func (e *env) wantMissing(key string) {
	e.t.Helper()
	for _, s := range []sink.Sink{e.s, e.other} {
		r, err := s.NewReader(e.ctx, key)
		if err == nil {
			r.Close()
			e.t.Errorf("NewReader(%q) succeeded, want an error wrapping ErrNotExist", key)
		} else if !errors.Is(err, sink.ErrNotExist) {
			e.t.Errorf("NewReader(%q) = %v, want an error wrapping ErrNotExist", key, err)
		}
		for _, o := range e.list(s, key) {
			if o.Key == key {
				e.t.Errorf("List(%q) shows %q (size %d), which must not be visible", key, key, o.Size)
			}
		}
	}
}

func (e *env) list(s sink.Sink, prefix string) []sink.Object {
	e.t.Helper()
	var out []sink.Object
	for o, err := range s.List(e.ctx, prefix) {
		if err != nil {
			e.t.Fatalf("List(%q): %v", prefix, err)
		}
		out = append(out, o)
	}
	return out
}

// wantList checks that List(prefix) gives exactly want (keys relative to the
// subtest prefix, in order) with the given sizes, through both sinks.
func (e *env) wantList(prefix string, want map[string]int) {
	e.t.Helper()
	wantKeys := make([]string, 0, len(want))
	for k := range want {
		wantKeys = append(wantKeys, e.key(k))
	}
	slices.Sort(wantKeys)
	for i, s := range []sink.Sink{e.s, e.other} {
		got := e.list(s, prefix)
		gotKeys := make([]string, len(got))
		for j, o := range got {
			gotKeys[j] = o.Key
		}
		if !slices.Equal(gotKeys, wantKeys) {
			e.t.Errorf("List(%q) through sink %d:\n got  %q\n want %q", prefix, i+1, gotKeys, wantKeys)
			continue
		}
		for _, o := range got {
			if w := int64(want[strings.TrimPrefix(o.Key, e.prefix)]); o.Size != w {
				e.t.Errorf("List(%q): %q has Size %d, want %d", prefix, o.Key, o.Size, w)
			}
		}
	}
}

// wantNoLeftovers checks, when the harness can tell, that writes under the
// subtest prefix left nothing behind.
func (e *env) wantNoLeftovers() {
	e.t.Helper()
	ll, ok := e.h.(LeftoverLister)
	if !ok {
		return
	}
	left, err := ll.Leftovers(e.ctx, e.prefix)
	if err != nil {
		e.t.Errorf("Leftovers(%q): %v", e.prefix, err)
		return
	}
	if len(left) > 0 {
		e.t.Errorf("aborted or refused writes left behind %q", left)
	}
}

func (e *env) newWriter(ctx context.Context, key string, opts *sink.WriterOptions) sink.Writer {
	e.t.Helper()
	w, err := e.s.NewWriter(ctx, key, opts)
	if err != nil {
		e.t.Fatalf("NewWriter(%q): %v", key, err)
	}
	return w
}

func (e *env) mustWrite(w sink.Writer, p []byte) {
	e.t.Helper()
	n, err := w.Write(p)
	if err != nil || n != len(p) {
		e.t.Fatalf("Write of %d bytes = %d, %v", len(p), n, err)
	}
}

// writeChunks writes data in chunks of sizes cycling through sizes.
func (e *env) writeChunks(w sink.Writer, data []byte, sizes ...int) {
	e.t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		e.mustWrite(w, data[:n])
		data = data[n:]
	}
}

func testVisibleOnlyAfterClose(e *env) {
	key := e.key("obj")
	w := e.newWriter(e.ctx, key, nil)
	e.wantMissing(key)
	e.mustWrite(w, []byte("hello, "))
	e.wantMissing(key)
	e.mustWrite(w, []byte("world"))
	e.wantMissing(key)
	if err := w.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.wantBytes(e.s, key, []byte("hello, world"))
	e.wantBytes(e.other, key, []byte("hello, world"))
	e.wantList(e.prefix, map[string]int{"obj": 12})
}

func testExactBytes(r *runner) func(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := []struct {
		name   string
		data   []byte
		chunks []int // nil: one Write per element of data, see below
	}{
		{"Empty", nil, nil},
		{"OneByte", []byte("x"), []int{1}},
		{"AllByteValues", all, []int{3, 100}},
		{"LargeOddChunks", pattern(1, largeSize), []int{1, 7, 4093, 65537, 1<<20 + 3}},
		{"LargeOneWrite", pattern(2, largeSize), []int{largeSize}},
	}
	return func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, r.wrap(func(e *env) {
				key := e.key("obj")
				w := e.newWriter(e.ctx, key, nil)
				if c.data == nil {
					// Empty writes must not break an empty object.
					e.mustWrite(w, nil)
					e.mustWrite(w, []byte{})
				}
				e.writeChunks(w, c.data, c.chunks...)
				if err := w.Close(); err != nil {
					e.t.Fatalf("Close: %v", err)
				}
				e.wantBytes(e.s, key, c.data)
				e.wantBytes(e.other, key, c.data)
				e.wantList(e.prefix, map[string]int{"obj": len(c.data)})
			}))
		}
	}
}

// testReplaceIsAtomic reads the object over and over while it is replaced:
// every read must give the old or the new bytes, never a mix, a truncated
// object or ErrNotExist.
func testReplaceIsAtomic(e *env) {
	key := e.key("obj")
	oldData, newData := pattern(10, 1<<20+1), pattern(11, 3<<19+7)
	e.write(key, oldData)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var reads, sawNew int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := sink.ReadObject(e.ctx, e.other, key)
			if err != nil {
				e.t.Errorf("reading %q during its replacement: %v", key, err)
				return
			}
			reads++
			switch {
			case bytes.Equal(got, newData):
				sawNew++
			case !bytes.Equal(got, oldData):
				e.t.Errorf("read during replacement gave neither version: vs old: %s; vs new: %s", diff(got, oldData), diff(got, newData))
				return
			}
		}
	})

	w := e.newWriter(e.ctx, key, nil)
	e.writeChunks(w, newData, 65536+1)
	e.wantBytes(e.s, key, oldData) // not replaced before Close
	err := w.Close()
	close(stop)
	wg.Wait()
	if err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.t.Logf("%d reads during the replacement, %d of them of the new version", reads, sawNew)
	e.wantBytes(e.s, key, newData)
	e.wantBytes(e.other, key, newData)
	e.wantList(e.prefix, map[string]int{"obj": len(newData)})
}

func testReplaceWithShorter(e *env) {
	key := e.key("obj")
	e.write(key, []byte("a longer first version"))
	e.write(key, []byte("short"))
	e.wantBytes(e.s, key, []byte("short"))
	e.wantList(e.prefix, map[string]int{"obj": 5})
}

func testCancelBeforeClose(r *runner) func(t *testing.T) {
	// wantCancelled checks Close's error after a cancellation.
	wantCancelled := func(e *env, err error) {
		e.t.Helper()
		if err == nil {
			e.t.Fatal("Close after the writer's context was cancelled returned nil, want an error")
		}
		if !errors.Is(err, context.Canceled) {
			e.t.Errorf("Close after cancel = %v, want an error wrapping context.Canceled", err)
		}
	}
	return func(t *testing.T) {
		t.Run("BeforeAnyWrite", r.wrap(func(e *env) {
			key := e.key("obj")
			ctx, cancel := context.WithCancel(e.ctx)
			w := e.newWriter(ctx, key, nil)
			cancel()
			_, _ = w.Write([]byte("written after cancel")) // may fail; Close must
			wantCancelled(e, w.Close())
			e.wantMissing(key)
			e.wantNoLeftovers()
		}))
		t.Run("WhilePartsUpload", r.wrap(func(e *env) {
			// Several parts of an S3 sink of any part size, the last still
			// uploading when the cancel comes: once Close returns, the
			// abort is done and nothing is left.
			key := e.key("obj")
			ctx, cancel := context.WithCancel(e.ctx)
			w := e.newWriter(ctx, key, nil)
			e.writeChunks(w, pattern(21, abandonLimit), 1<<20)
			cancel()
			wantCancelled(e, w.Close())
			e.wantNoLeftovers()
			e.wantMissing(key)
		}))
		t.Run("AfterWrites", r.wrap(func(e *env) {
			key := e.key("obj")
			ctx, cancel := context.WithCancel(e.ctx)
			w := e.newWriter(ctx, key, nil)
			// Large enough that an S3 sink has parts in flight.
			e.writeChunks(w, pattern(20, largeSize), 1<<20)
			cancel()
			wantCancelled(e, w.Close())
			e.wantMissing(key)
			e.wantNoLeftovers()
		}))
		t.Run("ReplacingExisting", r.wrap(func(e *env) {
			key := e.key("obj")
			e.write(key, []byte("old"))
			ctx, cancel := context.WithCancel(e.ctx)
			w := e.newWriter(ctx, key, nil)
			e.mustWrite(w, []byte("new version that must never be seen"))
			cancel()
			wantCancelled(e, w.Close())
			e.wantBytes(e.s, key, []byte("old"))
			e.wantBytes(e.other, key, []byte("old"))
			e.wantList(e.prefix, map[string]int{"obj": 3})
			e.wantNoLeftovers()
		}))
		t.Run("CancelledBeforeNewWriter", r.wrap(func(e *env) {
			key := e.key("obj")
			ctx, cancel := context.WithCancel(e.ctx)
			cancel()
			// Refusing at once is fine; accepting and failing Close too.
			if w, err := e.s.NewWriter(ctx, key, nil); err != nil {
				if !errors.Is(err, context.Canceled) {
					e.t.Errorf("NewWriter with a cancelled context = %v, want an error wrapping context.Canceled", err)
				}
			} else {
				_, _ = w.Write([]byte("data"))
				wantCancelled(e, w.Close())
			}
			e.wantMissing(key)
			e.wantNoLeftovers()
		}))
	}
}

func testInvalidKey(e *env) {
	keys := []string{
		// The forms the contract names, bare.
		"", "/abs", "/", "../x", "..", ".", "./x", "a\\b", "a\x00b",
		// And after a valid prefix, so a driver that wrongly accepts them
		// still writes inside the suite's prefix.
		e.key("a/../b"), e.key("a/./b"), e.key("a//b"), e.key("a/"), e.key("."), e.key(".."),
		e.key("a\\b"), e.key("a\x00b"), "/" + e.key("abs"),
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	var accepted []sink.Writer
	for _, k := range keys {
		w, err := e.s.NewWriter(ctx, k, nil)
		if err == nil {
			e.t.Errorf("NewWriter(%q) succeeded, want an error wrapping ErrInvalidKey", k)
			accepted = append(accepted, w)
			continue
		}
		if !errors.Is(err, sink.ErrInvalidKey) {
			e.t.Errorf("NewWriter(%q) = %v, want an error wrapping ErrInvalidKey", k, err)
		}
	}
	cancel() // abandon whatever was wrongly accepted
	for _, w := range accepted {
		_ = w.Close()
	}
	e.wantList(e.prefix, nil)
	e.wantNoLeftovers()
}

// testConcurrentWriters writes many objects at once through one sink, with a
// lister running alongside that must only ever see complete objects.
func testConcurrentWriters(e *env) {
	const n = 16
	data := make([][]byte, n)
	want := map[string]int{}
	for i := range n {
		data[i] = pattern(uint64(100+i), 50_000+i*1013)
		want[fmt.Sprintf("obj-%02d", i)] = len(data[i])
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			key := e.key(fmt.Sprintf("obj-%02d", i))
			w, err := e.s.NewWriter(e.ctx, key, nil)
			if err != nil {
				errs <- fmt.Errorf("NewWriter(%q): %w", key, err)
				return
			}
			for p := data[i]; len(p) > 0; {
				c := min(len(p), 4096+i)
				if _, err := w.Write(p[:c]); err != nil {
					errs <- fmt.Errorf("Write(%q): %w", key, err)
					_ = w.Close()
					return
				}
				p = p[c:]
			}
			if err := w.Close(); err != nil {
				errs <- fmt.Errorf("Close(%q): %w", key, err)
			}
		})
	}
	done := make(chan struct{})
	var listers sync.WaitGroup
	listers.Go(func() {
		for {
			for o, err := range e.other.List(e.ctx, e.prefix) {
				if err != nil {
					e.t.Errorf("List during writes: %v", err)
					return
				}
				if w, ok := want[strings.TrimPrefix(o.Key, e.prefix)]; !ok || o.Size != int64(w) {
					e.t.Errorf("List during writes shows %q with Size %d; want only complete objects", o.Key, o.Size)
				}
			}
			select {
			case <-done:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(done)
	listers.Wait()
	close(errs)
	for err := range errs {
		e.t.Error(err)
	}
	if e.t.Failed() {
		return
	}
	for i := range n {
		e.wantBytes(e.other, e.key(fmt.Sprintf("obj-%02d", i)), data[i])
	}
	e.wantList(e.prefix, want)
}

var ifNotExists = &sink.WriterOptions{IfNotExists: true}

func testIfNotExistsMissing(e *env) {
	key := e.key("obj")
	if err := sink.WriteObject(e.ctx, e.s, key, []byte("first"), ifNotExists); err != nil {
		e.t.Fatalf("IfNotExists write of a new key: %v", err)
	}
	e.wantBytes(e.other, key, []byte("first"))
}

// writeIfNotExists writes key with IfNotExists and returns the error of
// NewWriter (a sink may refuse early) or of Close.
func (e *env) writeIfNotExists(key string, data []byte) error {
	e.t.Helper()
	w, err := e.s.NewWriter(e.ctx, key, ifNotExists)
	if err != nil {
		return err
	}
	e.mustWrite(w, data)
	return w.Close()
}

func testIfNotExistsExisting(e *env) {
	key := e.key("obj")
	e.write(key, []byte("first"))
	err := e.writeIfNotExists(key, []byte("second, must not replace"))
	if !errors.Is(err, sink.ErrExist) {
		e.t.Errorf("IfNotExists write over an existing object = %v, want an error wrapping ErrExist", err)
	}
	e.wantBytes(e.s, key, []byte("first"))
	e.wantBytes(e.other, key, []byte("first"))
	e.wantList(e.prefix, map[string]int{"obj": 5})
	e.wantNoLeftovers()
}

// testIfNotExistsCreatedWhileWriting: the check belongs to Close, not only
// to NewWriter.
func testIfNotExistsCreatedWhileWriting(e *env) {
	key := e.key("obj")
	w := e.newWriter(e.ctx, key, ifNotExists)
	e.mustWrite(w, []byte("conditional"))
	e.write(key, []byte("plain"))
	if err := w.Close(); !errors.Is(err, sink.ErrExist) {
		e.t.Errorf("Close of an IfNotExists writer after the object was created = %v, want an error wrapping ErrExist", err)
	}
	e.wantBytes(e.other, key, []byte("plain"))
	e.wantNoLeftovers()
}

// testIfNotExistsRace closes many IfNotExists writers for one key at once.
// With an atomic ConditionalWriter exactly one must win; otherwise at least
// one wins and the object holds a winner's bytes.
func testIfNotExistsRace(e *env) {
	const n = 8
	cw, ok := e.s.(sink.ConditionalWriter)
	atomic := ok && cw.AtomicIfNotExists()
	key := e.key("obj")
	writers := make([]sink.Writer, n)
	data := make([][]byte, n)
	for i := range n {
		data[i] = pattern(uint64(200+i), 10_000+i)
		writers[i] = e.newWriter(e.ctx, key, ifNotExists)
		e.mustWrite(writers[i], data[i])
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = writers[i].Close()
		})
	}
	close(start)
	wg.Wait()
	var winners []int
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, i)
		case !errors.Is(err, sink.ErrExist):
			e.t.Errorf("racing IfNotExists writer %d: Close = %v, want nil or an error wrapping ErrExist", i, err)
		}
	}
	if len(winners) == 0 || atomic && len(winners) != 1 {
		e.t.Errorf("%d of %d racing IfNotExists writers won (AtomicIfNotExists=%v): %v", len(winners), n, atomic, winners)
	}
	got, err := sink.ReadObject(e.ctx, e.other, key)
	if err != nil {
		e.t.Fatalf("reading the raced object: %v", err)
	}
	if !slices.ContainsFunc(winners, func(i int) bool { return bytes.Equal(got, data[i]) }) {
		e.t.Errorf("raced object (%d bytes) holds no winner's bytes (winners %v)", len(got), winners)
	}
	e.wantNoLeftovers()
}

func testReaderMissing(e *env) {
	e.write(e.key("dir/obj"), []byte("x"))
	for _, k := range []string{"missing", "dir", "dir/obj/below", "dir/ob", "di"} {
		key := e.key(k)
		for _, s := range []sink.Sink{e.s, e.other} {
			r, err := s.NewReader(e.ctx, key)
			if err == nil {
				r.Close()
				e.t.Errorf("NewReader(%q) succeeded, want an error wrapping ErrNotExist", key)
			} else if !errors.Is(err, sink.ErrNotExist) {
				e.t.Errorf("NewReader(%q) = %v, want an error wrapping ErrNotExist", key, err)
			}
		}
	}
}

// listKeys holds names whose lexical order differs from a per-directory walk
// ("a/b.x" < "a/b/c" < "a/b0") and from case-folded or rune order. No key is
// a "directory" of another, which a file system cannot hold.
var listKeys = []string{"b", "a/b/c", "a-b", "a/b0", "a/b.x", "a/b/d/e", "a.b", "A", "c d/e", "\u00e9", "\u00fc/x", "z", "a/empty"}

func (e *env) writeListKeys() map[string]int {
	want := map[string]int{}
	for i, k := range listKeys {
		n := i * 37
		if k == "a/empty" {
			n = 0
		}
		e.write(e.key(k), pattern(uint64(300+i), n))
		want[k] = n
	}
	return want
}

// subset keeps the entries of m whose key starts with prefix.
func subset(m map[string]int, prefix string) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

func testListOrder(e *env) {
	all := e.writeListKeys()
	e.wantList(e.prefix, all)
	for _, p := range []string{"a/", "a/b/", "a/b/d/", "\u00fc/", "c d/"} {
		e.wantList(e.key(p), subset(all, p))
	}
	// The run prefix covers this subtest's objects, and other subtests'
	// objects are deleted, so this lists across a "directory" of prefixes.
	parent := e.prefix[:strings.LastIndex(strings.TrimSuffix(e.prefix, "/"), "/")+1]
	var got []string
	for o, err := range e.s.List(e.ctx, parent) {
		if err != nil {
			e.t.Fatalf("List(%q): %v", parent, err)
		}
		if strings.HasPrefix(o.Key, e.prefix) {
			got = append(got, o.Key)
		}
	}
	if !slices.IsSorted(got) || len(got) != len(all) {
		e.t.Errorf("List(%q) gave this subtest's objects as %q, want %d keys in lexical order", parent, got, len(all))
	}
}

// testListPartialPrefix: a prefix is a string prefix of keys, as in S3, not
// a directory name.
func testListPartialPrefix(e *env) {
	all := e.writeListKeys()
	for _, p := range []string{"a", "a/b", "a/b/d/e", "a.", "c", "\u00e9", "\u00fc", "nothing", "a/b.x/", "b/", "z/nothing"} {
		e.wantList(e.key(p), subset(all, p))
	}
}

func testListExcludesInProgress(e *env) {
	e.write(e.key("done"), []byte("12345"))
	pending := e.newWriter(e.ctx, e.key("pending"), nil)
	e.mustWrite(pending, []byte("in progress"))
	replacing := e.newWriter(e.ctx, e.key("done"), nil)
	e.mustWrite(replacing, []byte("a longer replacement"))
	e.wantList(e.prefix, map[string]int{"done": 5})
	if err := pending.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	if err := replacing.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.wantList(e.prefix, map[string]int{"done": 20, "pending": 11})
}

func testListStopEarly(e *env) {
	for _, k := range []string{"a", "b", "c/d"} {
		e.write(e.key(k), []byte(k))
	}
	var got []string
	for o, err := range e.s.List(e.ctx, e.prefix) {
		if err != nil {
			e.t.Fatalf("List: %v", err)
		}
		got = append(got, o.Key)
		if len(got) == 2 {
			break
		}
	}
	if want := []string{e.key("a"), e.key("b")}; !slices.Equal(got, want) {
		e.t.Errorf("List stopped after two: got %q, want %q", got, want)
	}
}

func testDeleteExisting(e *env) {
	key, sibling := e.key("dir/obj"), e.key("dir/sibling")
	e.write(key, []byte("x"))
	e.write(sibling, []byte("yy"))
	if err := e.s.Delete(e.ctx, key); err != nil {
		e.t.Fatalf("Delete(%q): %v", key, err)
	}
	e.wantMissing(key)
	e.wantBytes(e.other, sibling, []byte("yy"))
	e.wantList(e.prefix, map[string]int{"dir/sibling": 2})
	if err := e.s.Delete(e.ctx, key); !errors.Is(err, sink.ErrNotExist) {
		e.t.Errorf("second Delete(%q) = %v, want an error wrapping ErrNotExist", key, err)
	}
	// The key can be written again.
	e.write(key, []byte("again"))
	e.wantBytes(e.other, key, []byte("again"))
}

func testDeleteMissing(e *env) {
	e.write(e.key("dir/obj"), []byte("x"))
	for _, k := range []string{"missing", "dir", "dir/obj/below", "dir/ob"} {
		if err := e.s.Delete(e.ctx, e.key(k)); !errors.Is(err, sink.ErrNotExist) {
			e.t.Errorf("Delete(%q) = %v, want an error wrapping ErrNotExist", e.key(k), err)
		}
	}
	e.wantBytes(e.other, e.key("dir/obj"), []byte("x"))
}

func testLocation(e *env) {
	loc := e.s.Location()
	if loc == "" {
		e.t.Fatal("Location() is empty")
	}
	u, err := url.Parse(loc)
	if err != nil {
		e.t.Fatalf("Location() = %q, not a URL: %v", loc, err)
	}
	if u.Scheme == "" {
		e.t.Errorf("Location() = %q has no scheme", loc)
	}
	if u.User != nil {
		e.t.Errorf("Location() = %q has user information, which may be a secret", loc)
	}
	if r := registry.Redact(loc); r != loc {
		e.t.Errorf("Location() = %q carries a secret (redacted: %q)", loc, r)
	}
}
