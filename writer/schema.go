package writer

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"

	"github.com/snapexport/snapexport/typemap"
)

// schemaName is the name of the root of the Parquet schema. Readers ignore
// it; Spark writes "spark_schema", DuckDB "duckdb_schema".
const schemaName = "schema"

// orderedGroup is the root of the schema: a group whose fields keep the
// table's column order. parquet.Group is a map and orders its fields by
// name, which would reorder the columns of every file.
type orderedGroup struct {
	fields []parquet.Field
	byName parquet.Group // the same fields, for GoType
}

// newOrderedGroup builds the root group. Each field is the one parquet.Group
// itself makes for a single-entry group, so Field.Value behaves exactly as
// the library's own fields do.
func newOrderedGroup(names []string, nodes []parquet.Node) *orderedGroup {
	g := &orderedGroup{byName: make(parquet.Group, len(names))}
	for i, name := range names {
		g.fields = append(g.fields, parquet.Group{name: nodes[i]}.Fields()[0])
		g.byName[name] = nodes[i]
	}
	return g
}

func (g *orderedGroup) ID() int { return 0 }
func (g *orderedGroup) String() string {
	var b strings.Builder
	_ = parquet.PrintSchema(&b, schemaName, g)
	return b.String()
}
func (g *orderedGroup) Type() parquet.Type          { return parquet.Group{}.Type() }
func (g *orderedGroup) Optional() bool              { return false }
func (g *orderedGroup) Repeated() bool              { return false }
func (g *orderedGroup) Required() bool              { return true }
func (g *orderedGroup) Leaf() bool                  { return false }
func (g *orderedGroup) Fields() []parquet.Field     { return g.fields }
func (g *orderedGroup) Encoding() encoding.Encoding { return nil }
func (g *orderedGroup) Compression() compress.Codec { return nil }
func (g *orderedGroup) GoType() reflect.Type        { return g.byName.GoType() }

// statsBytesLimit bounds the min/max a byte-array column records per page
// and per row group. Longer values are cut to a prefix (the minimum) or a
// prefix rounded up (the maximum), which are still true bounds, so a column
// of large documents does not copy them into every page header and the
// footer. parquet-mr uses the same 64-byte default for its column index.
const statsBytesLimit = 64

// leafNode is the OPTIONAL, PLAIN-encoded leaf of one column (NewFileWriter
// makes it a dictionary-encoded one, withDictionary, for the kinds listed in
// dictionaryKind).
//
// PLAIN is the encoding every reader supports; parquet-go would otherwise
// pick DELTA_LENGTH_BYTE_ARRAY for byte arrays, which older readers (and
// some current ones, with data page v1) reject.
func leafNode(t typemap.Target) (parquet.Node, error) {
	var n parquet.Node
	switch t.Kind {
	case typemap.Boolean:
		n = parquet.Leaf(parquet.BooleanType)
	case typemap.Int16:
		n = parquet.Int(16)
	case typemap.Int32:
		n = parquet.Leaf(unannotated{parquet.Int32Type})
	case typemap.Int64:
		n = parquet.Leaf(unannotated{parquet.Int64Type})
	case typemap.Float:
		n = parquet.Leaf(floatType{Type: parquet.FloatType, bits: 32})
	case typemap.Double:
		n = parquet.Leaf(floatType{Type: parquet.DoubleType, bits: 64})
	case typemap.String:
		n = parquet.Leaf(boundedBytesType{Type: parquet.String().Type(), text: true})
	case typemap.Binary:
		n = parquet.Leaf(boundedBytesType{Type: parquet.ByteArrayType})
	case typemap.TimestampMicros:
		n = parquet.Timestamp(parquet.Microsecond)
	case typemap.TimestampMillis:
		n = parquet.Timestamp(parquet.Millisecond)
	case typemap.Decimal:
		if t.Precision < 1 || t.Precision > 38 {
			return nil, fmt.Errorf("decimal precision %d is outside 1..38", t.Precision)
		}
		if t.Scale < 0 || t.Scale > t.Precision {
			return nil, fmt.Errorf("decimal scale %d is outside 0..%d", t.Scale, t.Precision)
		}
		// parquet.Decimal takes the scale first.
		switch t.DecimalPhysical() {
		case typemap.PhysicalInt32:
			n = parquet.Decimal(t.Scale, t.Precision, parquet.Int32Type)
		case typemap.PhysicalInt64:
			n = parquet.Decimal(t.Scale, t.Precision, parquet.Int64Type)
		default:
			d := parquet.Decimal(t.Scale, t.Precision, parquet.FixedLenByteArrayType(t.FixedLen()))
			n = parquet.Leaf(signedFixedType{d.Type()})
		}
	case typemap.Date:
		n = parquet.Date()
	case typemap.TimeMicros:
		n = parquet.TimeAdjusted(parquet.Microsecond, false)
	case typemap.LocalTimestampMicros:
		n = parquet.TimestampAdjusted(parquet.Microsecond, false)
	case typemap.LocalTimestampMillis:
		n = parquet.TimestampAdjusted(parquet.Millisecond, false)
	case typemap.UUID:
		n = parquet.UUID() // ordered as unsigned bytes, as the format asks
	case typemap.JSON:
		n = parquet.Leaf(boundedBytesType{Type: parquet.JSON().Type(), text: true})
	case typemap.Enum:
		n = parquet.Leaf(boundedBytesType{Type: parquet.Enum().Type(), text: true})
	case typemap.List:
		return listNode(t)
	case typemap.Omit:
		return nil, fmt.Errorf("kind %s cannot be written (omitted columns must be left out)", t.Kind)
	default:
		return nil, fmt.Errorf("unknown kind %s", t.Kind)
	}
	return parquet.Optional(parquet.Encoded(n, &parquet.Plain)), nil
}

// unannotated is a physical type without logical type. parquet-go
// annotates its INT32 and INT64 as INT(32, true) and INT(64, true); RDS
// writes them bare, and so does this package.
type unannotated struct{ parquet.Type }

func (unannotated) LogicalType() *format.LogicalType { return nil }

// physicalKind is the parquet.Kind values of a target's column must have.
func physicalKind(t typemap.Target) parquet.Kind {
	if t.Kind == typemap.List {
		return parquet.ByteArray // its values travel as one encoded byte array
	}
	switch t.Physical() {
	case typemap.PhysicalBoolean:
		return parquet.Boolean
	case typemap.PhysicalInt32:
		return parquet.Int32
	case typemap.PhysicalInt64:
		return parquet.Int64
	case typemap.PhysicalFloat:
		return parquet.Float
	case typemap.PhysicalDouble:
		return parquet.Double
	case typemap.PhysicalByteArray:
		return parquet.ByteArray
	default:
		return parquet.FixedLenByteArray
	}
}
