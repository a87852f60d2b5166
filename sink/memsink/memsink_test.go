package memsink_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/memsink"
	"github.com/snapexport/snapexport/sink/sinktest"
)

type harness struct{ name string }

func (h *harness) MakeSink(context.Context) (sink.Sink, error) { return memsink.New(h.name), nil }

func (h *harness) Close() {
	if s, ok := memsink.Lookup(h.name); ok {
		s.Clear()
	}
}

// MakeNonexistentSink is a handle to a store that does not exist.
func (h *harness) MakeNonexistentSink(context.Context) (sink.Sink, error) {
	return memsink.Absent(h.name + "-absent"), nil
}

// memsink has no credentials, so no DeniedMaker.
var _ sinktest.NonexistentMaker = (*harness)(nil)

func TestConformance(t *testing.T) {
	sinktest.RunConformanceTests(t, func(context.Context, *testing.T) (sinktest.Harness, error) {
		return &harness{name: memsink.New("").Name()}, nil
	})
}

func TestSameNameSameStore(t *testing.T) {
	ctx := t.Context()
	opened, err := sink.OpenURL(ctx, "mem://same-name-test")
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	if got := opened.Location(); got != "mem://same-name-test" {
		t.Errorf("Location() = %q", got)
	}
	if err := sink.WriteObject(ctx, opened, "a/b.json", []byte(`{}`), &sink.WriterOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
	s, ok := memsink.Lookup("same-name-test")
	if !ok {
		t.Fatal(`Lookup("same-name-test") found nothing after opening mem://same-name-test`)
	}
	if got := s.Keys(); !slices.Equal(got, []string{"a/b.json"}) {
		t.Errorf("Keys() = %q", got)
	}
	if b, ok := s.Bytes("a/b.json"); !ok || string(b) != "{}" {
		t.Errorf("Bytes = %q, %v", b, ok)
	}
	if ct, ok := memsink.New("same-name-test").ContentType("a/b.json"); !ok || ct != "application/json" {
		t.Errorf("ContentType = %q, %v", ct, ok)
	}
	if _, ok := s.Bytes("missing"); ok {
		t.Error("Bytes of a missing key reports it exists")
	}
	// Bytes hands out a copy.
	b, _ := s.Bytes("a/b.json")
	b[0] = 'X'
	if again, _ := s.Bytes("a/b.json"); string(again) != "{}" {
		t.Errorf("changing what Bytes returned changed the object to %q", again)
	}
	if _, ok := memsink.Lookup("never-created"); ok {
		t.Error(`Lookup("never-created") found a store`)
	}
}

func TestAnonymousStoresAreDistinct(t *testing.T) {
	a, b := memsink.New(""), memsink.New("")
	if a.Name() == b.Name() || a.Name() == "" {
		t.Fatalf("New(\"\") names %q and %q, want two distinct names", a.Name(), b.Name())
	}
	if err := sink.WriteObject(t.Context(), a, "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if len(b.Keys()) != 0 {
		t.Errorf("second anonymous store sees %q", b.Keys())
	}
	// Location opens the same store again by URL.
	s, err := sink.OpenURL(t.Context(), a.Location())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := sink.ReadObject(t.Context(), s, "k"); err != nil || string(got) != "v" {
		t.Errorf("reading through %s = %q, %v", a.Location(), got, err)
	}
}

func TestBadURLs(t *testing.T) {
	for _, u := range []string{"mem://", "mem://x/path", "mem://x?p=1", "mem:opaque", "mem://u:secret@x"} {
		s, err := sink.OpenURL(t.Context(), u)
		if err == nil {
			s.Close()
			t.Errorf("OpenURL(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("OpenURL(%q) error shows the password: %v", u, err)
		}
	}
}

func TestClosedHandle(t *testing.T) {
	ctx := t.Context()
	s := memsink.New("")
	other := memsink.New(s.Name())
	if err := sink.WriteObject(ctx, s, "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(ctx, "pending", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("a writer of a closed sink published its object")
	}
	if _, err := s.NewReader(ctx, "k"); err == nil {
		t.Error("NewReader on a closed sink succeeded")
	}
	if err := s.Delete(ctx, "k"); err == nil {
		t.Error("Delete on a closed sink succeeded")
	}
	for _, err := range s.List(ctx, "") {
		if err == nil {
			t.Error("List on a closed sink yielded an object")
		}
	}
	// Other handles keep working and keep the objects.
	if got, err := sink.ReadObject(ctx, other, "k"); err != nil || string(got) != "v" {
		t.Errorf("reading through another handle = %q, %v", got, err)
	}
	if _, err := other.NewReader(ctx, "pending"); !errors.Is(err, sink.ErrNotExist) {
		t.Errorf("NewReader(pending) = %v, want ErrNotExist", err)
	}
}

// TestAbsent: an Absent handle fails every operation with ErrNoSuchBucket
// and an OpError naming the store and the method, creates no store, and
// leaves a store of the same name alone.
func TestAbsent(t *testing.T) {
	ctx := t.Context()
	present := memsink.New("absent-test")
	if err := sink.WriteObject(ctx, present, "k", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"absent-test", "absent-test-never-made"} {
		s := memsink.Absent(name)
		check := func(op string, err error) {
			t.Helper()
			var oe *sink.OpError
			if !errors.Is(err, sink.ErrNoSuchBucket) || !errors.As(err, &oe) || oe.Location != name || oe.Op != op || oe.Code != "NoSuchStore" {
				t.Errorf("%s on Absent(%q) = %#v, want ErrNoSuchBucket with OpError{%q, %q, NoSuchStore}", op, name, err, name, op)
			}
		}
		_, err := s.NewWriter(ctx, "k", nil)
		check("NewWriter", err)
		_, err = s.NewReader(ctx, "k")
		check("NewReader", err)
		for _, err := range s.List(ctx, "") {
			check("List", err)
		}
		check("Delete", s.Delete(ctx, "k"))
		for _, err := range s.Abandoned(ctx, "") {
			check("Abandoned", err)
		}
		check("Sweep", s.Sweep(ctx, sink.Abandoned{Key: "k", ID: "mem-write-1"}))
		if s.Location() != "mem://"+name {
			t.Errorf("Location = %q", s.Location())
		}
	}
	if _, ok := memsink.Lookup("absent-test-never-made"); ok {
		t.Error("Absent made the store")
	}
	if b, ok := present.Bytes("k"); !ok || string(b) != "x" {
		t.Errorf("the present store of the same name changed: %q, %v", b, ok)
	}
}
