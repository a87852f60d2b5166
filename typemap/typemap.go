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
)

var kindNames = [...]string{
	Omit: "omit", Boolean: "boolean", Int16: "int16", Int32: "int32", Int64: "int64",
	Float: "float", Double: "double", String: "string", Binary: "binary",
	TimestampMicros: "timestamp_micros", TimestampMillis: "timestamp_millis", Decimal: "decimal",
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

// Target is what a column becomes in Parquet.
type Target struct {
	Kind Kind
	// Precision and Scale are set for Decimal.
	Precision, Scale int
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
	case Int64, TimestampMicros, TimestampMillis:
		return PhysicalInt64
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

// FixedLen is the byte width of a FIXED_LEN_BYTE_ARRAY decimal target, 0 for
// every other target.
func (t Target) FixedLen() int {
	if t.Kind != Decimal || t.DecimalPhysical() != PhysicalFixedLenByteArray {
		return 0
	}
	return DecimalFixedLen(t.Precision)
}

// ExpectedExportedType is the text RDS writes in export_tables_info's
// originalTypeMappings[].expectedExportedType.
func (t Target) ExpectedExportedType() string {
	switch t.Kind {
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
	if t.Kind == Decimal {
		return fmt.Sprintf("decimal(%d,%d)", t.Precision, t.Scale)
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
