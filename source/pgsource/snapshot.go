package pgsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/source"
)

// ReasonStandbyConflicts is the general warning of a snapshot held on a hot
// standby whose settings let WAL replay cancel it (recovery conflicts).
const ReasonStandbyConflicts = "STANDBY_SNAPSHOT_MAY_BE_CANCELED"

// Snapshot is one point in time of every exported database of a server:
// per database, a REPEATABLE READ READ ONLY transaction that exported its
// snapshot and stays open until Close. It is safe for concurrent use.
type Snapshot struct {
	src  *Source
	info source.SnapshotInfo
	dbs  map[string]*dbSnapshot
	// order lists the databases of dbs, sorted.
	order []string
	// joined is set for a snapshot another session exported (JoinSnapshot):
	// it holds no transaction of its own, and lists no tables.
	joined bool

	closeOnce sync.Once
	closeErr  error
}

var _ source.Snapshot = (*Snapshot)(nil)

// dbSnapshot is the exporting transaction of one database.
type dbSnapshot struct {
	database string
	pool     *pgxpool.Pool
	id       string // pg_export_snapshot()

	mu   sync.Mutex    // serialises catalog queries on conn
	conn *pgxpool.Conn // holds the exporting transaction open
	// rels are the relations Tables listed, by relKey, for Scan.
	rels map[string]*relation
}

// openSnapshot is Snapshot before redaction.
func (s *Source) openSnapshot(ctx context.Context, opts source.SnapshotOptions) (source.Snapshot, error) {
	basePool, err := s.pool(ctx, s.base.ConnConfig.Database)
	if err != nil {
		return nil, err
	}
	databases, warnings, err := s.databases(ctx, basePool, opts.Databases)
	if err != nil {
		return nil, err
	}
	sn := &Snapshot{src: s, dbs: map[string]*dbSnapshot{}}
	sn.info.ID = map[string]string{}
	sn.info.Warnings = warnings
	ok := false
	defer func() {
		if !ok {
			sn.Close()
		}
	}()
	// Connect to every database first, so the exports below, which fix the
	// points in time, follow each other as closely as possible.
	for _, db := range databases {
		pool, err := s.pool(ctx, db)
		if err != nil {
			return nil, err
		}
		conn, err := pool.Acquire(ctx)
		if err != nil {
			if db == s.base.ConnConfig.Database || ctx.Err() != nil {
				return nil, fmt.Errorf("pgsource: connect to database %q: %w", db, err)
			}
			sn.info.Warnings = append(sn.info.Warnings, source.Warning{
				Target: db, Reason: source.ReasonFailedToExtractTablesList,
				Detail: "cannot connect: " + err.Error(),
			})
			continue
		}
		sn.dbs[db] = &dbSnapshot{database: db, pool: pool, conn: conn, rels: map[string]*relation{}}
		sn.order = append(sn.order, db)
	}
	for _, db := range sn.order {
		if err := sn.export(ctx, sn.dbs[db]); err != nil {
			return nil, err
		}
	}
	if len(sn.order) > 0 {
		if err := sn.probeConnections(ctx, sn.dbs[sn.order[0]].pool, opts.Workers); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("pgsource: source is closed")
	}
	s.snapshots[sn] = true
	s.mu.Unlock()
	ok = true
	return sn, nil
}

// databases lists the databases to snapshot: those requested (by the
// snapshot options and the Source's options; nil: all but templates) that the
// role may connect to. A requested database the role may not CONNECT to gets
// a warning with the GRANT; one that does not exist is left for the caller
// to report as matching nothing.
func (s *Source) databases(ctx context.Context, pool *pgxpool.Pool, requested []string) ([]string, []source.Warning, error) {
	rows, err := pool.Query(ctx, `SELECT datname, has_database_privilege(oid, 'CONNECT'), quote_ident(datname)
		FROM pg_database WHERE NOT datistemplate AND datallowconn ORDER BY datname COLLATE "C"`)
	if err != nil {
		return nil, nil, fmt.Errorf("pgsource: list databases: %w", err)
	}
	explicit := requested != nil || s.opts.Databases != nil
	var (
		names    []string
		warnings []source.Warning
	)
	for rows.Next() {
		var name, quoted string
		var canConnect bool
		if err := rows.Scan(&name, &canConnect, &quoted); err != nil {
			return nil, nil, fmt.Errorf("pgsource: list databases: %w", err)
		}
		wanted := (requested == nil || slices.Contains(requested, name)) &&
			(s.opts.Databases == nil || slices.Contains(s.opts.Databases, name))
		switch {
		case !wanted:
		case canConnect:
			names = append(names, name)
		case explicit:
			warnings = append(warnings, source.Warning{
				Target: name, Reason: source.ReasonFailedToExtractTablesList,
				Detail: "GRANT CONNECT ON DATABASE " + quoted + " TO " + s.user,
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("pgsource: list databases: %w", err)
	}
	return names, warnings, nil
}

// export opens the database's snapshot transaction and records its identity.
func (sn *Snapshot) export(ctx context.Context, d *dbSnapshot) error {
	conn := d.conn.Conn()
	// idle_in_transaction_session_timeout would end the transaction, and the
	// snapshot with it, while workers still read; row_security = off makes a
	// query that a policy would filter fail instead of silently returning
	// fewer rows. SET LOCAL leaves the connection's own settings untouched
	// after the transaction.
	_, err := conn.PgConn().Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "+
		"SET LOCAL idle_in_transaction_session_timeout = 0; SET LOCAL statement_timeout = 0; SET LOCAL row_security = off").ReadAll()
	if err != nil {
		return fmt.Errorf("pgsource: begin snapshot transaction in database %q: %w", d.database, err)
	}
	snapshotFn := "pg_current_snapshot()"
	if sn.src.version < 130000 {
		snapshotFn = "txid_current_snapshot()"
	}
	var (
		at                 time.Time
		current            string
		lsn                *string
		inRecovery         bool
		feedback, maxDelay string
	)
	err = conn.QueryRow(ctx, `SELECT pg_export_snapshot(), now(), `+snapshotFn+`::text, pg_is_in_recovery(),
			(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text,
			current_setting('hot_standby_feedback'), current_setting('max_standby_streaming_delay')`).
		Scan(&d.id, &at, &current, &inRecovery, &lsn, &feedback, &maxDelay)
	if err != nil {
		return fmt.Errorf("pgsource: export snapshot of database %q: %w", d.database, err)
	}
	if sn.info.Time.IsZero() {
		sn.info.Time = at.UTC()
	}
	sn.info.ID[d.database+".exported_snapshot"] = d.id
	sn.info.ID[d.database+".txid_snapshot"] = current
	if lsn != nil {
		sn.info.ID[d.database+".lsn"] = *lsn
	}
	if err := sn.recordDataVersion(ctx, conn, d.database, inRecovery); err != nil { // identity.go
		return err
	}
	if inRecovery && (feedback != "on" || maxDelay != "-1") {
		sn.info.Warnings = append(sn.info.Warnings, source.Warning{
			Target: d.database, Reason: ReasonStandbyConflicts,
			Detail: fmt.Sprintf("the snapshot is held on a hot standby with hot_standby_feedback=%s and max_standby_streaming_delay=%s; "+
				"WAL replay may cancel it mid-export (set hot_standby_feedback=on and max_standby_streaming_delay=-1 on the standby, or export from the primary)",
				feedback, maxDelay),
		})
	}
	return nil
}

// Info returns the snapshot's time and identity: per database
// "<db>.exported_snapshot" (pg_export_snapshot, valid while the snapshot is
// open), "<db>.txid_snapshot" (pg_current_snapshot: xmin:xmax:xip) and
// "<db>.lsn" (the WAL position: pg_current_wal_lsn, or
// pg_last_wal_replay_lsn on a standby). Time is the first database's now().
func (sn *Snapshot) Info() source.SnapshotInfo { return sn.info }

func (sn *Snapshot) db(database string) (*dbSnapshot, error) {
	d, ok := sn.dbs[database]
	if !ok {
		return nil, fmt.Errorf("pgsource: database %q is not part of the snapshot", database)
	}
	return d, nil
}

// Close rolls back every exporting transaction and releases its connection.
func (sn *Snapshot) Close() error {
	sn.closeOnce.Do(func() {
		var errs []error
		for _, d := range sn.dbs {
			d.mu.Lock()
			if d.conn != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := rollback(ctx, d.conn.Conn().PgConn()); err != nil {
					errs = append(errs, fmt.Errorf("pgsource: end snapshot of database %q: %w", d.database, err))
				}
				cancel()
				d.conn.Release()
				d.conn = nil
			}
			d.mu.Unlock()
		}
		sn.src.forget(sn)
		sn.src.resetPools(sn)
		sn.closeErr = errors.Join(errs...)
	})
	return sn.closeErr
}

// rollback ends the connection's transaction; a connection that is already
// broken has nothing to roll back and is discarded by the pool on release.
func rollback(ctx context.Context, pc *pgconn.PgConn) error {
	if pc.IsClosed() || pc.TxStatus() == 'I' {
		return nil
	}
	_, err := pc.Exec(ctx, "ROLLBACK").ReadAll()
	return err
}

// quoteLiteral quotes s as an SQL string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
