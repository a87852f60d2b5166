package pgsource_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/typemap"
)

// typedColumn is one column of the typed fixture: its declaration, the
// type DuckDB must see, the values of rows 1..3 (SQL literals), and how
// they compare: by default DuckDB's text of the value against PostgreSQL's
// text of the same SQL expression (pgExpr, "%s" the column), which is
// written so that both render alike.
type typedColumn struct {
	name, decl string
	duckType   string
	values     [3]string
	duckExpr   string // DuckDB expression over the column ("%s"); "" means CAST(%s AS VARCHAR)
	pgExpr     string // PostgreSQL expression over the column; "" means %s::text
}

func typedFixture(schema string) []typedColumn {
	return []typedColumn{
		{"c_bool", "boolean", "BOOLEAN", [3]string{"true", "false", "NULL"}, "", ""},
		{"c_int2", "smallint", "SMALLINT", [3]string{"-32768", "32767", "NULL"}, "", ""},
		{"c_int4", "integer", "INTEGER", [3]string{"-2147483648", "2147483647", "NULL"}, "", ""},
		{"c_int8", "bigint", "BIGINT", [3]string{"-9223372036854775808", "9223372036854775807", "NULL"}, "", ""},
		{"c_float8", "double precision", "DOUBLE", [3]string{"0.1", "-1e308", "'NaN'"}, "", "CASE WHEN %s = 'NaN' THEN 'nan' ELSE %s::text END"},
		{"c_dec4", "numeric(4,0)", "DECIMAL(4,0)", [3]string{"9999", "-9999", "NULL"}, "", ""},
		{"c_dec10", "numeric(10,2)", "DECIMAL(10,2)", [3]string{"-12345678.91", "0.01", "NULL"}, "", ""},
		{"c_dec38", "numeric(38,10)", "DECIMAL(38,10)", [3]string{"-1234567890123456789012345678.0123456789", "9999999999999999999999999999.9999999999", "0"}, "", ""},
		{"c_dec20", "numeric(20,0)", "DECIMAL(20,0)", [3]string{"-99999999999999999999", "12345678901234567890", "NULL"}, "", ""},
		{"c_numeric", "numeric", "VARCHAR", [3]string{"'NaN'", "1e-20", "'-Infinity'"}, "", ""},
		{"c_numeric50", "numeric(50,10)", "VARCHAR", [3]string{"1234567890123456789012345678901234567890.0123456789", "0", "NULL"}, "", ""},
		{"c_date", "date", "DATE", [3]string{"'4713-01-01 BC'", "'2024-02-29'", "'5874897-12-31'"},
			"CAST(date_diff('day', DATE '1970-01-01', %s) AS VARCHAR)", "(%s - DATE '1970-01-01')::text"},
		{"c_date_inf", "date", "DATE", [3]string{"'infinity'", "'-infinity'", "'1970-01-01'"},
			"CAST(date_diff('day', DATE '1970-01-01', %s) AS VARCHAR)", "CASE WHEN isfinite(%s) THEN (%s - DATE '1970-01-01')::text END"},
		{"c_ts", "timestamp", "TIMESTAMP", [3]string{"'0044-03-15 12:00:00.5 BC'", "'2024-06-01 12:34:56.789012'", "'infinity'"},
			"CAST(epoch_us(%s) AS VARCHAR)", "CASE WHEN isfinite(%s) THEN (extract(epoch FROM %s) * 1000000)::bigint::text END"},
		{"c_tstz", "timestamptz", "TIMESTAMP WITH TIME ZONE", [3]string{"'2024-06-01 12:34:56.789+02'", "'1969-12-31 23:59:59.999999+00'", "'-infinity'"},
			"CAST(epoch_us(%s) AS VARCHAR)", "CASE WHEN isfinite(%s) THEN (extract(epoch FROM %s) * 1000000)::bigint::text END"},
		{"c_time", "time", "TIME", [3]string{"'24:00:00'", "'00:00:00.000001'", "'13:14:15.161718'"}, "", ""},
		{"c_timetz", "timetz", "VARCHAR", [3]string{"'12:00:00+05:30'", "'00:00:00-12'", "NULL"}, "", ""},
		{"c_interval", "interval", "VARCHAR", [3]string{"'1 year 2 months 3 days 04:05:06.789'", "'-1 day'", "NULL"}, "", ""},
		{"c_uuid", "uuid", "UUID", [3]string{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"}, "", ""},
		{"c_json", "json", "JSON", [3]string{`'{"b": [1, 2.5, "x"], "a": null}'`, `'"é"'`, "NULL"}, "", ""},
		{"c_jsonb", "jsonb", "JSON", [3]string{`'{"b": [1, 2.5, "x"], "a": null}'`, `'[]'`, "NULL"}, "", ""},
		{"c_enum", schema + ".mood", "VARCHAR", [3]string{"'sad'", "'happy ☺'", "NULL"}, "", ""},
		{"c_bytea", "bytea", "BLOB", [3]string{`'\x00ff0a'`, `''`, "NULL"}, "hex(%s)", "upper(encode(%s, 'hex'))"},
		{"c_text", "text", "VARCHAR", [3]string{"'é 世界 🎉'", "''", "NULL"}, "", ""},
		{"c_money", "money", "VARCHAR", [3]string{"'-92233720368547758.08'", "0", "NULL"}, "", ""},
		{"c_inet", "inet", "VARCHAR", [3]string{"'192.168.0.1/24'", "'::1'", "NULL"}, "", "CASE WHEN %s IS NOT NULL THEN concat(%s) END"}, // concat: the output function
		{"c_dom", schema + ".price", "DECIMAL(6,2)", [3]string{"1234.56", "-0.01", "NULL"}, "", ""},
		{"c_int_arr", "integer[]", "INTEGER[]", [3]string{"'{1,NULL,3}'", "'{}'", "NULL"}, "", "replace(replace(replace(%s::text, '{', '['), '}', ']'), ',', ', ')"},
		{"c_text_arr", "text[]", "VARCHAR[]", [3]string{`'{"a b",NULL,"x"}'`, `'{}'`, "NULL"}, "", ""},
		{"c_dec_arr", "numeric(5,2)[]", "DECIMAL(5,2)[]", [3]string{"'{1.5,-999.99,NULL}'", "'{0}'", "NULL"}, "", ""},
		{"c_date_arr", "date[]", "DATE[]", [3]string{"'{2024-02-29,NULL}'", "'{1970-01-01}'", "NULL"}, "", ""},
		{"c_uuid_arr", "uuid[]", "UUID[]", [3]string{"'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'", "'{}'", "NULL"}, "", ""},
		{"c_bool_arr", "boolean[]", "BOOLEAN[]", [3]string{"'{t,f,NULL}'", "'{}'", "NULL"}, "", ""},
		{"c_float_arr", "double precision[]", "DOUBLE[]", [3]string{"'{0.5,-2}'", "'{NULL}'", "NULL"}, "", ""},
		{"c_multi", "integer[][]", "VARCHAR", [3]string{"'{{1,2},{3,4}}'", "'{}'", "NULL"}, "", ""},
		{"c_inet_arr", "inet[]", "VARCHAR", [3]string{"'{::1}'", "'{}'", "NULL"}, "", ""},
	}
}

// expected DuckDB text of the arrays (PostgreSQL's text form differs).
var typedListText = map[string][3]any{
	"c_int_arr":   {"[1, NULL, 3]", "[]", nil},
	"c_text_arr":  {"[a b, NULL, x]", "[]", nil},
	"c_dec_arr":   {"[1.50, -999.99, NULL]", "[0.00]", nil},
	"c_date_arr":  {"[2024-02-29, NULL]", "[1970-01-01]", nil},
	"c_uuid_arr":  {"[a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11, NULL]", "[]", nil},
	"c_bool_arr":  {"[true, false, NULL]", "[]", nil},
	"c_float_arr": {"[0.5, -2.0]", "[NULL]", nil},
}

// TestTypedProfileEndToEnd exports a fixture of every row of the typed
// table, with edge values, through the exporter with TypeProfile "typed",
// and reads it back with DuckDB: each column as its logical type (DECIMAL,
// DATE, TIMESTAMP, TIMESTAMPTZ, TIME, UUID, JSON, LIST...) and each value
// equal to the source's (exact decimal digits, epoch microseconds and days,
// list elements with their NULLs). The infinities become NULL and are
// counted in the warnings; the mapping is recorded per column.
func TestTypedProfileEndToEnd(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TYPE "+s+".mood AS ENUM ('sad', 'happy ☺')")
	mustExec(t, pool, "CREATE DOMAIN "+s+".price AS numeric(6,2)")
	cols := typedFixture(s)
	var decls []string
	for _, c := range cols {
		decls = append(decls, c.name+" "+c.decl)
	}
	mustExec(t, pool, "CREATE TABLE "+s+".typed (id int PRIMARY KEY, "+strings.Join(decls, ", ")+")")
	for row := 0; row < 3; row++ {
		vals := []string{fmt.Sprint(row + 1)}
		for _, c := range cols {
			vals = append(vals, c.values[row])
		}
		mustExec(t, pool, "INSERT INTO "+s+".typed VALUES ("+strings.Join(vals, ", ")+")")
	}

	exp, ctx := newExporter(t)
	task, out, id := startExportOpts(t, ctx, exp, s, snapexport.TaskOptions{TypeProfile: typemap.ProfileTyped})
	rec, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("export: %v (FailureCause %q)", err, rec.FailureCause)
	}
	files := parquetFiles(t, filepath.Join(out, id, testDatabase, s+".typed"))
	duck := duckcheck.Open(t)
	from := " FROM read_parquet(" + duckList(files) + ")"

	// Logical types as DuckDB sees them.
	types := map[string]string{}
	for _, r := range duck.Rows("SELECT column_name, column_type FROM (DESCRIBE SELECT *" + from + ")") {
		types[fmt.Sprint(r[0])] = fmt.Sprint(r[1])
	}
	for _, c := range cols {
		if types[c.name] != c.duckType {
			t.Errorf("%s (%s): DuckDB type %s, want %s", c.name, c.decl, types[c.name], c.duckType)
		}
	}

	// The decisions are recorded: the profile and each column's Parquet
	// type in export_tables_info and in every file.
	infos, _ := filepath.Glob(filepath.Join(out, id, "export_tables_info_*.json"))
	if len(infos) != 1 {
		t.Fatalf("export_tables_info files: %v", infos)
	}
	info, err := os.ReadFile(infos[0])
	if err != nil {
		t.Fatal(err)
	}
	var ti manifest.TablesInfo
	if err := json.Unmarshal(info, &ti); err != nil || len(ti.PerTableStatus) != 1 || ti.PerTableStatus[0].SchemaMetadata == nil {
		t.Fatalf("export_tables_info %s: %v", info, err)
	}
	sm := ti.PerTableStatus[0].SchemaMetadata
	if sm.TypeProfile != typemap.ProfileTyped {
		t.Errorf("typeProfile %q, want typed", sm.TypeProfile)
	}
	recorded := map[string]string{}
	for _, m := range sm.OriginalTypeMappings {
		recorded[m.ColumnName] = m.OriginalType + " → " + m.ExpectedExportedType
	}
	for name, want := range map[string]string{
		"c_dec38": "numeric → fixed_len_byte_array(16) (DECIMAL(38,10))", "c_dec4": "numeric → int32 (DECIMAL(4,0))",
		"c_ts": "timestamp without time zone → int64 (TIMESTAMP(MICROS,false))", "c_tstz": "timestamp with time zone → int64 (TIMESTAMP_MICRO)",
		"c_time": "time without time zone → int64 (TIME(MICROS,false))", "c_date": "date → int32 (DATE)",
		"c_uuid": "uuid → fixed_len_byte_array(16) (UUID)", "c_jsonb": "jsonb → binary (JSON)", "c_enum": "user-defined → binary (ENUM)",
		"c_int_arr": "array → list<int32>", "c_dec_arr": "array → list<int32 (DECIMAL(5,2))>", "c_multi": "array → binary (UTF8)",
		"c_numeric": "numeric → binary (UTF8)", "c_interval": "interval → binary (UTF8)", "c_dom": "numeric → int32 (DECIMAL(6,2))",
	} {
		if recorded[name] != want {
			t.Errorf("originalTypeMappings %s: %q, want %q", name, recorded[name], want)
		}
	}
	for _, f := range files {
		kv := map[string]string{}
		for _, r := range duck.Rows("SELECT decode(key), decode(value) FROM parquet_kv_metadata(?)", f) {
			kv[fmt.Sprint(r[0])] = fmt.Sprint(r[1])
		}
		if kv["snapexport.type_profile"] != "typed" || !strings.Contains(kv["snapexport.columns"], `"columnName":"c_date","originalType":"date","expectedExportedType":"int32 (DATE)"`) {
			t.Errorf("%s: key-value metadata %v", f, kv)
		}
	}

	// Values.
	for _, c := range cols {
		duckExpr := c.duckExpr
		if duckExpr == "" {
			duckExpr = "CAST(%s AS VARCHAR)"
		}
		got := duck.Rows("SELECT " + strings.ReplaceAll(duckExpr, "%s", duckcheck.Ident(c.name)) + from + " ORDER BY id")
		var want [3]any
		if lt, ok := typedListText[c.name]; ok {
			want = lt
		} else {
			pgExpr := c.pgExpr
			if pgExpr == "" {
				pgExpr = "%s::text"
			}
			rows := serverRows(t, pool, "SELECT "+strings.ReplaceAll(pgExpr, "%s", c.name)+" FROM "+s+".typed ORDER BY id")
			for i, r := range rows {
				if r[0] != nil {
					want[i] = *r[0]
				}
			}
		}
		if len(got) != 3 {
			t.Fatalf("%s: %d rows", c.name, len(got))
		}
		for i := range 3 {
			g := got[i][0]
			if b, ok := g.([]byte); ok {
				g = string(b)
			}
			if c.duckType == "JSON" && want[i] != nil {
				// DuckDB prints JSON compactly; compare as documents.
				want[i] = duck.Rows("SELECT CAST(CAST(? AS JSON) AS VARCHAR)", want[i])[0][0]
			}
			if g != want[i] {
				t.Errorf("%s row %d: DuckDB reads %#v, source has %#v", c.name, i+1, g, want[i])
			}
		}
	}

	// The infinities are NULL, and counted.
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	if err != nil {
		t.Fatal(err)
	}
	var nulled []string
	for _, e := range w.General {
		if e.Reason == "UNREPRESENTABLE_VALUES_WRITTEN_AS_NULL" {
			nulled = append(nulled, e.Detail)
		}
	}
	for _, want := range []string{"column c_date_inf: NULL written for 2 values", "column c_ts: NULL written for 1 value", "column c_tstz: NULL written for 1 value"} {
		if !strings.Contains(strings.Join(nulled, "\n"), want) {
			t.Errorf("warnings %q lack %q", nulled, want)
		}
	}
	for _, f := range files {
		duck.CheckListNullCounts(f)
	}
}

// exportTable exports one table of the test database with opts.
func exportTable(t *testing.T, schema, table string, opts snapexport.TaskOptions) (snapexport.ExportTask, string, error) {
	t.Helper()
	rec, dir, err := exportOnly(t, requireDB(t), testDatabase+"."+schema+"."+table, opts)
	return rec, filepath.Join(dir, testDatabase, schema+"."+table), err
}

// TestTypedBadInput: values the typed profile's types cannot hold fail the
// task naming table, column and row key, never a silently changed value;
// an override a column's type cannot take is refused before any data is
// read, naming the column and what would fit.
func TestTypedBadInput(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	for _, q := range []string{
		"CREATE TABLE " + s + ".far (id int PRIMARY KEY, ts timestamp)",
		"INSERT INTO " + s + ".far VALUES (1, '2024-01-01'), (2, '294270-01-01 00:00:00')",
		"CREATE TABLE " + s + ".dims (id int PRIMARY KEY, a integer[])",
		"INSERT INTO " + s + ".dims VALUES (1, '{1,2}'), (7, '{{1,2},{3,4}}')",
		"CREATE TABLE " + s + ".bounds (id int PRIMARY KEY, a integer[])",
		"INSERT INTO " + s + ".bounds VALUES (3, '[0:1]={1,2}')",
		"CREATE TABLE " + s + ".big (id int PRIMARY KEY, n numeric)",
		"INSERT INTO " + s + ".big VALUES (1, 123.456), (2, 'NaN'), (5, 1e30)",
		"CREATE TABLE " + s + ".places (id int PRIMARY KEY, n numeric)",
		"INSERT INTO " + s + ".places VALUES (4, 0.0000000001)",
		"CREATE TABLE " + s + ".fits (id int PRIMARY KEY, n numeric, a numeric[])",
		"INSERT INTO " + s + ".fits VALUES (1, 123.456, '{1.5,NaN}'), (2, 'NaN', NULL), (3, '-Infinity', '{}')",
		"CREATE TABLE " + s + ".txt (id int PRIMARY KEY, t text)",
	} {
		mustExec(t, pool, q)
	}
	typed := snapexport.TaskOptions{TypeProfile: typemap.ProfileTyped}
	dec38 := typed
	dec38.TypeOptions.UnboundedNumeric = typemap.NumericPolicy{Precision: 38, Scale: 9}
	for _, c := range []struct {
		table string
		opts  snapexport.TaskOptions
		want  []string
	}{
		{"far", typed, []string{s + ".far", `column "ts" (row id = 2)`, "override the column to string"}},
		{"dims", typed, []string{s + ".dims", `column "a" (row id = 7)`, "2-dimensional array cannot be written as a list"}},
		{"bounds", typed, []string{s + ".bounds", `column "a" (row id = 3)`, "lower bound 0"}},
		{"big", dec38, []string{s + ".big", `column "n" (row id = 5)`, "does not fit decimal(38,9)"}},
		{"places", dec38, []string{s + ".places", `column "n" (row id = 4)`, "more than 9 decimal places"}},
	} {
		rec, _, err := exportTable(t, s, c.table, c.opts)
		if err == nil || rec.Status != snapexport.StatusFailed {
			t.Errorf("%s: status %s, err %v: want FAILED", c.table, rec.Status, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(rec.FailureCause, w) {
				t.Errorf("%s: FailureCause %q lacks %q", c.table, rec.FailureCause, w)
			}
		}
	}

	// Under the decimal policy NaN and ±Infinity are NULL, and counted.
	rec, dir, err := exportTable(t, s, "fits", dec38)
	if err != nil {
		t.Fatalf("fits: %v (%s)", err, rec.FailureCause)
	}
	duck := duckcheck.Open(t)
	got := duck.Rows("SELECT CAST(n AS VARCHAR), CAST(a AS VARCHAR), typeof(n) FROM read_parquet(" + duckList(parquetFiles(t, dir)) + ") ORDER BY id")
	want := [][]any{{"123.456000000", "[1.500000000, NULL]", "DECIMAL(38,9)"}, {nil, nil, "DECIMAL(38,9)"}, {nil, "[]", "DECIMAL(38,9)"}}
	if !equalRows(got, want) {
		t.Errorf("fits: %q, want %q", got, want)
	}
	if !strings.Contains(rec.WarningMessage, "column n: NULL written for 2 values that decimal(38,9) cannot represent") ||
		!strings.Contains(rec.WarningMessage, "column a: NULL written for 1 value that list(decimal(38,9)) cannot represent") {
		t.Errorf("warnings %s lack the NaN/Infinity counts", rec.WarningMessage)
	}

	// text as int32: refused before any data, naming the column and what fits.
	o := typemap.Overrides{ByColumn: map[string]typemap.Target{testDatabase + "." + s + ".txt.t": {Kind: typemap.Int32}}}
	for _, profile := range []string{typemap.ProfileRDS, typemap.ProfileTyped} {
		m, err := typemap.Profile(profile, typemap.ProfileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := exportTable(t, s, "txt", snapexport.TaskOptions{TypeMapper: typemap.WithOverrides(m, o)})
		if err == nil || !strings.Contains(rec.FailureCause, `column "t" of type text cannot be written as int32`) ||
			!strings.Contains(rec.FailureCause, "what fits: string, binary, json or enum") {
			t.Errorf("%s: text as int32: err %v, FailureCause %q", profile, err, rec.FailureCause)
		}
	}
}

// TestTypedMillis: TimestampUnit Millis writes every timestamp of the task,
// list elements included, as TIMESTAMP(MILLIS), rounding down (before 1970
// too).
func TestTypedMillis(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".ms (id int PRIMARY KEY, ts timestamp, tstz timestamptz, arr timestamptz[])")
	mustExec(t, pool, "INSERT INTO "+s+".ms VALUES (1, '1969-12-31 23:59:59.9995', '2024-06-01 12:34:56.789999+00', '{\"1970-01-01 00:00:00.0019+00\"}')")
	opts := snapexport.TaskOptions{TypeProfile: typemap.ProfileTyped, TypeOptions: typemap.ProfileOptions{TimestampUnit: typemap.Millis}}
	rec, dir, err := exportTable(t, s, "ms", opts)
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	duck := duckcheck.Open(t)
	files := parquetFiles(t, dir)
	for _, c := range duck.Schema(files[0]) {
		if c.Name == "ts" || c.Name == "tstz" {
			if c.ConvertedType != "TIMESTAMP_MILLIS" {
				t.Errorf("%s: converted type %s, want TIMESTAMP_MILLIS", c.Name, c.ConvertedType)
			}
		}
	}
	got := duck.Rows("SELECT epoch_ms(ts), epoch_ms(tstz), epoch_ms(arr[1]) FROM read_parquet(" + duckList(files) + ")")
	if want := [][]any{{int64(-1), int64(1717245296789), int64(1)}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("millis: %v, want %v", got, want)
	}
}
