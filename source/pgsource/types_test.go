package pgsource_test

import (
	"context"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// typeColumn is one column of the all-types table: its declaration, the
// kind §10.2 gives it, and its value in each test row (SQL literals).
type typeColumn struct {
	name, decl string
	kind       typemap.Kind
	values     [3]string // row 1: edge values; row 2: other edges; row 3: NULL
	// text is the exact text expected for rows 1 and 2 of String columns
	// ("" = only compared with the server's own output).
	text [2]string
}

// allTypes covers every row of §10.2 and the values that must survive:
// NaN, ±Infinity (numeric, float, date, timestamp), BC dates, ” vs NULL,
// arrays with NULL elements, multi-byte text, domains, enums, composites,
// ranges, an extension type.
func allTypes(schema string, hstore bool) []typeColumn {
	cols := []typeColumn{
		{"c_smallint", "smallint", typemap.Int16, [3]string{"-32768", "32767", "NULL"}, [2]string{}},
		{"c_smallserial", "smallserial", typemap.Int16, [3]string{"1", "32767", "DEFAULT"}, [2]string{}},
		{"c_integer", "integer", typemap.Int32, [3]string{"-2147483648", "2147483647", "NULL"}, [2]string{}},
		{"c_serial", "serial", typemap.Int32, [3]string{"1", "2147483647", "DEFAULT"}, [2]string{}},
		{"c_bigint", "bigint", typemap.Int64, [3]string{"-9223372036854775808", "9223372036854775807", "NULL"}, [2]string{}},
		{"c_bigserial", "bigserial", typemap.Int64, [3]string{"1", "9223372036854775807", "DEFAULT"}, [2]string{}},
		{"c_numeric", "numeric", typemap.String, [3]string{"'NaN'", "'-Infinity'", "NULL"}, [2]string{"NaN", "-Infinity"}},
		{"c_decimal", "decimal(38,9)", typemap.String, [3]string{"-12345678901234567890123456789.123456789", "0.000000001", "NULL"},
			[2]string{"-12345678901234567890123456789.123456789", "0.000000001"}},
		{"c_numeric_inf", "numeric", typemap.String, [3]string{"'Infinity'", "1e-20", "NULL"}, [2]string{"Infinity", "0.00000000000000000001"}},
		{"c_real", "real", typemap.Float, [3]string{"'NaN'", "'-Infinity'", "NULL"}, [2]string{}},
		{"c_real2", "real", typemap.Float, [3]string{"3.4028235e38", "-1.17549435e-38", "NULL"}, [2]string{}},
		{"c_double", "double precision", typemap.Double, [3]string{"'Infinity'", "0.1", "NULL"}, [2]string{}},
		{"c_double2", "double precision", typemap.Double, [3]string{"'NaN'", "-1.7976931348623157e308", "NULL"}, [2]string{}},
		{"c_money", "money", typemap.String, [3]string{"-92233720368547758.08", "0", "NULL"}, [2]string{}},
		{"c_int_array", "integer[]", typemap.String, [3]string{"'{1,NULL,3}'", "'{}'", "NULL"}, [2]string{"{1,NULL,3}", "{}"}},
		{"c_text_array", "text[][]", typemap.String, [3]string{`'{{a,"b c"},{NULL,"д,\"q\""}}'`, `'{""}'`, "NULL"},
			[2]string{`{{a,"b c"},{NULL,"д,\"q\""}}`, `{""}`}},
		{"c_float_array", "double precision[]", typemap.String, [3]string{"'{0.1,1e-300,NaN,-Infinity}'", "'{NULL}'", "NULL"},
			[2]string{"{0.1,1e-300,NaN,-Infinity}", "{NULL}"}},
		{"c_ts_array", "timestamptz[]", typemap.String, [3]string{"'{\"2024-01-02 03:04:05+02\",infinity}'", "'{NULL}'", "NULL"},
			[2]string{`{"2024-01-02 01:04:05+00",infinity}`, "{NULL}"}},
		{"c_bit", "bit(3)", typemap.String, [3]string{"B'101'", "B'000'", "NULL"}, [2]string{"101", "000"}},
		{"c_varbit", "bit varying(5)", typemap.String, [3]string{"B''", "B'11111'", "NULL"}, [2]string{"", "11111"}},
		{"c_bytea", "bytea", typemap.Binary, [3]string{`'\x00ff0a'`, `''`, "NULL"}, [2]string{}},
		{"c_char", "char", typemap.String, [3]string{"'x'", "' '", "NULL"}, [2]string{"x", " "}},
		{"c_charn", "char(5)", typemap.String, [3]string{"'ab'", "'abcde'", "NULL"}, [2]string{"ab   ", "abcde"}},
		{"c_enum", schema + ".mood", typemap.String, [3]string{"'sad'", "'happy ☺'", "NULL"}, [2]string{"sad", "happy ☺"}},
		{"c_name", "name", typemap.String, [3]string{"'pg_class'", "''", "NULL"}, [2]string{"pg_class", ""}},
		{"c_text", "text", typemap.String, [3]string{"''", "E'line1\\nline2\\ttab \\\\ é 世界 🎉'", "NULL"}, [2]string{"", "line1\nline2\ttab \\ é 世界 🎉"}},
		{"c_tsvector", "tsvector", typemap.String, [3]string{"'a fat cat'", "''", "NULL"}, [2]string{"'a' 'cat' 'fat'", ""}},
		{"c_tsquery", "tsquery", typemap.String, [3]string{"'fat & (cat | rat)'", "'!x'", "NULL"}, [2]string{"'fat' & ( 'cat' | 'rat' )", "!'x'"}},
		{"c_varchar", "varchar(20)", typemap.String, [3]string{"'héllo 世界 🎉'", "''", "NULL"}, [2]string{"héllo 世界 🎉", ""}},
		{"c_xml", "xml", typemap.String, [3]string{"'<a x=\"1\">é</a>'", "'text only'", "NULL"}, [2]string{`<a x="1">é</a>`, "text only"}},
		{"c_date", "date", typemap.String, [3]string{"'-infinity'", "'4713-01-01 BC'", "NULL"}, [2]string{"-infinity", "4713-01-01 BC"}},
		{"c_date2", "date", typemap.String, [3]string{"'infinity'", "'2024-02-29'", "NULL"}, [2]string{"infinity", "2024-02-29"}},
		{"c_interval", "interval", typemap.String, [3]string{"'1 year 2 months 3 days 04:05:06.789'", "'-1 day +01:00'", "NULL"},
			[2]string{"1 year 2 mons 3 days 04:05:06.789", "-1 days +01:00:00"}},
		{"c_time", "time", typemap.String, [3]string{"'24:00:00'", "'00:00:00.000001'", "NULL"}, [2]string{"24:00:00", "00:00:00.000001"}},
		{"c_timetz", "time with time zone", typemap.String, [3]string{"'12:00:00+05:30'", "'00:00:00-12'", "NULL"}, [2]string{"12:00:00+05:30", "00:00:00-12"}},
		{"c_timestamp", "timestamp(3)", typemap.String, [3]string{"'infinity'", "'0044-03-15 12:00:00.5 BC'", "NULL"}, [2]string{"infinity", "0044-03-15 12:00:00.5 BC"}},
		{"c_timestamptz", "timestamptz", typemap.String, [3]string{"'2024-06-01 12:34:56.789+02'", "'-infinity'", "NULL"}, [2]string{"2024-06-01 10:34:56.789+00", "-infinity"}},
		{"c_timestamptz_bc", "timestamptz", typemap.String, [3]string{"'0001-01-01 00:00:00+00 BC'", "'294276-12-31 23:59:59.999999+00'", "NULL"},
			[2]string{"0001-01-01 00:00:00+00 BC", "294276-12-31 23:59:59.999999+00"}},
		{"c_box", "box", typemap.String, [3]string{"'((0,0),(1,1))'", "'((-1.5,2),(3,4))'", "NULL"}, [2]string{"(1,1),(0,0)", "(3,4),(-1.5,2)"}},
		{"c_circle", "circle", typemap.String, [3]string{"'<(0,0),1>'", "'<(1.5,-2),0.1>'", "NULL"}, [2]string{"<(0,0),1>", "<(1.5,-2),0.1>"}},
		{"c_line", "line", typemap.String, [3]string{"'{1,-1,0}'", "'{0,1,2}'", "NULL"}, [2]string{"{1,-1,0}", "{0,1,2}"}},
		{"c_lseg", "lseg", typemap.String, [3]string{"'[(0,0),(1,1)]'", "'[(0.1,0.2),(0.3,0.4)]'", "NULL"}, [2]string{"[(0,0),(1,1)]", "[(0.1,0.2),(0.3,0.4)]"}},
		{"c_path", "path", typemap.String, [3]string{"'[(0,0),(1,1)]'", "'((0,0),(1,1),(2,0))'", "NULL"}, [2]string{"[(0,0),(1,1)]", "((0,0),(1,1),(2,0))"}},
		{"c_point", "point", typemap.String, [3]string{"'(0.1,-2)'", "'(NaN,Infinity)'", "NULL"}, [2]string{"(0.1,-2)", "(NaN,Infinity)"}},
		{"c_polygon", "polygon", typemap.String, [3]string{"'((0,0),(1,1),(1,0))'", "'((0,0))'", "NULL"}, [2]string{"((0,0),(1,1),(1,0))", "((0,0))"}},
		{"c_json", "json", typemap.String, [3]string{`'{"a": [1, 2.50, null], "b": "é"}'`, `'null'`, "NULL"}, [2]string{`{"a": [1, 2.50, null], "b": "é"}`, "null"}},
		{"c_jsonb", "jsonb", typemap.String, [3]string{`'{"b": "é", "a": [1, 2.50, null]}'`, `'"x"'`, "NULL"}, [2]string{`{"a": [1, 2.50, null], "b": "é"}`, `"x"`}},
		{"c_boolean", "boolean", typemap.Boolean, [3]string{"true", "false", "NULL"}, [2]string{}},
		{"c_bool_array", "boolean[]", typemap.String, [3]string{"'{t,NULL,f}'", "'{}'", "NULL"}, [2]string{"{t,NULL,f}", "{}"}},
		{"c_cidr", "cidr", typemap.String, [3]string{"'10.0.0.0/8'", "'2001:db8::/32'", "NULL"}, [2]string{"10.0.0.0/8", "2001:db8::/32"}},
		{"c_composite", schema + ".pair", typemap.String, [3]string{`ROW(1, 'x y')`, `ROW(NULL, '')`, "NULL"}, [2]string{`(1,"x y")`, `(,"")`}},
		{"c_domain", schema + ".posint", typemap.String, [3]string{"1", "2147483647", "NULL"}, [2]string{"1", "2147483647"}},
		{"c_domain_text", schema + ".email", typemap.String, [3]string{"'a@b.c'", "''", "NULL"}, [2]string{"a@b.c", ""}},
		{"c_inet", "inet", typemap.String, [3]string{"'1.2.3.4'", "'::ffff:1.2.3.4/128'", "NULL"}, [2]string{"1.2.3.4", "::ffff:1.2.3.4"}},
		{"c_inet_mask", "inet", typemap.String, [3]string{"'192.168.0.1/24'", "'fe80::1/64'", "NULL"}, [2]string{"192.168.0.1/24", "fe80::1/64"}},
		{"c_macaddr", "macaddr", typemap.String, [3]string{"'08:00:2b:01:02:03'", "'08-00-2B-01-02-04'", "NULL"}, [2]string{"08:00:2b:01:02:03", "08:00:2b:01:02:04"}},
		{"c_macaddr8", "macaddr8", typemap.String, [3]string{"'08:00:2b:01:02:03:04:05'", "'08002b0102030406'", "NULL"}, [2]string{"08:00:2b:01:02:03:04:05", "08:00:2b:01:02:03:04:06"}},
		{"c_oid", "oid", typemap.Omit, [3]string{"12345", "4294967295", "NULL"}, [2]string{}},
		{"c_regclass", "regclass", typemap.Omit, [3]string{"'pg_class'", "'pg_type'", "NULL"}, [2]string{}},
		{"c_regproc", "regproc", typemap.Omit, [3]string{"'now'", "'abs(integer)'::regprocedure::regproc", "NULL"}, [2]string{}},
		{"c_regtype", "regtype", typemap.Omit, [3]string{"'integer'", "'text'", "NULL"}, [2]string{}},
		{"c_xid", "xid", typemap.Omit, [3]string{"'1'", "'4294967295'", "NULL"}, [2]string{}},
		{"c_cid", "cid", typemap.Omit, [3]string{"'1'", "'2'", "NULL"}, [2]string{}},
		{"c_tid", "tid", typemap.Omit, [3]string{"'(0,1)'", "'(4294967295,65535)'", "NULL"}, [2]string{}},
		{"c_oid_array", "oid[]", typemap.String, [3]string{"'{1,NULL}'", "'{}'", "NULL"}, [2]string{"{1,NULL}", "{}"}},
		{"c_pg_lsn", "pg_lsn", typemap.String, [3]string{"'0/16B3748'", "'FFFFFFFF/FFFFFFFF'", "NULL"}, [2]string{"0/16B3748", "FFFFFFFF/FFFFFFFF"}},
		{"c_int4range", "int4range", typemap.String, [3]string{"'[1,5]'", "'empty'", "NULL"}, [2]string{"[1,6)", "empty"}},
		{"c_tstzrange", "tstzrange", typemap.String, [3]string{"'[2024-01-01 00:00+01,infinity)'", "'(,)'", "NULL"}, [2]string{`["2023-12-31 23:00:00+00",infinity)`, "(,)"}},
		{"c_numrange", "numrange", typemap.String, [3]string{"'[1.50,2.5]'", "'(,0)'", "NULL"}, [2]string{"[1.50,2.5]", "(,0)"}},
		{"c_multirange", "int4multirange", typemap.String, [3]string{"'{[1,3),[5,7)}'", "'{}'", "NULL"}, [2]string{"{[1,3),[5,7)}", "{}"}},
		{"c_uuid", "uuid", typemap.String, [3]string{"'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "'00000000-0000-0000-0000-000000000000'", "NULL"},
			[2]string{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000"}},
	}
	if hstore {
		cols = append(cols, typeColumn{"c_hstore", "public.hstore", typemap.String, [3]string{`'a=>1, b=>NULL'`, `''`, "NULL"}, [2]string{`"a"=>"1", "b"=>NULL`, ""}})
	}
	return cols
}

// createAllTypes makes schema.all_types with three rows and returns its
// columns. The hstore column is there when the extension is available.
func createAllTypes(t testing.TB, pool *pgxpool.Pool, schema string) []typeColumn {
	t.Helper()
	ctx := context.Background()
	hstore := true
	if _, err := pool.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS hstore WITH SCHEMA public"); err != nil {
		t.Logf("hstore is not available, its column is left out: %v", err)
		hstore = false
	}
	mustExec(t, pool, "CREATE TYPE "+schema+".mood AS ENUM ('sad', 'happy ☺')")
	mustExec(t, pool, "CREATE TYPE "+schema+".pair AS (a int, b text)")
	mustExec(t, pool, "CREATE DOMAIN "+schema+".posint AS integer CHECK (VALUE > 0)")
	mustExec(t, pool, "CREATE DOMAIN "+schema+".email AS text")
	cols := allTypes(schema, hstore)
	defs := []string{"id integer PRIMARY KEY"}
	for _, c := range cols {
		defs = append(defs, c.name+" "+c.decl)
	}
	mustExec(t, pool, "CREATE TABLE "+schema+".all_types ("+strings.Join(defs, ", ")+")")
	for row := 0; row < 3; row++ {
		names := []string{"id"}
		vals := []string{[]string{"1", "2", "3"}[row]}
		for _, c := range cols {
			names = append(names, c.name)
			vals = append(vals, c.values[row])
		}
		mustExec(t, pool, "INSERT INTO "+schema+".all_types ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(vals, ", ")+")")
	}
	return cols
}

// serverText reads every column of the table as the server's text output,
// in a transaction with the session settings pgsource documents.
func serverText(t testing.TB, pool *pgxpool.Pool, schema string, cols []typeColumn) map[int32][]*string {
	t.Helper()
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	pc := conn.Conn().PgConn()
	if _, err := pc.Exec(ctx, "BEGIN; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, MDY'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3").ReadAll(); err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer func() { pc.Exec(ctx, "ROLLBACK").ReadAll() }()
	names := []string{"id::text"}
	for _, c := range cols {
		names = append(names, c.name)
	}
	res := pc.ExecParams(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+schema+".all_types", nil, nil, nil, nil).Read()
	if res.Err != nil {
		t.Fatalf("select: %v", res.Err)
	}
	out := map[int32][]*string{}
	for _, r := range res.Rows {
		var texts []*string
		for _, v := range r[1:] {
			if v == nil {
				texts = append(texts, nil)
			} else {
				s := string(v)
				texts = append(texts, &s)
			}
		}
		id := int32(0)
		for _, d := range r[0] {
			id = id*10 + int32(d-'0')
		}
		out[id] = texts
	}
	return out
}

// TestAllTypes scans a table with a column of every §10.2 type with the
// default mapping and checks each value: numbers, booleans and bytes by
// value and physical type, strings byte for byte against the server's own
// text output and against hand-written expectations.
func TestAllTypes(t *testing.T) {
	pool := adminPool(t)
	schema := scratchSchema(t, pool)
	cols := createAllTypes(t, pool, schema)
	want := serverText(t, pool, schema, cols)

	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, schema)
	tb, ok := tables["all_types"]
	if !ok {
		t.Fatalf("all_types not listed: %v", tables)
	}
	req := rdsRequest(t, tb)

	// The object identifiers, and only they, are omitted.
	requested := map[string]typemap.Kind{}
	for _, c := range req.Columns {
		requested[c.Name] = c.Target.Kind
	}
	for _, c := range cols {
		got, ok := requested[c.name]
		if c.kind == typemap.Omit {
			if ok {
				t.Errorf("%s (%s) is mapped to %v, want omitted", c.name, c.decl, got)
			}
			continue
		}
		if got != c.kind {
			t.Errorf("%s (%s) is mapped to %v, want %v", c.name, c.decl, got, c.kind)
		}
	}

	rows := scanAll(t, snap, req)
	if len(rows) != 3 {
		t.Fatalf("read %d rows, want 3", len(rows))
	}
	colIndex := map[string]int{}
	for i, c := range cols {
		colIndex[c.name] = i
	}
	for _, row := range rows {
		id := row[0].Int32()
		for j, sc := range req.Columns[1:] {
			v := row[j+1]
			i := colIndex[sc.Name]
			c := cols[i]
			ref := want[id][i]
			if ref == nil {
				if !v.IsNull() {
					t.Errorf("row %d %s: got %v, want NULL", id, c.name, v)
				}
				continue
			}
			if v.IsNull() {
				t.Errorf("row %d %s: got NULL, want %q", id, c.name, *ref)
				continue
			}
			checkTyped(t, id, c, v, *ref)
		}
	}
}

// checkTyped compares one non-NULL scanned value with the server's text.
func checkTyped(t *testing.T, id int32, c typeColumn, v parquet.Value, ref string) {
	t.Helper()
	wantKind := map[typemap.Kind]parquet.Kind{
		typemap.Int16: parquet.Int32, typemap.Int32: parquet.Int32, typemap.Int64: parquet.Int64,
		typemap.Float: parquet.Float, typemap.Double: parquet.Double, typemap.Boolean: parquet.Boolean,
		typemap.String: parquet.ByteArray, typemap.Binary: parquet.ByteArray,
	}[c.kind]
	if v.Kind() != wantKind {
		t.Errorf("row %d %s: value of kind %v, want %v", id, c.name, v.Kind(), wantKind)
		return
	}
	var got string
	switch c.kind {
	case typemap.Int16, typemap.Int32:
		got = itoa(int64(v.Int32()))
	case typemap.Int64:
		got = itoa(v.Int64())
	case typemap.Float, typemap.Double:
		// Compare as numbers: the server's text is exact (shortest
		// round-trip digits), so parsing it gives the same bits.
		f := v.Double()
		bits := 64
		if c.kind == typemap.Float {
			f, bits = float64(v.Float()), 32
		}
		r, err := strconv.ParseFloat(ref, bits)
		if err != nil {
			t.Errorf("row %d %s: server text %q: %v", id, c.name, ref, err)
			return
		}
		if !(f == r || math.IsNaN(f) && math.IsNaN(r)) {
			t.Errorf("row %d %s (%s): got %v, the server prints %q", id, c.name, c.decl, f, ref)
		}
		return
	case typemap.Boolean:
		got = map[bool]string{true: "t", false: "f"}[v.Boolean()]
	case typemap.Binary:
		got = `\x` + hexString(v.ByteArray())
	case typemap.String:
		got = string(v.ByteArray())
		if id <= 2 && c.text[id-1] != "" && got != c.text[id-1] {
			t.Errorf("row %d %s (%s): got %q, want %q", id, c.name, c.decl, got, c.text[id-1])
		}
	}
	if got != ref {
		t.Errorf("row %d %s (%s): got %q, the server prints %q", id, c.name, c.decl, got, ref)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func hexString(b []byte) string { return hex.EncodeToString(b) }
