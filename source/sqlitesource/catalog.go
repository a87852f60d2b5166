package sqlitesource

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// Schema is the schema every table reports: SQLite's name for the main
// database of a connection.
const Schema = "main"

// Tables lists the tables of the main database, by name. Views are not
// tables; SQLite's internal sqlite_* tables are not listed; virtual tables
// (FTS, R*Tree, ...) are skipped as foreign tables, since their rows come
// from a module rather than from the file (their shadow tables, which hold
// the data, are ordinary tables and are listed).
func (sn *snapshot) Tables(ctx context.Context, filter source.Filter) ([]source.Table, []source.Skipped, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlitesource: listing tables of %q: %w", sn.src.database, err)
	}
	db := sn.src.database
	if !filter.Database(db) {
		return nil, nil, nil
	}
	sc, err := sn.acquire()
	if err != nil {
		return nil, nil, err
	}
	defer sn.releaseConn(sc)
	c := sc.conn

	type entry struct {
		name, typ    string
		withoutRowid bool
	}
	var entries []entry
	rows, err := c.QueryContext(background, `SELECT name, type, wr FROM pragma_table_list
		WHERE schema = 'main' AND type IN ('table', 'virtual', 'shadow') AND name NOT LIKE 'sqlite\_%' ESCAPE '\'
		ORDER BY name`)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlitesource: listing tables of %q: %w", db, err)
	}
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.name, &e.typ, &e.withoutRowid); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("sqlitesource: listing tables of %q: %w", db, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Close(); err != nil {
		return nil, nil, fmt.Errorf("sqlitesource: listing tables of %q: %w", db, err)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlitesource: listing tables of %q: %w", db, err)
	}

	var tables []source.Table
	var skipped []source.Skipped
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("sqlitesource: listing tables of %q: %w", db, err)
		}
		if !filter.Table(db, Schema, e.name) {
			continue
		}
		tb := source.Table{Database: db, Schema: Schema, Name: e.name}
		if e.typ == "virtual" {
			skipped = append(skipped, source.Skipped{
				Target: tb.Target(),
				Reason: source.ReasonForeignTable,
				Detail: "virtual table: its rows come from a SQLite module, not from the file; its shadow tables are exported instead",
			})
			continue
		}
		if err := describe(c, &tb, e.withoutRowid); err != nil {
			return nil, nil, err
		}
		tables = append(tables, tb)
	}
	return tables, skipped, nil
}

// describe fills in the columns, key and estimates of tb.
func describe(c *sql.Conn, tb *source.Table, withoutRowid bool) error {
	fail := func(err error) error {
		return fmt.Errorf("sqlitesource: describing %s: %w", tb.Target(), err)
	}
	rows, err := c.QueryContext(background, `SELECT name, type, "notnull", pk FROM pragma_table_xinfo(?)
		WHERE hidden IN (0, 2, 3) ORDER BY cid`, tb.Name) // 1: hidden columns of virtual tables; 2, 3: generated columns
	if err != nil {
		return fail(err)
	}
	var pk []int // indexes into Columns of the primary key's columns
	for rows.Next() {
		var name, decl string
		var notNull bool
		var pkPos int
		if err := rows.Scan(&name, &decl, &notNull, &pkPos); err != nil {
			rows.Close()
			return fail(err)
		}
		col := columnOf(name, decl)
		col.Nullable = !notNull
		if pkPos > 0 {
			pk = append(pk, len(tb.Columns))
		}
		tb.Columns = append(tb.Columns, col)
	}
	if err := rows.Close(); err != nil {
		return fail(err)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	if len(tb.Columns) == 0 {
		return fail(fmt.Errorf("no columns (the table may need a module this build lacks)"))
	}

	var key *source.Key
	if len(pk) == 1 {
		col := &tb.Columns[pk[0]]
		hasPKIndex, err := exists(c, `SELECT 1 FROM pragma_index_list(?) WHERE origin = 'pk'`, tb.Name)
		if err != nil {
			return fail(err)
		}
		// A rowid alias ("INTEGER PRIMARY KEY", exactly, without the DESC
		// quirk that gives it an index) and the key of a WITHOUT ROWID table
		// are never NULL, whatever "notnull" says.
		rowidAlias := !withoutRowid && !hasPKIndex && strings.EqualFold(strings.TrimSpace(col.ColumnType), "integer")
		if rowidAlias || withoutRowid {
			col.Nullable = false
		}
		if typemap.SQLiteAffinityKind(col.ColumnType) == typemap.Int64 {
			key = &source.Key{Column: col.Name, Integer: true}
		}
	}
	if key == nil {
		if key, err = uniqueIntegerKey(c, tb); err != nil {
			return fail(err)
		}
	}
	if key != nil {
		q := quoteIdent(tb.Name)
		k := quoteIdent(key.Column)
		// Separate queries: SQLite answers a lone min() or max() of an
		// indexed column from the index's ends.
		for _, b := range []struct {
			agg string
			dst **int64
		}{{"min", &key.Min}, {"max", &key.Max}} {
			var v any
			if err := c.QueryRowContext(background, "SELECT "+b.agg+"("+k+") FROM "+q).Scan(&v); err != nil {
				return fail(err)
			}
			if n, ok := v.(int64); ok { // text or reals in an INTEGER column leave the bound unknown
				*b.dst = &n
			}
		}
		tb.Key = key
	}

	q := quoteIdent(tb.Name)
	if err := c.QueryRowContext(background, "SELECT count(*) FROM "+q).Scan(&tb.EstimatedRows); err != nil {
		return fail(err)
	}
	// dbstat sums the pages of the table's b-tree, overflow pages included.
	var bytes sql.NullInt64
	if err := c.QueryRowContext(background, "SELECT sum(pgsize) FROM dbstat WHERE name = ? AND aggregate = 1", tb.Name).Scan(&bytes); err == nil {
		tb.EstimatedBytes = bytes.Int64
	}
	return nil
}

// uniqueIntegerKey finds a unique, complete, single-column index on a NOT
// NULL integer column.
func uniqueIntegerKey(c *sql.Conn, tb *source.Table) (*source.Key, error) {
	rows, err := c.QueryContext(background, `SELECT name FROM pragma_index_list(?)
		WHERE "unique" AND NOT partial ORDER BY name`, tb.Name)
	if err != nil {
		return nil, err
	}
	var indexes []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		indexes = append(indexes, name)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, idx := range indexes {
		var cols []string
		ir, err := c.QueryContext(background, `SELECT coalesce(name, '') FROM pragma_index_info(?)`, idx)
		if err != nil {
			return nil, err
		}
		for ir.Next() {
			var name string
			if err := ir.Scan(&name); err != nil {
				ir.Close()
				return nil, err
			}
			cols = append(cols, name)
		}
		if err := ir.Close(); err != nil {
			return nil, err
		}
		if len(cols) != 1 || cols[0] == "" { // "" is an expression
			continue
		}
		for _, col := range tb.Columns {
			if col.Name == cols[0] && !col.Nullable && typemap.SQLiteAffinityKind(col.ColumnType) == typemap.Int64 {
				return &source.Key{Column: col.Name, Integer: true}, nil
			}
		}
	}
	return nil, nil
}

func exists(c *sql.Conn, query string, args ...any) (bool, error) {
	rows, err := c.QueryContext(background, query, args...)
	if err != nil {
		return false, err
	}
	found := rows.Next()
	if err := rows.Close(); err != nil {
		return false, err
	}
	return found, rows.Err()
}

// columnOf describes a column from its declared type: ColumnType is the
// whole declared type in lowercase ("varchar(20)", "unsigned big int"),
// DataType its name without the arguments ("varchar"), both "" for a column
// declared without a type. Arguments fill Length for text types and
// Precision and Scale for the others (decimal(10,2)).
func columnOf(name, declared string) source.Column {
	full := strings.Join(strings.Fields(strings.ToLower(declared)), " ")
	col := source.Column{Name: name, ColumnType: full, DataType: full}
	open := strings.IndexByte(full, '(')
	if open < 0 {
		return col
	}
	col.DataType = strings.TrimSpace(full[:open])
	args := full[open+1:]
	if end := strings.IndexByte(args, ')'); end >= 0 {
		args = args[:end]
	}
	var nums []int
	for _, a := range strings.Split(args, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil {
			return col // not numbers: keep the text only
		}
		nums = append(nums, n)
	}
	if typemap.SQLiteAffinityKind(full) == typemap.String && (strings.Contains(full, "char") || strings.Contains(full, "text") || strings.Contains(full, "clob")) {
		col.Length = nums[0]
		return col
	}
	col.Precision = nums[0]
	if len(nums) > 1 {
		col.Scale = nums[1]
	}
	return col
}

// quoteIdent quotes an identifier for SQLite with backquotes (doubled
// inside), which SQLite accepts for compatibility with MySQL. Not with double
// quotes: SQLite reads a double-quoted name that matches no column as a
// string literal (the "DQS" misfeature, on in this build), so a wrong column
// name would scan as a column of its own name instead of failing.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
