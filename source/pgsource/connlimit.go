package pgsource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
)

// tooManyConnections reports the server refusing a connection because of
// max_connections or the role's or database's CONNECTION LIMIT (53300).
func tooManyConnections(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "53300"
}

// probeConnections opens, on the source's first database, as many
// connections as workers scans will need (at most the pool's size), and
// leaves them idle in the pool for the scans. When the server refuses some,
// the snapshot warns that fewer scans run at once: scans then wait for one
// another's connections (see acquire).
func (sn *Snapshot) probeConnections(ctx context.Context, pool *pgxpool.Pool, workers int) error {
	want := min(max(workers, 1), maxScanConns, int(pool.Config().MaxConns)-int(pool.Stat().AcquiredConns()))
	held := make([]*pgxpool.Conn, 0, want)
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for len(held) < want {
		c, err := pool.Acquire(ctx)
		if err != nil {
			if !tooManyConnections(err) {
				return fmt.Errorf("pgsource: connect to database %q: %w", pool.Config().ConnConfig.Database, err)
			}
			if len(held) == 0 {
				return fmt.Errorf("pgsource: the server refuses every connection beyond the snapshot's own, so no table can be read (raise the role's CONNECTION LIMIT or max_connections): %w", err)
			}
			sn.info.Warnings = append(sn.info.Warnings, source.Warning{
				Reason: source.ReasonFewerConnections,
				Detail: fmt.Sprintf("the server refused connections beyond %d for scans (%v); %d scans run at once instead of %d (raise the role's CONNECTION LIMIT or the server's max_connections)",
					len(held), errors.Unwrap(err), len(held), workers),
			})
			return nil
		}
		held = append(held, c)
	}
	return nil
}

// acquire takes a connection of the database's pool for a scan. When the
// server refuses a new one (53300) while other scans hold connections, the
// scan waits for one of theirs instead of failing: fewer scans run at once.
// Idle connections of the source's other databases are closed first, since
// they count against the same limits.
//
// Scans of all the source's databases together hold at most
// maxScanConns connections: each database's pool has its own bound, and a
// server with many databases would otherwise see that many times more. On
// success the caller gives the connection back with src.release.
func (d *dbSnapshot) acquire(ctx context.Context, src *Source) (*pgxpool.Conn, error) {
	select {
	case src.scanSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	conn, err := d.acquireConn(ctx, src)
	if err != nil {
		<-src.scanSlots
	}
	return conn, err
}

// release gives back a connection acquire returned, and its scan slot.
func (s *Source) release(conn *pgxpool.Conn) {
	conn.Release()
	<-s.scanSlots
}

// maxScanConns bounds the connections the scans of one Source hold at once,
// across its databases.
const maxScanConns = defaultMaxConns

// releaseGrace is how long a scan keeps asking for a connection the server
// refuses while no other scan holds one. A connection the pool destroys (one
// released inside a transaction, say) is closed at once on this side, but
// the server counts its backend against the limits until that process has
// exited, which takes a moment; failing on the first refusal made a task
// under a tight CONNECTION LIMIT fail now and then, racing a backend's exit.
const releaseGrace = 5 * time.Second

func (d *dbSnapshot) acquireConn(ctx context.Context, src *Source) (*pgxpool.Conn, error) {
	var alone time.Time // when this scan first found no other scan to wait for
	for {
		conn, err := d.pool.Acquire(ctx)
		if err == nil || !tooManyConnections(err) {
			return conn, err
		}
		if src.scansInFlight() > 0 {
			alone = time.Time{}
		} else if alone.IsZero() {
			alone = time.Now()
		} else if time.Since(alone) > releaseGrace {
			return nil, fmt.Errorf("the server refuses more connections and no other scan holds one to wait for (raise the role's CONNECTION LIMIT or max_connections): %w", err)
		}
		src.closeIdle(d.pool)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for a connection: %w", ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// scansInFlight counts the connections scans hold: the pools' acquired
// connections less the one each open snapshot holds per database.
func (s *Source) scansInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, p := range s.pools {
		n += int(p.Stat().AcquiredConns())
	}
	for sn := range s.snapshots {
		if !sn.joined { // a joined snapshot holds no connection of its own
			n -= len(sn.dbs)
		}
	}
	return n
}

// closeIdle closes the idle connections of every pool but keep.
func (s *Source) closeIdle(keep *pgxpool.Pool) {
	s.mu.Lock()
	pools := make([]*pgxpool.Pool, 0, len(s.pools))
	for _, p := range s.pools {
		if p != keep {
			pools = append(pools, p)
		}
	}
	s.mu.Unlock()
	for _, p := range pools {
		for _, c := range p.AcquireAllIdle(context.Background()) {
			_ = c.Hijack().Close(context.Background())
		}
	}
}
