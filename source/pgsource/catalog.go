package pgsource

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/snapexport/snapexport/source"
)

// relation is what Scan needs to know of a listed table.
type relation struct {
	qualified string // quoted schema.name, for SQL
	kind      byte   // 'r' ordinary, 'p' partitioned
	// partitions maps a Table.TablePartitions entry to the partition's quoted
	// qualified name.
	partitions map[string]string
}

func relKey(schema, name string) string { return schema + "\x00" + name }

// Tables lists the tables of every snapshotted database the filter
// includes, in (database, schema, table) order, read from the catalog as of
// the snapshot. Listed tables are locked in ACCESS SHARE mode until the
// snapshot closes, as pg_dump does, so that no TRUNCATE, rewrite or DROP can
// pull their data out from under the snapshot; a table changed that way
// between Snapshot and Tables is an error.
func (sn *Snapshot) Tables(ctx context.Context, filter source.Filter) ([]source.Table, []source.Skipped, error) {
	if sn.joined {
		return nil, nil, errors.New("pgsource: a joined snapshot lists no tables: the session that exported the snapshot lists them")
	}
	var (
		tables  []source.Table
		skipped []source.Skipped
	)
	for _, db := range sn.order {
		if filter != nil && !filter.Database(db) {
			continue
		}
		t, s, err := sn.dbs[db].tables(ctx, sn.src, filter)
		if err != nil {
			return nil, nil, err
		}
		tables = append(tables, t...)
		skipped = append(skipped, s...)
	}
	return tables, skipped, nil
}

// listed is one row of the relation listing.
type listed struct {
	oid                     uint32
	schema, name            string
	qualified, quotedSchema string
	kind, persistence       string
	schemaUsage, canSelect  bool
	tablePrivilege          bool
	rlsBlocks               bool
	rows, bytes             int64
	filenode                uint32
	blockSize               int64
	table                   *source.Table
	partitionOIDs           []uint32
	partitionFilenodes      []uint32
	partitionQualified      []string
}

const listRelations = `
SELECT c.oid, n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(n.nspname),
	c.relkind::text, c.relpersistence::text,
	has_schema_privilege(n.oid, 'USAGE'),
	has_table_privilege(c.oid, 'SELECT') OR (
		EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
		AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
			AND NOT has_column_privilege(c.oid, a.attnum, 'SELECT'))),
	has_table_privilege(c.oid, 'SELECT'),
	c.relrowsecurity AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))
		AND NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)),
	greatest(c.reltuples, 0)::int8,
	CASE WHEN c.relkind = 'r' AND c.relpersistence = 'p' THEN coalesce(pg_relation_size(c.oid), 0) ELSE 0 END,
	c.relfilenode, current_setting('block_size')::int8
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition
	AND n.nspname <> 'information_schema' AND (n.nspname NOT LIKE 'pg\_%' OR c.relpersistence = 't')
ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`

// describeColumns mirrors information_schema.columns (data_type and the
// numeric, character and datetime facets, through the same internal
// functions) without its per-column privilege filtering and view overhead,
// and adds format_type, the column's own type (a domain's name, not its base
// type's), and the pg_type OIDs and typtype of the type, of the type under
// its domains and of an array's element, which the type profiles decide on
// (typemap.PGType).
const describeColumns = `
SELECT a.attrelid, a.attname, NOT a.attnotnull, format_type(a.atttypid, a.atttypmod),
	lower(CASE WHEN t.typtype = 'd' THEN
		CASE WHEN bt.typelem <> 0 AND bt.typlen = -1 THEN 'ARRAY'
			WHEN nbt.nspname = 'pg_catalog' THEN format_type(t.typbasetype, NULL)
			ELSE 'USER-DEFINED' END
	ELSE
		CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN 'ARRAY'
			WHEN nt.nspname = 'pg_catalog' THEN format_type(a.atttypid, NULL)
			ELSE 'USER-DEFINED' END
	END),
	coalesce(information_schema._pg_numeric_precision(information_schema._pg_truetypid(a.*, t.*), information_schema._pg_truetypmod(a.*, t.*)), 0),
	coalesce(information_schema._pg_numeric_scale(information_schema._pg_truetypid(a.*, t.*), information_schema._pg_truetypmod(a.*, t.*)), 0),
	coalesce(information_schema._pg_char_max_length(information_schema._pg_truetypid(a.*, t.*), information_schema._pg_truetypmod(a.*, t.*)), 0),
	coalesce(information_schema._pg_datetime_precision(information_schema._pg_truetypid(a.*, t.*), information_schema._pg_truetypmod(a.*, t.*)), 0),
	t.oid, t.typtype::text, b.oid, b.typtype::text,
	coalesce(e.oid, 0), coalesce(e.typtype::text, ''),
	coalesce(information_schema._pg_numeric_precision(e.oid, information_schema._pg_truetypmod(a.*, t.*)), 0),
	coalesce(information_schema._pg_numeric_scale(e.oid, information_schema._pg_truetypmod(a.*, t.*)), 0),
	a.attndims
FROM pg_attribute a
	JOIN pg_type t ON t.oid = a.atttypid
	JOIN pg_namespace nt ON nt.oid = t.typnamespace
	LEFT JOIN (pg_type bt JOIN pg_namespace nbt ON nbt.oid = bt.typnamespace) ON t.typtype = 'd' AND bt.oid = t.typbasetype
	-- the type under every domain, and the element of an array base type
	CROSS JOIN LATERAL (WITH RECURSIVE d(oid, typtype, base) AS (
			SELECT t.oid, t.typtype, t.typbasetype
			UNION ALL SELECT x.oid, x.typtype, x.typbasetype FROM d JOIN pg_type x ON x.oid = d.base WHERE d.typtype = 'd')
		SELECT d.oid, d.typtype FROM d WHERE d.typtype <> 'd') b
	JOIN pg_type bb ON bb.oid = b.oid
	LEFT JOIN pg_type e ON bb.typelem <> 0 AND bb.typlen = -1 AND e.oid = bb.typelem
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum`

// findKeys picks, per table, a single-column integer primary key, or else a
// single-column unique index on a NOT NULL integer column (valid, not
// partial, not on an expression).
const findKeys = `
SELECT DISTINCT ON (i.indrelid) i.indrelid, a.attname
FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
WHERE i.indrelid = ANY($1::oid[]) AND i.indnkeyatts = 1 AND i.indisunique AND i.indisvalid
	AND i.indpred IS NULL AND i.indexprs IS NULL
	AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)
	AND (i.indisprimary OR a.attnotnull)
ORDER BY i.indrelid, i.indisprimary DESC, a.attnum`

// listPartitions lists the leaf partitions of partitioned tables.
const listPartitions = `
WITH RECURSIVE tree(root, rel) AS (
	SELECT inhparent, inhrelid FROM pg_inherits WHERE inhparent = ANY($1::oid[])
	UNION ALL
	SELECT t.root, i.inhrelid FROM tree t JOIN pg_inherits i ON i.inhparent = t.rel
)
SELECT t.root, c.oid, n.nspname, c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
	greatest(c.reltuples, 0)::int8, coalesce(pg_relation_size(c.oid), 0), c.relfilenode
FROM tree t JOIN pg_class c ON c.oid = t.rel JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind <> 'p'
ORDER BY t.root, n.nspname COLLATE "C", c.relname COLLATE "C"`

// verifyRelations compares each relation as of the snapshot with the
// catalog now: same oid under the same name, same data file.
const verifyRelations = `
SELECT x.o FROM unnest($1::oid[], $2::text[], $3::oid[]) AS x(o, q, f)
WHERE to_regclass(x.q) IS DISTINCT FROM x.o OR (x.f <> 0 AND pg_relation_filenode(x.o) IS DISTINCT FROM x.f)`

func (d *dbSnapshot) tables(ctx context.Context, src *Source, filter source.Filter) (tables []source.Table, skipped []source.Skipped, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil, nil, errors.New("pgsource: snapshot is closed")
	}
	conn := d.conn.Conn()
	// Any error inside the exporting transaction would abort it and destroy
	// the snapshot the workers import; a savepoint confines it.
	if _, err := conn.Exec(ctx, "SAVEPOINT pgsource_tables"); err != nil {
		return nil, nil, fmt.Errorf("pgsource: list tables of database %q: %w", d.database, err)
	}
	defer func() {
		end := "RELEASE SAVEPOINT pgsource_tables"
		if err != nil {
			end = "ROLLBACK TO SAVEPOINT pgsource_tables; RELEASE SAVEPOINT pgsource_tables"
		}
		if _, e := conn.PgConn().Exec(context.WithoutCancel(ctx), end).ReadAll(); e != nil && err == nil {
			err = fmt.Errorf("pgsource: list tables of database %q: %w", d.database, e)
		}
	}()

	rels, err := listAll(ctx, conn)
	if err != nil {
		return nil, nil, fmt.Errorf("pgsource: list tables of database %q: %w", d.database, err)
	}
	var export []*listed
	for _, r := range rels {
		if filter != nil && !filter.Table(d.database, r.schema, r.name) {
			continue
		}
		target := source.Table{Database: d.database, Schema: r.schema, Name: r.name}.Target()
		skip := func(reason, detail string) {
			skipped = append(skipped, source.Skipped{Target: target, Reason: reason, Detail: detail})
		}
		switch {
		case r.persistence == "t":
			skip(source.ReasonTemporaryTable, "temporary tables belong to the session that created them")
		case r.persistence == "u":
			skip(source.ReasonUnloggedTable, "unlogged tables are not exported (as RDS)")
		case r.kind == "f":
			skip(source.ReasonForeignTable, "foreign tables are read from another server; export that server instead")
		case !r.schemaUsage:
			skip(source.ReasonPermissionsDoNotExist,
				"GRANT USAGE ON SCHEMA "+r.quotedSchema+" TO "+src.user+"; GRANT SELECT ON "+r.qualified+" TO "+src.user)
		case !r.canSelect:
			skip(source.ReasonPermissionsDoNotExist, "GRANT SELECT ON "+r.qualified+" TO "+src.user)
		case r.rlsBlocks:
			skip(source.ReasonPermissionsDoNotExist,
				"row-level security would hide rows of "+r.qualified+": ALTER ROLE "+src.user+" BYPASSRLS")
		default:
			r.table = &source.Table{Database: d.database, Schema: r.schema, Name: r.name,
				EstimatedRows: r.rows, EstimatedBytes: r.bytes, Pages: r.bytes / max(r.blockSize, 1)}
			export = append(export, r)
		}
	}
	if len(export) == 0 {
		return nil, skipped, nil
	}
	if err := d.describe(ctx, conn, export); err != nil {
		return nil, nil, fmt.Errorf("pgsource: describe tables of database %q: %w", d.database, err)
	}
	if err := d.lock(ctx, conn, src, export); err != nil {
		return nil, nil, err
	}
	if err := d.keyBounds(ctx, conn, export); err != nil {
		return nil, nil, fmt.Errorf("pgsource: read key bounds in database %q: %w", d.database, err)
	}
	for _, r := range export {
		tables = append(tables, *r.table)
		rel := &relation{qualified: r.qualified, kind: r.kind[0]}
		if r.kind == "p" {
			rel.partitions = map[string]string{}
			for i, p := range r.table.TablePartitions {
				rel.partitions[p] = r.partitionQualified[i]
			}
		}
		d.rels[relKey(r.schema, r.name)] = rel
	}
	return tables, skipped, nil
}

func listAll(ctx context.Context, conn *pgx.Conn) ([]*listed, error) {
	rows, err := conn.Query(ctx, listRelations)
	if err != nil {
		return nil, err
	}
	var out []*listed
	for rows.Next() {
		r := &listed{}
		if err := rows.Scan(&r.oid, &r.schema, &r.name, &r.qualified, &r.quotedSchema, &r.kind, &r.persistence,
			&r.schemaUsage, &r.canSelect, &r.tablePrivilege, &r.rlsBlocks, &r.rows, &r.bytes, &r.filenode, &r.blockSize); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// describe fills in columns, keys and partitions of the tables to export,
// one query each for the whole database.
func (d *dbSnapshot) describe(ctx context.Context, conn *pgx.Conn, export []*listed) error {
	byOID := make(map[uint32]*listed, len(export))
	oids := make([]uint32, 0, len(export))
	var partitioned []uint32
	for _, r := range export {
		byOID[r.oid] = r
		oids = append(oids, r.oid)
		if r.kind == "p" {
			partitioned = append(partitioned, r.oid)
			r.table.TablePartitions = []string{} // non-nil: a partitioned table, even with no partitions yet
			r.table.EstimatedRows, r.table.EstimatedBytes = 0, 0
		}
	}

	rows, err := conn.Query(ctx, describeColumns, oids)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			oid uint32
			c   source.Column
			p   [4]int32
			pg  [3]string // typtype of the type, its base and its element
			ep  [3]int32  // element precision and scale, attndims
		)
		if err := rows.Scan(&oid, &c.Name, &c.Nullable, &c.ColumnType, &c.DataType, &p[0], &p[1], &p[2], &p[3],
			&c.PG.OID, &pg[0], &c.PG.BaseOID, &pg[1], &c.PG.ElemOID, &pg[2], &ep[0], &ep[1], &ep[2]); err != nil {
			rows.Close()
			return err
		}
		c.Precision, c.Scale, c.Length, c.DateTimePrecision = int(p[0]), int(p[1]), int(p[2]), int(p[3])
		c.PG.Kind, c.PG.BaseKind, c.PG.ElemKind = firstByte(pg[0]), firstByte(pg[1]), firstByte(pg[2])
		c.PG.ElemPrecision, c.PG.ElemScale, c.PG.Dims = int(ep[0]), int(ep[1]), int(ep[2])
		t := byOID[oid].table
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}

	rows, err = conn.Query(ctx, findKeys, oids)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			oid uint32
			col string
		)
		if err := rows.Scan(&oid, &col); err != nil {
			rows.Close()
			return err
		}
		byOID[oid].table.Key = &source.Key{Column: col, Integer: true}
	}
	if err := rows.Err(); err != nil {
		return err
	}

	if len(partitioned) == 0 {
		return nil
	}
	rows, err = conn.Query(ctx, listPartitions, partitioned)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			root, oid, filenode     uint32
			schema, name, qualified string
			n, size                 int64
		)
		if err := rows.Scan(&root, &oid, &schema, &name, &qualified, &n, &size, &filenode); err != nil {
			rows.Close()
			return err
		}
		r := byOID[root]
		entry := name
		if schema != r.schema {
			entry = schema + "." + name
		}
		r.table.TablePartitions = append(r.table.TablePartitions, entry)
		r.table.EstimatedRows += n
		r.table.EstimatedBytes += size
		r.partitionOIDs = append(r.partitionOIDs, oid)
		r.partitionFilenodes = append(r.partitionFilenodes, filenode)
		r.partitionQualified = append(r.partitionQualified, qualified)
	}
	return rows.Err()
}

// lock takes ACCESS SHARE locks on the tables to export and checks that
// none changed between the snapshot and the lock. Locks need table-level
// SELECT (or more); tables readable through column privileges alone, or
// whose partitions refuse the lock, are read unlocked.
func (d *dbSnapshot) lock(ctx context.Context, conn *pgx.Conn, src *Source, export []*listed) error {
	timeout := src.opts.LockTimeout
	if timeout > 0 {
		if _, err := conn.Exec(ctx, fmt.Sprintf("SET LOCAL lock_timeout = %d", timeout.Milliseconds())); err != nil {
			return fmt.Errorf("pgsource: lock tables of database %q: %w", d.database, err)
		}
	}
	var lockable []*listed
	for _, r := range export {
		if r.tablePrivilege {
			lockable = append(lockable, r)
		}
	}
	if err := d.checkLockCapacity(ctx, conn, src, lockable); err != nil {
		return err
	}
	const chunk = 500
	for start := 0; start < len(lockable); start += chunk {
		part := lockable[start:min(start+chunk, len(lockable))]
		names := make([]string, len(part))
		for i, r := range part {
			names[i] = r.qualified
		}
		err := d.lockInSavepoint(ctx, conn, names)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege on a partition
			for _, n := range names {
				err = d.lockInSavepoint(ctx, conn, []string{n})
				if errors.As(err, &pgErr) && pgErr.Code == "42501" {
					err = nil
				}
				if err != nil {
					break
				}
			}
		}
		if err != nil {
			if errors.As(err, &pgErr) && pgErr.Code == "55P03" {
				return fmt.Errorf("pgsource: lock tables of database %q: waited longer than the lock timeout of %s for a table another session holds: %w",
					d.database, timeout, err)
			}
			return fmt.Errorf("pgsource: lock tables of database %q: %w", d.database, err)
		}
	}

	var (
		oids      []uint32
		qualified []string
		filenodes []uint32
		names     = map[uint32]string{}
	)
	for _, r := range export {
		oids = append(oids, r.oid)
		qualified = append(qualified, r.qualified)
		filenodes = append(filenodes, r.filenode)
		names[r.oid] = r.table.Target()
		for i, p := range r.partitionOIDs {
			oids = append(oids, p)
			qualified = append(qualified, r.partitionQualified[i])
			filenodes = append(filenodes, r.partitionFilenodes[i])
			names[p] = r.table.Target() + " (partition " + r.table.TablePartitions[i] + ")"
		}
	}
	rows, err := conn.Query(ctx, verifyRelations, oids, qualified, filenodes)
	if err != nil {
		return fmt.Errorf("pgsource: check tables of database %q: %w", d.database, err)
	}
	changed, err := pgx.CollectRows(rows, pgx.RowTo[uint32])
	if err != nil {
		return fmt.Errorf("pgsource: check tables of database %q: %w", d.database, err)
	}
	if len(changed) > 0 {
		return fmt.Errorf("pgsource: table %q was truncated, rewritten, renamed or dropped after the snapshot was taken; start the export again", names[changed[0]])
	}
	return nil
}

func (d *dbSnapshot) lockInSavepoint(ctx context.Context, conn *pgx.Conn, names []string) error {
	_, err := conn.PgConn().Exec(ctx, "SAVEPOINT pgsource_lock; LOCK TABLE "+strings.Join(names, ", ")+
		" IN ACCESS SHARE MODE; RELEASE SAVEPOINT pgsource_lock").ReadAll()
	if err != nil && !conn.PgConn().IsClosed() {
		if _, e := conn.PgConn().Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT pgsource_lock; RELEASE SAVEPOINT pgsource_lock").ReadAll(); e != nil {
			return errors.Join(err, e)
		}
	}
	return err
}

// keyBounds reads min and max of each key in one round trip; with the
// key's index each is a single index probe.
func (d *dbSnapshot) keyBounds(ctx context.Context, conn *pgx.Conn, export []*listed) error {
	var (
		batch pgx.Batch
		keyed []*listed
	)
	for _, r := range export {
		if r.table.Key == nil {
			continue
		}
		only := "ONLY "
		if r.kind == "p" {
			only = ""
		}
		col := pgx.Identifier{r.table.Key.Column}.Sanitize()
		batch.Queue("SELECT min(" + col + ")::int8, max(" + col + ")::int8 FROM " + only + r.qualified)
		keyed = append(keyed, r)
	}
	if len(keyed) == 0 {
		return nil
	}
	res := conn.SendBatch(ctx, &batch)
	for _, r := range keyed {
		var lo, hi *int64
		if err := res.QueryRow().Scan(&lo, &hi); err != nil {
			res.Close()
			return err
		}
		r.table.Key.Min, r.table.Key.Max = lo, hi
	}
	return res.Close()
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}
