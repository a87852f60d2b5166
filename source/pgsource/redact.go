package pgsource

import (
	"context"

	"github.com/snapexport/snapexport/source"
)

// The exported methods below pass their errors through source.RedactError
// with the connection's password: no error leaves the source with it.

// Snapshot pins one point in time. For every database it exports (all the
// role may connect to, or opts.Databases) it opens a transaction and exports
// its snapshot; scans join it with SET TRANSACTION SNAPSHOT. Databases are
// snapshotted one after the other, each consistent in itself: PostgreSQL
// has no snapshot spanning databases. A database that cannot be connected to
// is left out with a FAILED_TO_EXTRACT_TABLES_LIST_FOR_DATABASE warning,
// unless it is the source's own database, which fails the call.
func (s *Source) Snapshot(ctx context.Context, opts source.SnapshotOptions) (source.Snapshot, error) {
	snap, err := s.openSnapshot(ctx, opts)
	return snap, s.redact(err)
}

// Scan reads one table, partition or key range as of the snapshot, on a
// connection of its own that joins the snapshot with SET TRANSACTION
// SNAPSHOT. Columns whose target is a number, boolean or bytes come in
// PostgreSQL's binary format; String columns come as the server's text
// output, straight from the wire buffer into the parquet.Value.
func (sn *Snapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	r, err := sn.scan(ctx, req)
	return r, sn.src.redact(err)
}

// KeyQuantiles returns up to n-1 boundaries that cut the key's non-NULL
// values, as of the snapshot, into n groups of about equal size. They come
// from a page sample (TABLESAMPLE SYSTEM, with a fixed seed so that a plan
// is reproducible), so a skewed or gappy key still gives parts of similar
// size. The sample runs on a connection of its own joined to the snapshot.
func (sn *Snapshot) KeyQuantiles(ctx context.Context, t source.Table, column string, n int) ([]int64, error) {
	q, err := sn.keyQuantiles(ctx, t, column, n)
	return q, sn.src.redact(err)
}

// redact hides the password in err.
func (s *Source) redact(err error) error { return source.RedactError(err, s.base.ConnConfig.Password) }
