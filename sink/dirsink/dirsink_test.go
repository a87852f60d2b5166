package dirsink_test

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/sink/sinktest"
)

type harness struct {
	dir string
	t   *testing.T // the subtest, for the store failure sinks' own directories
}

func (h *harness) MakeSink(context.Context) (sink.Sink, error) { return dirsink.Open(h.dir, nil) }

func (h *harness) Close() {}

// Leftovers reports temporary files and empty directories under prefix
// and in the temporary folder: an aborted write must remove its temp file
// and the directories it made.
func (h *harness) Leftovers(_ context.Context, prefix string) ([]string, error) {
	left, err := walkLeftovers(filepath.Join(h.dir, filepath.FromSlash(prefix)), true)
	if err != nil {
		return left, err
	}
	// In the temporary folder every file is a leftover.
	tmp, err := walkFiles(filepath.Join(h.dir, tmpDir, filepath.FromSlash(prefix)), true, func(string) bool { return true })
	return append(left, tmp...), err
}

// tmpDir is where dirsink keeps its temporary files.
const tmpDir = ".snapexport-tmp"

// leftovers reports temporary files and empty directories below root, the
// temporary folder included.
func leftovers(root string) ([]string, error) {
	left, err := walkLeftovers(root, false)
	if err != nil {
		return left, err
	}
	if _, err := os.Lstat(filepath.Join(root, tmpDir)); err == nil {
		left = append(left, filepath.Join(root, tmpDir)+" (the temporary folder)")
	}
	return left, nil
}

func walkLeftovers(top string, emptyTop bool) ([]string, error) {
	// Outside the temporary folder only the old layout's temp files are.
	return walkFiles(top, emptyTop, func(name string) bool { return strings.HasPrefix(name, ".snapexport-tmp-") })
}

// walkFiles reports the files below top whose name leftover accepts, and
// the empty directories (top itself only with emptyTop), skipping the
// temporary folder.
func walkFiles(top string, emptyTop bool, leftover func(name string) bool) ([]string, error) {
	var left []string
	err := filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == top {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == tmpDir && p != top {
				return fs.SkipDir // see Leftovers
			}
			if p == top && !emptyTop {
				return nil
			}
			if entries, err := os.ReadDir(p); err == nil && len(entries) == 0 {
				left = append(left, p+" (empty directory)")
			}
			return nil
		}
		if leftover(d.Name()) {
			left = append(left, p)
		}
		return nil
	})
	return left, err
}

func TestConformance(t *testing.T) {
	// All subtests share one root, as exports to one directory do.
	dir := t.TempDir()
	sinktest.RunConformanceTests(t, func(_ context.Context, t *testing.T) (sinktest.Harness, error) {
		return &harness{dir: dir, t: t}, nil
	})
	// Every subtest deleted its objects: nothing is left, not even empty
	// directories.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("root holds %d entries after the suite, want none (first: %q)", len(entries), entries[0].Name())
	}
}

// TestOpenCreatesNothing: opening, listing, reading, deleting and
// sweeping leave a missing directory missing (describe and refused starts
// write nothing); the first write creates it with its parents.
func TestOpenCreatesNothing(t *testing.T) {
	ctx := t.Context()
	base := t.TempDir()
	dir := filepath.Join(base, "a", "b c", "d")
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for o, err := range s.List(ctx, "") {
		t.Errorf("List of a missing directory: %v, %v", o, err)
	}
	for a, err := range s.Abandoned(ctx, "") {
		t.Errorf("Abandoned of a missing directory: %v, %v", a, err)
	}
	if _, err := s.NewReader(ctx, "k"); !errors.Is(err, sink.ErrNotExist) {
		t.Errorf("NewReader in a missing directory = %v, want ErrNotExist", err)
	}
	if err := s.Delete(ctx, "k"); !errors.Is(err, sink.ErrNotExist) {
		t.Errorf("Delete in a missing directory = %v, want ErrNotExist", err)
	}
	if _, err := s.NewWriter(ctx, "bad/../key", nil); !errors.Is(err, sink.ErrInvalidKey) {
		t.Errorf("NewWriter(invalid key) = %v", err)
	}
	if entries, err := os.ReadDir(base); err != nil || len(entries) != 0 {
		t.Fatalf("the sink created %v (%v) before any write", entries, err)
	}
	if got, want := s.Location(), "file://"+(&url.URL{Path: dir}).EscapedPath(); got != want {
		t.Errorf("Location() = %q, want %q", got, want)
	}
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	// Location opens the same directory again; the first write creates it.
	again, err := sink.OpenURL(ctx, s.Location())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if err := sink.WriteObject(ctx, again, "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "k")); err != nil || string(got) != "v" {
		t.Errorf("file written through %s: %q, %v", s.Location(), got, err)
	}
	// The first sink, opened before the directory existed, sees it now.
	if got, err := sink.ReadObject(ctx, s, "k"); err != nil || string(got) != "v" {
		t.Errorf("reading through the sink opened first: %q, %v", got, err)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("leftovers %q, %v", left, err)
	}
}

func TestOpenError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		_, err := dirsink.Open(dir, nil)
		if err == nil {
			t.Fatalf("Open(%q) under a regular file succeeded", dir)
		}
		if !strings.Contains(err.Error(), dir) || !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("Open(%q) = %v, want the path and the OS reason (not a directory)", dir, err)
		}
	}
	if _, err := dirsink.Open("", nil); err == nil {
		t.Error(`Open("") succeeded`)
	}
}

func TestURL(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	cases := []struct{ url, dir string }{
		{"file://" + base + "/abs", filepath.Join(base, "abs")},
		{"file://localhost" + base + "/local", filepath.Join(base, "local")},
		{"file://" + base + "/with%20space", filepath.Join(base, "with space")},
		{"FILE://" + base + "/upper", filepath.Join(base, "upper")},
	}
	for _, c := range cases {
		s, err := sink.OpenURL(t.Context(), c.url)
		if err != nil {
			t.Errorf("OpenURL(%q): %v", c.url, err)
			continue
		}
		ds := s.(*dirsink.Sink)
		if ds.Dir() != c.dir {
			t.Errorf("OpenURL(%q) opened %q, want %q", c.url, ds.Dir(), c.dir)
		}
		if !strings.HasPrefix(s.Location(), "file:///") {
			t.Errorf("OpenURL(%q).Location() = %q, want file:///…", c.url, s.Location())
		}
		s.Close()
	}
	// Relative forms are refused: RFC 8089 has none, and "file://./x" is
	// host "." and path "/x", which other tools read as /x.
	for _, bad := range []string{"file://", "file://host/dir", "file://" + base + "/x?perm=1", "file://" + base + "#frag", "file://u:secret@localhost/x",
		"file://./rel/dir", "file://.", "file://../x", "file://./x"} {
		s, err := sink.OpenURL(t.Context(), bad)
		if err == nil {
			s.Close()
			t.Errorf("OpenURL(%q) succeeded", bad)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("OpenURL(%q) error shows the password: %v", bad, err)
		}
		if !strings.Contains(err.Error(), "file:///absolute/path") {
			t.Errorf("OpenURL(%q) = %v; want it to show the form file:///absolute/path", bad, err)
		}
	}
	if entries, err := os.ReadDir(base); err != nil || len(entries) != 0 {
		t.Errorf("opening by URL created %v (%v)", entries, err)
	}
	if _, err := os.Stat("/x"); err == nil {
		t.Log("/x exists on this machine (not made by this test)")
	}
	if !slices.Contains(sink.Schemes(), "file") {
		t.Errorf("scheme file not registered: %q", sink.Schemes())
	}
}

// TestFiles checks the objects on disk: where they are, their permission,
// and that directories go away with their last object.
func TestFiles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := dirsink.Open(dir, &dirsink.Options{FilePerm: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := sink.WriteObject(ctx, s, "a/b/c.parquet", []byte("data"), nil); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "a", "b", "c.parquet")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("object mode %v, want 0600", fi.Mode().Perm())
	}
	if err := s.Delete(ctx, "a/b/c.parquet"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory a outlives its last object: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("root removed with its last object: %v", err)
	}
	// A key the file system cannot hold next to an existing one fails,
	// without leftovers.
	if err := sink.WriteObject(ctx, s, "x", []byte("file"), nil); err != nil {
		t.Fatal(err)
	}
	if err := sink.WriteObject(ctx, s, "x/y", []byte("below a file"), nil); err == nil {
		t.Error(`writing "x/y" next to the object "x" succeeded`)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("leftovers %q, %v", left, err)
	}
}

// TestTempFiles checks the temporary file's name and place while a write
// is in progress — in the temporary folder, never in the key's folder, so
// a reader globbing the folder cannot trip on it — and that its names
// cannot be used as keys.
func TestTempFiles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.NewWriter(ctx, "d/obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	tmps, err := filepath.Glob(filepath.Join(dir, tmpDir, "d", "obj", "*"))
	if err != nil || len(tmps) != 1 {
		t.Errorf("during the write: temp files %q, %v; want one in %s", tmps, err, filepath.Join(dir, tmpDir, "d", "obj"))
	}
	if _, err := os.Lstat(filepath.Join(dir, "d")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the key's folder exists before the object does: %v", err)
	}
	for _, err := range s.List(ctx, "") {
		t.Errorf("List shows something while only a temp file exists (err %v)", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("after Close: leftovers %q, %v", left, err)
	}
	for _, key := range []string{".snapexport-tmp", ".snapexport-tmp/d/obj/x", ".snapexport-tmp-0123", "d/.snapexport-tmp-x"} {
		if _, err := s.NewWriter(ctx, key, nil); !errors.Is(err, sink.ErrInvalidKey) {
			t.Errorf("NewWriter(%q) = %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.NewReader(ctx, key); !errors.Is(err, sink.ErrInvalidKey) {
			t.Errorf("NewReader(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, sink.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
}

// TestAbortWithoutClose: cancelling the context removes the temp file even
// if Close is never called (a caller that gave up on the object).
func TestAbortWithoutClose(t *testing.T) {
	dir := t.TempDir()
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	w, err := s.NewWriter(ctx, "a/b/obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The removal runs in context.AfterFunc's goroutine: wait for it.
	// Write takes the writer's lock, so once it fails the abort has run.
	for {
		if _, err := w.Write([]byte("x")); err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Write after cancel = %v, want context.Canceled", err)
			}
			break
		}
		time.Sleep(time.Millisecond)
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("after cancel: leftovers %q, %v", left, err)
	}
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after cancel = %v, want context.Canceled", err)
	}
}

// TestCloseAbortsWriters: closing the sink removes the temp files of
// writers still open.
func TestCloseAbortsWriters(t *testing.T) {
	dir := t.TempDir()
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(t.Context(), "a/obj", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Error("a writer of a closed sink published")
	}
	if left, err := leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("after Close: leftovers %q, %v", left, err)
	}
	if _, err := s.NewWriter(t.Context(), "b", nil); err == nil {
		t.Error("NewWriter on a closed sink succeeded")
	}
}

// TestWriterMisuse: Write after Close and a second Close fail.
func TestWriterMisuse(t *testing.T) {
	s, err := dirsink.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w, err := s.NewWriter(t.Context(), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if got, err := sink.ReadObject(t.Context(), s, "k"); err != nil || len(got) != 0 {
		t.Errorf("object = %q, %v; want empty", got, err)
	}
}

// TestSymlinks: no symbolic link inside root leads a key outside it, and
// List does not follow links.
func TestSymlinks(t *testing.T) {
	ctx := t.Context()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o666); err != nil {
		t.Fatal(err)
	}
	s, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"dirlink":   outside,
		"filelink":  filepath.Join(outside, "secret"),
		"rellink":   "../outside",
		"innerlink": "inner",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.WriteObject(ctx, s, "inner/obj", []byte("inside"), nil); err != nil {
		t.Fatal(err)
	}

	for _, key := range []string{"dirlink/secret", "filelink", "rellink/secret"} {
		if got, err := sink.ReadObject(ctx, s, key); err == nil {
			t.Errorf("read %q through a link out of root: %q", key, got)
		}
		if err := s.Delete(ctx, key); err == nil {
			t.Errorf("deleted %q through a link out of root", key)
		}
	}
	for _, key := range []string{"dirlink/new", "rellink/new", "dirlink/sub/new"} {
		if err := sink.WriteObject(ctx, s, key, []byte("escaped"), nil); err == nil {
			t.Errorf("wrote %q through a link out of root", key)
		}
	}
	entries, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("outside root now holds %d entries, want only the original file", len(entries))
	}
	if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "secret" {
		t.Errorf("file outside root changed: %q, %v", b, err)
	}
	// A link that stays inside root works for reading; List shows the
	// real objects only.
	if got, err := sink.ReadObject(ctx, s, "innerlink/obj"); err != nil || string(got) != "inside" {
		t.Errorf("reading through a link inside root: %q, %v", got, err)
	}
	var keys []string
	for o, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Key)
	}
	if !slices.Equal(keys, []string{"inner/obj"}) {
		t.Errorf("List = %q, want only inner/obj", keys)
	}
}

// TestListFromDeepPrefix: the prefix's directory part is followed, its
// last part filters names, and an invalid directory part lists nothing.
func TestListInvalidPrefix(t *testing.T) {
	ctx := t.Context()
	s, err := dirsink.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := sink.WriteObject(ctx, s, "a/b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../", "/a", "a//", "./a", "a/../a/"} {
		for o, err := range s.List(ctx, p) {
			t.Errorf("List(%q) yields %q, %v; want nothing", p, o.Key, err)
		}
	}
}
