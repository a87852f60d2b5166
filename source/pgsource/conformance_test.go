package pgsource_test

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/source/sourcetest"
)

func TestConformance(t *testing.T) {
	sourcetest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sourcetest.Harness, error) {
		u := requireDB(t)
		pool, err := pgxpool.New(ctx, u)
		if err != nil {
			return nil, err
		}
		return &harness{url: u, pool: pool}, nil
	})
}

// harness opens Sources restricted to the test database: the suite's
// snapshots then do not hold connections to other packages' databases.
type harness struct {
	url  string
	pool *pgxpool.Pool
}

var _ sourcetest.BinaryHarness = (*harness)(nil)

func (h *harness) Open(ctx context.Context) (source.Source, error) {
	return pgsource.OpenURL(ctx, h.url, &pgsource.Options{Databases: []string{testDatabase}})
}

func (h *harness) Exec(ctx context.Context, sql string) error {
	_, err := h.pool.Exec(ctx, sql)
	return err
}

func (h *harness) Database() string              { return testDatabase }
func (h *harness) Schema() string                { return "public" }
func (h *harness) QuoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
func (h *harness) Close()                        { h.pool.Close() }
func (h *harness) BinaryType() string            { return "BYTEA" }
func (h *harness) BinaryLiteral(b []byte) string {
	return `'\x` + hex.EncodeToString(b) + `'::bytea`
}

var _ sourcetest.WriteHarness = (*harness)(nil)

func (h *harness) WriteThrough(ctx context.Context, src source.Source, snap source.Snapshot, stmt string) ([]error, error) {
	return pgsource.WriteThrough(ctx, src, snap, stmt)
}
