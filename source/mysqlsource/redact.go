package mysqlsource

import (
	"context"

	"github.com/snapexport/snapexport/source"
)

// The exported methods below pass their errors through source.RedactError
// with the account's password: no error leaves the source with it.

// Snapshot pins the present. With the RELOAD privilege (and without
// Options.NoLock) it is mydumper's method: FLUSH TABLES WITH READ LOCK
// blocks every commit for the moment each of opts.Workers connections runs
// START TRANSACTION WITH CONSISTENT SNAPSHOT and the binary log position is
// read, then UNLOCK TABLES; every connection then reads the same point in
// time. Without the privilege (as on RDS), or when the lock cannot be had
// within Options.LockWaitTimeout, one connection holds one snapshot and
// serves every scan in turn, and Info().Warnings says so.
//
// LOCK INSTANCE FOR BACKUP (MySQL 8) is not used: it blocks DDL but not
// commits, so it cannot make several transactions start at one point.
func (s *Source) Snapshot(ctx context.Context, opts source.SnapshotOptions) (source.Snapshot, error) {
	snap, err := s.openSnapshot(ctx, opts)
	return snap, s.redact(err)
}

// Tables lists the base tables of every database except mysql,
// information_schema, performance_schema and sys (narrowed by
// SnapshotOptions.Databases, then by filter). Views and sequences are not
// listed. A table the account cannot SELECT (SELECT * fails with an access
// error, table or column privileges alike) comes back in skipped with the
// GRANT that fixes it. Tables are ordered by database, then name.
//
// The catalog is read through the pool (information_schema is not
// transactional anyway); key bounds are read inside the snapshot.
func (s *Snapshot) Tables(ctx context.Context, filter source.Filter) ([]source.Table, []source.Skipped, error) {
	t, sk, err := s.tables(ctx, filter)
	return t, sk, s.src.redact(err)
}

// Scan reads one table, partition or key range on a snapshot connection,
// waiting for one to be free. Rows stream from the server as the caller
// reads them (the text protocol; nothing is buffered beyond one row).
//
// Cancelling ctx, or closing the rows before the end, stops the statement
// with KILL QUERY from another connection: the snapshot connection and its
// transaction survive and go back to the snapshot. Only when that fails
// within a second is the connection closed.
func (s *Snapshot) Scan(ctx context.Context, req source.ScanRequest) (source.Rows, error) {
	r, err := s.scan(ctx, req)
	return r, s.src.redact(err)
}

// KeyQuantiles splits the key's values into n groups of about equal row
// counts, from the server's own estimates: EXPLAIN of a range over the key's
// index returns the storage engine's records-in-range estimate (InnoDB dives
// into the index at both ends; no row is read). InnoDB's estimate of a range
// is rough when the range is wide, and never more than half the table, so
// the key's span is cut into cells, the heaviest cell halved again and again
// (two EXPLAINs each) until every cell holds a small share of the rows, and
// the boundaries are read off the cells' cumulative counts. A skewed key
// thus still splits into parts of similar size, without reading it. Where
// the estimates are not available (an EXPLAIN error), the boundaries divide
// min..max evenly.
//
// A BIGINT UNSIGNED key above MaxInt64 is split within int64; its larger
// values fall in the last, open-ended range.
func (s *Snapshot) KeyQuantiles(ctx context.Context, t source.Table, column string, n int) ([]int64, error) {
	q, err := s.keyQuantiles(ctx, t, column, n)
	return q, s.src.redact(err)
}

// KeyBoundaries samples a CHAR, VARCHAR, BINARY or VARBINARY column (source.
// KeyBoundarySampler) by walking its index once, inside the snapshot:
//
//	SELECT CAST(k AS BINARY) FROM t FORCE INDEX (ix) WHERE k > <previous>
//	ORDER BY k LIMIT 1 OFFSET <stride − 1>
//
// Each statement skips stride entries of the index from where the previous
// one stopped and returns one value, so the whole walk reads each entry once
// (of the index: a secondary index holds only keys) and transfers only the
// samples, about 4n of them. The stride comes from the table's row estimate;
// it doubles when the estimate proves low, and when it proves so high that
// not one stride fits, the non-NULL keys are counted (the index is then
// smaller than one stride) and the walk starts again. The n−1 boundaries are
// the samples nearest to each n-th of the walk.
//
// Values are the column's own bytes (CAST AS BINARY: no conversion to the
// connection's character set), compared through literals of the column's
// character set and collation (see Scan), so each boundary sorts strictly
// after the one before in the column's collation: "k > previous" skips every
// value equal to it ('a' and 'Á' under utf8mb4_general_ci, 'a' and 'a ' under
// a PAD SPACE collation). A leading column that repeats (the first column of
// a composite key) samples the same way, with less even parts.
//
// The index walked is the key's (Tables chose it); for another column, the
// first B-tree index it leads. A column no index orders is not sampled.
func (s *Snapshot) KeyBoundaries(ctx context.Context, t source.Table, column string, n int) ([][]byte, error) {
	b, err := s.keyBoundaries(ctx, t, column, n)
	return b, s.src.redact(err)
}

// redact hides the password in err.
func (s *Source) redact(err error) error { return source.RedactError(err, s.secret) }
