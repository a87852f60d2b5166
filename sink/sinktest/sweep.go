package sinktest

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/snapexport/snapexport/sink"
)

// abandonLimit bounds what abandon writes before the write must show in
// Abandoned: an S3 sink has something on the store only once its first
// part is sent, which takes more than one part of the default size.
const abandonLimit = 3 * largeSize

// sweeper returns the sinks' Sweeper (the other sink's: the resuming
// process), skipping the test for a sink without one.
func (e *env) sweeper() sink.Sweeper {
	e.t.Helper()
	sw, ok := e.other.(sink.Sweeper)
	if !ok {
		e.t.Skipf("%T does not implement sink.Sweeper", e.other)
	}
	if _, ok := e.s.(sink.Sweeper); !ok {
		e.t.Fatalf("%T implements sink.Sweeper but %T, over the same storage, does not", e.other, e.s)
	}
	return sw
}

// abandoned collects Abandoned(prefix) of the other sink.
func (e *env) abandoned(prefix string) []sink.Abandoned {
	e.t.Helper()
	var out []sink.Abandoned
	for a, err := range e.sweeper().Abandoned(e.ctx, prefix) {
		if err != nil {
			e.t.Fatalf("Abandoned(%q): %v", prefix, err)
		}
		out = append(out, a)
	}
	return out
}

// abandon starts a write to key through the sink under test and leaves it
// open, as a process that is killed leaves it, once the write has left
// something on the storage: it writes until the other sink's Abandoned
// shows it. The writer is cancelled and closed when the test ends.
func (e *env) abandon(key string) (sink.Writer, context.CancelFunc, sink.Abandoned) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	w := e.newWriter(ctx, key, nil)
	e.t.Cleanup(func() {
		cancel()
		_ = w.Close()
	})
	data := pattern(30, abandonLimit)
	for off := 0; ; {
		for _, a := range e.abandoned(key) {
			if a.Key == key {
				return w, cancel, a
			}
		}
		if off == len(data) {
			e.t.Fatalf("a write of %d bytes to %q, not closed, is not in Abandoned(%q)", off, key, key)
		}
		n := min(1<<20, len(data)-off)
		e.mustWrite(w, data[off:off+n])
		off += n
	}
}

func testSweepAbandoned(e *env) {
	before := time.Now()
	key := e.key("dir/obj")
	w, _, a := e.abandon(key)
	if a.ID == "" {
		e.t.Errorf("Abandoned gives %q with an empty ID", key)
	}
	if !a.Started.IsZero() && (a.Started.Before(before.Add(-time.Minute)) || a.Started.After(time.Now().Add(time.Minute))) {
		e.t.Errorf("Abandoned gives Started %v for a write begun at %v", a.Started, before)
	}
	if got := e.abandoned(e.prefix); !sameWrites(got, []sink.Abandoned{a}) {
		e.t.Errorf("Abandoned(%q) = %+v, want only %+v", e.prefix, got, a)
	}
	e.wantMissing(key)
	if err := e.sweeper().Sweep(e.ctx, a); err != nil {
		e.t.Fatalf("Sweep(%+v): %v", a, err)
	}
	if got := e.abandoned(e.prefix); len(got) != 0 {
		e.t.Errorf("Abandoned(%q) after Sweep = %+v, want nothing", e.prefix, got)
	}
	e.wantNoLeftovers()
	// The swept write's owner comes back (a process that was stalled,
	// not killed): its Close must not publish.
	if err := w.Close(); err == nil {
		e.t.Errorf("Close of a swept write succeeded, want an error")
	}
	e.wantMissing(key)
	e.wantList(e.prefix, nil)
	e.wantNoLeftovers()
}

func testSweepGone(e *env) {
	key := e.key("obj")
	w, _, a := e.abandon(key)
	sw := e.sweeper()
	if err := sw.Sweep(e.ctx, a); err != nil {
		e.t.Fatalf("Sweep(%+v): %v", a, err)
	}
	if err := sw.Sweep(e.ctx, a); err != nil {
		e.t.Errorf("second Sweep(%+v) = %v, want nil: a write already gone is not an error", a, err)
	}
	_ = w.Close()
	// A write that ended by itself (cancelled, then closed) is gone too.
	w2, cancel, a2 := e.abandon(e.key("obj2"))
	cancel()
	if err := w2.Close(); !errors.Is(err, context.Canceled) {
		e.t.Errorf("Close after cancel = %v, want an error wrapping context.Canceled", err)
	}
	if err := sw.Sweep(e.ctx, a2); err != nil {
		e.t.Errorf("Sweep(%+v) of a write cancelled and closed = %v, want nil", a2, err)
	}
	e.wantNoLeftovers()
}

// sameWrites compares Abandoned results by key and ID (a store may give
// Started with a different precision from one listing to the next).
func sameWrites(got, want []sink.Abandoned) bool {
	return slices.EqualFunc(got, want, func(a, b sink.Abandoned) bool { return a.Key == b.Key && a.ID == b.ID })
}

func hasWrite(got []sink.Abandoned, a sink.Abandoned) bool {
	return slices.ContainsFunc(got, func(b sink.Abandoned) bool { return a.Key == b.Key && a.ID == b.ID })
}

func testSweepOnlyUnderPrefix(e *env) {
	_, _, in := e.abandon(e.key("in/obj"))
	_, _, out := e.abandon(e.key("out/obj"))
	e.write(e.key("in/done"), []byte("finished objects are not abandoned"))
	for _, c := range []struct {
		prefix string
		want   []sink.Abandoned
	}{
		{e.key("in/"), []sink.Abandoned{in}},
		{e.key("i"), []sink.Abandoned{in}},
		{e.key("in/obj"), []sink.Abandoned{in}},
		{e.key("out/"), []sink.Abandoned{out}},
		{e.key("none/"), nil},
		{e.key("in/obj/"), nil},
	} {
		if got := e.abandoned(c.prefix); !sameWrites(got, c.want) {
			e.t.Errorf("Abandoned(%q) = %+v, want %+v", c.prefix, got, c.want)
		}
	}
	got := e.abandoned(e.prefix)
	if len(got) != 2 || !hasWrite(got, in) || !hasWrite(got, out) {
		e.t.Errorf("Abandoned(%q) = %+v, want %+v and %+v", e.prefix, got, in, out)
	}
	if err := e.sweeper().Sweep(e.ctx, in); err != nil {
		e.t.Fatal(err)
	}
	if got := e.abandoned(e.prefix); !sameWrites(got, []sink.Abandoned{out}) {
		e.t.Errorf("after sweeping %q, Abandoned(%q) = %+v, want only %+v", in.Key, e.prefix, got, out)
	}
	e.wantBytes(e.other, e.key("in/done"), []byte("finished objects are not abandoned"))
}

// testSinkCloseAborts: closing a sink aborts its writers still open, and
// once Close returns nothing of them is left.
func testSinkCloseAborts(e *env) {
	s, err := e.h.MakeSink(e.ctx)
	if err != nil {
		e.t.Fatalf("MakeSink: %v", err)
	}
	key := e.key("obj")
	w, err := s.NewWriter(e.ctx, key, nil)
	if err != nil {
		e.t.Fatalf("NewWriter(%q): %v", key, err)
	}
	e.writeChunks(w, pattern(31, abandonLimit), 1<<20)
	if err := s.Close(); err != nil {
		e.t.Errorf("Sink.Close with a writer open: %v", err)
	}
	e.wantNoLeftovers()
	if err := w.Close(); err == nil {
		e.t.Error("a writer of a closed sink published")
	}
	e.wantMissing(key)
	e.wantNoLeftovers()
}
