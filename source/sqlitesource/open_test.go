package sqlitesource_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

func TestOpenMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := sqlitesource.Open(context.Background(), path, nil)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(missing) = %v, want an error naming %s and wrapping fs.ErrNotExist", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open created %s", path)
	}
	// Through the registry too.
	_, err = source.OpenURL(context.Background(), "sqlite://"+path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("OpenURL(missing) = %v, want an error naming %s", err, path)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenURL created %s", path)
	}
}

func TestOpenNotSQLite(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"text.db":  "this is a text file, not a database\n",
		"short.db": "SQLite",
		"json.db":  strings.Repeat(`{"a": 1}`, 100),
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := sqlitesource.Open(context.Background(), path, nil)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "is not a SQLite database") {
			t.Errorf("Open(%s) = %v, want an error naming the file and saying it is not a SQLite database", name, err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("Open changed %s", name)
		}
	}
}

func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := sqlitesource.Open(context.Background(), dir, nil)
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Open(dir) = %v, want an error saying %s is a directory", err, dir)
	}
	if _, err := sqlitesource.Open(context.Background(), "", nil); err == nil {
		t.Errorf("Open(\"\") succeeded")
	}
}

// An empty file is an empty SQLite database: SQLite itself says so.
func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.sqlite3")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	snap, err := s.Snapshot(context.Background(), source.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	tables, skipped, err := snap.Tables(context.Background(), allFilter{})
	if err != nil || len(tables) != 0 || len(skipped) != 0 {
		t.Errorf("Tables of an empty file = %v, %v, %v", tables, skipped, err)
	}
}

// TestOpenNames: database name, identity and engine, for absolute,
// relative and URL forms, and the read-only guarantee.
func TestOpenNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "my shop.v2.db")
	w, err := openWriter(ctx, path, "WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	mustExec(t, w, "CREATE TABLE t (x)")

	s := openSource(t, path)
	if s.Engine() != "sqlite" || s.Database() != "my shop.v2" || s.Path() != path {
		t.Errorf("Engine %q Database %q Path %q", s.Engine(), s.Database(), s.Path())
	}
	wantID := "sqlite://" + strings.ReplaceAll(path, " ", "%20")
	if s.Identity() != wantID {
		t.Errorf("Identity = %q, want %q", s.Identity(), wantID)
	}
	// The identity is a URL that opens the same source.
	u, err := source.OpenURL(ctx, s.Identity())
	if err != nil {
		t.Fatalf("OpenURL(Identity): %v", err)
	}
	if u.Identity() != s.Identity() {
		t.Errorf("reopened identity %q, want %q", u.Identity(), s.Identity())
	}
	u.Close()

	// Relative forms resolve against the working directory.
	t.Chdir(dir)
	rel, err := sqlitesource.Open(ctx, "my shop.v2.db", &sqlitesource.Options{Database: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if rel.Identity() != wantID || rel.Database() != "shop" {
		t.Errorf("relative Open: identity %q database %q", rel.Identity(), rel.Database())
	}
	rel.Close()
	viaURL, err := source.OpenURL(ctx, "sqlite:my%20shop.v2.db")
	if err != nil {
		t.Fatal(err)
	}
	if viaURL.Identity() != wantID {
		t.Errorf("sqlite:relative identity %q, want %q", viaURL.Identity(), wantID)
	}
	viaURL.Close()

	// Read-only: the source's own connections cannot write.
	snap, err := s.Snapshot(ctx, source.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	err = sqlitesource.EachSnapshotConn(snap, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, "INSERT INTO t VALUES (1)")
		return err
	})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Errorf("a write through the source = %v, want a read-only error", err)
	}
}

// TestNew: a source over an existing pool, file-backed and in memory.
func TestNew(t *testing.T) {
	ctx := context.Background()
	path, w := testDB(t, "WAL", 5)
	s, err := sqlitesource.New(ctx, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Database() != "snap" || s.Identity() != "sqlite://"+path {
		t.Errorf("New: database %q identity %q", s.Database(), s.Identity())
	}
	// The writer's pool allows one connection: one snapshot connection,
	// said so.
	snap, err := s.Snapshot(ctx, source.SnapshotOptions{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if info := snap.Info(); info.ID["connections"] != "1" || !hasFallback(info) {
		t.Errorf("Info = %+v, want one connection and a warning", info)
	}
	tables, _, err := snap.Tables(ctx, allFilter{})
	if err != nil || len(tables) != 1 {
		t.Fatalf("Tables = %v, %v", tables, err)
	}
	if n, err := countRows(snap, tables[0]); n != 5 || err != nil {
		t.Errorf("scan read %d rows, err %v", n, err)
	}
	snap.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.PingContext(ctx); err != nil {
		t.Errorf("Source.Close closed the caller's pool: %v", err)
	}

	mem, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	mem.SetMaxOpenConns(1) // one in-memory database
	mustExec(t, mem, "CREATE TABLE m (id INTEGER PRIMARY KEY)")
	ms, err := sqlitesource.New(ctx, mem, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ms.Database() != "memory" || !strings.HasPrefix(ms.Identity(), "sqlite:memory:") {
		t.Errorf("in-memory: database %q identity %q", ms.Database(), ms.Identity())
	}
	snap, err = ms.Snapshot(ctx, source.SnapshotOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !hasFallback(snap.Info()) {
		t.Errorf("in-memory snapshot with 2 workers has no warning: %+v", snap.Info())
	}
	if tables, _, err := snap.Tables(ctx, allFilter{}); err != nil || len(tables) != 1 || tables[0].Database != "memory" {
		t.Errorf("in-memory Tables = %v, %v", tables, err)
	}
	snap.Close()
}
