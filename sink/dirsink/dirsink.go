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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/snapexport/snapexport/sink"
)

// tmpDir is the directory, directly under root, that holds the temporary
// files of writes in progress: outside every key's folder, so no reader of
// a table's folder ever sees one, and on the same file system as the
// objects, so the rename that publishes stays atomic. A write to key K
// uses the file tmpDir/K/<start>-<random>, which keeps K recoverable for
// [Sink.Abandoned].
const tmpDir = ".snapexport-tmp"

// Scheme is the URL scheme the package registers with sink.Register.
const Scheme = "file"

// reserved starts the names List skips and keys may not use: tmpDir, and
// the ".snapexport-tmp-<random>" files that earlier versions wrote next to
// the object.
const reserved = ".snapexport-tmp"

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
	dir      string // absolute, clean
	location string
	filePerm fs.FileMode
	dirPerm  fs.FileMode

	dirs sync.RWMutex // makeIn (shared) against removeEmptyDirs

	mu      sync.Mutex
	root    *os.Root // nil until the directory exists, see openRoot
	closed  bool
	writers map[*writer]struct{} // open writers, aborted by Close
}

// Open returns a Sink over the directory dir. A relative dir is resolved
// against the working directory now. Open creates nothing: the directory
// (with its parents) is created by the first write, so a sink opened only
// to read, list or describe leaves the file system as it was. Open fails
// at once when dir cannot become a directory (it, or the nearest of its
// parents that exists, is not a directory).
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
	if err := canBeDir(abs); err != nil {
		return nil, err
	}
	slashed := filepath.ToSlash(abs)
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed // "C:/dir" on Windows
	}
	return &Sink{
		dir:      abs,
		location: (&url.URL{Scheme: Scheme, Path: slashed}).String(),
		filePerm: o.FilePerm,
		dirPerm:  o.DirPerm,
		writers:  map[*writer]struct{}{},
	}, nil
}

// canBeDir checks, without creating anything, that abs is a directory or
// that the nearest of its parents that exists is one.
func canBeDir(abs string) error {
	for p := abs; ; {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return nil
		case err == nil:
			if p == abs {
				return fail(abs, sink.ErrNoSuchBucket, "stat", fmt.Errorf("dirsink: cannot use %q as the directory: %w", abs, syscall.ENOTDIR))
			}
			return fail(abs, sink.ErrNoSuchBucket, "stat", fmt.Errorf("dirsink: cannot create directory %q: %q is not a directory: %w", abs, p, syscall.ENOTDIR))
		case !notExist(err):
			return classifyOp(abs, syscallOf(err), fmt.Errorf("dirsink: cannot use directory %q: %w", abs, osReason(err)))
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}

// openRoot returns the root, opening it when the directory exists. With
// create, a missing directory is created with its parents first; without,
// it gives errNoRoot. A root that cannot be a directory (it, or a parent,
// is something else) is [sink.ErrNoSuchBucket], as Open reports it; a
// refusal for permissions, [sink.ErrAccessDenied].
func (s *Sink) openRoot(create bool) (*os.Root, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if s.root != nil {
		return s.root, nil
	}
	root, err := os.OpenRoot(s.dir)
	if errors.Is(err, fs.ErrNotExist) && !create {
		return nil, errNoRoot
	}
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(s.dir, s.dirPerm); err != nil {
			return nil, s.rootErr(fmt.Errorf("dirsink: cannot create directory %q: %w", s.dir, osReason(err)), syscallOf(err))
		}
		root, err = os.OpenRoot(s.dir)
	}
	if err != nil {
		return nil, s.rootErr(fmt.Errorf("dirsink: cannot open directory %q: %w", s.dir, osReason(err)), syscallOf(err))
	}
	s.root = root
	return root, nil
}

// rootErr classifies a failure of the call op to open or create the root.
// A root that is, or a parent that is, something else than a directory
// (replaced since Open) gives canBeDir's error, as Open would: the OS's
// errors do not say it alike (OpenRoot on a file is not ENOTDIR).
func (s *Sink) rootErr(err error, op string) error {
	if cerr := canBeDir(s.dir); cerr != nil {
		return cerr
	}
	return classifyOp(s.dir, op, err)
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

// wantURL ends the messages about malformed file URLs.
const wantURL = "want file:///absolute/path (three slashes: an empty host and an absolute path)"

func openURL(u *url.URL) (*Sink, error) {
	if u.Opaque != "" {
		return nil, fmt.Errorf("dirsink: URL %q has a relative path; %s", u.Redacted(), wantURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("dirsink: URL %q: file URLs take no user, parameters or fragment; %s", u.Redacted(), wantURL)
	}
	var p string
	switch u.Host {
	case "", "localhost":
		p = u.Path
		if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
			p = p[1:] // "/C:/dir"
		}
	case ".", "..":
		// "file://./x" is host "." and path "/x": RFC 8089 has no
		// relative file URLs, and other tools read it as /x.
		return nil, fmt.Errorf("dirsink: URL %q is relative, which a file URL cannot be; %s", u.Redacted(), wantURL)
	default:
		return nil, fmt.Errorf("dirsink: URL %q names host %q, but a directory is local; %s", u.Redacted(), u.Host, wantURL)
	}
	if p == "" {
		return nil, fmt.Errorf("dirsink: URL %q has no directory; %s", u.Redacted(), wantURL)
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
	for seg := range strings.SplitSeq(key, "/") {
		if strings.HasPrefix(seg, reserved) {
			return fmt.Errorf("%w %q: names starting with %q are dirsink's temporary files", sink.ErrInvalidKey, key, reserved)
		}
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

// tempName names a temporary file: when the write started (Unix
// nanoseconds, hexadecimal) and a random part.
func tempName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // never fails
	return strconv.FormatInt(time.Now().UnixNano(), 16) + "-" + hex.EncodeToString(b)
}

// tempStarted reads the start time back from a temporary file's name.
func tempStarted(name string) (time.Time, bool) {
	ts, _, ok := strings.Cut(name, "-")
	n, err := strconv.ParseInt(ts, 16, 64)
	if !ok || err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

// NewWriter implements [sink.Sink]. It creates the temporary file at once,
// and checks that no existing file stands where the key's folders must go,
// so a key the file system cannot hold fails here. The key's own folders
// are created when Close publishes the object.
func (s *Sink) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	if err := validate(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dirsink: writing %q: %w", key, err)
	}
	root, err := s.openRoot(true)
	if err != nil {
		return nil, s.writeErr(key, err)
	}
	name := filepath.FromSlash(key)
	dir := filepath.Dir(name)
	if err := s.checkDirs(root, dir); err != nil {
		return nil, s.writeErr(key, err)
	}
	w := &writer{s: s, ctx: ctx, key: key, name: name, dir: dir, ifNotExists: opts != nil && opts.IfNotExists}
	tdir := filepath.Join(tmpDir, name)
	for attempt := 0; ; attempt++ {
		w.tmp = filepath.Join(tdir, tempName())
		f, err := s.makeIn(root, tdir, func() (*os.File, error) {
			return root.OpenFile(w.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, s.filePerm)
		})
		if err == nil {
			w.f = f
			break
		}
		// ErrNotExist: another process's cleanup removed a folder,
		// emptied, while it was being made or used. ErrExist: a name
		// collision.
		if attempt < 5 && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist)) {
			continue
		}
		s.removeEmptyDirs(root, tdir)
		return nil, s.writeErr(key, err)
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

func (s *Sink) writeErr(key string, err error) error {
	if errors.Is(err, errClosed) {
		return err
	}
	return s.classify(fmt.Errorf("dirsink: writing %q in %s: %w", key, s.location, err))
}

// checkDirs fails when a component of dir exists and is not a directory
// (or a link to one), which makes the key impossible.
func (s *Sink) checkDirs(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	parts := strings.Split(dir, string(filepath.Separator))
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		fi, err := root.Stat(p)
		if notExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: filepath.ToSlash(p), Err: syscall.ENOTDIR}
		}
	}
	return nil
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
	tmp         string // the temporary file, relative to root
	ifNotExists bool
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
	w.s.removeTemp(w.tmp)
	w.f, w.err = nil, reason
}

// removeTemp removes a temporary file and the folders of tmpDir it leaves
// empty, tmpDir included.
func (s *Sink) removeTemp(tmp string) {
	s.mu.Lock()
	root := s.root
	s.mu.Unlock()
	if root == nil {
		return
	}
	_ = root.Remove(tmp)
	s.removeEmptyDirs(root, filepath.Dir(tmp))
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
	w.s.removeTemp(w.tmp) // the folders only: the file is the object now
	return nil
}

// publish makes the temporary file the object. On error the caller
// discards what is left.
func (w *writer) publish() error {
	w.s.mu.Lock()
	root := w.s.root
	w.s.mu.Unlock()
	if root == nil {
		return errClosed
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("dirsink: writing %q: %w", w.key, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("dirsink: writing %q: %w", w.key, err)
	}
	// The key's folders are made now, not at NewWriter, so a write that
	// never finishes leaves no empty folder for readers to trip on.
	madeDirs := false
	for attempt := 0; ; attempt++ {
		if _, err := root.Lstat(w.dir); notExist(err) {
			madeDirs = true
		}
		_, err := w.s.makeIn(root, w.dir, func() (*os.File, error) { return nil, w.place(root) })
		if err == nil {
			break
		}
		_, serr := root.Lstat(w.tmp)
		if tmpGone := notExist(serr); !tmpGone && attempt < 5 && errors.Is(err, fs.ErrNotExist) {
			continue // another process's Delete removed a folder, emptied
		} else if tmpGone {
			err = fmt.Errorf("dirsink: writing %q in %s: its temporary file %q was removed (swept as abandoned by a resuming export?)", w.key, w.s.location, filepath.ToSlash(w.tmp))
		} else if w.ifNotExists && (errors.Is(err, errors.ErrUnsupported) || errors.Is(err, syscall.EPERM)) {
			err = fmt.Errorf("dirsink: writing %q in %s (IfNotExists needs hard links): %w", w.key, w.s.location, err)
		} else if !errors.Is(err, sink.ErrExist) {
			err = w.s.writeErr(w.key, err)
		}
		if madeDirs {
			w.s.removeEmptyDirs(root, w.dir)
		}
		return err
	}
	// The rename is durable once the directory is; directories made for
	// this object are durable once their parents are. An fsync error is
	// returned although the object is already visible: the caller must
	// learn that it may not survive a crash.
	for d := w.dir; ; d = filepath.Dir(d) {
		if err := syncDir(root, d); err != nil {
			return fmt.Errorf("dirsink: writing %q: %w", w.key, err)
		}
		if d == "." || !madeDirs {
			return nil
		}
	}
}

// place puts the temporary file at the key: rename(2), or link(2) for
// IfNotExists. Its errors are the OS's, but for the key existing
// (sink.ErrExist).
func (w *writer) place(root *os.Root) error {
	if !w.ifNotExists {
		return root.Rename(w.tmp, w.name)
	}
	// link(2) fails if the name exists, deciding a race atomically; the
	// temporary name is then removed, leaving the object.
	err := root.Link(w.tmp, w.name)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %q in %s", sink.ErrExist, w.key, w.s.location)
	}
	if err != nil {
		return err
	}
	// The object is published: failing now would report a visible object
	// as not written, so a temp name that will not go is only left
	// behind.
	_ = root.Remove(w.tmp)
	return nil
}

func syncDir(root *os.Root, dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for fsync there
	}
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// makeIn creates dir (relative to root, "." for root itself) with its
// parents and runs use in it, while no removeEmptyDirs of this sink runs:
// use creates an entry that keeps dir from being empty (the temporary
// file, the object), so between the two no cleanup of another writer of
// this sink can remove dir. Other processes' cleanups can; callers retry
// on fs.ErrNotExist.
func (s *Sink) makeIn(root *os.Root, dir string, use func() (*os.File, error)) (*os.File, error) {
	s.dirs.RLock()
	defer s.dirs.RUnlock()
	if dir != "." {
		if err := root.MkdirAll(dir, s.dirPerm); err != nil {
			return nil, err
		}
	}
	return use()
}

// removeEmptyDirs removes dir and its parents below root while they are
// empty; the first that exists and is not stops it. A dir that does not
// exist (a MkdirAll that failed half way) is passed over.
func (s *Sink) removeEmptyDirs(root *os.Root, dir string) {
	s.dirs.Lock()
	defer s.dirs.Unlock()
	for d := dir; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if err := root.Remove(d); err != nil {
			if _, lerr := root.Lstat(d); lerr == nil {
				return
			}
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
	root, err := s.openRoot(false)
	if errors.Is(err, errNoRoot) {
		return nil, s.errNotExist(key)
	}
	if err != nil {
		return nil, err
	}
	f, err := root.Open(filepath.FromSlash(key))
	if notExist(err) {
		return nil, s.errNotExist(key)
	}
	if err != nil {
		return nil, s.classify(fmt.Errorf("dirsink: reading %q in %s: %w", key, s.location, err))
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, s.classify(fmt.Errorf("dirsink: reading %q in %s: %w", key, s.location, err))
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
	root, err := s.openRoot(false)
	if errors.Is(err, errNoRoot) {
		return s.errNotExist(key)
	}
	if err != nil {
		return err
	}
	name := filepath.FromSlash(key)
	fi, err := root.Lstat(name)
	if notExist(err) {
		return s.errNotExist(key)
	}
	if err != nil {
		return s.classify(fmt.Errorf("dirsink: deleting %q in %s: %w", key, s.location, err))
	}
	if !fi.Mode().IsRegular() {
		return s.errNotExist(key)
	}
	if err := root.Remove(name); notExist(err) {
		return s.errNotExist(key)
	} else if err != nil {
		return s.classify(fmt.Errorf("dirsink: deleting %q in %s: %w", key, s.location, err))
	}
	s.removeEmptyDirs(root, filepath.Dir(name))
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
		root, err := s.openRoot(false)
		if errors.Is(err, errNoRoot) {
			return // nothing was ever written
		}
		if err != nil {
			yield(sink.Object{}, err)
			return
		}
		s.walk(ctx, root, dir, namePrefix, yield)
	}
}

// walk yields the objects under dir (a key prefix without the trailing
// "/", "" for root) whose names in dir start with namePrefix. It returns
// false when iteration must stop.
func (s *Sink) walk(ctx context.Context, root *os.Root, dir, namePrefix string, yield func(sink.Object, error) bool) bool {
	if err := ctx.Err(); err != nil {
		yield(sink.Object{}, err)
		return false
	}
	entries, err := readDir(root, dir)
	if notExist(err) {
		return true // a prefix nothing is under, or removed while listing
	}
	if err != nil {
		yield(sink.Object{}, s.classify(fmt.Errorf("dirsink: listing %q in %s: %w", dir, s.location, err)))
		return false
	}
	type entry struct {
		sortName string
		e        fs.DirEntry
	}
	var list []entry
	for _, e := range entries {
		n := e.Name()
		if !strings.HasPrefix(n, namePrefix) || strings.HasPrefix(n, reserved) {
			continue
		}
		switch {
		case e.Type().IsRegular():
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
			if !s.walk(ctx, root, key, "", yield) {
				return false
			}
			continue
		}
		fi, err := en.e.Info()
		if notExist(err) {
			continue // deleted since the directory was read
		}
		if err != nil {
			yield(sink.Object{}, s.classify(fmt.Errorf("dirsink: listing %q in %s: %w", key, s.location, err)))
			return false
		}
		if !yield(sink.Object{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil) {
			return false
		}
	}
	return true
}

func readDir(root *os.Root, dir string) ([]fs.DirEntry, error) {
	name := "."
	if dir != "" {
		name = filepath.FromSlash(dir)
	}
	d, err := root.Open(name)
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
	s.mu.Lock()
	root := s.root
	s.mu.Unlock()
	if root == nil {
		return nil
	}
	return root.Close()
}

// Abandoned implements [sink.Sweeper]: it yields the temporary files of
// writes to keys starting with prefix that are in tmpDir, left by a
// process that was killed, or still being written (by this sink, another
// Sink on the directory, or another process). ID is the file's path
// relative to the directory, Started the time its name records.
func (s *Sink) Abandoned(ctx context.Context, prefix string) iter.Seq2[sink.Abandoned, error] {
	return func(yield func(sink.Abandoned, error) bool) {
		root, err := s.openRoot(false)
		if errors.Is(err, errNoRoot) {
			return
		}
		if err != nil {
			yield(sink.Abandoned{}, err)
			return
		}
		// Start at the deepest folder of tmpDir that every matching key
		// is under.
		start := tmpDir
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			if sink.ValidateKey(prefix[:i]) != nil {
				return
			}
			start = path.Join(tmpDir, prefix[:i])
		}
		err = fs.WalkDir(root.FS(), start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == start && notExist(err) {
					return nil
				}
				return err
			}
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if !d.Type().IsRegular() {
				return nil
			}
			key := path.Dir(strings.TrimPrefix(p, tmpDir+"/"))
			if p == tmpDir+"/"+d.Name() || !strings.HasPrefix(key, prefix) {
				return nil // not a temporary file (nothing is directly in tmpDir)
			}
			a := sink.Abandoned{Key: key, ID: p}
			if t, ok := tempStarted(d.Name()); ok {
				a.Started = t
			}
			if !yield(a, nil) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil && !notExist(err) {
			yield(sink.Abandoned{}, s.classify(fmt.Errorf("dirsink: listing the temporary files in %s: %w", s.location, err)))
		}
	}
}

// Sweep implements [sink.Sweeper]: it removes the temporary file a
// names, and the folders of tmpDir it leaves empty. A writer still using
// the file then fails in Close and publishes nothing.
func (s *Sink) Sweep(ctx context.Context, a sink.Abandoned) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rest, ok := strings.CutPrefix(a.ID, tmpDir+"/"+a.Key+"/")
	if !ok || rest == "" || strings.Contains(rest, "/") || validate(a.Key) != nil {
		return fmt.Errorf("dirsink: %q is not a temporary file of a write to %q in %s", a.ID, a.Key, s.location)
	}
	root, err := s.openRoot(false)
	if errors.Is(err, errNoRoot) {
		return nil
	}
	if err != nil {
		return err
	}
	name := filepath.FromSlash(a.ID)
	if err := root.Remove(name); err != nil && !notExist(err) {
		return &sink.LeftoverError{Abandoned: a, Err: classifyOp(s.dir, syscallOf(err), fmt.Errorf("dirsink: removing %q in %s: %w", a.ID, s.location, osReason(err)))}
	}
	s.removeEmptyDirs(root, filepath.Dir(name))
	return nil
}
