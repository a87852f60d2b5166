package typemap

import "strings"

// postgresTarget maps a PostgreSQL column by the table of reference §10.2.
//
// Only a handful of built-in types keep a Parquet type of their own:
//
//	smallint, smallserial             INT32 INT(16, true)   Int16
//	integer, serial                   INT32                 Int32
//	bigint, bigserial                 INT64                 Int64
//	real                              FLOAT                 Float
//	double precision                  DOUBLE                Double
//	boolean                           BOOLEAN               Boolean
//	bytea                             BYTE_ARRAY            Binary
//	object identifiers (see below)    left out              Omit
//
// Everything else is BYTE_ARRAY STRING holding PostgreSQL's text output:
// numeric/decimal, money, arrays, bit strings, character types, enums, name,
// text search types, xml, every date and time type, geometric types,
// json/jsonb, network types, composites, domains, pg_lsn, ranges, uuid and
// extension types ("USER-DEFINED").
//
// "OBJECT IDENTIFIER" is read as the types of PostgreSQL's "Object Identifier
// Types" documentation section: oid, the reg* aliases, and the system
// identifiers xid, xid8, cid and tid described there. pg_lsn has a row of its
// own (STRING).
//
// The type is identified by Column.ColumnType, the column's own type as
// format_type prints it ("integer", "probe.posint", "integer[]"), not by
// DataType: information_schema reports a domain's base type as its data_type,
// and the table maps DOMAIN to STRING whatever the base type is. A user type
// never prints as a bare built-in name (format_type qualifies or quotes it),
// so a name in the table below is always the built-in. DataType "array" and
// "user-defined" are STRING outright; when ColumnType is empty, DataType is
// used instead, so hand-built columns (overrides, tests) map too.
func postgresTarget(col Column) (Target, error) {
	dataType := strings.ToLower(strings.TrimSpace(col.DataType))
	if dataType == "array" || dataType == "user-defined" {
		return Target{Kind: String}, nil
	}
	name := strings.ToLower(strings.TrimSpace(col.ColumnType))
	if name == "" {
		name = dataType
	}
	name = strings.TrimPrefix(name, "pg_catalog.")
	if k, ok := postgresKinds[name]; ok {
		return Target{Kind: k}, nil
	}
	return Target{Kind: String}, nil
}

// postgresKinds holds the types of §10.2 that are not STRING, under the
// names format_type prints and their internal (udt) aliases, because
// overrides and other tools use both.
var postgresKinds = map[string]Kind{
	"smallint": Int16, "int2": Int16, "smallserial": Int16, "serial2": Int16,
	"integer": Int32, "int": Int32, "int4": Int32, "serial": Int32, "serial4": Int32,
	"bigint": Int64, "int8": Int64, "bigserial": Int64, "serial8": Int64,
	"real": Float, "float4": Float,
	"double precision": Double, "float8": Double,
	"boolean": Boolean, "bool": Boolean,
	"bytea": Binary,

	"oid": Omit, "regclass": Omit, "regcollation": Omit, "regconfig": Omit,
	"regdictionary": Omit, "regnamespace": Omit, "regoper": Omit, "regoperator": Omit,
	"regproc": Omit, "regprocedure": Omit, "regrole": Omit, "regtype": Omit,
	"xid": Omit, "xid8": Omit, "cid": Omit, "tid": Omit,
}
