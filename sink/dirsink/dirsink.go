package dirsink

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/snapexport/snapexport/sink"
)

// tmpPrefix starts the names of temporary files, which List skips.
const tmpPrefix = ".snapexport-tmp-"

func init() {
	sink.Register("file", func(_ context.Context, u *url.URL) (sink.Sink, error) {
		return openURL(u)
	})
}

var (
	_ sink.Sink              = (*Sink)(nil)
	_ sink.ConditionalWriter = (*Sink)(nil)
)

// Options tune a Sink. The zero value (or nil) gives the defaults.
type Options struct {
	// FilePerm is the permission of new objects, before the umask;
	// 0 means 0o666, as os.Create uses.
	FilePerm fs.FileMode
	// DirPerm is the permission of new directories, root included, before
	// the umask; 0 means 0o777, as os.MkdirAll callers usually pass.
	DirPerm fs.FileMode
}

// Sink stores objects as files under a root directory.
type Sink struct {
	root     *os.Root
	dir      string // absolute, clean
	location string
	filePerm fs.FileMode
	dirPerm  fs.FileMode

	mu      sync.Mutex
	closed  bool
	writers map[*writer]struct{} // open writers, aborted by Close
}

// Open returns a Sink over the directory dir, which is created with its
// parents if missing. A relative dir is resolved against the working
// directory now.
func Open(dir string, opts *Options) (*Sink, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o.FilePerm = cmp.Or(o.FilePerm, 0o666)
	o.DirPerm = cmp.Or(o.DirPerm, 0o777)
	if dir == "" {
		return nil, errors.New("dirsink: empty directory path")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("dirsink: directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, o.DirPerm); err != nil {
		return nil, fmt.Errorf("dirsink: cannot create directory %q: %w", abs, osReason(err))
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("dirsink: cannot open directory %q: %w", abs, osReason(err))
	}
	slashed := filepath.ToSlash(abs)
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed // "C:/dir" on Windows
	}
	return &Sink{
		root:     root,
		dir:      abs,
		location: (&url.URL{Scheme: "file", Path: slashed}).String(),
		filePerm: o.FilePerm,
		dirPerm:  o.DirPerm,
		writers:  map[*writer]struct{}{},
	}, nil
}

// osReason drops the *fs.PathError around an OS error whose path the
// message already names.
func osReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func openURL(u *url.URL) (*Sink, error) {
	const want = "want file:///abs/dir or file://./rel/dir"
	if u.Opaque != "" {
		return nil, fmt.Errorf("dirsink: URL %q: %s", u.Redacted(), want)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("dirsink: URL %q: file URLs take no user, parameters or fragment; %s", u.Redacted(), want)
	}
	var p string
	switch u.Host {
	case "", "localhost":
		p = u.Path
		if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
			p = p[1:] // "/C:/dir"
		}
	case ".", "..":
		p = u.Host + u.Path
	default:
		return nil, fmt.Errorf("dirsink: URL %q names host %q, but a directory is local; %s", u.Redacted(), u.Host, want)
	}
	if p == "" {
		return nil, fmt.Errorf("dirsink: URL %q has no directory; %s", u.Redacted(), want)
	}
	return Open(filepath.FromSlash(p), nil)
}

// Dir is the absolute path of the root directory.
func (s *Sink) Dir() string { return s.dir }

// validate applies sink.ValidateKey and refuses the names of temp files.
func validate(key string) error {
	if err := sink.ValidateKey(key); err != nil {
		return err
	}
	if strings.HasPrefix(path.Base(key), tmpPrefix) {
		return fmt.Errorf("%w %q: names starting with %q are dirsink's temporary files", sink.ErrInvalidKey, key, tmpPrefix)
	}
	return nil
}

// notExist reports whether err means that a name is absent, including
// "a/b" when "a" is a file.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func (s *Sink) errNotExist(key string) error {
	return fmt.Errorf("%w: %q in %s", sink.ErrNotExist, key, s.location)
}

func randomName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return tmpPrefix + hex.EncodeToString(b)
}

// NewWriter implements [sink.Sink]. It creates the key's directory and the
// temporary file at once, so a key the file system cannot hold fails here.
func (s *Sink) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	if err := validate(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dirsink: writing %q: %w", key, err)
	}
	name := filepath.FromSlash(key)
	dir := filepath.Dir(name)
	w := &writer{s: s, ctx: ctx, key: key, name: name, dir: dir, ifNotExists: opts != nil && opts.IfNotExists}
	if dir != "." {
		if _, err := s.root.Lstat(dir); notExist(err) {
			w.madeDirs = true
		}
	}
	for attempt := 0; ; attempt++ {
		if dir != "." {
			if err := s.root.MkdirAll(dir, s.dirPerm); err != nil {
				return nil, fmt.Errorf("dirsink: writing %q in %s: %w", key, s.location, err)
			}
		}
		w.tmp = filepath.Join(dir, randomName())
		f, err := s.root.OpenFile(w.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.filePerm)
		if err == nil {
			w.f = f
			break
		}
		// ErrNotExist: a Delete or abort removed the directory, emptied,
		// between MkdirAll and OpenFile. ErrExist: a name collision.
		if attempt < 5 && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist)) {
			continue
		}
		return nil, fmt.Errorf("dirsink: writing %q in %s: %w", key, s.location, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.abort(errClosed)
		return nil, errClosed
	}
	s.writers[w] = struct{}{}
	s.mu.Unlock()
	w.stop = context.AfterFunc(ctx, func() {
		w.abort(fmt.Errorf("dirsink: writing %q: %w", key, context.Cause(ctx)))
	})
	return w, nil
}

var errClosed = errors.New("dirsink: sink is closed")

// abort discards the temporary file unless the writer is finished.
func (w *writer) abort(reason error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.discard(reason)
	}
}

type writer struct {
	s           *Sink
	ctx         context.Context
	key         string
	name, dir   string // key and its directory, relative to root, OS form
	tmp         string
	ifNotExists bool
	madeDirs    bool // the directory did not exist before NewWriter
	stop        func() bool

	mu     sync.Mutex
	f      *os.File // nil once published or discarded
	err    error    // why f is nil, for Write and Close
	closed bool
}

func (w *writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.discard(fmt.Errorf("dirsink: writing %q: %w", w.key, context.Cause(w.ctx)))
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err != nil {
		err = fmt.Errorf("dirsink: writing %q: %w", w.key, err)
	}
	return n, err
}

// discard removes the temporary file; the object will not be published.
// w.mu is held.
func (w *writer) discard(reason error) {
	_ = w.f.Close()
	_ = w.s.root.Remove(w.tmp)
	w.s.removeEmptyDirs(w.dir)
	w.f, w.err = nil, reason
}

func (w *writer) Close() error {
	w.stop()
	defer func() {
		w.s.mu.Lock()
		delete(w.s.writers, w)
		w.s.mu.Unlock()
	}()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return fmt.Errorf("dirsink: writer for %q closed twice", w.key)
	}
	w.closed = true
	if w.f == nil {
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.discard(fmt.Errorf("dirsink: writing %q: %w", w.key, context.Cause(w.ctx)))
		return w.err
	}
	if err := w.publish(); err != nil {
		w.discard(err)
		return err
	}
	w.f, w.err = nil, fmt.Errorf("dirsink: write to closed writer for %q", w.key)
	return nil
}

// publish makes the temporary file the object. On error the caller
// discards what is left.
func (w *writer) publish() error {
	root := w.s.root
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("dirsink: writing %q: %w", w.key, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("dirsink: writing %q: %w", w.key, err)
	}
	if w.ifNotExists {
		// link(2) fails if the name exists, deciding a race atomically;
		// the temporary name is then removed, leaving the object.
		err := root.Link(w.tmp, w.name)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %q in %s", sink.ErrExist, w.key, w.s.location)
		}
		if err != nil {
			return fmt.Errorf("dirsink: writing %q in %s (IfNotExists needs hard links): %w", w.key, w.s.location, err)
		}
		// The object is published: failing now would report a visible
		// object as not written, so a temp name that will not go is only
		// left behind.
		_ = root.Remove(w.tmp)
	} else if err := root.Rename(w.tmp, w.name); err != nil {
		return fmt.Errorf("dirsink: writing %q in %s: %w", w.key, w.s.location, err)
	}
	// The rename is durable once the directory is; directories made for
	// this object are durable once their parents are. An fsync error is
	// returned although the object is already visible: the caller must
	// learn that it may not survive a crash.
	for d := w.dir; ; d = filepath.Dir(d) {
		if err := w.s.syncDir(d); err != nil {
			return fmt.Errorf("dirsink: writing %q: %w", w.key, err)
		}
		if d == "." || !w.madeDirs {
			return nil
		}
	}
}

func (s *Sink) syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there
	}
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeEmptyDirs removes dir and its parents below root while they are
// empty; the first that is not stops it.
func (s *Sink) removeEmptyDirs(dir string) {
	for d := dir; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if s.root.Remove(d) != nil {
			return
		}
	}
}

// NewReader implements [sink.Sink].
func (s *Sink) NewReader(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := validate(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := s.root.Open(filepath.FromSlash(key))
	if notExist(err) {
		return nil, s.errNotExist(key)
	}
	if err != nil {
		return nil, fmt.Errorf("dirsink: reading %q in %s: %w", key, s.location, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("dirsink: reading %q in %s: %w", key, s.location, err)
		}
		return nil, s.errNotExist(key) // a directory is not an object
	}
	return f, nil
}

// Delete implements [sink.Sink]. Directories it leaves empty are removed.
func (s *Sink) Delete(ctx context.Context, key string) error {
	if err := validate(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	name := filepath.FromSlash(key)
	fi, err := s.root.Lstat(name)
	if notExist(err) {
		return s.errNotExist(key)
	}
	if err != nil {
		return fmt.Errorf("dirsink: deleting %q in %s: %w", key, s.location, err)
	}
	if !fi.Mode().IsRegular() {
		return s.errNotExist(key)
	}
	if err := s.root.Remove(name); notExist(err) {
		return s.errNotExist(key)
	} else if err != nil {
		return fmt.Errorf("dirsink: deleting %q in %s: %w", key, s.location, err)
	}
	s.removeEmptyDirs(filepath.Dir(name))
	return nil
}

// List implements [sink.Sink]. It reads one directory at a time, sorting
// each so that the walk is in lexical key order: a directory "b" sorts as
// "b/", after "b.x" and before "b0".
func (s *Sink) List(ctx context.Context, prefix string) iter.Seq2[sink.Object, error] {
	return func(yield func(sink.Object, error) bool) {
		dir, namePrefix := "", prefix
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			dir, namePrefix = prefix[:i], prefix[i+1:]
			if sink.ValidateKey(dir) != nil {
				return // no valid key starts with this prefix
			}
		}
		s.walk(ctx, dir, namePrefix, yield)
	}
}

// walk yields the objects under dir (a key prefix without the trailing
// "/", "" for root) whose names in dir start with namePrefix. It returns
// false when iteration must stop.
func (s *Sink) walk(ctx context.Context, dir, namePrefix string, yield func(sink.Object, error) bool) bool {
	if err := ctx.Err(); err != nil {
		yield(sink.Object{}, err)
		return false
	}
	entries, err := s.readDir(dir)
	if notExist(err) {
		return true // a prefix nothing is under, or removed while listing
	}
	if err != nil {
		yield(sink.Object{}, fmt.Errorf("dirsink: listing %q in %s: %w", dir, s.location, err))
		return false
	}
	type entry struct {
		sortName string
		e        fs.DirEntry
	}
	var list []entry
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, namePrefix) {
			continue
		}
		switch {
		case e.Type().IsRegular() && !strings.HasPrefix(n, tmpPrefix):
			list = append(list, entry{n, e})
		case e.IsDir():
			list = append(list, entry{n + "/", e})
		}
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.sortName, b.sortName) })
	for _, en := range list {
		key := en.e.Name()
		if dir != "" {
			key = dir + "/" + key
		}
		if en.e.IsDir() {
			if !s.walk(ctx, key, "", yield) {
				return false
			}
			continue
		}
		fi, err := en.e.Info()
		if notExist(err) {
			continue // deleted since the directory was read
		}
		if err != nil {
			yield(sink.Object{}, fmt.Errorf("dirsink: listing %q in %s: %w", key, s.location, err))
			return false
		}
		if !yield(sink.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil) {
			return false
		}
	}
	return true
}

func (s *Sink) readDir(dir string) ([]fs.DirEntry, error) {
	name := "."
	if dir != "" {
		name = filepath.FromSlash(dir)
	}
	d, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.ReadDir(-1)
}

// Location implements [sink.Sink]: "file:///abs/dir".
func (s *Sink) Location() string { return s.location }

// AtomicIfNotExists implements [sink.ConditionalWriter]: true, since
// IfNotExists publishes with link(2).
func (s *Sink) AtomicIfNotExists() bool { return true }

// Close implements [sink.Sink]. It aborts the writers still open, removing
// their temporary files; their Close fails.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	open := make([]*writer, 0, len(s.writers))
	for w := range s.writers {
		open = append(open, w)
	}
	s.mu.Unlock()
	for _, w := range open {
		w.abort(errClosed)
	}
	return s.root.Close()
}
