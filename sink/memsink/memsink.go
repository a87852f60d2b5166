package memsink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snapexport/snapexport/sink"
)

// Scheme is the URL scheme the package registers with sink.Register.
const Scheme = "mem"

func init() {
	sink.Register(Scheme, func(_ context.Context, u *url.URL) (sink.Sink, error) {
		return openURL(u)
	})
}

var (
	_ sink.Sink              = (*Sink)(nil)
	_ sink.ConditionalWriter = (*Sink)(nil)
	_ sink.Sweeper           = (*Sink)(nil)
)

// store holds the objects of one name, and the writers open on it.
type store struct {
	mu      sync.RWMutex
	objects map[string]object
	writers map[string]*writer // by ID: open, neither closed nor swept
	nextID  uint64
}

// object is immutable once stored: readers share data without copying.
type object struct {
	data        []byte
	modTime     time.Time
	contentType string
}

// stores maps names to stores: the process-wide state that makes one name
// one store (see the package documentation).
var (
	storesMu sync.Mutex
	stores   = map[string]*store{}
	anon     atomic.Uint64
)

// Sink is a handle to a named in-memory store.
type Sink struct {
	name   string
	st     *store
	absent bool // made by Absent: every operation fails
	closed atomic.Bool
}

// New returns a handle to the store called name, creating the store empty
// if no store has that name yet. An empty name makes a new store with a
// unique name ("anon-1", ...).
func New(name string) *Sink {
	storesMu.Lock()
	defer storesMu.Unlock()
	if name == "" {
		for {
			name = "anon-" + strconv.FormatUint(anon.Add(1), 10)
			if _, taken := stores[name]; !taken {
				break
			}
		}
	}
	st, ok := stores[name]
	if !ok {
		st = &store{objects: map[string]object{}, writers: map[string]*writer{}}
		stores[name] = st
	}
	return &Sink{name: name, st: st}
}

// Absent returns a handle to a store called name that does not exist and
// that no write creates: NewWriter, NewReader, List, Delete, Abandoned and
// Sweep fail with an error matching [sink.ErrNoSuchBucket] and giving a
// *sink.OpError (Location name, Op the method, Code "NoSuchStore"), as an
// S3 sink's do for a missing bucket. It is for tests of what a caller does
// with a destination that is not there (New and mem:// URLs always make
// the store, so nothing else gives this). A store of that name made by
// New is neither reached nor changed.
func Absent(name string) *Sink {
	return &Sink{name: name, st: &store{objects: map[string]object{}, writers: map[string]*writer{}}, absent: true}
}

// Lookup returns a handle to the store called name if one exists.
func Lookup(name string) (*Sink, bool) {
	storesMu.Lock()
	st, ok := stores[name]
	storesMu.Unlock()
	if !ok {
		return nil, false
	}
	return &Sink{name: name, st: st}, true
}

func openURL(u *url.URL) (*Sink, error) {
	if u.Opaque != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("memsink: URL %q: want mem://name, with no path or parameters", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("memsink: URL %q has no store name: want mem://name", u.Redacted())
	}
	return New(u.Host), nil
}

// Name is the name of the store.
func (s *Sink) Name() string { return s.name }

var errClosed = errors.New("memsink: sink is closed")

// check fails op (a method's name) on a closed handle or an Absent store.
func (s *Sink) check(op string) error {
	if s.closed.Load() {
		return errClosed
	}
	if s.absent {
		return &sink.OpError{Location: s.name, Op: op, Code: "NoSuchStore",
			Err: fmt.Errorf("memsink: store %q: %w", s.name, sink.ErrNoSuchBucket)}
	}
	return nil
}

// NewWriter implements [sink.Sink].
func (s *Sink) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	if err := s.check("NewWriter"); err != nil {
		return nil, err
	}
	if err := sink.ValidateKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memsink: writing %q: %w", key, err)
	}
	w := &writer{ctx: ctx, s: s, key: key, started: time.Now()}
	if opts != nil {
		w.opts = *opts
	}
	st := s.st
	st.mu.Lock()
	st.nextID++
	w.id = "mem-write-" + strconv.FormatUint(st.nextID, 10)
	st.writers[w.id] = w
	st.mu.Unlock()
	// A cancelled writer can never publish: forget it at once, so a writer
	// given up without Close is not kept.
	w.stop = context.AfterFunc(ctx, func() {
		st.mu.Lock()
		delete(st.writers, w.id)
		st.mu.Unlock()
	})
	return w, nil
}

type writer struct {
	ctx     context.Context
	s       *Sink
	key     string
	id      string
	started time.Time
	stop    func() bool
	opts    sink.WriterOptions
	buf     bytes.Buffer
	closed  bool
	swept   atomic.Bool // set by Sweep: the write may not publish
}

// errSwept fails a writer whose write was swept as abandoned.
func (w *writer) errSwept() error {
	return fmt.Errorf("memsink: writing %q: the write %s was swept as abandoned", w.key, w.id)
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, fmt.Errorf("memsink: write to closed writer for %q", w.key)
	}
	if err := w.ctx.Err(); err != nil {
		return 0, fmt.Errorf("memsink: writing %q: %w", w.key, err)
	}
	if w.swept.Load() {
		return 0, w.errSwept()
	}
	return w.buf.Write(p)
}

func (w *writer) Close() error {
	if w.closed {
		return fmt.Errorf("memsink: writer for %q closed twice", w.key)
	}
	w.closed = true
	w.stop()
	data := w.buf.Bytes()
	w.buf = bytes.Buffer{}
	st := w.s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.writers, w.id)
	if err := w.s.check("Close"); err != nil {
		return err
	}
	// Checked under the lock: a cancellation or sweep that happened
	// before this Close is never followed by a publish.
	if err := w.ctx.Err(); err != nil {
		return fmt.Errorf("memsink: writing %q: %w", w.key, err)
	}
	if w.swept.Load() {
		return w.errSwept()
	}
	if _, exists := st.objects[w.key]; exists && w.opts.IfNotExists {
		return fmt.Errorf("%w: %q in %s", sink.ErrExist, w.key, w.s.Location())
	}
	st.objects[w.key] = object{data: data, modTime: time.Now(), contentType: w.opts.ContentType}
	return nil
}

func (s *Sink) get(key string) (object, error) {
	if err := s.check("NewReader"); err != nil {
		return object{}, err
	}
	if err := sink.ValidateKey(key); err != nil {
		return object{}, err
	}
	s.st.mu.RLock()
	o, ok := s.st.objects[key]
	s.st.mu.RUnlock()
	if !ok {
		return object{}, fmt.Errorf("%w: %q in %s", sink.ErrNotExist, key, s.Location())
	}
	return o, nil
}

// NewReader implements [sink.Sink].
func (s *Sink) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, err := s.get(key)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(o.data)), nil
}

// List implements [sink.Sink]. It yields the objects present when it
// starts, so the loop body may write and delete.
func (s *Sink) List(ctx context.Context, prefix string) iter.Seq2[sink.Object, error] {
	return func(yield func(sink.Object, error) bool) {
		if err := s.check("List"); err != nil {
			yield(sink.Object{}, err)
			return
		}
		var objs []sink.Object
		s.st.mu.RLock()
		for k, o := range s.st.objects {
			if strings.HasPrefix(k, prefix) {
				objs = append(objs, sink.Object{Key: k, Size: int64(len(o.data)), ModTime: o.modTime})
			}
		}
		s.st.mu.RUnlock()
		slices.SortFunc(objs, func(a, b sink.Object) int { return strings.Compare(a.Key, b.Key) })
		for _, o := range objs {
			if err := ctx.Err(); err != nil {
				yield(sink.Object{}, err)
				return
			}
			if !yield(o, nil) {
				return
			}
		}
	}
}

// Delete implements [sink.Sink].
func (s *Sink) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.check("Delete"); err != nil {
		return err
	}
	if err := sink.ValidateKey(key); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if _, ok := s.st.objects[key]; !ok {
		return fmt.Errorf("%w: %q in %s", sink.ErrNotExist, key, s.Location())
	}
	delete(s.st.objects, key)
	return nil
}

// Location implements [sink.Sink]: "mem://name".
func (s *Sink) Location() string { return "mem://" + s.name }

// Close implements [sink.Sink]. It closes this handle only; the objects stay
// for other handles to the same name.
func (s *Sink) Close() error {
	s.closed.Store(true)
	return nil
}

// AtomicIfNotExists implements [sink.ConditionalWriter]: true.
func (s *Sink) AtomicIfNotExists() bool { return true }

// Abandoned implements [sink.Sweeper]. In memory a write cannot outlive its
// process, so what it yields are the writers open on the store (through
// any handle), neither closed nor cancelled: a writer whose owner stopped
// without Close, which is how a test stands for a process that was killed
// or lost its lease. ID is the writer's ("mem-write-N").
func (s *Sink) Abandoned(ctx context.Context, prefix string) iter.Seq2[sink.Abandoned, error] {
	return func(yield func(sink.Abandoned, error) bool) {
		if err := s.check("Abandoned"); err != nil {
			yield(sink.Abandoned{}, err)
			return
		}
		var out []sink.Abandoned
		s.st.mu.RLock()
		for _, w := range s.st.writers {
			if strings.HasPrefix(w.key, prefix) {
				out = append(out, sink.Abandoned{Key: w.key, ID: w.id, Started: w.started})
			}
		}
		s.st.mu.RUnlock()
		slices.SortFunc(out, func(a, b sink.Abandoned) int { return strings.Compare(a.Key+"\x00"+a.ID, b.Key+"\x00"+b.ID) })
		for _, a := range out {
			if err := ctx.Err(); err != nil {
				yield(sink.Abandoned{}, err)
				return
			}
			if !yield(a, nil) {
				return
			}
		}
	}
}

// Sweep implements [sink.Sweeper]: the writer a names publishes nothing;
// its Write and Close fail. One already closed or swept is not an error.
func (s *Sink) Sweep(ctx context.Context, a sink.Abandoned) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.check("Sweep"); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if w, ok := s.st.writers[a.ID]; ok && w.key == a.Key {
		w.swept.Store(true)
		delete(s.st.writers, a.ID)
	}
	return nil
}

// Keys returns the keys of every object in the store, sorted.
func (s *Sink) Keys() []string {
	s.st.mu.RLock()
	keys := make([]string, 0, len(s.st.objects))
	for k := range s.st.objects {
		keys = append(keys, k)
	}
	s.st.mu.RUnlock()
	slices.Sort(keys)
	return keys
}

// Bytes returns a copy of the object at key, and whether it exists.
func (s *Sink) Bytes(key string) ([]byte, bool) {
	s.st.mu.RLock()
	o, ok := s.st.objects[key]
	s.st.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return bytes.Clone(o.data), true
}

// ContentType returns the WriterOptions.ContentType the object at key was
// written with, and whether the object exists.
func (s *Sink) ContentType(key string) (string, bool) {
	s.st.mu.RLock()
	o, ok := s.st.objects[key]
	s.st.mu.RUnlock()
	return o.contentType, ok
}

// Clear deletes every object in the store, for every handle to it.
func (s *Sink) Clear() {
	s.st.mu.Lock()
	clear(s.st.objects)
	s.st.mu.Unlock()
}
