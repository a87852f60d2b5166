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
// The type is identified by its pg_type OID and typtype (Column.PG) when the
// driver filled them, as pgsource does: a domain (typtype 'd') is STRING
// whatever it is called. Hand-built columns without OIDs are identified by
// Column.ColumnType, the column's own type as
// format_type prints it ("integer", "probe.posint", "integer[]"), not by
// DataType: information_schema reports a domain's base type as its data_type,
// and the table maps DOMAIN to STRING whatever the base type is. A user type
// never prints as a bare built-in name (format_type qualifies or quotes it),
// so a name in the table below is always the built-in. DataType "array" and
// "user-defined" are STRING outright; when ColumnType is empty, DataType is
// used instead, so hand-built columns (overrides, tests) map too.
func postgresTarget(col Column) (Target, error) {
	if col.PG.OID != 0 {
		// The catalog's OIDs decide: a domain is a domain whatever it is
		// called, and a built-in is known by its OID, not its printed name.
		if col.PG.Kind != 'b' {
			return Target{Kind: String}, nil
		}
		if k, ok := postgresKindsByOID[col.PG.OID]; ok {
			return Target{Kind: k}, nil
		}
		return Target{Kind: String}, nil
	}
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

// PostgreSQL's fixed built-in type OIDs (pg_type.dat), the ones the profiles
// decide on.
const (
	OIDBool        = 16
	OIDBytea       = 17
	OIDChar        = 18
	OIDName        = 19
	OIDInt8        = 20
	OIDInt2        = 21
	OIDInt4        = 23
	OIDText        = 25
	OIDOID         = 26
	OIDTID         = 27
	OIDXID         = 28
	OIDCID         = 29
	OIDJSON        = 114
	OIDFloat4      = 700
	OIDFloat8      = 701
	OIDBPChar      = 1042
	OIDVarchar     = 1043
	OIDDate        = 1082
	OIDTime        = 1083
	OIDTimestamp   = 1114
	OIDTimestamptz = 1184
	OIDNumeric     = 1700
	OIDUUID        = 2950
	OIDJSONB       = 3802
)

// postgresKindsByOID is postgresKinds by OID: the built-ins of §10.2 that
// are not STRING.
var postgresKindsByOID = map[uint32]Kind{
	OIDInt2: Int16, OIDInt4: Int32, OIDInt8: Int64,
	OIDFloat4: Float, OIDFloat8: Double, OIDBool: Boolean, OIDBytea: Binary,
	OIDOID: Omit, OIDTID: Omit, OIDXID: Omit, OIDCID: Omit,
	2205: Omit, // regclass
	4191: Omit, // regcollation
	3734: Omit, // regconfig
	3769: Omit, // regdictionary
	4089: Omit, // regnamespace
	2203: Omit, // regoper
	2204: Omit, // regoperator
	24:   Omit, // regproc
	2202: Omit, // regprocedure
	4096: Omit, // regrole
	2206: Omit, // regtype
	5069: Omit, // xid8
}
