package mysqlsource

import (
	"context"
	"database/sql"
	"encoding/hex"
	"testing"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sourcetest"
)

// harness runs the conformance suite on the test database of the machine's
// MariaDB (or the server SNAPEXPORT_MYSQL_URL names).
type harness struct {
	url string
	db  *sql.DB
}

func (h *harness) Open(ctx context.Context) (source.Source, error) {
	return OpenURL(ctx, h.url, Options{})
}
func (h *harness) Exec(ctx context.Context, q string) error {
	_, err := h.db.ExecContext(ctx, q)
	return err
}
func (h *harness) Database() string              { return testDatabase }
func (h *harness) Schema() string                { return testDatabase }
func (h *harness) QuoteIdent(name string) string { return quoteIdent(name) }
func (h *harness) Close()                        { h.db.Close() }
func (h *harness) BinaryType() string            { return "VARBINARY(64)" }
func (h *harness) BinaryLiteral(b []byte) string { return "X'" + hex.EncodeToString(b) + "'" }

var _ sourcetest.BinaryHarness = (*harness)(nil)

func TestConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		cfg := serverConfig(t)
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return nil, err
		}
		return &harness{url: testURL(t), db: db}, nil
	})
}

func (h *harness) WriteThrough(ctx context.Context, src source.Source, snap source.Snapshot, stmt string) ([]error, error) {
	return writeThrough(ctx, src.(*Source), snap.(*Snapshot), stmt), nil
}

var _ sourcetest.WriteHarness = (*harness)(nil)

// writeThrough runs stmt on a connection of the source's pool and on every
// connection of the snapshot (borrowed the way scans borrow them), and
// returns each result.
func writeThrough(ctx context.Context, s *Source, snap *Snapshot, stmt string) []error {
	_, err := s.db.ExecContext(ctx, stmt)
	return append([]error{err}, writeThroughSnapshot(ctx, snap, stmt)...)
}

// writeThroughSnapshot runs stmt on every connection of the snapshot.
func writeThroughSnapshot(ctx context.Context, snap *Snapshot, stmt string) []error {
	var errs []error
	var held []*snapConn
	for range cap(snap.free) {
		c, err := snap.acquire(ctx)
		if err != nil {
			return append(errs, err)
		}
		held = append(held, c)
		_, err = c.conn.ExecContext(ctx, stmt)
		errs = append(errs, err)
	}
	for _, c := range held {
		snap.release(c, true)
	}
	return errs
}
