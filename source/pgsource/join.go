package pgsource

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/snapexport/snapexport/source"
)

// Joining another session's snapshot: the worker side of a distributed
// export. The coordinator's Snapshot keeps one exporting transaction per
// database open; a worker's joined Snapshot holds no transaction of its
// own, and every scan starts one with SET TRANSACTION SNAPSHOT on the
// coordinator's id, exactly as the coordinator's own scans do, through the
// same bounded, read-only connections (maxScanConns, acquire's waiting on
// a refused connection).

var (
	_ source.Joiner        = (*Source)(nil)
	_ source.Fingerprinter = (*Source)(nil)
)

// exportedSnapshotSuffix ends the identity key of a database's exported
// snapshot id ("<db>.exported_snapshot").
const exportedSnapshotSuffix = ".exported_snapshot"

// JoinSnapshot returns a Snapshot that reads the point in time of the
// snapshot whose Info().ID is id, exported by another Source of the same
// server (another process's): one database per "<db>.exported_snapshot"
// key. Each database's snapshot is imported once here, so a snapshot that
// has ended fails now, with an error wrapping [source.ErrSnapshotGone].
// The joined Snapshot's Tables fails (the exporting session lists tables);
// its Info has the same ID and no time. Every database must be one this
// Source reads.
func (s *Source) JoinSnapshot(ctx context.Context, id map[string]string) (source.Snapshot, error) {
	snap, err := s.joinSnapshot(ctx, id)
	if err != nil {
		return nil, s.redact(err)
	}
	return snap, nil
}

func (s *Source) joinSnapshot(ctx context.Context, id map[string]string) (*Snapshot, error) {
	var dbs []string
	for k := range id {
		if db, ok := strings.CutSuffix(k, exportedSnapshotSuffix); ok {
			dbs = append(dbs, db)
		}
	}
	if len(dbs) == 0 {
		return nil, errors.New("pgsource: the snapshot identity names no exported snapshot (no \"<database>" + exportedSnapshotSuffix + "\" key)")
	}
	slices.Sort(dbs)
	sn := &Snapshot{src: s, dbs: map[string]*dbSnapshot{}, order: dbs, joined: true,
		info: source.SnapshotInfo{ID: make(map[string]string, len(id))}}
	for k, v := range id {
		sn.info.ID[k] = v
	}
	for _, db := range dbs {
		if s.opts.Databases != nil && !slices.Contains(s.opts.Databases, db) {
			return nil, fmt.Errorf("pgsource: the snapshot to join reads database %q, which this source does not (it reads %s): open the source on the same databases as the coordinator's",
				db, strings.Join(s.opts.Databases, ", "))
		}
		pool, err := s.pool(ctx, db)
		if err != nil {
			return nil, err
		}
		sn.dbs[db] = &dbSnapshot{database: db, pool: pool, id: id[db+exportedSnapshotSuffix], rels: map[string]*relation{}}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("pgsource: source is closed")
	}
	s.snapshots[sn] = true
	s.mu.Unlock()
	for _, db := range dbs {
		if err := sn.dbs[db].tryJoin(ctx, s); err != nil {
			sn.Close()
			return nil, fmt.Errorf("pgsource: join snapshot of database %q: %w", db, err)
		}
	}
	return sn, nil
}

// tryJoin imports the snapshot once and gives the connection back.
func (d *dbSnapshot) tryJoin(ctx context.Context, src *Source) error {
	conn, err := d.join(ctx, src)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = rollback(rctx, conn.Conn().PgConn()) // on failure the pool discards the connection
	src.release(conn)
	return nil
}

// snapshotGone wraps source.ErrSnapshotGone around the server's refusal to
// import a snapshot that no transaction exports any more.
func snapshotGone(err error, d *dbSnapshot) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22023" && strings.Contains(pgErr.Message, "snapshot") {
		return fmt.Errorf("%w: snapshot %q of database %q (the exporting transaction ended, or another server exported it: a standby and its primary share no snapshots): %w",
			source.ErrSnapshotGone, d.id, d.database, err)
	}
	return err
}

// resolve learns, in the snapshot, the relation and partitions of a table
// a joined snapshot never listed, so that a scan of a partition in another
// schema than its table's names it right. It runs once per table.
func (d *dbSnapshot) resolve(ctx context.Context, src *Source, t source.Table) error {
	d.mu.Lock()
	_, known := d.rels[relKey(t.Schema, t.Name)]
	d.mu.Unlock()
	if known {
		return nil
	}
	conn, err := d.join(ctx, src)
	if err != nil {
		return fmt.Errorf("join snapshot: %w", err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = rollback(rctx, conn.Conn().PgConn())
		cancel()
		src.release(conn)
	}()
	rel, err := readRelation(ctx, conn.Conn(), t)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.rels[relKey(t.Schema, t.Name)] = rel
	d.mu.Unlock()
	return nil
}

// readRelation reads one table's relation as of conn's snapshot.
func readRelation(ctx context.Context, conn *pgx.Conn, t source.Table) (*relation, error) {
	var (
		oid       uint32
		qualified string
		kind      string
	)
	err := conn.QueryRow(ctx, `SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relkind::text
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, t.Schema, t.Name).Scan(&oid, &qualified, &kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errors.New("no such table in the snapshot")
	}
	if err != nil {
		return nil, err
	}
	rel := &relation{qualified: qualified, kind: kind[0]}
	if kind != "p" {
		return rel, nil
	}
	rel.partitions = map[string]string{}
	rows, err := conn.Query(ctx, listPartitions, []uint32{oid})
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			root, poid, filenode        uint32
			schema, name, partQualified string
			n, size                     int64
		)
		if err := rows.Scan(&root, &poid, &schema, &name, &partQualified, &n, &size, &filenode); err != nil {
			rows.Close()
			return nil, err
		}
		entry := name // as describe names Table.TablePartitions
		if schema != t.Schema {
			entry = schema + "." + name
		}
		rel.partitions[entry] = partQualified
	}
	return rel, rows.Err()
}

// Fingerprint identifies the cluster and the databases this Source reads:
// PostgreSQL's system identifier (pg_control_system(), the same on a
// primary and its physical standbys, different for any other cluster) and
// the databases ("*" for every database the role may connect to). It holds
// no host name and no credential.
func (s *Source) Fingerprint(ctx context.Context) (string, error) {
	pool, err := s.pool(ctx, s.base.ConnConfig.Database)
	if err != nil {
		return "", s.redact(err)
	}
	var system string
	if err := pool.QueryRow(ctx, "SELECT system_identifier::text FROM pg_control_system()").Scan(&system); err != nil {
		return "", s.redact(fmt.Errorf("pgsource: read the system identifier of %q: %w", s.identity, err))
	}
	dbs := "*"
	if s.opts.Databases != nil {
		quoted := make([]string, len(s.opts.Databases))
		for i, d := range s.opts.Databases {
			quoted[i] = strconv.Quote(d)
		}
		slices.Sort(quoted)
		dbs = strings.Join(quoted, ",")
	}
	return "postgres system_identifier=" + system + " databases=" + dbs, nil
}
