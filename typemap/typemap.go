package typemap

import (
	"fmt"
	"strings"
)

// Kind is the shape of a Parquet column: its physical type plus logical
// annotation. A source driver converts each value of a column to the
// physical type its Kind names (see [Kind.Physical]).
type Kind int

const (
	// Omit leaves the column out of the file (RDS's "N/A", e.g. PostgreSQL
	// object identifiers). The export lists omitted columns in its warnings.
	Omit Kind = iota
	// Boolean is BOOLEAN.
	Boolean
	// Int16 is INT32 annotated INT(16, true).
	Int16
	// Int32 is INT32 without annotation.
	Int32
	// Int64 is INT64 without annotation.
	Int64
	// Float is FLOAT (32-bit IEEE).
	Float
	// Double is DOUBLE (64-bit IEEE).
	Double
	// String is BYTE_ARRAY annotated STRING (UTF-8).
	String
	// Binary is BYTE_ARRAY without annotation.
	Binary
	// TimestampMicros is INT64 annotated TIMESTAMP(MICROS, isAdjustedToUTC=true):
	// microseconds since 1970-01-01T00:00:00Z.
	TimestampMicros
	// TimestampMillis is INT64 annotated TIMESTAMP(MILLIS, isAdjustedToUTC=true).
	// RDS never writes it; it exists as an override for readers that only
	// handle milliseconds (a common request against RDS exports).
	TimestampMillis
	// Decimal is DECIMAL(Precision, Scale) on INT32 (precision ≤ 9), INT64
	// (precision ≤ 18) or FIXED_LEN_BYTE_ARRAY of the minimal width
	// (precision ≤ 38): the unscaled value, big-endian two's complement for
	// the fixed-length form. See [Target.DecimalPhysical].
	Decimal
	// Date is INT32 annotated DATE: days since 1970-01-01, proleptic
	// Gregorian calendar (the calendar PostgreSQL and MySQL use).
	Date
	// TimeMicros is INT64 annotated TIME(MICROS, isAdjustedToUTC=false):
	// microseconds since midnight.
	TimeMicros
	// LocalTimestampMicros is INT64 annotated TIMESTAMP(MICROS,
	// isAdjustedToUTC=false): a wall-clock time without time zone (SQL
	// TIMESTAMP WITHOUT TIME ZONE, MySQL DATETIME), microseconds since
	// 1970-01-01T00:00:00 local.
	LocalTimestampMicros
	// LocalTimestampMillis is LocalTimestampMicros in milliseconds.
	LocalTimestampMillis
	// UUID is FIXED_LEN_BYTE_ARRAY(16) annotated UUID, the 16 bytes in the
	// order of the text form.
	UUID
	// JSON is BYTE_ARRAY annotated JSON: the document's UTF-8 text.
	JSON
	// Enum is BYTE_ARRAY annotated ENUM: the label's UTF-8 text.
	Enum
	// List is a 3-level LIST whose OPTIONAL element is Target.Elem (with
	// Precision and Scale for a decimal element); NULL elements are kept.
	// See [AppendListElement] for how its values travel from source to
	// writer.
	List
)

var kindNames = [...]string{
	Omit: "omit", Boolean: "boolean", Int16: "int16", Int32: "int32", Int64: "int64",
	Float: "float", Double: "double", String: "string", Binary: "binary",
	TimestampMicros: "timestamp_micros", TimestampMillis: "timestamp_millis", Decimal: "decimal",
	Date: "date", TimeMicros: "time_micros", LocalTimestampMicros: "local_timestamp_micros",
	LocalTimestampMillis: "local_timestamp_millis", UUID: "uuid", JSON: "json", Enum: "enum", List: "list",
}

// String returns the kind's lowercase name, as accepted by [ParseKind].
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind is the inverse of [Kind.String]; it is how CLI and config
// overrides name a kind.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if strings.EqualFold(s, n) {
			return Kind(k), nil
		}
	}
	return Omit, fmt.Errorf("typemap: unknown kind %q (want one of %s)", s, strings.Join(kindNames[:], ", "))
}

// Physical names the Parquet physical types a value of a column can carry.
type Physical int

const (
	PhysicalNone Physical = iota
	PhysicalBoolean
	PhysicalInt32
	PhysicalInt64
	PhysicalFloat
	PhysicalDouble
	PhysicalByteArray
	PhysicalFixedLenByteArray
)

// Target is what a column becomes in Parquet. It is comparable.
type Target struct {
	Kind Kind
	// Precision and Scale are set for Decimal (and a List of Decimal).
	Precision, Scale int
	// Elem is the element kind of a List; it is never List itself.
	Elem Kind
	// Strict makes a value the target cannot hold (a timestamp beyond the
	// range of INT64 microseconds) fail the scan, naming the row, instead of
	// being written as NULL and counted in the warnings. The typed profile
	// sets it; the RDS profile and plain overrides keep the NULL. NaN and
	// ±infinity, which are no instant or number at all, are NULL and
	// counted either way.
	Strict bool
}

// ElemTarget is the target of a List's elements.
func (t Target) ElemTarget() Target {
	return Target{Kind: t.Elem, Precision: t.Precision, Scale: t.Scale, Strict: t.Strict}
}

// Physical is the Parquet physical type of the target. Source drivers
// produce values of exactly this type (parquet.Int32Value for PhysicalInt32,
// and so on).
func (t Target) Physical() Physical {
	switch t.Kind {
	case Boolean:
		return PhysicalBoolean
	case Int16, Int32:
		return PhysicalInt32
	case Int64, TimestampMicros, TimestampMillis, TimeMicros, LocalTimestampMicros, LocalTimestampMillis:
		return PhysicalInt64
	case Date:
		return PhysicalInt32
	case UUID:
		return PhysicalFixedLenByteArray
	case JSON, Enum:
		return PhysicalByteArray
	case List:
		return t.ElemTarget().Physical()
	case Float:
		return PhysicalFloat
	case Double:
		return PhysicalDouble
	case String, Binary:
		return PhysicalByteArray
	case Decimal:
		return t.DecimalPhysical()
	}
	return PhysicalNone
}

// DecimalPhysical chooses the storage of a DECIMAL by declared precision, as
// the Parquet format allows and RDS does: INT32 up to 9 digits, INT64 up to
// 18, FIXED_LEN_BYTE_ARRAY([DecimalFixedLen]) up to 38.
func (t Target) DecimalPhysical() Physical {
	switch {
	case t.Precision <= 9:
		return PhysicalInt32
	case t.Precision <= 18:
		return PhysicalInt64
	default:
		return PhysicalFixedLenByteArray
	}
}

// FixedLen is the byte width of a FIXED_LEN_BYTE_ARRAY target (a decimal's,
// or 16 for UUID), 0 for every other target, a List included.
func (t Target) FixedLen() int {
	if t.Kind == UUID {
		return 16
	}
	if t.Kind != Decimal || t.DecimalPhysical() != PhysicalFixedLenByteArray {
		return 0
	}
	return DecimalFixedLen(t.Precision)
}

// ExpectedExportedType is the text RDS writes in export_tables_info's
// originalTypeMappings[].expectedExportedType: the physical type, and the
// logical annotation in parentheses. The kinds RDS never writes follow the
// same pattern with the annotation's parameters, e.g.
// "int64 (TIMESTAMP(MICROS,false))", "fixed_len_byte_array(16) (UUID)" and
// "list<int32 (DATE)>".
func (t Target) ExpectedExportedType() string {
	switch t.Kind {
	case Date:
		return "int32 (DATE)"
	case TimeMicros:
		return "int64 (TIME(MICROS,false))"
	case LocalTimestampMicros:
		return "int64 (TIMESTAMP(MICROS,false))"
	case LocalTimestampMillis:
		return "int64 (TIMESTAMP(MILLIS,false))"
	case UUID:
		return "fixed_len_byte_array(16) (UUID)"
	case JSON:
		return "binary (JSON)"
	case Enum:
		return "binary (ENUM)"
	case List:
		return "list<" + t.ElemTarget().ExpectedExportedType() + ">"
	case Boolean:
		return "boolean"
	case Int16:
		return "int32 (INT_16)"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Float:
		return "float"
	case Double:
		return "double"
	case String:
		return "binary (UTF8)"
	case Binary:
		return "binary"
	case TimestampMicros:
		return "int64 (TIMESTAMP_MICRO)"
	case TimestampMillis:
		return "int64 (TIMESTAMP_MILLIS)"
	case Decimal:
		switch t.DecimalPhysical() {
		case PhysicalInt32:
			return fmt.Sprintf("int32 (DECIMAL(%d,%d))", t.Precision, t.Scale)
		case PhysicalInt64:
			return fmt.Sprintf("int64 (DECIMAL(%d,%d))", t.Precision, t.Scale)
		default:
			return fmt.Sprintf("fixed_len_byte_array(%d) (DECIMAL(%d,%d))", t.FixedLen(), t.Precision, t.Scale)
		}
	}
	return "N/A"
}

func (t Target) String() string {
	switch t.Kind {
	case Decimal:
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
	case List:
		return "list(" + t.ElemTarget().String() + ")"
	}
	return t.Kind.String()
}

// Column describes a source column as the engine's catalog reports it. It is
// what a [Mapper] maps; source drivers fill it in.
type Column struct {
	// Name is the column name exactly as the catalog spells it.
	Name string
	// DataType is the catalog's type name in the engine's information_schema
	// style, lowercase: "integer", "character varying", "USER-DEFINED" is
	// reported by PostgreSQL as "user-defined"; MySQL "bigint", "decimal".
	// It is what export_tables_info records as originalType.
	DataType string
	// ColumnType is the full declared type where the engine has one
	// ("bigint(20) unsigned", "decimal(10,2)", "_int4", "mood"); drivers
	// put the underlying type name here for arrays, enums and domains.
	ColumnType string
	// Precision and Scale are the declared numeric precision and scale (0
	// when not declared).
	Precision, Scale int
	// Length is the declared character or byte length (0 when unbounded).
	Length int
	// DateTimePrecision is the fractional-second precision of time types.
	DateTimePrecision int
	// Unsigned is set for MySQL UNSIGNED integer and decimal columns.
	Unsigned bool
	// Nullable is false for NOT NULL columns. Every Parquet column is written
	// OPTIONAL regardless, as RDS does.
	Nullable bool
	// CheckedJSON is set by mysqlsource for a MariaDB JSON column: MariaDB
	// makes JSON a LONGTEXT with a CHECK (json_valid(column)) constraint,
	// so only the constraint tells it from text. The typed profile maps
	// it to JSON.
	CheckedJSON bool
	// PG identifies a PostgreSQL column's type by catalog OIDs; pgsource
	// fills it. It is zero for other engines and hand-built columns, which
	// are then mapped by type name.
	PG PGType
}

// PGType is a PostgreSQL column's type as pg_type identifies it. Mapping by
// OID rather than by printed name is what keeps a domain or user type named
// like a built-in ("bigserial", a shadow.int4 ahead of pg_catalog in the
// search_path) from being taken for the built-in.
type PGType struct {
	// OID is the pg_type OID of the column's declared type, 0 when unknown.
	OID uint32
	// Kind is its pg_type.typtype: 'b' base, 'c' composite, 'd' domain,
	// 'e' enum, 'm' multirange, 'p' pseudo, 'r' range.
	Kind byte
	// BaseOID and BaseKind are the type under every domain (OID and Kind
	// themselves when the type is no domain).
	BaseOID  uint32
	BaseKind byte
	// ElemOID and ElemKind are the element type of an array base type (0
	// otherwise); ElemPrecision and ElemScale the numeric typmod that
	// applies to its elements (numeric(10,2)[]).
	ElemOID                  uint32
	ElemKind                 byte
	ElemPrecision, ElemScale int
	// Dims is the declared number of array dimensions (pg_attribute
	// attndims: 2 for integer[][]), which PostgreSQL does not enforce.
	Dims int
}

// Mapper chooses the Parquet target of a source column. engine is the
// source's engine name ("postgres", "mysql", "mariadb", "sqlite"); table is
// "database.schema.table", for per-column overrides.
type Mapper interface {
	Map(engine, table string, col Column) (Target, error)
}

// MapperFunc adapts a function to [Mapper].
type MapperFunc func(engine, table string, col Column) (Target, error)

// Map calls f.
func (f MapperFunc) Map(engine, table string, col Column) (Target, error) {
	return f(engine, table, col)
}
