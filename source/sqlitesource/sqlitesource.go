package sqlitesource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Scheme is the URL scheme the package registers: sqlite:///abs/path.db or
// sqlite:relative/path.db.
const Scheme = "sqlite"

func init() {
	source.Register(Scheme, func(ctx context.Context, u *url.URL) (source.Source, error) {
		path, err := pathFromURL(u)
		if err != nil {
			return nil, err
		}
		s, err := Open(ctx, path, nil)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	})
}

// Options tune a Source. The zero value (or nil) is valid.
type Options struct {
	// Database is the database name tables report (Table.Database, the
	// first part of export paths and ExportOnly names). Default: the file's
	// base name without its extension ("shop" for /data/shop.db), or
	// "memory" for an in-memory database given to [New].
	Database string
	// BusyTimeout is how long a connection [Open] makes waits for a lock
	// held by a writer (a rollback-journal database being written) before
	// failing with SQLITE_BUSY. Default 5 s. [New] leaves the pool's own
	// setting alone.
	BusyTimeout time.Duration
}

const (
	defaultBusyTimeout = 5 * time.Second
	// defaultAttempts is how many times Snapshot tries to join several
	// connections to one point in time before it falls back to one
	// connection: a write landing in the few milliseconds joining takes is
	// rare, three in a row means the database is written continuously.
	defaultAttempts = 3
)

// Source reads one SQLite database. It is safe for concurrent use.
type Source struct {
	db       *sql.DB
	ownDB    bool   // Open made db; Close closes it
	path     string // absolute file path; "" for an in-memory database
	database string
	identity string

	// attempts and joined are set by tests (export_test.go): how many join
	// attempts Snapshot makes, and a hook run after each connection joined.
	attempts int
	joined   func(i int)
}

var _ source.Source = (*Source)(nil)

// Open opens the SQLite database file at path (absolute, or relative to the
// working directory) read-only. The file must exist and be a SQLite
// database: Open never creates one, and reads the schema once to say so
// early.
func Open(ctx context.Context, path string, opts *Options) (*Source, error) {
	if opts == nil {
		opts = &Options{}
	}
	if path == "" {
		return nil, errors.New("sqlitesource: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitesource: resolving path %q: %w", path, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("sqlitesource: database file %q does not exist (it is opened read-only, never created): %w", abs, fs.ErrNotExist)
	case err != nil:
		return nil, fmt.Errorf("sqlitesource: database file %q: %w", abs, err)
	case fi.IsDir():
		return nil, fmt.Errorf("sqlitesource: %q is a directory, not a SQLite database file", abs)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	// A file: URI, so that SQLite applies mode=ro: read-only, and a missing
	// file fails instead of being created.
	dsn := "file:" + (&url.URL{Path: uriPath(abs)}).EscapedPath() +
		fmt.Sprintf("?mode=ro&_pragma=busy_timeout(%d)", busy.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitesource: opening %q: %w", abs, err)
	}
	s, err := newSource(ctx, db, abs, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownDB = true
	return s, nil
}

// New returns a Source reading the "main" database of an open pool (for
// example one that also writes the database, or an in-memory database).
// Snapshots of a file-backed database join several connections of the pool
// to one point in time; an in-memory database is read through one
// connection, since each connection of such a pool may be its own database.
// Close does not close db. Open the pool without modernc's _texttotime
// parameter: scans read dates as the text they are stored as.
func New(ctx context.Context, db *sql.DB, opts *Options) (*Source, error) {
	if opts == nil {
		opts = &Options{}
	}
	var file string
	if err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return nil, fmt.Errorf("sqlitesource: reading the database's file name: %w", err)
	}
	return newSource(ctx, db, file, opts)
}

func newSource(ctx context.Context, db *sql.DB, path string, opts *Options) (*Source, error) {
	s := &Source{db: db, path: path, database: opts.Database, attempts: defaultAttempts}
	what := path
	if path == "" {
		what = "in-memory database"
	}
	// Reading the schema is what makes SQLite look at the file's header.
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		var se *sqlite.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB {
			return nil, fmt.Errorf("sqlitesource: %q is not a SQLite database: %w", what, err)
		}
		return nil, fmt.Errorf("sqlitesource: reading the schema of %q: %w", what, err)
	}
	if path != "" {
		if s.database == "" {
			base := filepath.Base(path)
			s.database = strings.TrimSuffix(base, filepath.Ext(base))
			if s.database == "" {
				s.database = base
			}
		}
		s.identity = URL(path)
	} else {
		if s.database == "" {
			s.database = "memory"
		}
		// Each in-memory pool is its own database.
		s.identity = fmt.Sprintf("sqlite:memory:%s@%p", s.database, db)
	}
	return s, nil
}

// Engine returns "sqlite".
func (s *Source) Engine() string { return typemap.EngineSQLite }

// Identity is "sqlite:///absolute/path.db" for a file.
func (s *Source) Identity() string { return s.identity }

// Database is the database name tables report.
func (s *Source) Database() string { return s.database }

// Path is the absolute path of the database file, "" for an in-memory
// database.
func (s *Source) Path() string { return s.path }

// Close closes the connection pool if Open made it.
func (s *Source) Close() error {
	if !s.ownDB {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitesource: closing %q: %w", s.path, err)
	}
	return nil
}

// ParseURL returns the file path a sqlite URL names:
//
//	sqlite:///abs/path/shop.db  → /abs/path/shop.db
//	sqlite:/abs/path/shop.db    → /abs/path/shop.db
//	sqlite:data/shop.db         → data/shop.db (relative to the working directory)
//
// Paths are percent-decoded ("%20" is a space). A host (sqlite://host/x,
// including sqlite://./x.db), a query or a fragment is an error: there is
// nothing for them to mean, and guessing would open the wrong file.
func ParseURL(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("sqlitesource: invalid URL %q: %w", rawURL, err)
	}
	if !strings.EqualFold(u.Scheme, Scheme) {
		return "", fmt.Errorf("sqlitesource: URL %q does not start with %s:", rawURL, Scheme)
	}
	return pathFromURL(u)
}

const urlForms = "want sqlite:///absolute/path.db or sqlite:relative/path.db"

func pathFromURL(u *url.URL) (string, error) {
	raw := u.Redacted()
	switch {
	case u.User != nil || u.Host != "":
		return "", fmt.Errorf("sqlitesource: URL %q names a host (%s)", raw, urlForms)
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("sqlitesource: URL %q has parameters, which sqlite URLs do not take (%s)", raw, urlForms)
	case u.Fragment != "":
		return "", fmt.Errorf("sqlitesource: URL %q has a fragment (%s)", raw, urlForms)
	}
	var p string
	if u.Opaque != "" {
		dec, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return "", fmt.Errorf("sqlitesource: URL %q: %w", raw, err)
		}
		p = dec
	} else {
		p = u.Path
		// sqlite:///C:/data/x.db on Windows: the path is "C:/data/x.db".
		if runtime.GOOS == "windows" && len(p) >= 3 && p[0] == '/' && p[2] == ':' {
			p = p[1:]
		}
	}
	if p == "" {
		return "", fmt.Errorf("sqlitesource: URL %q has no file path (%s)", raw, urlForms)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", fmt.Errorf("sqlitesource: URL %q has a NUL byte in its path", raw)
	}
	return filepath.FromSlash(p), nil
}

// URL is the sqlite URL of a file path, made absolute against the working
// directory: what Identity reports, and what ParseURL turns back into path.
func URL(path string) string {
	if !filepath.IsAbs(path) {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
	}
	return (&url.URL{Scheme: Scheme, Path: uriPath(path)}).String()
}

// uriPath is an absolute path in URL form: slashes, and a leading slash
// before a Windows drive letter.
func uriPath(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}
