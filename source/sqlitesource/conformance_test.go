package sqlitesource_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/source/sqlitesource"
)

// harness is a WAL-mode database file in a temporary directory, written
// through its own connection while the source under test reads it.
type harness struct {
	path string
	w    *sql.DB
}

func newHarness(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
	path := filepath.Join(t.TempDir(), "conformance.db")
	w, err := openWriter(ctx, path, "WAL")
	if err != nil {
		return nil, err
	}
	return &harness{path: path, w: w}, nil
}

// openWriter opens (creating) a database for writing in the given journal
// mode, on one connection.
func openWriter(ctx context.Context, path, journal string) (*sql.DB, error) {
	w, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode("+journal+")")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	if _, err := w.ExecContext(ctx, "PRAGMA user_version = 1"); err != nil { // creates the file
		w.Close()
		return nil, err
	}
	return w, nil
}

func (h *harness) Open(ctx context.Context) (source.Source, error) {
	s, err := sqlitesource.Open(ctx, h.path, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (h *harness) Exec(ctx context.Context, sql string) error {
	_, err := h.w.ExecContext(ctx, sql)
	return err
}

func (h *harness) Database() string { return "conformance" }
func (h *harness) Schema() string   { return "main" }
func (h *harness) QuoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
func (h *harness) Close() { h.w.Close() }

func (h *harness) BinaryType() string            { return "BLOB" }
func (h *harness) BinaryLiteral(b []byte) string { return "X'" + hex.EncodeToString(b) + "'" }

func TestConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, newHarness)
}

var _ sourcetest.WriteHarness = (*harness)(nil)

func (h *harness) WriteThrough(ctx context.Context, src source.Source, snap source.Snapshot, stmt string) ([]error, error) {
	return sqlitesource.WriteThrough(ctx, src, snap, stmt)
}
