package pgsource

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
)

// WriteThrough runs stmt on a connection of every pool the source holds
// and inside every exporting transaction of snap (under a savepoint, so the
// snapshot survives the error), and returns each result.
func WriteThrough(ctx context.Context, src source.Source, snap source.Snapshot, stmt string) ([]error, error) {
	s := src.(*Source)
	s.mu.Lock()
	pools := make([]*pgxpool.Pool, 0, len(s.pools))
	for _, p := range s.pools {
		pools = append(pools, p)
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range pools {
		c, err := p.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		_, err = c.Exec(ctx, stmt)
		c.Release()
		errs = append(errs, err)
	}
	for _, d := range snap.(*Snapshot).dbs {
		d.mu.Lock()
		conn := d.conn.Conn()
		if _, err := conn.Exec(ctx, "SAVEPOINT pgsource_write_through"); err != nil {
			d.mu.Unlock()
			return nil, err
		}
		_, err := conn.Exec(ctx, stmt)
		errs = append(errs, err)
		_, rerr := conn.Exec(ctx, "ROLLBACK TO SAVEPOINT pgsource_write_through")
		d.mu.Unlock()
		if rerr != nil {
			return nil, rerr
		}
	}
	return errs, nil
}

// SetLockCapacity makes the lock check take the server's lock table as n
// entries (0: the server's own size).
func SetLockCapacity(src source.Source, n int64) { src.(*Source).lockCapacity = n }
