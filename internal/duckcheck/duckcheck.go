// Package duckcheck reads Parquet files back with DuckDB, an independent
// reader, for tests. It is imported only by _test.go files, so DuckDB never
// links into the library or the CLI.
//
// A writer can pass its own round trip and still be wrong for every other
// reader (null-count statistics that DuckDB trusts for count(x) and IS NULL
// are the classic case); checking with DuckDB catches that.
package duckcheck

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// DB is an in-memory DuckDB.
type DB struct {
	t  testing.TB
	db *sql.DB
}

// Open opens an in-memory DuckDB closed at the end of the test.
func Open(t testing.TB) *DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatalf("duckcheck: open duckdb: %v", err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return &DB{t: t, db: db}
}

// SQL exposes the connection for queries the helpers do not cover.
func (d *DB) SQL() *sql.DB { return d.db }

// Rows runs q and returns every row, values as DuckDB's Go driver gives them.
func (d *DB) Rows(q string, args ...any) [][]any {
	d.t.Helper()
	rows, err := d.db.Query(q, args...)
	if err != nil {
		d.t.Fatalf("duckcheck: %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			d.t.Fatalf("duckcheck: scan %s: %v", q, err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		d.t.Fatalf("duckcheck: %s: %v", q, err)
	}
	return out
}

// Int runs a query returning one integer.
func (d *DB) Int(q string, args ...any) int64 {
	d.t.Helper()
	var n int64
	if err := d.db.QueryRow(q, args...).Scan(&n); err != nil {
		d.t.Fatalf("duckcheck: %s: %v", q, err)
	}
	return n
}

// Column is one leaf column of a Parquet file's schema as DuckDB reads it.
type Column struct {
	Name          string
	Type          string // physical: BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY
	TypeLength    int64  // FIXED_LEN_BYTE_ARRAY width
	Repetition    string // OPTIONAL, REQUIRED
	ConvertedType string // UTF8, INT_16, DECIMAL, TIMESTAMP_MICROS, … ("" if none)
	LogicalType   string // DuckDB's rendering of the logical type ("" if none)
	Precision     int64
	Scale         int64
}

// Schema returns the leaf columns of the Parquet file at path, in file order.
func (d *DB) Schema(path string) []Column {
	d.t.Helper()
	rows := d.Rows(`SELECT name, coalesce(type,''), coalesce(TRY_CAST(type_length AS BIGINT),0), coalesce(repetition_type,''),
		coalesce(converted_type,''), coalesce(CAST(logical_type AS VARCHAR),''), coalesce(TRY_CAST(precision AS BIGINT),0), coalesce(TRY_CAST(scale AS BIGINT),0)
		FROM parquet_schema(?) WHERE num_children IS NULL OR num_children = 0`, path)
	out := make([]Column, 0, len(rows))
	for _, r := range rows {
		out = append(out, Column{
			Name: str(r[0]), Type: str(r[1]), TypeLength: ToInt(r[2]), Repetition: str(r[3]),
			ConvertedType: str(r[4]), LogicalType: str(r[5]), Precision: ToInt(r[6]), Scale: ToInt(r[7]),
		})
	}
	return out
}

// CheckNullCounts fails the test unless, for every column of the file at
// path, the null counts in the row-group statistics add up to the real number
// of NULLs DuckDB counts when it reads the data. Readers skip row groups and
// answer count(x) from these statistics, so a wrong count is a wrong answer.
func (d *DB) CheckNullCounts(path string) {
	d.t.Helper()
	for _, c := range d.Schema(path) {
		stat := d.Rows(`SELECT sum(stats_null_count), count(*) FILTER (WHERE stats_null_count IS NULL)
			FROM parquet_metadata(?) WHERE path_in_schema = ?`, path, c.Name)
		if len(stat) != 1 {
			d.t.Fatalf("duckcheck: no metadata for column %s of %s", c.Name, path)
		}
		if ToInt(stat[0][1]) > 0 {
			d.t.Errorf("duckcheck: %s: column %s has row groups without a null count", path, c.Name)
			continue
		}
		real := d.Int(fmt.Sprintf(`SELECT count(*) FROM read_parquet(?) WHERE %s IS NULL`, Ident(c.Name)), path)
		if got := ToInt(stat[0][0]); got != real {
			d.t.Errorf("duckcheck: %s: column %s: statistics say %d NULLs, the data has %d", path, c.Name, got, real)
		}
	}
}

// Ident quotes a column name for DuckDB SQL.
func Ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	default:
		return fmt.Sprint(x)
	}
}

// ToInt converts a value DuckDB returned for an integer column (int64,
// int32, HUGEINT as *big.Int, ...) to int64; NULL is 0.
func ToInt(v any) int64 {
	switch x := v.(type) {
	case nil:
		return 0
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	case float64:
		return int64(x)
	default:
		var n int64
		fmt.Sscan(fmt.Sprint(x), &n)
		return n
	}
}
