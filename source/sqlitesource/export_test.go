package sqlitesource

import (
	"context"
	"database/sql"

	"github.com/snapexport/snapexport/source"
)

// SetJoin sets how many times Snapshot tries to join its connections, and a
// hook run after connection i joined (tests use it to commit in between).
func SetJoin(s *Source, attempts int, joined func(i int)) {
	s.attempts = attempts
	s.joined = joined
}

// EachSnapshotConn runs fn on every connection of a snapshot, inside its
// read transaction.
func EachSnapshotConn(snap source.Snapshot, fn func(c *sql.Conn) error) error {
	for _, c := range snap.(*snapshot).conns {
		if err := fn(c.conn); err != nil {
			return err
		}
	}
	return nil
}

// WriteThrough runs stmt on a connection of the source's pool and on every
// connection of snap, and returns each result.
func WriteThrough(ctx context.Context, src source.Source, snap source.Snapshot, stmt string) ([]error, error) {
	_, err := src.(*Source).db.ExecContext(ctx, stmt)
	errs := []error{err}
	err = EachSnapshotConn(snap, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, stmt)
		errs = append(errs, err)
		return nil
	})
	return errs, err
}
