// Package pgsource reads PostgreSQL (11 or later) for snapexport, on
// github.com/jackc/pgx/v5: one consistent snapshot per database shared by
// every worker, the RDS type mapping, and reads that move text from the wire
// into Parquet without decoding it.
//
// # Opening
//
// Importing the package registers the URL schemes postgres:// and
// postgresql:// with [source.OpenURL]:
//
//	import _ "github.com/snapexport/snapexport/source/pgsource"
//
//	postgres://user:password@host:5432/dbname?sslmode=require&pool_max_conns=16
//
// The URL (or a libpq key/value string, "host=h user=u dbname=d", which
// [OpenURL] takes too; source.OpenURL takes URLs only) follows pgx's
// connection-string rules, restricted to these parameters: host, port,
// dbname, user, password, passfile, service, servicefile, connect_timeout,
// sslmode, sslrootcert, sslcert, sslkey, sslcertmode, sslpassword, sslsni,
// sslnegotiation, channel_binding, require_auth, krbsrvname, krbspn,
// target_session_attrs, min_protocol_version, max_protocol_version,
// application_name, and pgxpool's pool_max_conns, pool_min_conns,
// pool_min_idle_conns, pool_max_conn_lifetime, pool_max_conn_lifetime_jitter,
// pool_max_conn_idle_time, pool_health_check_period. Any other is refused
// before anything connects, with an error naming it: pgx sends an unknown
// parameter to the server as a session setting (options=-c
// default_transaction_read_only=off would make the session writable), and
// its statement-mode parameters change how results are read. Run-time
// parameters from the environment or a service file (PGOPTIONS) are
// refused likewise; application_name and timezone (PGAPPNAME, PGTZ) are
// allowed. Without pool_max_conns each database's pool allows 32
// connections, opened only as needed. [OpenURL], [OpenConfig] (a
// *pgxpool.Config) and [Open] (an existing *pgxpool.Pool, which stays the
// caller's) are the explicit constructors. [Source.Identity], which the
// task record shows as SourceArn, is the URL without its password.
//
// # Secrets
//
// The password may come from the URL, or, so that it need not appear
// there, from PGPASSWORD, a passfile (PGPASSFILE, default ~/.pgpass) or a
// service (PGSERVICE and ~/.pg_service.conf), as libpq reads them (pgx's
// pgconn.ParseConfig). It appears in no error message, record or identity.
//
// # Read-only
//
// Every session the Source opens starts with
// default_transaction_read_only=on (a run-time parameter of the
// connection), and the snapshot's and scans' transactions are READ ONLY: a
// write through the exporter's connections fails with
// read_only_sql_transaction. A caller's pool ([Open]) gets the READ ONLY
// transactions.
//
// # Connections
//
// Each snapshotted database holds one connection, and each running scan
// one more, from a pool of at most 32 (pool_max_conns) per database; the
// scans of one Source hold at most 32 connections at once across its
// databases, however many workers ask (the next scan waits for one to
// close).
// [Source.Snapshot] opens, on its first database, the connections its
// Workers will scan with; when the server refuses some (53300: the role's
// or database's CONNECTION LIMIT, max_connections), fewer scans run at
// once, each waiting for another's connection, and Info().Warnings says so
// (FEWER_CONNECTIONS_THAN_WORKERS).
//
// # What is exported
//
// The database the connection settings name (the URL's path, dbname, a
// service's dbname or PGDATABASE) is the one exported: the task record's
// SourceArn names it. Settings that name no database
// (postgres://user@host:5432/) export every database the role may CONNECT
// to, except templates, as RDS exports the whole snapshot; the Source then
// connects first to the database "postgres", and reaches the others with
// the same settings. [Options.Databases] narrows either. Per database, the
// ordinary and partitioned tables of every schema but pg_catalog,
// information_schema and pg_toast. Views and materialized views are not
// listed. These are skipped with a reason ([source.Skipped]):
//
//   - temporary tables (TEMPORARY_TABLE), unlogged tables (UNLOGGED_TABLE)
//     and foreign tables (FOREIGN_TABLE);
//   - tables the role cannot read (PERMISSIONS_DO_NOT_EXIST), with the GRANT
//     that fixes it in Detail, e.g. "GRANT SELECT ON public.orders TO
//     exporter" (RDS suggests the broader "GRANT ALL PRIVILEGES ON ALL TABLES
//     IN SCHEMA public TO exporter"), and tables whose row-level security
//     policies would hide rows from the role (the fix is BYPASSRLS).
//
// A partitioned table is listed once, as itself, with its leaf partitions in
// [source.Table.TablePartitions] (sorted by schema and name; a partition in
// another schema than its parent is written "schema.name"); partitions are
// not listed on their own. Tables with old-style inheritance children are
// read with ONLY, so the children's rows are exported once, with the
// children. [source.Table.Key] is a single-column integer (smallint,
// integer, bigint) primary key, or else a unique index on a single NOT NULL
// integer column, with its min and max as of the snapshot.
//
// # Parallel reads
//
// The snapshot helps the planner split big tables (package partition):
// [Snapshot.KeyQuantiles] ([source.KeySampler]) cuts an integer key into
// ranges of similar row counts from a page sample taken in the snapshot
// (TABLESAMPLE SYSTEM, fixed seed), however skewed the key; for tables
// without a key, [source.Table.Pages] is the table's size in pages and
// scans accept page ranges ([source.ScanRequest.Blocks], read with a TID
// range scan, ctid >= '(lo,0)' AND ctid < '(hi,0)'), on PostgreSQL 14 and
// later ([Snapshot.ScansBlocks]). Every row version the snapshot sees has
// one ctid, so page ranges that tile the table read each row once.
//
// Columns are described as information_schema does: [source.Column.DataType]
// is data_type in lower case ("character varying", "array",
// "user-defined"; a domain's base type), [source.Column.ColumnType] is
// format_type, the column's own type ("character varying(20)", "integer[]",
// "public.mood", a domain's name), which the typemap profile maps by.
//
// # Consistency
//
// [Source.Snapshot] opens, per database, a REPEATABLE READ READ ONLY
// transaction that runs pg_export_snapshot() and stays open until
// [Snapshot.Close]. Every scan runs on a connection of its own that starts
// with
//
//	BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
//	SET TRANSACTION SNAPSHOT '<exported id>';
//
// so all tables of a database, read by however many workers, show the same
// point in time. PostgreSQL has no snapshot spanning databases: databases
// are snapshotted one right after the other. [Snapshot.Tables] takes ACCESS
// SHARE locks on the listed tables in the exporting transaction, as pg_dump
// does, because TRUNCATE and table rewrites are not MVCC-safe: while the
// export runs they wait; one that committed between Snapshot and Tables is
// detected and reported as an error. A scan that would wait for a lock
// (an ALTER queued behind the export's lock) fails after 5 s instead of
// deadlocking. [Snapshot.Info] records now(), the exported snapshot id,
// pg_current_snapshot() and the WAL LSN of each database.
//
// Each snapshotted database holds one connection for the export's duration,
// and each running scan one more. The connection pool must not be a
// transaction-pooling proxy (PgBouncer in transaction mode), which cannot
// keep a snapshot.
//
// # Joining from another process
//
// [Source.JoinSnapshot] is the worker side of a distributed export: a
// Source that another process opened, with its own credentials, on the same
// server joins a snapshot by its identity alone (the "<db>.exported_snapshot"
// keys of [Snapshot.Info]). Its scans start exactly like the ones above,
// through the same bounded, read-only connections, and return the same
// rows; it lists no tables. Once the exporting transaction ends, joining
// and scanning fail with [source.ErrSnapshotGone]. [Source.Fingerprint]
// (the cluster's system identifier and the databases) lets a worker check
// that it reads the coordinator's server: a primary and its standbys share
// the identifier but not snapshots, which the import then refuses.
//
// # Standby servers
//
// A hot standby exports snapshots like a primary (PostgreSQL 10 and later;
// tested on 15); the LSN is pg_last_wal_replay_lsn(). WAL replay can cancel
// a long snapshot with a recovery conflict: unless hot_standby_feedback is
// on and max_standby_streaming_delay is -1, Info carries a
// STANDBY_SNAPSHOT_MAY_BE_CANCELED warning.
//
// # Session settings
//
// Every scan's transaction sets, with SET LOCAL (the pool's connections keep
// their own settings afterwards):
//
//	TimeZone = 'UTC'             timestamptz prints as 2024-05-01 12:00:00+00
//	DateStyle = 'ISO, MDY'       dates print as 2024-05-01, BC dates as 0044-03-15 BC
//	IntervalStyle = 'postgres'   intervals print as 1 year 2 mons 03:04:05
//	extra_float_digits = 3       floats in text (arrays, composites) print exactly
//	bytea_output = 'hex'         bytea inside arrays and composites prints as \x...
//	row_security = off           a policy that would filter rows is an error, not fewer rows
//	statement_timeout = 0, idle_in_transaction_session_timeout = 0
//	lock_timeout = '5s'          see Consistency
//
// lc_monetary is left as the database has it, because it says which
// currency money values are in.
//
// Every connection asks for client_encoding UTF8, whatever the URL says, so
// the server converts text from the database's encoding (LATIN1, WIN1252...).
// A SQL_ASCII database declares no encoding and the server converts nothing:
// its scans read the bytes as stored (client_encoding SQL_ASCII for the
// scan) and each byte that does not start a valid UTF-8 sequence becomes
// U+FFFD; the values changed are counted per column in an
// INVALID_UTF8_REPLACED warning, and the task completes. An override to
// binary keeps the bytes.
//
// # Types and wire formats
//
// A String column holds exactly PostgreSQL's text output of the value (what
// psql prints): numeric keeps NaN and Infinity, float text keeps NaN and
// ±Infinity, dates and timestamps keep infinity and BC, arrays keep NULL
// elements, char(n) keeps its padding. It differs from col::text for two
// types only, where the cast is not the output function: char(n)::text
// strips trailing spaces and inet::text always adds the netmask
// (1.2.3.4/32 where psql prints 1.2.3.4).
//
// Scans request each result column in the format its target needs: binary
// for integers, floats, booleans and bytea (decoded here from big-endian
// bytes, no reflection, no boxing), text for String columns, whose bytes go
// from pgconn's read buffer into parquet.ByteArrayValue without a copy. Rows
// stream: memory holds one row at a time. Overrides to other targets are
// converted too: integers and floats across widths, text parsed as numbers
// or booleans, numeric (or any decimal text) as DECIMAL, timestamp,
// timestamptz and date as TIMESTAMP; values such a target cannot hold
// (NaN as DECIMAL, infinity as TIMESTAMP) are written as NULL and counted in
// a UNREPRESENTABLE_VALUES_WRITTEN_AS_NULL warning.
//
// The typed profile's targets (see typemap) are read in binary where a
// binary form exists: date as DATE (±infinity NULL and counted), time as
// TIME, timestamp and timestamptz as TIMESTAMP with the value beyond int64
// microseconds an error naming the row (Strict targets), uuid as its 16
// bytes, and one-dimensional arrays as LIST from the binary array format,
// elements decoded like the scalars (numeric elements from base-10000
// digits, exactly). An array value with more dimensions or a lower bound
// other than 1 is an error naming the row. json, jsonb and enums come as
// text. Errors of a value name the table's key of the row when the scan
// reads it: column "ts" (row id = 2).
//
// [source.ScanRequest.MaxValueBytes] is checked on each value's wire size;
// the value has been received by then, so memory briefly holds it.
package pgsource
