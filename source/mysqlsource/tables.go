package mysqlsource

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// systemDatabases are never exported, as RDS does not.
var systemDatabases = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true,
}

// transactionalEngines take part in a consistent snapshot. Every other
// engine (MyISAM, Aria, MEMORY, CSV, ARCHIVE, MRG_MyISAM, FEDERATED,
// CONNECT, SPIDER...) is read as it is when the scan runs.
var transactionalEngines = map[string]bool{"innodb": true, "rocksdb": true, "tokudb": true}

// tables is Tables before redaction.
func (s *Snapshot) tables(ctx context.Context, filter source.Filter) ([]source.Table, []source.Skipped, error) {
	dbs, err := s.databases(ctx)
	if err != nil {
		return nil, nil, err
	}
	var tables []source.Table
	var skipped []source.Skipped
	for _, db := range dbs {
		if !filter.Database(db) {
			continue
		}
		t, sk, err := s.databaseTables(ctx, db, filter)
		if err != nil {
			return nil, nil, err
		}
		tables = append(tables, t...)
		skipped = append(skipped, sk...)
	}
	return tables, skipped, nil
}

func (s *Snapshot) databases(ctx context.Context) ([]string, error) {
	scope := s.src.opts.Databases
	rows, err := s.src.db.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: list databases: %w", err)
	}
	defer rows.Close()
	var dbs []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("mysqlsource: list databases: %w", err)
		}
		if !systemDatabases[strings.ToLower(name)] && (s.only == nil || s.only[name]) && (scope == nil || slices.Contains(scope, name)) {
			dbs = append(dbs, name)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysqlsource: list databases: %w", err)
	}
	sort.Strings(dbs)
	// A database asked for by name that the account cannot see: MySQL
	// shows an account only the databases it has privileges on, so it does
	// not exist or the account may read none of it.
	var asked []string
	for d := range s.only {
		asked = append(asked, d)
	}
	sort.Strings(asked)
	for _, d := range asked {
		if !slices.Contains(dbs, d) && !systemDatabases[strings.ToLower(d)] && (scope == nil || slices.Contains(scope, d)) {
			s.warnInvisible(d)
		}
	}
	return dbs, nil
}

// warnInvisible records, once, that a requested database is not visible
// to the account.
func (s *Snapshot) warnInvisible(db string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.warned["\x00db\x00"+db] {
		return
	}
	s.warned["\x00db\x00"+db] = true
	s.warnings = append(s.warnings, source.Warning{
		Target: db, Reason: source.ReasonPermissionsDoNotExist,
		Detail: "the account " + s.src.user + " sees no database " + quoteIdent(db) +
			": it has no privileges on it, or it does not exist; GRANT SELECT ON " + quoteIdent(db) + ".* TO " + s.src.user,
	})
}

type tableRow struct {
	name, engine string
	rows, bytes  int64
	partitioned  bool
}

func (s *Snapshot) databaseTables(ctx context.Context, db string, filter source.Filter) ([]source.Table, []source.Skipped, error) {
	// BASE TABLE, and MariaDB's SYSTEM VERSIONED (its current rows are what
	// SELECT reads). VIEW, SYSTEM VIEW, SEQUENCE and TEMPORARY are not
	// tables to export.
	rows, err := s.src.db.QueryContext(ctx, `SELECT TABLE_NAME, COALESCE(ENGINE, ''), COALESCE(TABLE_ROWS, 0),
		COALESCE(DATA_LENGTH, 0), COALESCE(CREATE_OPTIONS, '')
		FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')`, db)
	if err != nil {
		return nil, nil, fmt.Errorf("mysqlsource: list tables of database %q: %w", db, err)
	}
	var list []tableRow
	for rows.Next() {
		var t tableRow
		var opts string
		if err := rows.Scan(&t.name, &t.engine, &t.rows, &t.bytes, &opts); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("mysqlsource: list tables of database %q: %w", db, err)
		}
		t.partitioned = strings.Contains(strings.ToLower(opts), "partitioned")
		list = append(list, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("mysqlsource: list tables of database %q: %w", db, err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })

	var tables []source.Table
	var skipped []source.Skipped
	for _, tr := range list {
		if !filter.Table(db, db, tr.name) {
			continue
		}
		t := source.Table{
			Database: db, Schema: db, Name: tr.name,
			EstimatedRows: tr.rows, EstimatedBytes: tr.bytes,
			NonTransactional: !transactionalEngines[strings.ToLower(tr.engine)],
		}
		if denied, err := s.selectDenied(ctx, t); err != nil {
			return nil, nil, err
		} else if denied {
			skipped = append(skipped, source.Skipped{
				Target: t.Target(),
				Reason: source.ReasonPermissionsDoNotExist,
				Detail: "GRANT SELECT ON " + quoteIdent(db) + "." + quoteIdent(tr.name) + " TO " + s.src.user,
			})
			continue
		}
		if t.Columns, err = s.columns(ctx, db, tr.name); err != nil {
			return nil, nil, err
		}
		if tr.partitioned {
			if t.TablePartitions, err = s.partitions(ctx, db, tr.name); err != nil {
				return nil, nil, err
			}
		}
		if t.Key, err = s.key(ctx, t); err != nil {
			return nil, nil, err
		}
		if t.NonTransactional {
			s.warnNonTransactional(t, tr.engine)
		}
		tables = append(tables, t)
	}
	return tables, skipped, nil
}

// selectDenied probes SELECT * (which needs SELECT on every column) without
// reading a row.
func (s *Snapshot) selectDenied(ctx context.Context, t source.Table) (bool, error) {
	rows, err := s.src.db.QueryContext(ctx, "SELECT * FROM "+qualified(t)+" LIMIT 0")
	if err == nil {
		rows.Close()
		return false, rows.Err()
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) && (me.Number == 1142 || me.Number == 1143) {
		return true, nil
	}
	return false, fmt.Errorf("mysqlsource: check privileges on %s: %w", t.Target(), err)
}

func (s *Snapshot) columns(ctx context.Context, db, table string) ([]source.Column, error) {
	rows, err := s.src.db.QueryContext(ctx, `SELECT COLUMN_NAME, LOWER(DATA_TYPE), COLUMN_TYPE,
		COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0), COALESCE(CHARACTER_MAXIMUM_LENGTH, 0),
		COALESCE(DATETIME_PRECISION, 0), IS_NULLABLE
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY ORDINAL_POSITION`, db, table)
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: describe %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	var cols []source.Column
	for rows.Next() {
		var c source.Column
		var length uint64 // LONGTEXT's 4294967295 overflows nothing, but be exact
		var nullable string
		if err := rows.Scan(&c.Name, &c.DataType, &c.ColumnType, &c.Precision, &c.Scale, &length, &c.DateTimePrecision, &nullable); err != nil {
			return nil, fmt.Errorf("mysqlsource: describe %s.%s: %w", db, table, err)
		}
		c.Length = int(min(length, math.MaxInt32))
		c.Nullable = nullable == "YES"
		c.Unsigned = strings.Contains(strings.ToLower(c.ColumnType), "unsigned")
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysqlsource: describe %s.%s: %w", db, table, err)
	}
	if err := s.markJSON(ctx, db, table, cols); err != nil {
		return nil, fmt.Errorf("mysqlsource: describe %s.%s: %w", db, table, err)
	}
	return cols, nil
}

// markJSON sets CheckedJSON on MariaDB's JSON columns: LONGTEXT with the
// column-level CHECK (json_valid(`column`)) that MariaDB creates for the
// JSON type. MySQL's JSON is a type of its own, and tables without a
// LONGTEXT column need no query.
func (s *Snapshot) markJSON(ctx context.Context, db, table string, cols []source.Column) error {
	if s.src.engine != typemap.EngineMariaDB || !slices.ContainsFunc(cols, func(c source.Column) bool { return c.DataType == "longtext" }) {
		return nil
	}
	rows, err := s.src.db.QueryContext(ctx, `SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND LEVEL = 'Column'`, db, table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var name, clause string
		if err := rows.Scan(&name, &clause); err != nil {
			return err
		}
		for i := range cols {
			if cols[i].Name == name && cols[i].DataType == "longtext" && clause == "json_valid("+quoteIdent(name)+")" {
				cols[i].CheckedJSON = true
			}
		}
	}
	return rows.Err()
}

func (s *Snapshot) partitions(ctx context.Context, db, table string) ([]string, error) {
	// Subpartitions are read with their partition: PARTITION (p) covers them.
	rows, err := s.src.db.QueryContext(ctx, `SELECT PARTITION_NAME FROM information_schema.PARTITIONS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL
		GROUP BY PARTITION_NAME ORDER BY MIN(PARTITION_ORDINAL_POSITION)`, db, table)
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: list partitions of %s.%s: %w", db, table, err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, fmt.Errorf("mysqlsource: list partitions of %s.%s: %w", db, table, err)
		}
		parts = append(parts, p)
	}
	return parts, rows.Err()
}

var integerTypes = map[string]bool{"tinyint": true, "smallint": true, "mediumint": true, "int": true, "integer": true, "bigint": true}

// stringKeyTypes are the string types a table may be split on: their values
// are whole in the index (no TEXT or BLOB, which a B-tree only indexes by
// prefix), and KeyBoundaries reads them back as bytes.
var stringKeyTypes = map[string]bool{"char": true, "varchar": true, "binary": true, "varbinary": true}

// tableIndex is one index of a table, as information_schema describes it.
type tableIndex struct {
	name    string
	columns []string // in index order; "" for a functional key part (MySQL 8)
	prefix  bool     // the leading column is indexed by a prefix (SUB_PART)
	btree   bool     // ordered: FORCE INDEX reads it in key order
	usable  bool     // not IGNORED (MariaDB) or invisible (MySQL)
}

// key chooses the column Table.Key reports, and the index behind it (for
// FORCE INDEX and EXPLAIN), from the table's unique indexes, PRIMARY first
// within each rank:
//
//  0. an integer column with a unique index of its own, NOT NULL (today's
//     key: KeyQuantiles splits it from the engine's estimates);
//  1. a CHAR, VARCHAR, BINARY or VARBINARY column with a unique index of
//     its own, NOT NULL (KeyBoundaries samples it);
//  2. the same, or an integer, nullable (IncludeNull reads the NULLs);
//  3. the leading column of a multi-column unique index (the primary key
//     first), integer or string: its values repeat, which costs only
//     balance, never correctness (ranges over any column are disjoint).
//
// Ranks above 0 need an ordered (B-tree) index on the whole column, so that
// sampling and range reads walk the index in the column's collation; a
// prefix index orders only the first characters. For an integer key the
// bounds are read as of the snapshot.
//
// BIGINT UNSIGNED keys are reported too, with Max clamped to MaxInt64: a
// KeyRange bound b on an unsigned column means the integer b, so values
// above MaxInt64 are read by the range whose Upper is nil (the last range of
// any plan that covers the table), and by no bounded one.
func (s *Snapshot) key(ctx context.Context, t source.Table) (*source.Key, error) {
	indexes, err := s.indexes(ctx, t, true)
	if err != nil {
		return nil, err
	}
	var keyCol *typemap.Column
	var keyIndex string
	best := 4
	for _, ix := range indexes {
		if !ix.usable || len(ix.columns) == 0 || ix.columns[0] == "" || ix.prefix {
			continue
		}
		var c *typemap.Column
		for i := range t.Columns {
			if t.Columns[i].Name == ix.columns[0] {
				c = &t.Columns[i]
			}
		}
		if c == nil {
			continue
		}
		integer, str := integerTypes[c.DataType], stringKeyTypes[c.DataType]
		rank := 4
		switch {
		case !integer && !str:
		case len(ix.columns) == 1 && integer && !c.Nullable:
			rank = 0
		case !ix.btree:
			// A hash index neither orders nor samples: only today's
			// integer key (rank 0) is taken from one.
		case len(ix.columns) == 1 && str && !c.Nullable:
			rank = 1
		case len(ix.columns) == 1:
			rank = 2
		default:
			rank = 3
		}
		if rank < best {
			best, keyCol, keyIndex = rank, c, ix.name
		}
	}
	if keyCol == nil {
		return nil, nil
	}
	s.setKeyIndex(t, keyCol.Name, keyIndex)
	if !integerTypes[keyCol.DataType] {
		return &source.Key{Column: keyCol.Name}, nil
	}
	k := &source.Key{Column: keyCol.Name, Integer: true}
	conn, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	var lo, hi sql.NullString
	qk := quoteIdent(keyCol.Name)
	err = conn.conn.QueryRowContext(ctx, "SELECT MIN("+qk+"), MAX("+qk+") FROM "+qualified(t)).Scan(&lo, &hi)
	s.release(conn, err == nil || isServerError(err))
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: key bounds of %s: %w", t.Target(), err)
	}
	if lo.Valid && hi.Valid {
		l, h := clampInt64(lo.String), clampInt64(hi.String)
		k.Min, k.Max = &l, &h
	}
	return k, nil
}

// indexes lists t's indexes (only the unique ones if uniqueOnly), PRIMARY
// first, then unique ones, then by name. Columns are read by name (SELECT
// *) because servers differ: MariaDB has IGNORED, MySQL 8 IS_VISIBLE and
// functional key parts without a COLUMN_NAME.
func (s *Snapshot) indexes(ctx context.Context, t source.Table, uniqueOnly bool) ([]tableIndex, error) {
	maxNonUnique := 1
	if uniqueOnly {
		maxNonUnique = 0
	}
	rows, err := s.src.db.QueryContext(ctx, `SELECT * FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND NON_UNIQUE <= ?
		ORDER BY INDEX_NAME = 'PRIMARY' DESC, NON_UNIQUE, INDEX_NAME, SEQ_IN_INDEX`, t.Database, t.Name, maxNonUnique)
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: list indexes of %s: %w", t.Target(), err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("mysqlsource: list indexes of %s: %w", t.Target(), err)
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []tableIndex
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("mysqlsource: list indexes of %s: %w", t.Target(), err)
		}
		f := map[string]sql.NullString{}
		for i, n := range names {
			f[strings.ToUpper(n)] = vals[i]
		}
		name := f["INDEX_NAME"].String
		if len(out) == 0 || out[len(out)-1].name != name {
			out = append(out, tableIndex{
				name:   name,
				prefix: f["SUB_PART"].Valid,
				btree:  strings.EqualFold(f["INDEX_TYPE"].String, "BTREE"),
				usable: !strings.EqualFold(f["IGNORED"].String, "YES") && !strings.EqualFold(f["IS_VISIBLE"].String, "NO"),
			})
		}
		ix := &out[len(out)-1]
		ix.columns = append(ix.columns, f["COLUMN_NAME"].String)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mysqlsource: list indexes of %s: %w", t.Target(), err)
	}
	return out, nil
}

// clampInt64 parses an integer, clamping unsigned values above MaxInt64.
func clampInt64(s string) int64 {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v
	}
	return math.MaxInt64
}

// isServerError reports an error the server sent on a working connection.
func isServerError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number != 1927 && me.Number != 2013 && me.Number != 2006
}

func qualified(t source.Table) string {
	return quoteIdent(t.Database) + "." + quoteIdent(t.Name)
}
