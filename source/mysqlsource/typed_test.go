package mysqlsource_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	ms "github.com/snapexport/snapexport/source/mysqlsource"
	"github.com/snapexport/snapexport/typemap"
)

// typedMySQLColumn is one column of the typed fixture: its definition, the
// type DuckDB must see, the values of rows 1..3 (SQL literals) and what
// DuckDB must read for them (its text of the value, nil for NULL).
type typedMySQLColumn struct {
	name, def, duckType string
	values              [3]string
	want                [3]any
	duckExpr            string // "" means CAST(%s AS VARCHAR)
}

var typedMySQLColumns = []typedMySQLColumn{
	{"c_tinyint", "tinyint", "INTEGER", [3]string{"-128", "127", "NULL"}, [3]any{"-128", "127", nil}, ""},
	{"c_tinyint_u", "tinyint unsigned", "SMALLINT", [3]string{"0", "255", "NULL"}, [3]any{"0", "255", nil}, ""},
	{"c_smallint_u", "smallint unsigned", "INTEGER", [3]string{"0", "65535", "NULL"}, [3]any{"0", "65535", nil}, ""},
	{"c_mediumint_u", "mediumint unsigned", "INTEGER", [3]string{"0", "16777215", "NULL"}, [3]any{"0", "16777215", nil}, ""},
	{"c_int_u", "int unsigned", "BIGINT", [3]string{"0", "4294967295", "NULL"}, [3]any{"0", "4294967295", nil}, ""},
	{"c_bigint", "bigint", "BIGINT", [3]string{"-9223372036854775808", "9223372036854775807", "NULL"}, [3]any{"-9223372036854775808", "9223372036854775807", nil}, ""},
	{"c_bigint_u", "bigint unsigned", "DECIMAL(20,0)", [3]string{"0", "18446744073709551615", "NULL"}, [3]any{"0", "18446744073709551615", nil}, ""},
	{"c_year", "year", "INTEGER", [3]string{"1901", "2155", "0"}, [3]any{"1901", "2155", "0"}, ""},
	{"c_dec", "decimal(10,2)", "DECIMAL(10,2)", [3]string{"-99999999.99", "0.01", "NULL"}, [3]any{"-99999999.99", "0.01", nil}, ""},
	{"c_dec38", "decimal(38,38)", "DECIMAL(38,38)", [3]string{"-0.99999999999999999999999999999999999999", "0", "NULL"}, [3]any{"-.99999999999999999999999999999999999999", ".00000000000000000000000000000000000000", nil}, ""}, // DuckDB's text drops the 0,
	{"c_dec65", "decimal(65,30)", "VARCHAR", [3]string{"12345678901234567890123456789012345.123456789012345678901234567890", "0", "NULL"},
		[3]any{"12345678901234567890123456789012345.123456789012345678901234567890", "0.000000000000000000000000000000", nil}, ""},
	{"c_float", "double", "DOUBLE", [3]string{"0.1", "-1e308", "NULL"}, [3]any{"0.1", "-1e+308", nil}, ""},
	{"c_bit5", "bit(5)", "BIGINT", [3]string{"b'10101'", "b'0'", "NULL"}, [3]any{"21", "0", nil}, ""},
	{"c_bit64", "bit(64)", "BLOB", [3]string{"b'1'", "NULL", "NULL"}, [3]any{"0000000000000001", nil, nil}, "hex(%s)"},
	{"c_date", "date", "DATE", [3]string{"'1000-01-01'", "'9999-12-31'", "'0000-00-00'"}, [3]any{"1000-01-01", "9999-12-31", nil}, ""},
	{"c_datetime", "datetime(6)", "TIMESTAMP", [3]string{"'1000-01-01 00:00:00.000001'", "'9999-12-31 23:59:59.999999'", "'0000-00-00 00:00:00'"},
		[3]any{"1000-01-01 00:00:00.000001", "9999-12-31 23:59:59.999999", nil}, ""},
	{"c_timestamp", "timestamp(6) NULL", "TIMESTAMP WITH TIME ZONE", [3]string{"'1970-01-01 00:00:01'", "'2038-01-19 03:14:07.999999'", "NULL"},
		[3]any{"1000000", "2147483647999999", nil}, "CAST(epoch_us(%s) AS VARCHAR)"},
	{"c_time", "time(6)", "VARCHAR", [3]string{"'-838:59:59'", "'12:34:56.000001'", "NULL"}, [3]any{"-838:59:59.000000", "12:34:56.000001", nil}, ""},
	{"c_json", "json", "JSON", [3]string{`'{"a": [1, 2.5, "é"]}'`, `'[]'`, "NULL"}, [3]any{`{"a": [1, 2.5, "é"]}`, "[]", nil}, ""},
	{"c_enum", "enum('sad','happy ☺')", "VARCHAR", [3]string{"'sad'", "'happy ☺'", "NULL"}, [3]any{"sad", "happy ☺", nil}, ""},
	{"c_set", "set('a','b','c')", "VARCHAR[]", [3]string{"'a,c'", "''", "NULL"}, [3]any{"[a, c]", "[]", nil}, ""},
	{"c_char", "char(5)", "VARCHAR", [3]string{"'ab'", "''", "NULL"}, [3]any{"ab", "", nil}, ""},
	{"c_varchar", "varchar(20)", "VARCHAR", [3]string{"'é 世界 🎉'", "''", "NULL"}, [3]any{"é 世界 🎉", "", nil}, ""},
	{"c_blob", "blob", "BLOB", [3]string{"x'00ff'", "''", "NULL"}, [3]any{"00FF", "", nil}, "hex(%s)"},
}

// TestTypedProfileEndToEnd exports a fixture of every row of the typed
// MySQL/MariaDB table with TypeProfile "typed" and reads it back with
// DuckDB: each column as its logical type and each value as the server
// holds it (zero dates NULL and counted).
func TestTypedProfileEndToEnd(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "typed_fixture")
	defs := []string{"id int PRIMARY KEY"}
	for _, c := range typedMySQLColumns {
		defs = append(defs, ms.QuoteIdent(c.name)+" "+c.def)
	}
	ms.CreateTable(t, admin, name, "("+strings.Join(defs, ", ")+") DEFAULT CHARSET=utf8mb4")
	for row := 0; row < 3; row++ {
		vals := []string{fmt.Sprint(row + 1)}
		for _, c := range typedMySQLColumns {
			vals = append(vals, c.values[row])
		}
		ms.MustExec(t, admin, "INSERT INTO "+ms.QuoteIdent(name)+" VALUES ("+strings.Join(vals, ", ")+")")
	}
	rec, dir, err := export(t, snapexport.StartExportTaskInput{
		ExportOnly: []string{ms.TestDatabase + "." + name},
		Options:    &snapexport.TaskOptions{TypeProfile: typemap.ProfileTyped},
	})
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	files := parquetFiles(t, dir, rec.ExportTaskIdentifier, name)
	duck := duckcheck.Open(t)
	from := " FROM read_parquet(" + fileList(files) + ")"
	types := map[string]string{}
	for _, r := range duck.Rows("SELECT column_name, column_type FROM (DESCRIBE SELECT *" + from + ")") {
		types[fmt.Sprint(r[0])] = fmt.Sprint(r[1])
	}
	for _, c := range typedMySQLColumns {
		if types[c.name] != c.duckType {
			t.Errorf("%s (%s): DuckDB type %s, want %s", c.name, c.def, types[c.name], c.duckType)
		}
		expr := c.duckExpr
		if expr == "" {
			expr = "CAST(%s AS VARCHAR)"
		}
		got := duck.Rows("SELECT " + strings.ReplaceAll(expr, "%s", duckcheck.Ident(c.name)) + from + " ORDER BY id")
		for i := range 3 {
			g := got[i][0]
			if b, ok := g.([]byte); ok {
				g = string(b)
			}
			if g != c.want[i] {
				t.Errorf("%s row %d: DuckDB reads %#v, want %#v", c.name, i+1, g, c.want[i])
			}
		}
	}
	for _, want := range []string{"column c_date (date): 1 zero or invalid dates written as NULL", "column c_datetime (datetime(6)): 1 zero or invalid dates written as NULL"} {
		if !strings.Contains(rec.WarningMessage, want) {
			t.Errorf("warnings %s lack %q", rec.WarningMessage, want)
		}
	}
}

// TestTypedBadInput: invalid text in a (MariaDB) JSON column fails the
// task naming table, column and row key; an override to a type a text
// column cannot hold is refused before any data is read.
func TestTypedBadInput(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "typed_badjson")
	ms.CreateTable(t, admin, name, "(id int PRIMARY KEY, j JSON, t text)")
	conn, err := admin.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "INSERT INTO "+ms.QuoteIdent(name)+" VALUES (1, '{}', 'x')"); err != nil {
		t.Fatal(err)
	}
	// MySQL's JSON type refuses invalid text outright; MariaDB's CHECK can
	// be switched off.
	if _, err := conn.ExecContext(t.Context(), "SET SESSION check_constraint_checks = 0"); err != nil {
		t.Skipf("the server's JSON type cannot hold invalid text (%v)", err)
	}
	if _, err := conn.ExecContext(t.Context(), "INSERT INTO "+ms.QuoteIdent(name)+" VALUES (9, '{not json', 'y')"); err != nil {
		t.Fatal(err)
	}
	rec, _, err := export(t, snapexport.StartExportTaskInput{
		ExportOnly: []string{ms.TestDatabase + "." + name},
		Options:    &snapexport.TaskOptions{TypeProfile: typemap.ProfileTyped},
	})
	if err == nil || !strings.Contains(rec.FailureCause, name) || !strings.Contains(rec.FailureCause, `column "j" (row id = 9): invalid JSON text "{not json"`) {
		t.Errorf("invalid JSON: err %v, FailureCause %q", err, rec.FailureCause)
	}

	m, _ := typemap.Profile(typemap.ProfileTyped, typemap.ProfileOptions{})
	o := typemap.Overrides{ByColumn: map[string]typemap.Target{ms.TestDatabase + "." + ms.TestDatabase + "." + name + ".t": {Kind: typemap.Int32}}}
	rec, _, err = export(t, snapexport.StartExportTaskInput{
		ExportOnly: []string{ms.TestDatabase + "." + name},
		Options:    &snapexport.TaskOptions{TypeMapper: typemap.WithOverrides(m, o)},
	})
	if err == nil || !strings.Contains(rec.FailureCause, `column "t" of type text cannot be written as int32`) {
		t.Errorf("text as int32: err %v, FailureCause %q", err, rec.FailureCause)
	}
}
