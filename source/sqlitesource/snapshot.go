package sqlitesource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/snapexport/snapexport/source"
)

// snapshot is a set of connections, each in a read transaction that began at
// the same point in time. Scans and catalog reads share them: SQLite runs
// several statements on one connection, so a scan never waits for a free
// connection; it goes to the connection with the fewest open scans.
type snapshot struct {
	src  *Source
	info source.SnapshotInfo

	mu     sync.Mutex
	conns  []*snapConn
	open   int // open scans and catalog reads
	closed bool
}

type snapConn struct {
	conn   *sql.Conn
	active int
}

var _ source.Snapshot = (*snapshot)(nil)

// MaxConnections caps a snapshot's connections, whatever
// SnapshotOptions.Workers asks: each carries its own page cache, and SQLite
// gains nothing from more connections than cores. More scans share them.
const MaxConnections = 16

// Snapshot begins a read transaction on opts.Workers connections (at least
// one, at most MaxConnections) and makes sure they all see one point in time;
// see the package documentation ("Consistency") for how, and for the
// single-connection fallback.
func (s *Source) Snapshot(ctx context.Context, opts source.SnapshotOptions) (source.Snapshot, error) {
	want := min(max(opts.Workers, 1), MaxConnections)
	var warnings []source.Warning
	if want > 1 && opts.Databases != nil && !slices.Contains(opts.Databases, s.database) {
		want = 1 // nothing of this database is exported; one connection answers Tables
	}
	if want > 1 && s.path == "" {
		want = 1
		warnings = append(warnings, source.Warning{
			Target: s.database,
			Reason: source.ReasonConsistencyFallback,
			Detail: fmt.Sprintf("an in-memory database is read through one connection: %d scans share it", opts.Workers),
		})
	}
	if limit := s.db.Stats().MaxOpenConnections; want > 1 && limit > 0 && want+1 > limit {
		// One connection more than the snapshot's, for the probe.
		want = max(limit-1, 1)
		if limit < 3 {
			want = 1
			warnings = append(warnings, source.Warning{
				Target: s.database,
				Reason: source.ReasonConsistencyFallback,
				Detail: fmt.Sprintf("the connection pool allows %d connections: %d scans share one", limit, opts.Workers),
			})
		}
	}
	conns, fellBack, attempts, err := s.join(ctx, want)
	if err != nil {
		return nil, err
	}
	if fellBack {
		warnings = append(warnings, source.Warning{
			Target: s.database,
			Reason: source.ReasonConsistencyFallback,
			Detail: fmt.Sprintf("writes were committed while %d connections joined the snapshot, %d times in a row; "+
				"all %d scans read through one connection so that they see one point in time", want, attempts, opts.Workers),
		})
	}
	snap := &snapshot{src: s}
	for _, c := range conns {
		snap.conns = append(snap.conns, &snapConn{conn: c})
	}
	id, err := snap.identify(len(conns))
	if err != nil {
		snap.release()
		return nil, err
	}
	snap.info = source.SnapshotInfo{Time: time.Now().UTC(), ID: id, Warnings: warnings}
	return snap, nil
}

// join returns n connections in read transactions at one point in time, or
// one connection when writes kept landing while they joined (fellBack).
//
// SQLite starts a connection's read snapshot at its first read after BEGIN,
// and has no way (through database/sql) to hand one snapshot to another
// connection. So the connections begin one after another, and a probe
// connection outside the snapshot reads PRAGMA data_version before the first
// and after the last: the value changes whenever another connection commits,
// so equal values prove no commit happened in between, and every connection
// began at the same state of the database. Otherwise they try again.
func (s *Source) join(ctx context.Context, n int) (conns []*sql.Conn, fellBack bool, attempts int, err error) {
	defer func() {
		if err != nil {
			for _, c := range conns {
				discard(c)
			}
			conns = nil
		}
	}()
	var probe *sql.Conn
	if n > 1 {
		if probe, err = s.db.Conn(ctx); err != nil {
			return nil, false, 0, fmt.Errorf("sqlitesource: connecting to %q: %w", s.database, err)
		}
		defer probe.Close()
	}
	for attempts = 1; ; attempts++ {
		var before int64
		if probe != nil {
			if before, err = dataVersion(probe); err != nil {
				return conns, false, attempts, err
			}
		}
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return conns, false, attempts, fmt.Errorf("sqlitesource: snapshot of %q: %w", s.database, err)
			}
			if i == len(conns) {
				c, err := s.db.Conn(ctx)
				if err != nil {
					return conns, false, attempts, fmt.Errorf("sqlitesource: connecting to %q: %w", s.database, err)
				}
				conns = append(conns, c)
			}
			if err := beginRead(conns[i]); err != nil {
				return conns, false, attempts, fmt.Errorf("sqlitesource: beginning a read transaction on %q: %w", s.database, err)
			}
			if s.joined != nil {
				s.joined(i)
			}
		}
		if probe == nil {
			return conns, false, attempts, nil
		}
		after, err := dataVersion(probe)
		if err != nil {
			return conns, false, attempts, err
		}
		if after == before {
			return conns, false, attempts, nil
		}
		if attempts >= s.attempts {
			// The first connection's transaction is one point in time by
			// itself: keep it alone.
			for _, c := range conns[1:] {
				discard(c)
			}
			return conns[:1], true, attempts, nil
		}
		for _, c := range conns {
			if err := rollback(c); err != nil {
				return conns, false, attempts, err
			}
		}
		select {
		case <-ctx.Done():
			return conns, false, attempts, fmt.Errorf("sqlitesource: snapshot of %q: %w", s.database, ctx.Err())
		case <-time.After(time.Duration(attempts) * 10 * time.Millisecond):
		}
	}
}

// The driver is never given a cancellable context: modernc.org/sqlite
// cancels by sqlite3_interrupt, which aborts every statement of the
// connection, and a snapshot's connection carries several scans. Scans check
// their own context between rows instead.
var background = context.Background()

func beginRead(c *sql.Conn) error {
	if _, err := c.ExecContext(background, "BEGIN"); err != nil {
		return err
	}
	// The read transaction, and with it the snapshot, starts at the first
	// read, not at BEGIN.
	var n int
	if err := c.QueryRowContext(background, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
		rollback(c)
		return err
	}
	return nil
}

func rollback(c *sql.Conn) error {
	if _, err := c.ExecContext(background, "ROLLBACK"); err != nil {
		return fmt.Errorf("sqlitesource: ending a read transaction: %w", err)
	}
	return nil
}

// discard ends c's transaction and returns it to the pool, or closes it
// when the transaction cannot be ended (so no pooled connection keeps one).
func discard(c *sql.Conn) {
	if rollback(c) != nil {
		c.Raw(func(any) error { return driver.ErrBadConn })
	}
	c.Close()
}

func dataVersion(c *sql.Conn) (int64, error) {
	var v int64
	if err := c.QueryRowContext(background, "PRAGMA data_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlitesource: reading data_version: %w", err)
	}
	return v, nil
}

// identify reads what identifies the point in time, inside the snapshot.
// SQLite does not expose its WAL position to SQL, so in WAL mode these only
// change with the schema, the file's size or a checkpoint.
func (sn *snapshot) identify(conns int) (map[string]string, error) {
	c := sn.conns[0].conn
	id := map[string]string{"connections": strconv.Itoa(conns)}
	for _, p := range []string{"journal_mode", "schema_version", "page_count", "data_version"} {
		var v string
		if err := c.QueryRowContext(background, "PRAGMA "+p).Scan(&v); err != nil {
			return nil, fmt.Errorf("sqlitesource: reading PRAGMA %s: %w", p, err)
		}
		id[p] = v
	}
	// The file change counter (header bytes 24-27) counts commits in
	// rollback-journal mode; the transaction's shared lock holds it still.
	if sn.src.path != "" {
		if f, err := os.Open(sn.src.path); err == nil {
			var hdr [28]byte
			if _, err := f.ReadAt(hdr[:], 0); err == nil {
				id["file_change_counter"] = strconv.FormatUint(uint64(binary.BigEndian.Uint32(hdr[24:])), 10)
			}
			f.Close()
		}
	}
	return id, nil
}

func (sn *snapshot) Info() source.SnapshotInfo { return sn.info }

// acquire picks the connection with the fewest open scans.
func (sn *snapshot) acquire() (*snapConn, error) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.closed {
		return nil, errors.New("sqlitesource: snapshot is closed")
	}
	best := sn.conns[0]
	for _, c := range sn.conns[1:] {
		if c.active < best.active {
			best = c
		}
	}
	best.active++
	sn.open++
	return best, nil
}

func (sn *snapshot) releaseConn(c *snapConn) {
	sn.mu.Lock()
	c.active--
	sn.open--
	last := sn.closed && sn.open == 0
	sn.mu.Unlock()
	if last {
		sn.release() // Close was called early; it reported the error
	}
}

// Close ends the read transactions. Scans must be closed first; if some are
// still open, Close says so, and the transactions end when the last of them
// closes (so a forgotten scan delays, but does not leak, the connections).
func (sn *snapshot) Close() error {
	sn.mu.Lock()
	if sn.closed {
		sn.mu.Unlock()
		return nil
	}
	sn.closed = true
	open := sn.open
	sn.mu.Unlock()
	if open > 0 {
		return fmt.Errorf("sqlitesource: snapshot of %q closed with %d open scans; its connections are released when they close", sn.src.database, open)
	}
	return sn.release()
}

func (sn *snapshot) release() error {
	var errs []error
	for _, c := range sn.conns {
		if err := rollback(c.conn); err != nil {
			errs = append(errs, err)
			c.conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		if err := c.conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
