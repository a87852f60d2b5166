package typemap

import (
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestPostgresTypedTable checks every PostgreSQL row of the typed table
// (doc.go), with columns as pgsource describes them (OIDs and typtype).
func TestPostgresTypedTable(t *testing.T) {
	base := func(oid uint32) PGType { return PGType{OID: oid, Kind: 'b', BaseOID: oid, BaseKind: 'b'} }
	arr := func(arrOID, elem uint32, kind byte, dims int) PGType {
		return PGType{OID: arrOID, Kind: 'b', BaseOID: arrOID, BaseKind: 'b', ElemOID: elem, ElemKind: kind, Dims: dims}
	}
	dec := func(p, s int) Target { return Target{Kind: Decimal, Precision: p, Scale: s, Strict: true} }
	str := Target{Kind: String}
	cases := []struct {
		row      string
		col      Column
		want     Target
		exported string
	}{
		{"smallint", Column{PG: base(OIDInt2)}, Target{Kind: Int16}, "int32 (INT_16)"},
		{"integer", Column{PG: base(OIDInt4)}, Target{Kind: Int32}, "int32"},
		{"bigint", Column{PG: base(OIDInt8)}, Target{Kind: Int64}, "int64"},
		{"real", Column{PG: base(OIDFloat4)}, Target{Kind: Float}, "float"},
		{"double", Column{PG: base(OIDFloat8)}, Target{Kind: Double}, "double"},
		{"boolean", Column{PG: base(OIDBool)}, Target{Kind: Boolean}, "boolean"},
		{"bytea", Column{PG: base(OIDBytea)}, Target{Kind: Binary}, "binary"},
		{"numeric(9,2)", Column{Precision: 9, Scale: 2, PG: base(OIDNumeric)}, dec(9, 2), "int32 (DECIMAL(9,2))"},
		{"numeric(18,0)", Column{Precision: 18, PG: base(OIDNumeric)}, dec(18, 0), "int64 (DECIMAL(18,0))"},
		{"numeric(38,38)", Column{Precision: 38, Scale: 38, PG: base(OIDNumeric)}, dec(38, 38), "fixed_len_byte_array(16) (DECIMAL(38,38))"},
		{"numeric", Column{PG: base(OIDNumeric)}, str, "binary (UTF8)"},
		{"numeric(50,10)", Column{Precision: 50, Scale: 10, PG: base(OIDNumeric)}, str, "binary (UTF8)"},
		{"date", Column{PG: base(OIDDate)}, Target{Kind: Date, Strict: true}, "int32 (DATE)"},
		{"timestamp", Column{PG: base(OIDTimestamp)}, Target{Kind: LocalTimestampMicros, Strict: true}, "int64 (TIMESTAMP(MICROS,false))"},
		{"timestamptz", Column{PG: base(OIDTimestamptz)}, Target{Kind: TimestampMicros, Strict: true}, "int64 (TIMESTAMP_MICRO)"},
		{"time", Column{PG: base(OIDTime)}, Target{Kind: TimeMicros}, "int64 (TIME(MICROS,false))"},
		{"timetz", Column{PG: base(1266)}, str, "binary (UTF8)"},
		{"interval", Column{PG: base(1186)}, str, "binary (UTF8)"},
		{"uuid", Column{PG: base(OIDUUID)}, Target{Kind: UUID}, "fixed_len_byte_array(16) (UUID)"},
		{"json", Column{PG: base(OIDJSON)}, Target{Kind: JSON}, "binary (JSON)"},
		{"jsonb", Column{PG: base(OIDJSONB)}, Target{Kind: JSON}, "binary (JSON)"},
		{"enum", Column{PG: PGType{OID: 90001, Kind: 'e', BaseOID: 90001, BaseKind: 'e'}}, Target{Kind: Enum}, "binary (ENUM)"},
		{"text", Column{PG: base(OIDText)}, str, "binary (UTF8)"},
		{"money", Column{PG: base(790)}, str, "binary (UTF8)"},
		{"inet", Column{PG: base(869)}, str, "binary (UTF8)"},
		{"composite", Column{PG: PGType{OID: 90002, Kind: 'c', BaseOID: 90002, BaseKind: 'c'}}, str, "binary (UTF8)"},
		{"range", Column{PG: PGType{OID: 3904, Kind: 'r', BaseOID: 3904, BaseKind: 'r'}}, str, "binary (UTF8)"},
		{"oid", Column{PG: base(OIDOID)}, Target{Kind: Omit}, "N/A"},
		{"domain over numeric(6,2)", Column{Precision: 6, Scale: 2, PG: PGType{OID: 90003, Kind: 'd', BaseOID: OIDNumeric, BaseKind: 'b'}}, dec(6, 2), "int32 (DECIMAL(6,2))"},
		{"domain named bigserial over text", Column{ColumnType: "bigserial", PG: PGType{OID: 90004, Kind: 'd', BaseOID: OIDText, BaseKind: 'b'}}, str, "binary (UTF8)"},
		{"integer[]", Column{PG: arr(1007, OIDInt4, 'b', 1)}, Target{Kind: List, Elem: Int32}, "list<int32>"},
		{"integer[] declared without dims", Column{PG: arr(1007, OIDInt4, 'b', 0)}, Target{Kind: List, Elem: Int32}, "list<int32>"},
		{"numeric(5,2)[]", Column{PG: PGType{OID: 1231, Kind: 'b', BaseOID: 1231, BaseKind: 'b', ElemOID: OIDNumeric, ElemKind: 'b', ElemPrecision: 5, ElemScale: 2, Dims: 1}},
			Target{Kind: List, Elem: Decimal, Precision: 5, Scale: 2, Strict: true}, "list<int32 (DECIMAL(5,2))>"},
		{"numeric[] (string policy)", Column{PG: arr(1231, OIDNumeric, 'b', 1)}, str, "binary (UTF8)"},
		{"text[]", Column{PG: arr(1009, OIDText, 'b', 1)}, Target{Kind: List, Elem: String}, "list<binary (UTF8)>"},
		{"timestamptz[]", Column{PG: arr(1185, OIDTimestamptz, 'b', 1)}, Target{Kind: List, Elem: TimestampMicros, Strict: true}, "list<int64 (TIMESTAMP_MICRO)>"},
		{"uuid[]", Column{PG: arr(2951, OIDUUID, 'b', 1)}, Target{Kind: List, Elem: UUID}, "list<fixed_len_byte_array(16) (UUID)>"},
		{"enum[]", Column{PG: arr(90005, 90001, 'e', 1)}, Target{Kind: List, Elem: Enum}, "list<binary (ENUM)>"},
		{"integer[][]", Column{PG: arr(1007, OIDInt4, 'b', 2)}, str, "binary (UTF8)"},
		{"inet[]", Column{PG: arr(1041, 869, 'b', 1)}, str, "binary (UTF8)"},
		{"interval[]", Column{PG: arr(1187, 1186, 'b', 1)}, str, "binary (UTF8)"},
		// Hand-built columns: by name.
		{"by name: numeric(12,3)", Column{DataType: "numeric", ColumnType: "numeric(12,3)", Precision: 12, Scale: 3}, dec(12, 3), "int64 (DECIMAL(12,3))"},
		{"by name: timestamp(3) with time zone", Column{DataType: "timestamp with time zone", ColumnType: "timestamp(3) with time zone"}, Target{Kind: TimestampMicros, Strict: true}, "int64 (TIMESTAMP_MICRO)"},
		{"by name: date[]", Column{DataType: "array", ColumnType: "date[]"}, Target{Kind: List, Elem: Date, Strict: true}, "list<int32 (DATE)>"},
		{"by name: user type", Column{DataType: "user-defined", ColumnType: "app.thing"}, str, "binary (UTF8)"},
	}
	m, err := Profile(ProfileTyped, ProfileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		c.col.Name = "c"
		got, err := m.Map(EnginePostgres, "d.s.t", c.col)
		if err != nil {
			t.Errorf("%s: %v", c.row, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", c.row, got, c.want)
		}
		if e := got.ExpectedExportedType(); e != c.exported {
			t.Errorf("%s: exported as %q, want %q", c.row, e, c.exported)
		}
	}
	if ProfileName(m) != ProfileTyped || ProfileName(RDS()) != ProfileRDS || ProfileName(MapperFunc(rdsMap)) != "custom" {
		t.Errorf("profile names: %q %q", ProfileName(m), ProfileName(RDS()))
	}
}

// TestRDSProfileByOID: with OIDs the rds profile maps built-ins as before
// and every domain to STRING, whatever its printed name.
func TestRDSProfileByOID(t *testing.T) {
	for _, c := range []struct {
		col  Column
		want Kind
	}{
		{Column{ColumnType: "bigserial", DataType: "text", PG: PGType{OID: 9, Kind: 'd', BaseOID: OIDText, BaseKind: 'b'}}, String},
		{Column{ColumnType: "int4", DataType: "text", PG: PGType{OID: 9, Kind: 'd', BaseOID: OIDText, BaseKind: 'b'}}, String},
		{Column{ColumnType: "serial4", DataType: "integer", PG: PGType{OID: 9, Kind: 'd', BaseOID: OIDInt4, BaseKind: 'b'}}, String},
		{Column{ColumnType: "integer", DataType: "integer", PG: PGType{OID: OIDInt4, Kind: 'b', BaseOID: OIDInt4, BaseKind: 'b'}}, Int32},
		{Column{ColumnType: "smallint", DataType: "smallint", PG: PGType{OID: OIDInt2, Kind: 'b', BaseOID: OIDInt2, BaseKind: 'b'}}, Int16},
		{Column{ColumnType: "regclass", DataType: "regclass", PG: PGType{OID: 2205, Kind: 'b', BaseOID: 2205, BaseKind: 'b'}}, Omit},
		{Column{ColumnType: "integer[]", DataType: "array", PG: PGType{OID: 1007, Kind: 'b', BaseOID: 1007, BaseKind: 'b', ElemOID: OIDInt4}}, String},
	} {
		got, err := RDS().Map(EnginePostgres, "d.s.t", c.col)
		if err != nil || got.Kind != c.want {
			t.Errorf("%s (%c): %v, %v; want %v", c.col.ColumnType, c.col.PG.Kind, got, err, c.want)
		}
	}
}

func TestMySQLTypedTable(t *testing.T) {
	c := func(dataType, columnType string) Column {
		return Column{Name: "c", DataType: dataType, ColumnType: columnType}
	}
	dec := func(p, s int) Column {
		return Column{Name: "c", DataType: "decimal", ColumnType: "decimal", Precision: p, Scale: s}
	}
	bit := func(n int) Column { return Column{Name: "c", DataType: "bit", ColumnType: "bit", Precision: n} }
	json := c("longtext", "longtext")
	json.CheckedJSON = true
	cases := []struct {
		col      Column
		exported string
	}{
		{c("tinyint", "tinyint(4)"), "int32"},
		{c("tinyint", "tinyint(3) unsigned"), "int32 (INT_16)"},
		{c("smallint", "smallint(5) unsigned"), "int32"},
		{c("mediumint", "mediumint(8) unsigned"), "int32"},
		{c("int", "int(10) unsigned"), "int64"},
		{c("bigint", "bigint(20)"), "int64"},
		{c("bigint", "bigint(20) unsigned"), "fixed_len_byte_array(9) (DECIMAL(20,0))"},
		{c("year", "year(4)"), "int32"},
		{dec(10, 2), "int64 (DECIMAL(10,2))"},
		{dec(38, 0), "fixed_len_byte_array(16) (DECIMAL(38,0))"},
		{dec(65, 30), "binary (UTF8)"},
		{bit(1), "int64"},
		{bit(63), "int64"},
		{bit(64), "binary"},
		{c("date", "date"), "int32 (DATE)"},
		{c("datetime", "datetime(6)"), "int64 (TIMESTAMP(MICROS,false))"},
		{c("timestamp", "timestamp"), "int64 (TIMESTAMP_MICRO)"},
		{c("time", "time"), "binary (UTF8)"},
		{c("json", "json"), "binary (JSON)"},
		{json, "binary (JSON)"},
		{c("longtext", "longtext"), "binary (UTF8)"},
		{c("enum", "enum('a')"), "binary (ENUM)"},
		{c("set", "set('a','b')"), "list<binary (UTF8)>"},
		{c("char", "char(3)"), "binary (UTF8)"},
		{c("varchar", "varchar(3)"), "binary (UTF8)"},
		{c("blob", "blob"), "binary"},
		{c("point", "point"), "binary"},
		{c("inet6", "inet6"), "binary (UTF8)"},
	}
	m, _ := Profile(ProfileTyped, ProfileOptions{})
	for _, engine := range []string{EngineMySQL, EngineMariaDB} {
		for _, cs := range cases {
			got, err := m.Map(engine, "d.d.t", cs.col)
			if err != nil || got.ExpectedExportedType() != cs.exported {
				t.Errorf("%s %s (%d): %q, %v; want %q", engine, cs.col.ColumnType, cs.col.Precision, got.ExpectedExportedType(), err, cs.exported)
			}
		}
	}
}

func TestProfileOptions(t *testing.T) {
	m, err := Profile(ProfileTyped, ProfileOptions{UnboundedNumeric: NumericPolicy{38, 9}, TimestampUnit: Millis})
	if err != nil {
		t.Fatal(err)
	}
	pg := func(oid uint32) Column {
		return Column{Name: "c", PG: PGType{OID: oid, Kind: 'b', BaseOID: oid, BaseKind: 'b'}}
	}
	for _, c := range []struct {
		col  Column
		want string
	}{
		{pg(OIDNumeric), "fixed_len_byte_array(16) (DECIMAL(38,9))"},
		{pg(OIDTimestamp), "int64 (TIMESTAMP(MILLIS,false))"},
		{pg(OIDTimestamptz), "int64 (TIMESTAMP_MILLIS)"},
		{Column{Name: "c", PG: PGType{OID: 1185, Kind: 'b', BaseOID: 1185, BaseKind: 'b', ElemOID: OIDTimestamptz, ElemKind: 'b'}}, "list<int64 (TIMESTAMP_MILLIS)>"},
	} {
		got, err := m.Map(EnginePostgres, "d.s.t", c.col)
		if err != nil || got.ExpectedExportedType() != c.want {
			t.Errorf("%+v: %q, %v; want %q", c.col.PG, got.ExpectedExportedType(), err, c.want)
		}
	}
	// Millis applies to the rds profile too (MySQL DATETIME), which is
	// otherwise unchanged.
	rds, _ := Profile(ProfileRDS, ProfileOptions{TimestampUnit: Millis})
	if got, _ := rds.Map(EngineMySQL, "d.d.t", Column{Name: "c", DataType: "datetime"}); got.Kind != TimestampMillis {
		t.Errorf("rds millis: %v", got)
	}
	if got, _ := rds.Map(EnginePostgres, "d.s.t", pg(OIDNumeric)); got.Kind != String {
		t.Errorf("rds numeric: %v", got)
	}
	for _, bad := range []string{"decimal(39,0)", "decimal(5,6)", "float", "decimal(10, 2)x"} {
		if _, err := ParseNumericPolicy(bad); err == nil {
			t.Errorf("ParseNumericPolicy(%q) accepted", bad)
		}
	}
	if p, err := ParseNumericPolicy("DECIMAL(38,9)"); err != nil || p != (NumericPolicy{38, 9}) || p.String() != "decimal(38,9)" {
		t.Errorf("ParseNumericPolicy: %v, %v", p, err)
	}
	if _, err := Profile("fast", ProfileOptions{}); err == nil || !strings.Contains(err.Error(), `"fast"`) {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := ParseTimeUnit("nanos"); err == nil {
		t.Error("nanos accepted")
	}
}

// TestOverrideFits: overrides apply on top of either profile; one a text
// column cannot take is refused naming the column and what would fit.
func TestOverrideFits(t *testing.T) {
	typed, _ := Profile(ProfileTyped, ProfileOptions{})
	for _, base := range []Mapper{RDS(), typed} {
		m := WithOverrides(base, Overrides{ByType: map[string]Target{"text": {Kind: Int32}, "uuid": {Kind: String}}})
		if ProfileName(m) != ProfileName(base) {
			t.Errorf("overrides lost the profile name %q", ProfileName(base))
		}
		_, err := m.Map(EnginePostgres, "d.s.t", Column{Name: "note", DataType: "text", ColumnType: "text"})
		if err == nil || !strings.Contains(err.Error(), `column "note" of type text cannot be written as int32`) || !strings.Contains(err.Error(), "what fits: string, binary, json or enum") {
			t.Errorf("%s: text as int32: %v", ProfileName(base), err)
		}
		got, err := m.Map(EnginePostgres, "d.s.t", Column{Name: "u", DataType: "uuid", ColumnType: "uuid"})
		if err != nil || got.Kind != String {
			t.Errorf("uuid as string: %v, %v", got, err)
		}
		_, err = m.Map(EngineMySQL, "d.d.t", Column{Name: "v", DataType: "text", ColumnType: "text"})
		if err == nil {
			t.Error("mysql text as int32 accepted")
		}
	}
	// SQLite's declared types say nothing of the values: taken.
	m := WithOverrides(RDS(), Overrides{ByType: map[string]Target{"text": {Kind: Int64}}})
	if _, err := m.Map(EngineSQLite, "d.main.t", Column{Name: "x", DataType: "text", ColumnType: "text"}); err != nil {
		t.Errorf("sqlite: %v", err)
	}
}

func TestListEncoding(t *testing.T) {
	for _, c := range []struct {
		elem Target
		vals []parquet.Value
	}{
		{Target{Kind: Int32}, []parquet.Value{parquet.Int32Value(-1), parquet.NullValue(), parquet.Int32Value(1 << 30)}},
		{Target{Kind: Int64}, []parquet.Value{parquet.Int64Value(-1 << 62)}},
		{Target{Kind: Boolean}, []parquet.Value{parquet.BooleanValue(true), parquet.BooleanValue(false)}},
		{Target{Kind: Double}, []parquet.Value{parquet.DoubleValue(0.1), parquet.NullValue()}},
		{Target{Kind: Float}, []parquet.Value{parquet.FloatValue(-2.5)}},
		{Target{Kind: String}, []parquet.Value{parquet.ByteArrayValue([]byte("é")), parquet.ByteArrayValue(nil), parquet.NullValue()}},
		{Target{Kind: UUID}, []parquet.Value{parquet.FixedLenByteArrayValue(make([]byte, 16))}},
		{Target{Kind: Decimal, Precision: 30, Scale: 2}, []parquet.Value{parquet.FixedLenByteArrayValue([]byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})}},
		{Target{Kind: Int32}, nil},
	} {
		var b []byte
		for _, v := range c.vals {
			b = AppendListElement(b, c.elem, v)
		}
		var got []parquet.Value
		if err := DecodeList(b, c.elem, func(v parquet.Value) error { got = append(got, v.Clone()); return nil }); err != nil {
			t.Fatalf("%s: %v", c.elem, err)
		}
		if len(got) != len(c.vals) {
			t.Fatalf("%s: %d elements, want %d", c.elem, len(got), len(c.vals))
		}
		for i := range got {
			if got[i].IsNull() != c.vals[i].IsNull() || (!got[i].IsNull() && !parquet.Equal(got[i], c.vals[i])) {
				t.Errorf("%s element %d: %v, want %v", c.elem, i, got[i], c.vals[i])
			}
		}
		if len(b) > 0 {
			if err := DecodeList(b[:len(b)-1], c.elem, func(parquet.Value) error { return nil }); err == nil && c.elem.Kind != Boolean {
				// a cut value is an error (a cut boolean list may end on a whole element)
				if c.vals[len(c.vals)-1].IsNull() {
					continue
				}
				t.Errorf("%s: a cut list decoded", c.elem)
			}
		}
	}
}

// TestSQLiteTypedIsAffinity: SQLite's typed profile is its affinity table.
func TestSQLiteTypedIsAffinity(t *testing.T) {
	typed, _ := Profile(ProfileTyped, ProfileOptions{})
	for _, d := range []string{"INTEGER", "TEXT", "BLOB", "REAL", "DATETIME", "DATE", "DECIMAL(10,2)", "BOOLEAN", "", "VARCHAR(3)"} {
		col := Column{Name: "c", DataType: d, ColumnType: d}
		a, err1 := typed.Map(EngineSQLite, "f.main.t", col)
		b, err2 := RDS().Map(EngineSQLite, "f.main.t", col)
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%q: typed %v (%v), rds %v (%v)", d, a, err1, b, err2)
		}
	}
}
