package pgsource

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// conv is how one column's wire value becomes a parquet.Value.
type conv uint8

const (
	convText       conv = iota // text format, the bytes as they are
	convBytes                  // binary bytea, the bytes as they are
	convBool                   // binary bool
	convInt                    // binary int2/int4/int8 to an integer target
	convIntFloat               // binary int2/int4/int8 to a float target
	convFloat                  // binary float4/float8 to a float target
	convTimestamp              // binary timestamp/timestamptz to a timestamp target
	convDate                   // binary date to a timestamp target
	convParseBool              // text to BOOLEAN
	convParseInt               // text to an integer target
	convParseFloat             // text to a float target
	convDecimal                // text to DECIMAL
)

// Type OIDs of the binary formats the decoders read.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidFloat4      = 700
	oidFloat8      = 701
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
)

// column is one projected column's decoder.
type column struct {
	name     string
	dataType string
	target   typemap.Target
	conv     conv
	oids     []uint32 // result types accepted for binary conversions
	fixedLen int      // FIXED_LEN_BYTE_ARRAY decimal width
	decLimit *big.Int // 10^precision: unscaled decimals must stay below it
	nulled   int64    // values written as NULL (see Warnings)
}

// binaryClass groups data types (information_schema data_type, which for a
// domain is its base type, whose binary format the domain shares) by the
// binary decoder that reads them.
func binaryClass(dataType string) (class string, oids []uint32) {
	switch dataType {
	case "smallint", "integer", "bigint":
		return "int", []uint32{oidInt2, oidInt4, oidInt8}
	case "real", "double precision":
		return "float", []uint32{oidFloat4, oidFloat8}
	case "boolean":
		return "bool", []uint32{oidBool}
	case "bytea":
		return "bytea", []uint32{oidBytea}
	case "timestamp without time zone", "timestamp with time zone":
		return "timestamp", []uint32{oidTimestamp, oidTimestamptz}
	case "date":
		return "date", []uint32{oidDate}
	}
	return "", nil
}

// planColumns chooses each column's decoder and wire format: binary where
// the target is a number, boolean or bytes and the column's type has a
// binary form the decoders read, text otherwise.
func planColumns(req source.ScanRequest) ([]column, []int16, error) {
	cols := make([]column, len(req.Columns))
	formats := make([]int16, len(req.Columns))
	for i, sc := range req.Columns {
		dt := strings.ToLower(sc.DataType)
		class, oids := binaryClass(dt)
		c := column{name: sc.Name, dataType: dt, target: sc.Target, conv: convText}
		switch k := sc.Target.Kind; k {
		case typemap.String:
		case typemap.Binary:
			if class == "bytea" {
				c.conv = convBytes
			}
		case typemap.Boolean:
			c.conv = convParseBool
			if class == "bool" {
				c.conv = convBool
			}
		case typemap.Int16, typemap.Int32, typemap.Int64:
			c.conv = convParseInt
			if class == "int" {
				c.conv = convInt
			}
		case typemap.Float, typemap.Double:
			switch class {
			case "int":
				c.conv = convIntFloat
			case "float":
				c.conv = convFloat
			default:
				c.conv = convParseFloat
			}
		case typemap.TimestampMicros, typemap.TimestampMillis:
			switch class {
			case "timestamp":
				c.conv = convTimestamp
			case "date":
				c.conv = convDate
			default:
				return nil, nil, fmt.Errorf("column %q of type %s cannot be read as %s: %w", sc.Name, sc.DataType, sc.Target, source.ErrUnsupportedConversion)
			}
		case typemap.Decimal:
			if sc.Target.Precision < 1 || sc.Target.Precision > 38 || sc.Target.Scale < 0 || sc.Target.Scale > sc.Target.Precision {
				return nil, nil, fmt.Errorf("column %q: %s is out of range: %w", sc.Name, sc.Target, source.ErrUnsupportedConversion)
			}
			c.conv = convDecimal
			c.fixedLen = sc.Target.FixedLen()
			c.decLimit = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(sc.Target.Precision)), nil)
		default:
			return nil, nil, fmt.Errorf("column %q cannot be read as %s: %w", sc.Name, sc.Target, source.ErrUnsupportedConversion)
		}
		switch c.conv {
		case convBytes, convBool, convInt, convIntFloat, convFloat, convTimestamp, convDate:
			formats[i] = pgx.BinaryFormatCode
			c.oids = oids
		default:
			formats[i] = pgx.TextFormatCode
		}
		cols[i] = c
	}
	return cols, formats, nil
}

// beInt reads a binary int2, int4 or int8.
func beInt(v []byte) (int64, error) {
	switch len(v) {
	case 2:
		return int64(int16(binary.BigEndian.Uint16(v))), nil
	case 4:
		return int64(int32(binary.BigEndian.Uint32(v))), nil
	case 8:
		return int64(binary.BigEndian.Uint64(v)), nil
	}
	return 0, fmt.Errorf("binary integer of %d bytes", len(v))
}

func (c *column) intValue(n int64) (parquet.Value, error) {
	switch c.target.Kind {
	case typemap.Int16:
		if n < math.MinInt16 || n > math.MaxInt16 {
			return parquet.Value{}, fmt.Errorf("%d does not fit in a 16-bit integer", n)
		}
		return parquet.Int32Value(int32(n)), nil
	case typemap.Int32:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return parquet.Value{}, fmt.Errorf("%d does not fit in a 32-bit integer", n)
		}
		return parquet.Int32Value(int32(n)), nil
	}
	return parquet.Int64Value(n), nil
}

func (c *column) floatValue(f float64) parquet.Value {
	if c.target.Kind == typemap.Float {
		return parquet.FloatValue(float32(f))
	}
	return parquet.DoubleValue(f)
}

// beFloat reads a binary float4 or float8; a float4 going to FLOAT keeps
// its exact bits.
func (c *column) beFloat(v []byte) (parquet.Value, error) {
	switch len(v) {
	case 4:
		f := math.Float32frombits(binary.BigEndian.Uint32(v))
		if c.target.Kind == typemap.Float {
			return parquet.FloatValue(f), nil
		}
		return parquet.DoubleValue(float64(f)), nil
	case 8:
		return c.floatValue(math.Float64frombits(binary.BigEndian.Uint64(v))), nil
	}
	return parquet.Value{}, fmt.Errorf("binary float of %d bytes", len(v))
}

// PostgreSQL's binary dates and timestamps count from 2000-01-01 UTC.
const (
	pgEpochDays   = 10957           // days from 1970-01-01 to 2000-01-01
	pgEpochMicros = 946684800000000 // microseconds from 1970-01-01 to 2000-01-01
	microsPerDay  = 86400 * 1000000
)

// timestampValue converts a binary timestamp, timestamptz or date to
// microseconds (or milliseconds) since the Unix epoch; ±infinity and
// values beyond int64 become NULL and are counted for Warnings.
func (c *column) timestampValue(v []byte) parquet.Value {
	var (
		us int64
		ok bool
	)
	switch {
	case c.conv == convDate && len(v) == 4:
		days := int64(int32(binary.BigEndian.Uint32(v)))
		if days != math.MaxInt32 && days != math.MinInt32 {
			days += pgEpochDays
			us, ok = days*microsPerDay, days > math.MinInt64/microsPerDay && days < math.MaxInt64/microsPerDay
		}
	case c.conv == convTimestamp && len(v) == 8:
		t := int64(binary.BigEndian.Uint64(v))
		if t != math.MaxInt64 && t != math.MinInt64 && t <= math.MaxInt64-pgEpochMicros {
			us, ok = t+pgEpochMicros, true
		}
	}
	if !ok {
		c.nulled++
		return parquet.NullValue()
	}
	if c.target.Kind == typemap.TimestampMillis {
		ms := us / 1000
		if us%1000 < 0 {
			ms-- // floor, so that instants before 1970 round down like after
		}
		return parquet.Int64Value(ms)
	}
	return parquet.Int64Value(us)
}

// parse converts a text value to a typed target (overrides such as
// numeric as DECIMAL, or text as BIGINT). scratch holds fixed-length decimal
// bytes for the current row; its capacity covers the row, so appending never
// moves bytes a previous value aliases.
func (c *column) parse(v []byte, scratch *[]byte) (parquet.Value, error) {
	s := string(v)
	switch c.conv {
	case convParseBool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.BooleanValue(b), nil
	case convParseInt:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return parquet.Value{}, err
		}
		return c.intValue(n)
	case convParseFloat:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return parquet.Value{}, err
		}
		return c.floatValue(f), nil
	case convDecimal:
		switch s {
		case "NaN", "Infinity", "-Infinity":
			c.nulled++
			return parquet.NullValue(), nil
		}
		u, err := typemap.UnscaledDecimal(v, c.target.Scale)
		if err != nil {
			return parquet.Value{}, err
		}
		if u.CmpAbs(c.decLimit) >= 0 {
			return parquet.Value{}, fmt.Errorf("%s does not fit %s", s, c.target)
		}
		switch c.target.DecimalPhysical() {
		case typemap.PhysicalInt32:
			if !u.IsInt64() || u.Int64() < math.MinInt32 || u.Int64() > math.MaxInt32 {
				return parquet.Value{}, fmt.Errorf("%s does not fit %s", s, c.target)
			}
			return parquet.Int32Value(int32(u.Int64())), nil
		case typemap.PhysicalInt64:
			if !u.IsInt64() {
				return parquet.Value{}, fmt.Errorf("%s does not fit %s", s, c.target)
			}
			return parquet.Int64Value(u.Int64()), nil
		default:
			start := len(*scratch)
			b, err := typemap.AppendFixedDecimal(*scratch, u, c.fixedLen)
			if err != nil {
				return parquet.Value{}, err
			}
			*scratch = b
			return parquet.FixedLenByteArrayValue(b[start:]), nil
		}
	}
	return parquet.Value{}, fmt.Errorf("no text conversion for %s", c.target)
}
