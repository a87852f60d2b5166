package typemap

import (
	"fmt"
	"strings"
)

// postgresTyped is the typed profile for PostgreSQL (see the package
// documentation's table). A domain is mapped as its base type, whose values
// its values are; the type is decided by OID (Column.PG) when the driver
// filled it, by name for hand-built columns.
func postgresTyped(col Column, opts ProfileOptions) (Target, error) {
	pg := col.PG
	if pg.OID == 0 {
		pg = pgTypeFromNames(col)
	}
	if pg.ElemOID != 0 {
		if pg.Dims >= 2 {
			// Declared multi-dimensional: a LIST of LISTs would need the
			// dimensions of every value to agree, which PostgreSQL does
			// not enforce; the text form keeps them all.
			return Target{Kind: String}, nil
		}
		elemPrecision, elemScale := pg.ElemPrecision, pg.ElemScale
		elem, ok := pgScalarTyped(pg.ElemOID, pg.ElemKind, elemPrecision, elemScale, opts)
		if !ok || !pgListElement(pg.ElemOID, pg.ElemKind) || (elem.Kind == String && pg.ElemOID == OIDNumeric) {
			// numeric[] under the string policy: the array's own text
			// keeps every element exactly.
			return Target{Kind: String}, nil
		}
		return Target{Kind: List, Elem: elem.Kind, Precision: elem.Precision, Scale: elem.Scale, Strict: elem.Strict}, nil
	}
	if t, ok := pgScalarTyped(pg.BaseOID, pg.BaseKind, col.Precision, col.Scale, opts); ok {
		return t, nil
	}
	return Target{Kind: String}, nil
}

// pgScalarTyped maps a non-array type; ok is false for the types the typed
// profile leaves to their text form (STRING).
func pgScalarTyped(oid uint32, kind byte, precision, scale int, opts ProfileOptions) (Target, bool) {
	if kind == 'e' {
		return Target{Kind: Enum}, true
	}
	if kind != 'b' {
		return Target{}, false // composite, range, multirange, pseudo: their text form
	}
	switch oid {
	case OIDNumeric:
		return decimalTarget(precision, scale, opts), true
	case OIDDate:
		return Target{Kind: Date, Strict: true}, true
	case OIDTime:
		return Target{Kind: TimeMicros}, true
	case OIDTimestamp:
		return Target{Kind: LocalTimestampMicros, Strict: true}, true
	case OIDTimestamptz:
		return Target{Kind: TimestampMicros, Strict: true}, true
	case OIDUUID:
		return Target{Kind: UUID}, true
	case OIDJSON, OIDJSONB:
		return Target{Kind: JSON}, true
	case OIDText, OIDVarchar, OIDBPChar, OIDName, OIDChar:
		return Target{Kind: String}, true
	}
	if k, ok := postgresKindsByOID[oid]; ok {
		return Target{Kind: k}, true
	}
	return Target{}, false
}

// pgListElement reports the element types pgsource reads from PostgreSQL's
// binary array format; arrays of any other element stay STRING.
func pgListElement(oid uint32, kind byte) bool {
	if kind == 'e' {
		return true
	}
	switch oid {
	case OIDBool, OIDInt2, OIDInt4, OIDInt8, OIDFloat4, OIDFloat8, OIDNumeric,
		OIDText, OIDVarchar, OIDBPChar, OIDName, OIDBytea,
		OIDDate, OIDTime, OIDTimestamp, OIDTimestamptz, OIDUUID, OIDJSON, OIDJSONB:
		return true
	}
	return false
}

// decimalTarget is a declared DECIMAL(p,s) with 1 ≤ p ≤ 38, or the task's
// policy for any other numeric.
func decimalTarget(precision, scale int, opts ProfileOptions) Target {
	if precision >= 1 && precision <= 38 && scale >= 0 && scale <= precision {
		return Target{Kind: Decimal, Precision: precision, Scale: scale, Strict: true}
	}
	if p := opts.UnboundedNumeric; p.Precision != 0 {
		return Target{Kind: Decimal, Precision: p.Precision, Scale: p.Scale, Strict: true}
	}
	return Target{Kind: String}
}

// pgTypeFromNames fills PGType from the type names of a hand-built column.
func pgTypeFromNames(col Column) PGType {
	name := strings.ToLower(strings.TrimSpace(col.ColumnType))
	if name == "" {
		name = strings.ToLower(strings.TrimSpace(col.DataType))
	}
	name = strings.TrimPrefix(name, "pg_catalog.")
	dims := 0
	for strings.HasSuffix(name, "[]") {
		name = strings.TrimSuffix(name, "[]")
		dims++
	}
	if i := strings.IndexByte(name, '('); i >= 0 {
		// "numeric(10,2)", "timestamp(3) with time zone": the typmod goes.
		if j := strings.IndexByte(name[i:], ')'); j >= 0 {
			name = strings.TrimSpace(name[:i] + name[i+j+1:])
		}
	}
	oid := pgOIDsByName[name]
	kind := byte('b')
	if oid == 0 {
		kind = 'c' // unknown: its text form
	}
	if dims > 0 {
		return PGType{ElemOID: oid, ElemKind: kind, ElemPrecision: col.Precision, ElemScale: col.Scale, Dims: dims, Kind: 'b'}
	}
	return PGType{OID: oid, Kind: kind, BaseOID: oid, BaseKind: kind}
}

var pgOIDsByName = map[string]uint32{
	"boolean": OIDBool, "bool": OIDBool, "bytea": OIDBytea, `"char"`: OIDChar, "name": OIDName,
	"bigint": OIDInt8, "int8": OIDInt8, "smallint": OIDInt2, "int2": OIDInt2,
	"integer": OIDInt4, "int": OIDInt4, "int4": OIDInt4, "text": OIDText, "json": OIDJSON,
	"real": OIDFloat4, "float4": OIDFloat4, "double precision": OIDFloat8, "float8": OIDFloat8,
	"character": OIDBPChar, "bpchar": OIDBPChar, "character varying": OIDVarchar, "varchar": OIDVarchar,
	"date": OIDDate, "time without time zone": OIDTime, "time": OIDTime,
	"timestamp without time zone": OIDTimestamp, "timestamp": OIDTimestamp,
	"timestamp with time zone": OIDTimestamptz, "timestamptz": OIDTimestamptz,
	"numeric": OIDNumeric, "decimal": OIDNumeric, "uuid": OIDUUID, "jsonb": OIDJSONB,
	"oid": OIDOID,
}

// mysqlTyped is the typed profile for MySQL and MariaDB (see the package
// documentation's table).
// Types not listed map as in the rds profile.
func mysqlTyped(col Column, opts ProfileOptions) (Target, error) {
	switch strings.ToLower(strings.TrimSpace(col.DataType)) {
	case "mediumint":
		return Target{Kind: Int32}, nil // unsigned too: 16777215 fits
	case "decimal", "numeric", "dec", "fixed":
		p, s := col.Precision, col.Scale
		if p <= 0 {
			p = 10
		}
		if s < 0 || s > p {
			return Target{}, fmt.Errorf("typemap: mysql column %q: decimal(%d,%d) has an impossible scale", col.Name, p, s)
		}
		return decimalTarget(p, s, opts), nil
	case "bit":
		if col.Precision >= 1 && col.Precision <= 63 {
			return Target{Kind: Int64}, nil
		}
		return Target{Kind: Binary}, nil
	case "datetime":
		return Target{Kind: LocalTimestampMicros, Strict: true}, nil
	case "timestamp":
		return Target{Kind: TimestampMicros, Strict: true}, nil
	case "date":
		return Target{Kind: Date, Strict: true}, nil
	case "char":
		return Target{Kind: String}, nil
	case "json":
		return Target{Kind: JSON}, nil
	case "longtext":
		if col.CheckedJSON {
			return Target{Kind: JSON}, nil
		}
	case "enum":
		return Target{Kind: Enum}, nil
	case "set":
		return Target{Kind: List, Elem: String}, nil
	}
	return mysqlTarget(col)
}
