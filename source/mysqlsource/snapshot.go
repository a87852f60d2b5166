package mysqlsource

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/source"
)

// Keys of SnapshotInfo.ID.
const (
	// IDConsistency is how the snapshot was pinned: "ftwrl" (every
	// connection started its transaction under FLUSH TABLES WITH READ LOCK)
	// or "single_connection" (the fallback).
	IDConsistency = "consistency"
	// IDBinlogFile and IDBinlogPosition are the binary log coordinates of
	// the snapshot, when the server writes a binary log and the account
	// may read them.
	IDBinlogFile     = "binlog_file"
	IDBinlogPosition = "binlog_position"
	// IDGTIDBinlogPos is MariaDB's @@gtid_binlog_pos at the snapshot.
	IDGTIDBinlogPos = "gtid_binlog_pos"
	// IDGTIDExecuted is MySQL's @@gtid_executed at the snapshot.
	IDGTIDExecuted = "gtid_executed"
)

// Snapshot is one point in time of a MySQL or MariaDB server, held by a
// fixed set of connections, each inside a transaction started WITH
// CONSISTENT SNAPSHOT at that point. A scan borrows one of them and gives
// it back when its rows are closed, so Scan blocks while every connection
// is busy.
type Snapshot struct {
	src  *Source
	info source.SnapshotInfo // Time and ID; Warnings are in warnings

	free chan *snapConn  // idle snapshot connections
	only map[string]bool // SnapshotOptions.Databases; nil: every database

	mu       sync.Mutex
	warnings []source.Warning
	warned   map[string]bool // non-transactional tables already warned about
	// keyIndexes names the index of each key Tables found, for
	// KeyQuantiles' estimates: "<target>\x00<column>" → index.
	keyIndexes map[string]string
	// stringKeys caches the collation of each string column a range or
	// sample was asked for: "<target>\x00<column>" → key.
	stringKeys map[string]stringKey
	live       int // connections not yet lost
	closed     bool
	done       chan struct{} // closed by Close, or when the last connection is lost
}

var _ source.Snapshot = (*Snapshot)(nil)

// snapConn is one connection of the snapshot.
type snapConn struct {
	conn *sql.Conn
	id   int64 // CONNECTION_ID(), for KILL QUERY
}

// openSnapshot is Snapshot before redaction.
func (s *Source) openSnapshot(ctx context.Context, opts source.SnapshotOptions) (source.Snapshot, error) {
	snap, err := s.snapshot(ctx, opts)
	if err != nil {
		return nil, err
	}
	if opts.Databases != nil {
		snap.only = map[string]bool{}
		for _, d := range opts.Databases {
			snap.only[d] = true
		}
	}
	return snap, nil
}

// MaxSnapshotConns bounds the connections one snapshot holds, however many
// workers are asked for (each scan holds one while it runs). One more
// connection takes the lock while the snapshot starts, and the catalog
// queries use one of the pool's.
const MaxSnapshotConns = 32

func (s *Source) snapshot(ctx context.Context, opts source.SnapshotOptions) (*Snapshot, error) {
	n := min(max(opts.Workers, 1), MaxSnapshotConns)
	if s.opts.NoLock {
		return s.singleSnapshot(ctx, "the source was opened with lock=none (Options.NoLock)")
	}
	conns := make([]*snapConn, 0, n)
	fail := func(err error) (*Snapshot, error) {
		for _, c := range conns {
			c.discard()
		}
		return nil, err
	}
	var limited error // the server's refusal of more connections
	for range n {
		c, err := s.newSnapConn(ctx)
		if err != nil {
			if !tooManyConnections(err) || len(conns) == 0 {
				return fail(err)
			}
			limited = err
			break
		}
		conns = append(conns, c)
	}
	if limited != nil && len(conns) > 1 {
		// Leave one connection for the lock, then the catalog queries.
		conns[len(conns)-1].discard()
		conns = conns[:len(conns)-1]
	}
	lock, err := s.lockConn(ctx)
	if err != nil {
		return fail(err)
	}
	ok := false
	defer func() {
		// The lock connection goes back to the pool (for the catalog
		// queries) only once UNLOCK TABLES succeeded: otherwise closing it
		// is what releases the lock.
		if ok {
			lock.Close()
		} else {
			discard(lock)
		}
	}()
	secs := max(int64(s.opts.LockWaitTimeout/time.Second), 1)
	if _, err := lock.ExecContext(ctx, "SET SESSION lock_wait_timeout = "+strconv.FormatInt(secs, 10)); err != nil {
		return fail(fmt.Errorf("mysqlsource: snapshot: %w", err))
	}
	if _, err := lock.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		if reason, ok := lockFallbackReason(err); ok && ctx.Err() == nil {
			for _, c := range conns {
				c.discard()
			}
			return s.singleSnapshot(ctx, reason)
		}
		return fail(fmt.Errorf("mysqlsource: snapshot: FLUSH TABLES WITH READ LOCK: %w", err))
	}
	for _, c := range conns {
		if err := c.begin(ctx); err != nil {
			return fail(err)
		}
	}
	info := source.SnapshotInfo{ID: map[string]string{IDConsistency: "ftwrl"}}
	if err := s.readPosition(ctx, lock, &info, false); err != nil {
		return fail(err)
	}
	if err := recordDataVersions(ctx, lock, info.ID, opts.Databases, fmt.Sprint(time.Now().UnixNano())); err != nil { // identity.go
		return fail(err)
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return fail(fmt.Errorf("mysqlsource: snapshot: UNLOCK TABLES: %w", err))
	}
	ok = true
	if limited != nil {
		info.Warnings = append(info.Warnings, source.Warning{
			Reason: source.ReasonFewerConnections,
			Detail: fmt.Sprintf("the server refused more connections (%v); %d scans run at once instead of %d "+
				"(raise the account's MAX_USER_CONNECTIONS or the server's max_connections / max_user_connections)",
				errors.Unwrap(limited), len(conns), opts.Workers),
		})
	}
	return newSnapshot(s, info, conns), nil
}

// tooManyConnections reports the server refusing a connection for a
// connection limit: max_connections (ER_CON_COUNT_ERROR), max_user_connections
// (ER_TOO_MANY_USER_CONNECTIONS) or the account's MAX_USER_CONNECTIONS
// (ER_USER_LIMIT_REACHED).
func tooManyConnections(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1040 || me.Number == 1203 || me.Number == 1226)
}

// lockConn takes a connection for FLUSH TABLES WITH READ LOCK. Under a
// connection limit, the slot of a snapshot connection just closed is freed
// by the server a moment later: refusals are retried for a second.
func (s *Source) lockConn(ctx context.Context) (*sql.Conn, error) {
	for i := 0; ; i++ {
		lock, err := s.db.Conn(ctx)
		if err == nil {
			// A pool connection may be stale; make sure this one works.
			err = lock.PingContext(ctx)
			if err == nil {
				return lock, nil
			}
			discard(lock)
		}
		if !tooManyConnections(err) || i >= 20 || ctx.Err() != nil {
			return nil, connectError(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// singleSnapshot is the fallback: one connection, one snapshot, every scan
// in turn. Never two points in time.
func (s *Source) singleSnapshot(ctx context.Context, why string) (*Snapshot, error) {
	c, err := s.newSnapConn(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.begin(ctx); err != nil {
		c.discard()
		return nil, err
	}
	info := source.SnapshotInfo{ID: map[string]string{IDConsistency: "single_connection"}}
	if err := s.readPosition(ctx, c.conn, &info, true); err != nil {
		c.discard()
		return nil, err
	}
	detail := why + "; one connection reads every table in turn from one consistent snapshot"
	if _, ok := info.ID[IDBinlogFile]; !ok {
		detail += "; the binary log position of the snapshot is not known"
	}
	info.Warnings = []source.Warning{{Reason: source.ReasonConsistencyFallback, Detail: detail}}
	return newSnapshot(s, info, []*snapConn{c}), nil
}

// lockFallbackReason says why FLUSH TABLES WITH READ LOCK failed when the
// failure calls for the single-connection fallback: a missing privilege, or
// a lock wait that timed out.
func lockFallbackReason(err error) (string, bool) {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return "", false
	}
	switch me.Number {
	case 1044, 1045, 1142, 1227: // access denied variants; RELOAD is missing
		return "FLUSH TABLES WITH READ LOCK is not allowed (" + me.Message + "; grant RELOAD for parallel consistent reads)", true
	case 1205: // lock_wait_timeout
		return "FLUSH TABLES WITH READ LOCK waited longer than the lock wait timeout for running statements", true
	}
	return "", false
}

func newSnapshot(s *Source, info source.SnapshotInfo, conns []*snapConn) *Snapshot {
	snap := &Snapshot{
		src:      s,
		info:     source.SnapshotInfo{Time: info.Time, ID: info.ID},
		free:     make(chan *snapConn, len(conns)),
		warnings: info.Warnings,
		warned:   map[string]bool{},
		live:     len(conns),
		done:     make(chan struct{}),
	}
	for _, c := range conns {
		snap.free <- c
	}
	return snap
}

// newSnapConn takes a connection out of the pool for good and gives it the
// session a snapshot reads with.
func (s *Source) newSnapConn(ctx context.Context) (*snapConn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, connectError(err)
	}
	c := &snapConn{conn: conn}
	stmts := []string{
		"SET NAMES utf8mb4",
		"SET SESSION time_zone = '+00:00', SESSION sql_mode = '" + readSQLMode + "'" +
			", SESSION net_write_timeout = " + strconv.FormatInt(max(int64(s.opts.NetWriteTimeout/time.Second), 1), 10) +
			// An idle snapshot connection must outlive the longest table
			// another connection reads.
			", SESSION wait_timeout = 31536000" +
			// Scans wait for metadata locks no longer than the snapshot's
			// lock (Options.LockWaitTimeout).
			", SESSION lock_wait_timeout = " + strconv.FormatInt(max(int64(s.opts.LockWaitTimeout/time.Second), 1), 10),
		// WITH CONSISTENT SNAPSHOT means nothing below REPEATABLE READ;
		// READ ONLY also covers a caller's pool (OpenDB).
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY",
	}
	switch {
	case s.engine == "mariadb":
		stmts = append(stmts, "SET SESSION max_statement_time = 0")
	case s.isMySQL(5, 7):
		stmts = append(stmts, "SET SESSION max_execution_time = 0")
	}
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			c.discard()
			return nil, fmt.Errorf("mysqlsource: snapshot: session setup %q: %w", q, err)
		}
	}
	if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&c.id); err != nil {
		c.discard()
		return nil, fmt.Errorf("mysqlsource: snapshot: %w", err)
	}
	return c, nil
}

func (c *snapConn) begin(ctx context.Context) error {
	if _, err := c.conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return fmt.Errorf("mysqlsource: snapshot: START TRANSACTION WITH CONSISTENT SNAPSHOT: %w", err)
	}
	return nil
}

// discard closes the connection instead of returning it to the pool: it
// holds a transaction and session settings the pool must not hand out.
func (c *snapConn) discard() { discard(c.conn) }

func discard(conn *sql.Conn) {
	// Returning driver.ErrBadConn from Raw makes database/sql close the
	// physical connection rather than pool it.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// readPosition records the server clock and the binary log coordinates.
// Under the lock (single=false) nothing commits, so every value belongs to
// the snapshot. On the single connection, MariaDB's binlog_snapshot_*
// status variables are the coordinates of the connection's own snapshot;
// MySQL has no such thing, so none are recorded rather than a guess.
func (s *Source) readPosition(ctx context.Context, conn *sql.Conn, info *source.SnapshotInfo, single bool) error {
	var now string
	if err := conn.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&now); err != nil {
		return fmt.Errorf("mysqlsource: snapshot: read the server clock: %w", err)
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", now, time.UTC)
	if err != nil {
		return fmt.Errorf("mysqlsource: snapshot: server clock %q: %w", now, err)
	}
	info.Time = t
	set := func(k, v string) {
		if v != "" {
			info.ID[k] = v
		}
	}
	if single {
		if s.engine == "mariadb" {
			status, _ := queryKeyValues(ctx, conn, "SHOW SESSION STATUS LIKE 'binlog_snapshot_%'")
			if f := status["Binlog_snapshot_file"]; f != "" {
				set(IDBinlogFile, f)
				set(IDBinlogPosition, status["Binlog_snapshot_position"])
			}
		}
		return nil
	}
	// Positions are recorded where the account may read them; a missing
	// privilege (BINLOG MONITOR, REPLICATION CLIENT) leaves them out.
	if s.engine == "mariadb" {
		var gtid string
		if conn.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtid) == nil {
			set(IDGTIDBinlogPos, gtid)
		}
	} else {
		var gtid string
		if conn.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed").Scan(&gtid) == nil {
			set(IDGTIDExecuted, strings.ReplaceAll(gtid, "\n", ""))
		}
	}
	stmt := "SHOW MASTER STATUS"
	if s.isMySQL(8, 2) { // renamed in 8.2, the old name removed in 8.4
		stmt = "SHOW BINARY LOG STATUS"
	}
	if row, err := queryFirstRow(ctx, conn, stmt); err == nil {
		set(IDBinlogFile, row["File"])
		if row["File"] != "" {
			set(IDBinlogPosition, row["Position"])
		}
	}
	return nil
}

// queryKeyValues reads a two-column result (SHOW STATUS) into a map.
func queryKeyValues(ctx context.Context, conn *sql.Conn, q string) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k.String] = v.String
	}
	return out, rows.Err()
}

// queryFirstRow reads the first row of a result by column name.
func queryFirstRow(ctx context.Context, conn *sql.Conn, q string) (map[string]string, error) {
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, c := range cols {
			out[c] = vals[i].String
		}
	}
	return out, rows.Err()
}

// Info returns the snapshot's time, position and warnings. Tables adds a
// NON_TRANSACTIONAL_TABLE warning for each MyISAM, Aria, MEMORY... table it
// lists, so Info is complete once Tables returned.
func (s *Snapshot) Info() source.SnapshotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.info
	info.ID = make(map[string]string, len(s.info.ID))
	for k, v := range s.info.ID {
		info.ID[k] = v
	}
	info.Warnings = append([]source.Warning(nil), s.warnings...)
	return info
}

func (s *Snapshot) warnNonTransactional(t source.Table, engine string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := t.Target()
	if s.warned[target] {
		return
	}
	s.warned[target] = true
	s.warnings = append(s.warnings, source.Warning{
		Target: target,
		Reason: source.ReasonNonTransactionalTable,
		Detail: "engine " + engine + " has no transactions, so the table is not part of the snapshot: " +
			"it is read as it is when its scan runs, and rows written after the snapshot time may appear",
	})
}

// errSnapshotClosed and errSnapshotLost end scans that cannot have a
// connection.
var (
	errSnapshotClosed = errors.New("mysqlsource: snapshot is closed")
	errSnapshotLost   = errors.New("mysqlsource: every connection of the snapshot was lost (killed or disconnected); the snapshot cannot be read any more")
)

// acquire borrows an idle snapshot connection, waiting for one.
func (s *Snapshot) acquire(ctx context.Context) (*snapConn, error) {
	select {
	case c := <-s.free:
		return c, nil
	default:
	}
	select {
	case c := <-s.free:
		return c, nil
	case <-s.done:
		// A connection may have been released just before done closed.
		select {
		case c := <-s.free:
			return c, nil
		default:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return nil, errSnapshotClosed
		}
		return nil, errSnapshotLost
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release gives a connection back, or closes it when it is no longer
// inside the snapshot's transaction (killed, broken) or the snapshot is
// closed.
func (s *Snapshot) release(c *snapConn, healthy bool) {
	s.mu.Lock()
	closed := s.closed
	if !healthy || closed {
		s.live--
		if s.live == 0 && !closed {
			close(s.done)
		}
	}
	s.mu.Unlock()
	if !healthy || closed {
		c.discard()
		return
	}
	s.free <- c
}

// Close ends the snapshot's transactions and closes its connections. Scans
// must be closed first; a connection a scan still holds is closed when the
// scan releases it.
func (s *Snapshot) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.live > 0 {
		close(s.done)
	}
	s.mu.Unlock()
	for {
		select {
		case c := <-s.free:
			s.mu.Lock()
			s.live--
			s.mu.Unlock()
			c.discard()
		default:
			return nil
		}
	}
}
