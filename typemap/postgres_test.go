package typemap

import "testing"

// TestPostgresRDSTable checks every row of reference §10.2 with the column
// as PostgreSQL 15's catalog describes it (information_schema data_type,
// format_type), the way pgsource fills typemap.Column.
func TestPostgresRDSTable(t *testing.T) {
	str := Target{Kind: String}
	cases := []struct {
		row        string // the §10.2 row
		dataType   string
		columnType string
		want       Target
		exported   string // expectedExportedType, i.e. physical type and annotation
	}{
		// Numeric
		{"BIGINT", "bigint", "bigint", Target{Kind: Int64}, "int64"},
		{"BIGSERIAL", "bigint", "bigint", Target{Kind: Int64}, "int64"},
		{"DECIMAL", "numeric", "numeric(10,2)", str, "binary (UTF8)"},
		{"DECIMAL (NUMERIC, unconstrained)", "numeric", "numeric", str, "binary (UTF8)"},
		{"DOUBLE PRECISION", "double precision", "double precision", Target{Kind: Double}, "double"},
		{"INTEGER", "integer", "integer", Target{Kind: Int32}, "int32"},
		{"MONEY", "money", "money", str, "binary (UTF8)"},
		{"REAL", "real", "real", Target{Kind: Float}, "float"},
		{"SERIAL", "integer", "integer", Target{Kind: Int32}, "int32"},
		{"SMALLINT", "smallint", "smallint", Target{Kind: Int16}, "int32 (INT_16)"},
		{"SMALLSERIAL", "smallint", "smallint", Target{Kind: Int16}, "int32 (INT_16)"},
		// String and related
		{"ARRAY", "array", "integer[]", str, "binary (UTF8)"},
		{"ARRAY of bytea", "array", "bytea[]", str, "binary (UTF8)"},
		{"BIT", "bit", "bit(3)", str, "binary (UTF8)"},
		{"BIT VARYING", "bit varying", "bit varying(5)", str, "binary (UTF8)"},
		{"BYTEA", "bytea", "bytea", Target{Kind: Binary}, "binary"},
		{"CHAR", "character", "character(1)", str, "binary (UTF8)"},
		{"CHAR(N)", "character", "character(5)", str, "binary (UTF8)"},
		{"ENUM", "user-defined", "probe.mood", str, "binary (UTF8)"},
		{"NAME", "name", "name", str, "binary (UTF8)"},
		{"TEXT", "text", "text", str, "binary (UTF8)"},
		{"TEXT SEARCH (tsvector)", "tsvector", "tsvector", str, "binary (UTF8)"},
		{"TEXT SEARCH (tsquery)", "tsquery", "tsquery", str, "binary (UTF8)"},
		{"VARCHAR(N)", "character varying", "character varying(20)", str, "binary (UTF8)"},
		{"XML", "xml", "xml", str, "binary (UTF8)"},
		// Date and time
		{"DATE", "date", "date", str, "binary (UTF8)"},
		{"INTERVAL", "interval", "interval", str, "binary (UTF8)"},
		{"TIME", "time without time zone", "time without time zone", str, "binary (UTF8)"},
		{"TIME WITH TIME ZONE", "time with time zone", "time with time zone", str, "binary (UTF8)"},
		{"TIMESTAMP", "timestamp without time zone", "timestamp(3) without time zone", str, "binary (UTF8)"},
		{"TIMESTAMP WITH TIME ZONE", "timestamp with time zone", "timestamp with time zone", str, "binary (UTF8)"},
		// Geometric
		{"BOX", "box", "box", str, "binary (UTF8)"},
		{"CIRCLE", "circle", "circle", str, "binary (UTF8)"},
		{"LINE", "line", "line", str, "binary (UTF8)"},
		{"LINESEGMENT", "lseg", "lseg", str, "binary (UTF8)"},
		{"PATH", "path", "path", str, "binary (UTF8)"},
		{"POINT", "point", "point", str, "binary (UTF8)"},
		{"POLYGON", "polygon", "polygon", str, "binary (UTF8)"},
		// JSON
		{"JSON", "json", "json", str, "binary (UTF8)"},
		{"JSONB", "jsonb", "jsonb", str, "binary (UTF8)"},
		// Other
		{"BOOLEAN", "boolean", "boolean", Target{Kind: Boolean}, "boolean"},
		{"CIDR", "cidr", "cidr", str, "binary (UTF8)"},
		{"COMPOSITE", "user-defined", "probe.pair", str, "binary (UTF8)"},
		{"DOMAIN over integer", "integer", "probe.posint", str, "binary (UTF8)"},
		{"DOMAIN over text in the search path", "text", "email", str, "binary (UTF8)"},
		{"DOMAIN over an array", "array", "int_list", str, "binary (UTF8)"},
		{"INET", "inet", "inet", str, "binary (UTF8)"},
		{"MACADDR", "macaddr", "macaddr", str, "binary (UTF8)"},
		{"MACADDR8", "macaddr8", "macaddr8", str, "binary (UTF8)"},
		{"OBJECT IDENTIFIER (oid)", "oid", "oid", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regclass)", "regclass", "regclass", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regcollation)", "regcollation", "regcollation", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regconfig)", "regconfig", "regconfig", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regdictionary)", "regdictionary", "regdictionary", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regnamespace)", "regnamespace", "regnamespace", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regoper)", "regoper", "regoper", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regoperator)", "regoperator", "regoperator", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regproc)", "regproc", "regproc", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regprocedure)", "regprocedure", "regprocedure", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regrole)", "regrole", "regrole", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (regtype)", "regtype", "regtype", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (xid)", "xid", "xid", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (xid8)", "xid8", "xid8", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (cid)", "cid", "cid", Target{Kind: Omit}, "N/A"},
		{"OBJECT IDENTIFIER (tid)", "tid", "tid", Target{Kind: Omit}, "N/A"},
		{"ARRAY of oid", "array", "oid[]", str, "binary (UTF8)"},
		{"PG_LSN", "pg_lsn", "pg_lsn", str, "binary (UTF8)"},
		{"RANGE", "int4range", "int4range", str, "binary (UTF8)"},
		{"RANGE (tstzrange)", "tstzrange", "tstzrange", str, "binary (UTF8)"},
		{"RANGE (multirange)", "int4multirange", "int4multirange", str, "binary (UTF8)"},
		{"UUID", "uuid", "uuid", str, "binary (UTF8)"},
		{"extension type (hstore)", "user-defined", "hstore", str, "binary (UTF8)"},
		// A user type spelled like a built-in is printed quoted or qualified.
		{"user type named bigint", "user-defined", `"bigint"`, str, "binary (UTF8)"},
		{"domain named int4 in another schema", "integer", "app.int4", str, "binary (UTF8)"},
		// Hand-built columns: udt names, DataType only, upper case.
		{"udt name int2", "smallint", "int2", Target{Kind: Int16}, "int32 (INT_16)"},
		{"udt name float8", "", "float8", Target{Kind: Double}, "double"},
		{"DataType only", "bigint", "", Target{Kind: Int64}, "int64"},
		{"upper case", "INTEGER", "INTEGER", Target{Kind: Int32}, "int32"},
		{"USER-DEFINED upper case", "USER-DEFINED", "bool", str, "binary (UTF8)"},
	}
	m := RDS()
	for _, c := range cases {
		t.Run(c.row, func(t *testing.T) {
			got, err := m.Map(EnginePostgres, "db.public.t", Column{Name: "c", DataType: c.dataType, ColumnType: c.columnType, Nullable: true})
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			if got != c.want {
				t.Fatalf("Map(%q, %q) = %v, want %v", c.dataType, c.columnType, got, c.want)
			}
			if e := got.ExpectedExportedType(); e != c.exported {
				t.Fatalf("ExpectedExportedType = %q, want %q", e, c.exported)
			}
		})
	}
}

// TestPostgresPhysical pins the Parquet physical type of each non-string
// kind the PostgreSQL profile produces (§10.2's "Parquet primitive type").
func TestPostgresPhysical(t *testing.T) {
	cases := map[string]Physical{
		"smallint": PhysicalInt32, "integer": PhysicalInt32, "bigint": PhysicalInt64,
		"real": PhysicalFloat, "double precision": PhysicalDouble, "boolean": PhysicalBoolean,
		"bytea": PhysicalByteArray, "numeric": PhysicalByteArray, "oid": PhysicalNone,
	}
	for typ, want := range cases {
		got, err := postgresTarget(Column{DataType: typ, ColumnType: typ})
		if err != nil {
			t.Fatal(err)
		}
		if got.Physical() != want {
			t.Errorf("%s: physical %v, want %v", typ, got.Physical(), want)
		}
	}
}
