package pgsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	convDays                   // binary date to DATE
	convTime                   // binary time to TIME(MICROS)
	convUUID                   // binary uuid to FIXED_LEN_BYTE_ARRAY(16)
	convJSONB                  // binary jsonb (version byte, text) to JSON
	convNumeric                // binary numeric to DECIMAL (array elements)
	convList                   // binary array to a LIST value
	convRepair                 // text that may not be UTF-8 (SQL_ASCII), repaired
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
	oidTime        = typemap.OIDTime
	oidUUID        = typemap.OIDUUID
	oidJSONB       = typemap.OIDJSONB
	oidNumeric     = typemap.OIDNumeric
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
	elem     *column  // a LIST's element decoder
	list     []byte   // the current row's LIST value
	repaired int64    // values whose invalid UTF-8 was replaced (see Warnings)
	repair   []byte   // the current row's repaired text
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
	case "time without time zone":
		return "time", []uint32{oidTime}
	case "uuid":
		return "uuid", []uint32{oidUUID}
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
		case typemap.Date:
			if class != "date" {
				return nil, nil, fmt.Errorf("column %q of type %s cannot be read as %s: %w", sc.Name, sc.DataType, sc.Target, source.ErrUnsupportedConversion)
			}
			c.conv = convDays
		case typemap.TimeMicros:
			if class != "time" {
				return nil, nil, fmt.Errorf("column %q of type %s cannot be read as %s: %w", sc.Name, sc.DataType, sc.Target, source.ErrUnsupportedConversion)
			}
			c.conv = convTime
		case typemap.UUID:
			if class != "uuid" {
				return nil, nil, fmt.Errorf("column %q of type %s cannot be read as %s: %w", sc.Name, sc.DataType, sc.Target, source.ErrUnsupportedConversion)
			}
			c.conv = convUUID
		case typemap.JSON, typemap.Enum:
			// The text form: json as stored, jsonb normalized, an enum's label.
		case typemap.List:
			elem, err := planElement(sc)
			if err != nil {
				return nil, nil, err
			}
			c.conv, c.elem = convList, elem
			c.oids = nil // the array's OID is checked by its header's element OID
		case typemap.TimestampMicros, typemap.TimestampMillis, typemap.LocalTimestampMicros, typemap.LocalTimestampMillis:
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
		case convBytes, convBool, convInt, convIntFloat, convFloat, convTimestamp, convDate, convDays, convTime, convUUID:
			formats[i] = pgx.BinaryFormatCode
			c.oids = oids
		case convList:
			formats[i] = pgx.BinaryFormatCode
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
	val, _ := c.instant(v, false)
	return val
}

// instant is timestampValue, except that with strict a value beyond int64
// microseconds is an error rather than a NULL (the typed profile's Strict
// targets): only the infinities, which are no instant, become NULL.
func (c *column) instant(v []byte, strict bool) (parquet.Value, error) {
	var (
		us           int64
		ok, infinite bool
	)
	switch {
	case c.conv == convDate && len(v) == 4:
		days := int64(int32(binary.BigEndian.Uint32(v)))
		infinite = days == math.MaxInt32 || days == math.MinInt32
		if !infinite {
			days += pgEpochDays
			us, ok = days*microsPerDay, days > math.MinInt64/microsPerDay && days < math.MaxInt64/microsPerDay
		}
	case c.conv == convTimestamp && len(v) == 8:
		t := int64(binary.BigEndian.Uint64(v))
		infinite = t == math.MaxInt64 || t == math.MinInt64
		if !infinite && t <= math.MaxInt64-pgEpochMicros {
			us, ok = t+pgEpochMicros, true
		}
	}
	if !ok {
		if strict && !infinite {
			return parquet.Value{}, fmt.Errorf("a timestamp beyond what %s can hold (int64 microseconds reach about 290308 BC to 294247 AD); override the column to string", c.target)
		}
		c.nulled++
		return parquet.NullValue(), nil
	}
	if k := c.target.Kind; k == typemap.TimestampMillis || k == typemap.LocalTimestampMillis {
		ms := us / 1000
		if us%1000 < 0 {
			ms-- // floor, so that instants before 1970 round down like after
		}
		return parquet.Int64Value(ms), nil
	}
	return parquet.Int64Value(us), nil
}

// days converts a binary date to DATE, days since 1970-01-01: every
// PostgreSQL date fits (4713 BC to 5874897 AD); ±infinity become NULL and
// are counted.
func (c *column) days(v []byte) (parquet.Value, error) {
	if len(v) != 4 {
		return parquet.Value{}, fmt.Errorf("binary date of %d bytes", len(v))
	}
	d := int64(int32(binary.BigEndian.Uint32(v)))
	if d == math.MaxInt32 || d == math.MinInt32 {
		c.nulled++
		return parquet.NullValue(), nil
	}
	d += pgEpochDays
	if d > math.MaxInt32 || d < math.MinInt32 {
		return parquet.Value{}, fmt.Errorf("date %d days after 1970 does not fit in DATE", d)
	}
	return parquet.Int32Value(int32(d)), nil
}

// value converts one non-NULL wire value by the column's conversion.
// scratch holds the row's fixed-length decimals (see parse).
func (c *column) value(v []byte, scratch *[]byte) (parquet.Value, error) {
	switch c.conv {
	case convText, convBytes:
		return parquet.ByteArrayValue(v), nil
	case convRepair:
		return c.repairText(v), nil
	case convBool:
		return parquet.BooleanValue(len(v) == 1 && v[0] != 0), nil
	case convInt:
		n, err := beInt(v)
		if err != nil {
			return parquet.Value{}, err
		}
		return c.intValue(n)
	case convIntFloat:
		n, err := beInt(v)
		if err != nil {
			return parquet.Value{}, err
		}
		return c.floatValue(float64(n)), nil
	case convFloat:
		return c.beFloat(v)
	case convTimestamp, convDate:
		return c.instant(v, c.target.Strict)
	case convDays:
		return c.days(v)
	case convTime:
		if len(v) != 8 {
			return parquet.Value{}, fmt.Errorf("binary time of %d bytes", len(v))
		}
		return parquet.Int64Value(int64(binary.BigEndian.Uint64(v))), nil
	case convUUID:
		if len(v) != 16 {
			return parquet.Value{}, fmt.Errorf("binary uuid of %d bytes", len(v))
		}
		return parquet.FixedLenByteArrayValue(v), nil
	case convJSONB:
		if len(v) == 0 || v[0] != 1 {
			return parquet.Value{}, errors.New("binary jsonb of an unknown version")
		}
		return parquet.ByteArrayValue(v[1:]), nil
	case convNumeric:
		return c.numericValue(v, scratch)
	case convList:
		return c.listValue(v)
	}
	return c.parse(v, scratch)
}

// decimalValue stores an unscaled decimal in the target's physical type;
// text is the value, for errors.
func (c *column) decimalValue(u *big.Int, text string, scratch *[]byte) (parquet.Value, error) {
	if u.CmpAbs(c.decLimit) >= 0 {
		return parquet.Value{}, fmt.Errorf("%s does not fit %s", text, c.target)
	}
	switch c.target.DecimalPhysical() {
	case typemap.PhysicalInt32:
		if !u.IsInt64() || u.Int64() < math.MinInt32 || u.Int64() > math.MaxInt32 {
			return parquet.Value{}, fmt.Errorf("%s does not fit %s", text, c.target)
		}
		return parquet.Int32Value(int32(u.Int64())), nil
	case typemap.PhysicalInt64:
		if !u.IsInt64() {
			return parquet.Value{}, fmt.Errorf("%s does not fit %s", text, c.target)
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
		return c.decimalValue(u, s, scratch)
	}
	return parquet.Value{}, fmt.Errorf("no text conversion for %s", c.target)
}

// planElement chooses the decoder of a LIST column's elements, which come
// in the binary array format of the element type (see typemap's
// pgListElement for the types the typed profile lists).
func planElement(sc source.ScanColumn) (*column, error) {
	et := sc.Target.ElemTarget()
	e := &column{name: sc.Name, target: et}
	oid := sc.PG.ElemOID
	unsupported := fmt.Errorf("column %q of type %s cannot be read as %s: %w", sc.Name, sc.ColumnType, sc.Target, source.ErrUnsupportedConversion)
	if oid == 0 {
		return nil, unsupported
	}
	e.oids = []uint32{oid}
	kind := et.Kind
	switch {
	case sc.PG.ElemKind == 'e' || oid == typemap.OIDText || oid == typemap.OIDVarchar || oid == typemap.OIDBPChar ||
		oid == typemap.OIDName || oid == typemap.OIDJSON:
		// The binary form of these is their text.
		e.conv = convText
		if kind != typemap.String && kind != typemap.Enum && kind != typemap.JSON && kind != typemap.Binary {
			return nil, unsupported
		}
	case oid == oidJSONB && kind == typemap.JSON:
		e.conv = convJSONB
	case oid == oidBytea && kind == typemap.Binary:
		e.conv = convBytes
	case oid == oidBool && kind == typemap.Boolean:
		e.conv = convBool
	case (oid == oidInt2 || oid == oidInt4 || oid == oidInt8) && (kind == typemap.Int16 || kind == typemap.Int32 || kind == typemap.Int64):
		e.conv = convInt
	case (oid == oidFloat4 || oid == oidFloat8) && (kind == typemap.Float || kind == typemap.Double):
		e.conv = convFloat
	case oid == oidNumeric && kind == typemap.Decimal:
		e.conv = convNumeric
		e.fixedLen = et.FixedLen()
		e.decLimit = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(et.Precision)), nil)
	case oid == oidDate && kind == typemap.Date:
		e.conv = convDays
	case oid == oidTime && kind == typemap.TimeMicros:
		e.conv = convTime
	case (oid == oidTimestamp || oid == oidTimestamptz) && (kind == typemap.TimestampMicros || kind == typemap.TimestampMillis ||
		kind == typemap.LocalTimestampMicros || kind == typemap.LocalTimestampMillis):
		e.conv = convTimestamp
	case oid == oidUUID && kind == typemap.UUID:
		e.conv = convUUID
	default:
		return nil, unsupported
	}
	return e, nil
}

// listValue converts a binary one-dimensional array to a LIST value (see
// typemap.AppendListElement). A LIST has neither more dimensions nor a lower
// bound, so an array with either is an error, not a silently changed value.
func (c *column) listValue(v []byte) (parquet.Value, error) {
	if len(v) < 12 {
		return parquet.Value{}, fmt.Errorf("binary array of %d bytes", len(v))
	}
	ndim := int32(binary.BigEndian.Uint32(v))
	elemOID := binary.BigEndian.Uint32(v[8:])
	c.list = c.list[:0]
	if ndim == 0 {
		return parquet.ByteArrayValue(c.list), nil // '{}': an empty list
	}
	if elemOID != c.elem.oids[0] {
		return parquet.Value{}, fmt.Errorf("array elements have type oid %d, not %d: %w", elemOID, c.elem.oids[0], source.ErrUnsupportedConversion)
	}
	if ndim != 1 || len(v) < 20 {
		return parquet.Value{}, fmt.Errorf("a %d-dimensional array cannot be written as a list of its 1-dimensional column; override the column to string", ndim)
	}
	n := int32(binary.BigEndian.Uint32(v[12:]))
	if lb := int32(binary.BigEndian.Uint32(v[16:])); lb != 1 {
		return parquet.Value{}, fmt.Errorf("an array with lower bound %d cannot be written as a list, which starts at 1; override the column to string", lb)
	}
	p := v[20:]
	et := c.elem.target
	var scratch [16]byte
	for i := int32(0); i < n; i++ {
		if len(p) < 4 {
			return parquet.Value{}, errors.New("binary array cut short")
		}
		l := int32(binary.BigEndian.Uint32(p))
		p = p[4:]
		if l < 0 {
			c.list = typemap.AppendListElement(c.list, et, parquet.NullValue())
			continue
		}
		if int(l) > len(p) {
			return parquet.Value{}, errors.New("binary array cut short")
		}
		buf := scratch[:0]
		ev, err := c.elem.value(p[:l], &buf)
		if err != nil {
			return parquet.Value{}, fmt.Errorf("element %d: %w", i+1, err)
		}
		c.list = typemap.AppendListElement(c.list, et, ev)
		p = p[l:]
	}
	return parquet.ByteArrayValue(c.list), nil
}

// numericValue converts a binary numeric (base-10000 digits, PostgreSQL's
// NumericVar) to the DECIMAL target, exactly: a value with more decimal
// places than the scale is an error, never rounded. NaN and ±Infinity are
// NULL and counted.
func (c *column) numericValue(v []byte, scratch *[]byte) (parquet.Value, error) {
	if len(v) < 8 {
		return parquet.Value{}, fmt.Errorf("binary numeric of %d bytes", len(v))
	}
	ndigits := int(binary.BigEndian.Uint16(v))
	weight := int(int16(binary.BigEndian.Uint16(v[2:])))
	sign := binary.BigEndian.Uint16(v[4:])
	if sign == 0xC000 || sign == 0xD000 || sign == 0xF000 { // NaN, +Infinity, -Infinity
		c.nulled++
		return parquet.NullValue(), nil
	}
	if len(v) < 8+2*ndigits {
		return parquet.Value{}, errors.New("binary numeric cut short")
	}
	u := new(big.Int)
	base := big.NewInt(10000)
	for i := 0; i < ndigits; i++ {
		u.Mul(u, base)
		u.Add(u, big.NewInt(int64(binary.BigEndian.Uint16(v[8+2*i:]))))
	}
	// u × 10000^(weight-ndigits+1) is the value; times 10^scale the
	// unscaled decimal.
	exp := 4*(weight-ndigits+1) + c.target.Scale
	if exp >= 0 {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	} else {
		q, r := new(big.Int).QuoRem(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil), new(big.Int))
		if r.Sign() != 0 {
			return parquet.Value{}, fmt.Errorf("a numeric has more than %d decimal places", c.target.Scale)
		}
		u = q
	}
	if sign == 0x4000 {
		u.Neg(u)
	}
	return c.decimalValue(u, u.String()+"e-"+strconv.Itoa(c.target.Scale), scratch)
}

// repairText makes text valid UTF-8. A SQL_ASCII database stores bytes in
// no declared encoding, and the server converts nothing to UTF8 for it:
// every byte that does not start a valid UTF-8 sequence becomes U+FFFD (the
// replacement character, as Go's range loop decodes it), and the value is
// counted for the warnings. Valid text passes unchanged.
func (c *column) repairText(v []byte) parquet.Value {
	if utf8.Valid(v) {
		return parquet.ByteArrayValue(v)
	}
	c.repaired++
	b := c.repair[:0]
	for len(v) > 0 {
		r, n := utf8.DecodeRune(v)
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, v[:n]...)
		}
		v = v[n:]
	}
	c.repair = b
	return parquet.ByteArrayValue(b)
}

// readRawText has a scan of a SQL_ASCII database read text without
// conversion (client_encoding SQL_ASCII, for the scan's transaction only)
// and repair its invalid UTF-8 (see repairText). Binary targets keep the
// bytes as they are: an override to binary is the way to keep them.
func readRawText(ctx context.Context, pc *pgconn.PgConn, cols []column) error {
	if _, err := pc.Exec(ctx, "SET LOCAL client_encoding = 'SQL_ASCII'").ReadAll(); err != nil {
		return err
	}
	repairTextColumns(cols)
	return nil
}

func repairTextColumns(cols []column) {
	for i := range cols {
		c := &cols[i]
		if c.elem != nil {
			c = c.elem
		}
		switch c.target.Kind {
		case typemap.String, typemap.JSON, typemap.Enum:
			if c.conv == convText {
				c.conv = convRepair
			}
		}
	}
}

// ReasonInvalidUTF8Replaced is the warning of a column of a SQL_ASCII
// database whose values held bytes that are not UTF-8 (see repairText).
const ReasonInvalidUTF8Replaced = "INVALID_UTF8_REPLACED"

// warnings are the column's counters as warnings of table target.
func (c *column) warnings(target string) []source.Warning {
	var out []source.Warning
	nulled, repaired := c.nulled, c.repaired
	if c.elem != nil {
		nulled += c.elem.nulled
		repaired += c.elem.repaired
	}
	if nulled > 0 {
		out = append(out, source.Warning{
			Target: target, Reason: ReasonValuesWrittenAsNull,
			Detail: fmt.Sprintf("column %s: NULL written for %d %s that %s cannot represent (NaN, infinity or out of range)",
				c.name, nulled, plural(nulled, "value", "values"), c.target),
		})
	}
	if repaired > 0 {
		out = append(out, source.Warning{
			Target: target, Reason: ReasonInvalidUTF8Replaced,
			Detail: fmt.Sprintf("column %s: %d %s held bytes that are not UTF-8 (a SQL_ASCII database), each replaced by U+FFFD; override the column to binary to keep the bytes",
				c.name, repaired, plural(repaired, "value", "values")),
		})
	}
	return out
}

// rowKey names the current row by the table's key for an error, as
// ` (row id = 42)`, or "" when the scan does not read the key.
func (r *rows) rowKey() string {
	k := r.req.Table.Key
	if k == nil || r.vals == nil {
		return ""
	}
	for i, c := range r.cols {
		if c.name != k.Column {
			continue
		}
		v := r.vals[i]
		switch {
		case v == nil:
			return fmt.Sprintf(" (row %s IS NULL)", k.Column)
		case c.conv == convInt:
			if n, err := beInt(v); err == nil {
				return fmt.Sprintf(" (row %s = %d)", k.Column, n)
			}
		case c.conv == convText || c.conv == convRepair:
			return fmt.Sprintf(" (row %s = %s)", k.Column, quoteLiteral(string(v)))
		}
		return ""
	}
	return ""
}
