package mysqlsource

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// A conversion turns one column's text-protocol bytes into a parquet.Value
// of the target's physical type. It is chosen once per scan, so the per-value
// work is one switch on a small integer and a parse of the bytes in place:
// no interface boxing, no string conversion that allocates.
type convKind uint8

const (
	convBytes        convKind = iota // the server's bytes as a BYTE_ARRAY
	convInt32                        // decimal integer text → INT32
	convInt64                        // decimal integer text → INT64
	convBool                         // decimal integer text, 0 = false → BOOLEAN
	convDouble                       // number text → DOUBLE
	convFloat                        // number text → FLOAT
	convDecimal32                    // decimal text → unscaled INT32
	convDecimal64                    // decimal text → unscaled INT64
	convDecimalFixed                 // decimal text → unscaled big-endian FIXED_LEN_BYTE_ARRAY
	convTimeMicros                   // 'YYYY-MM-DD[ hh:mm:ss[.f]]' → µs since the epoch, UTC
	convTimeMillis                   // same, in ms
	convBitInt64                     // BIT's big-endian bytes → INT64
	convBitInt32                     // BIT's big-endian bytes → INT32
	convDate                         // 'YYYY-MM-DD' → DATE, days since the epoch
	convJSON                         // JSON text, checked → BYTE_ARRAY JSON
	convSet                          // SET's 'a,b' → LIST of STRING
)

type conversion struct {
	kind      convKind
	scale     int      // decimal target scale
	precision int      // decimal target precision
	fixedLen  int      // FIXED_LEN_BYTE_ARRAY width
	limit     *big.Int // 10^precision, for FIXED_LEN_BYTE_ARRAY decimals
	// expr is how the column is selected: its quoted name, or an
	// expression that makes the server print the exact value (FLOAT).
	expr string
	list []byte // the current row's LIST value (SET)
}

// Source type families, as the conversions see them.
type family uint8

const (
	famInteger family = iota
	famDecimal
	famFloat // FLOAT: the text protocol prints 6 significant digits
	famDouble
	famDateTime // DATETIME, TIMESTAMP
	famDate
	famTime
	famYear
	famBit
	famBytes // text, binary, JSON, ENUM, SET, geometry...
)

func familyOf(col typemap.Column) family {
	switch strings.ToLower(col.DataType) {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bool", "boolean":
		return famInteger
	case "decimal", "numeric", "dec", "fixed":
		return famDecimal
	case "float":
		return famFloat
	case "double", "double precision", "real":
		return famDouble
	case "datetime", "timestamp":
		return famDateTime
	case "date":
		return famDate
	case "time":
		return famTime
	case "year":
		return famYear
	case "bit":
		return famBit
	}
	return famBytes
}

// planConversion chooses how a column reaches its target, or reports
// source.ErrUnsupportedConversion for targets the column's values cannot
// become (an override asking for a timestamp from a BLOB).
func planConversion(col source.ScanColumn) (conversion, error) {
	fam := familyOf(col.Column)
	c := conversion{expr: quoteIdent(col.Name)}
	unsupported := func() (conversion, error) {
		return conversion{}, fmt.Errorf("mysqlsource: column %q of type %q cannot become %v: %w",
			col.Name, col.ColumnType, col.Target, source.ErrUnsupportedConversion)
	}
	numeric := fam == famInteger || fam == famDecimal || fam == famFloat || fam == famDouble || fam == famYear
	switch col.Target.Kind {
	case typemap.String, typemap.Binary:
		// Every type has a text form: what the mysql client prints. The
		// driver parses numeric columns of the text protocol into Go
		// numbers; CAST AS CHAR keeps the server's text.
		c.kind = convBytes
		if numeric {
			c.expr = "CAST(" + c.expr + " AS CHAR)"
		}
	case typemap.Int16, typemap.Int32:
		switch {
		case fam == famInteger || fam == famYear:
			c.kind = convInt32
		case fam == famBit:
			c.kind = convBitInt32
		default:
			return unsupported()
		}
	case typemap.Int64:
		switch {
		case fam == famInteger || fam == famYear:
			c.kind = convInt64
		case fam == famBit:
			c.kind = convBitInt64
		default:
			return unsupported()
		}
	case typemap.Boolean:
		if fam != famInteger {
			return unsupported()
		}
		c.kind = convBool
	case typemap.Double, typemap.Float:
		if !numeric {
			return unsupported()
		}
		c.kind = convDouble
		if col.Target.Kind == typemap.Float {
			c.kind = convFloat
		}
		// FLOAT prints 6 significant digits in the text protocol
		// (16777217 stored as 16777216 prints "16777200"); adding a
		// DOUBLE zero makes the server print the stored value exactly.
		// DOUBLE(M,D) prints rounded to D places, so it gets the same.
		if fam == famFloat || (fam == famDouble && strings.Contains(col.ColumnType, "(")) {
			c.expr = "(" + c.expr + " + 0e0)"
		}
	case typemap.Decimal:
		if fam != famInteger && fam != famDecimal && fam != famYear {
			return unsupported()
		}
		c.precision, c.scale = col.Target.Precision, col.Target.Scale
		switch col.Target.DecimalPhysical() {
		case typemap.PhysicalInt32:
			c.kind = convDecimal32
		case typemap.PhysicalInt64:
			c.kind = convDecimal64
		default:
			c.kind = convDecimalFixed
			c.fixedLen = col.Target.FixedLen()
			c.limit = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.precision)), nil)
		}
	case typemap.TimestampMicros, typemap.TimestampMillis, typemap.LocalTimestampMicros, typemap.LocalTimestampMillis:
		// DATETIME's wall clock and TIMESTAMP's instant (the session's
		// time_zone is '+00:00') have the same numbers; the annotation's
		// isAdjustedToUTC says which they are.
		if fam != famDateTime && fam != famDate {
			return unsupported()
		}
		c.kind = convTimeMicros
		if k := col.Target.Kind; k == typemap.TimestampMillis || k == typemap.LocalTimestampMillis {
			c.kind = convTimeMillis
		}
	case typemap.Date:
		if fam != famDate {
			return unsupported()
		}
		c.kind = convDate
	case typemap.JSON:
		if fam != famBytes {
			return unsupported()
		}
		c.kind = convJSON
	case typemap.Enum:
		if fam != famBytes {
			return unsupported()
		}
		c.kind = convBytes
	case typemap.List:
		if strings.ToLower(col.DataType) != "set" || col.Target.Elem != typemap.String {
			return unsupported()
		}
		c.kind = convSet
	default:
		return unsupported()
	}
	return c, nil
}

// errZeroDate marks a zero or invalid DATETIME/TIMESTAMP, written as NULL.
var errZeroDate = errors.New("zero or invalid date")

// convertValue turns one non-NULL value as the driver gives it: the text
// protocol's bytes, or, for integer and floating-point columns, the number
// go-sql-driver/mysql parsed them into (int64, uint64 for BIGINT UNSIGNED,
// float64, float32). The value is already boxed by the driver; nothing here
// allocates.
func (c *conversion) convertValue(v any, scratch *[]byte) (parquet.Value, error) {
	switch x := v.(type) {
	case []byte:
		return c.convert(x, scratch)
	case int64:
		if x < 0 {
			return c.convertInteger(uint64(-x), true, scratch) // MinInt64 wraps to 1<<63, its magnitude
		}
		return c.convertInteger(uint64(x), false, scratch)
	case uint64:
		return c.convertInteger(x, false, scratch)
	case float64:
		return c.convertFloat(x)
	case float32:
		return c.convertFloat(float64(x))
	}
	return parquet.Value{}, fmt.Errorf("unexpected %T value from the driver", v)
}

// convertInteger converts the integer ±mag.
func (c *conversion) convertInteger(mag uint64, neg bool, scratch *[]byte) (parquet.Value, error) {
	signed := func(limit uint64) (int64, error) {
		if (!neg && mag > limit) || (neg && mag > limit+1) {
			if neg {
				return 0, fmt.Errorf("-%d overflows the target", mag)
			}
			return 0, fmt.Errorf("%d overflows the target", mag)
		}
		if neg {
			return -int64(mag), nil
		}
		return int64(mag), nil
	}
	switch c.kind {
	case convInt32:
		v, err := signed(math.MaxInt32)
		return parquet.Int32Value(int32(v)), err
	case convInt64:
		v, err := signed(math.MaxInt64)
		return parquet.Int64Value(v), err
	case convBool:
		return parquet.BooleanValue(mag != 0), nil
	case convDouble, convFloat:
		f := float64(mag)
		if neg {
			f = -f
		}
		return c.convertFloat(f)
	case convDecimal32, convDecimal64, convDecimalFixed:
		if c.scale > 0 {
			if c.scale >= len(pow10u64) {
				return c.convertDecimalText(mag, neg, scratch)
			}
			hi, lo := bits.Mul64(mag, pow10u64[c.scale])
			if hi != 0 {
				return c.convertDecimalText(mag, neg, scratch)
			}
			mag = lo
		}
		if c.precision < len(pow10u64) && mag >= pow10u64[c.precision] {
			return parquet.Value{}, fmt.Errorf("%d does not fit DECIMAL(%d,%d)", mag, c.precision, c.scale)
		}
		switch c.kind {
		case convDecimal32:
			v, err := signed(math.MaxInt32)
			return parquet.Int32Value(int32(v)), err
		case convDecimal64:
			v, err := signed(math.MaxInt64)
			return parquet.Int64Value(v), err
		}
		start := len(*scratch)
		*scratch = appendFixedMagnitude(*scratch, mag, neg && mag != 0, c.fixedLen)
		return parquet.FixedLenByteArrayValue((*scratch)[start:len(*scratch):len(*scratch)]), nil
	}
	return parquet.Value{}, fmt.Errorf("an integer cannot become %v", c.kind)
}

// convertDecimalText is the rare path of an integer whose scaled value
// exceeds a uint64 (a DECIMAL override with a large scale): through text and
// the shared exact parser.
func (c *conversion) convertDecimalText(mag uint64, neg bool, scratch *[]byte) (parquet.Value, error) {
	text := strconv.FormatUint(mag, 10)
	if neg {
		text = "-" + text
	}
	return c.convert([]byte(text), scratch)
}

func (c *conversion) convertFloat(f float64) (parquet.Value, error) {
	switch c.kind {
	case convDouble:
		return parquet.DoubleValue(f), nil
	case convFloat:
		return parquet.FloatValue(float32(f)), nil
	}
	return parquet.Value{}, fmt.Errorf("a floating-point number cannot become %v", c.kind)
}

// convert turns one non-NULL value from its text. scratch has room for
// every fixed-length decimal of the row (see rows.scratch), so appending
// never moves earlier values of the same row.
func (c *conversion) convert(b []byte, scratch *[]byte) (parquet.Value, error) {
	switch c.kind {
	case convBytes:
		return parquet.ByteArrayValue(b), nil
	case convInt32:
		v, err := parseInt(b)
		if err != nil {
			return parquet.Value{}, err
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return parquet.Value{}, fmt.Errorf("%s overflows INT32", b)
		}
		return parquet.Int32Value(int32(v)), nil
	case convInt64:
		v, err := parseInt(b)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.Int64Value(v), nil
	case convBool:
		v, err := parseInt(b)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.BooleanValue(v != 0), nil
	case convDouble:
		f, err := strconv.ParseFloat(unsafeString(b), 64)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.DoubleValue(f), nil
	case convFloat:
		f, err := strconv.ParseFloat(unsafeString(b), 32)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.FloatValue(float32(f)), nil
	case convDecimal32, convDecimal64:
		v, ok, err := parseDecimal64(b, c.scale)
		if err != nil {
			return parquet.Value{}, err
		}
		if !ok || exceedsPrecision(v, c.precision) {
			return parquet.Value{}, fmt.Errorf("%s does not fit DECIMAL(%d,%d)", b, c.precision, c.scale)
		}
		if c.kind == convDecimal32 {
			return parquet.Int32Value(int32(v)), nil
		}
		return parquet.Int64Value(v), nil
	case convDecimalFixed:
		start := len(*scratch)
		if mag, neg, ok, err := parseDecimal(b, c.scale); err != nil {
			return parquet.Value{}, err
		} else if ok {
			if c.precision < 20 && mag >= pow10u64[c.precision] {
				return parquet.Value{}, fmt.Errorf("%s does not fit DECIMAL(%d,%d)", b, c.precision, c.scale)
			}
			*scratch = appendFixedMagnitude(*scratch, mag, neg, c.fixedLen)
		} else {
			// Beyond uint64: the shared exact path.
			u, err := typemap.UnscaledDecimal(b, c.scale)
			if err != nil {
				return parquet.Value{}, err
			}
			if u.CmpAbs(c.limit) >= 0 {
				return parquet.Value{}, fmt.Errorf("%s does not fit DECIMAL(%d,%d)", b, c.precision, c.scale)
			}
			if *scratch, err = typemap.AppendFixedDecimal(*scratch, u, c.fixedLen); err != nil {
				return parquet.Value{}, err
			}
		}
		return parquet.FixedLenByteArrayValue((*scratch)[start:len(*scratch):len(*scratch)]), nil
	case convTimeMicros, convTimeMillis:
		us, err := parseDateTime(b)
		if err != nil {
			return parquet.Value{}, err
		}
		if c.kind == convTimeMillis {
			return parquet.Int64Value(floorDiv(us, 1000)), nil
		}
		return parquet.Int64Value(us), nil
	case convDate:
		us, err := parseDateTime(b)
		if err != nil {
			return parquet.Value{}, err
		}
		return parquet.Int32Value(int32(floorDiv(us, 86400*1000000))), nil
	case convJSON:
		// MySQL's JSON type holds only valid documents, but MariaDB's is
		// LONGTEXT with a CHECK that check_constraint_checks=0 or an old
		// table may have let invalid text past.
		if !json.Valid(b) {
			return parquet.Value{}, fmt.Errorf("invalid JSON text %q", truncateText(b, 40))
		}
		return parquet.ByteArrayValue(b), nil
	case convSet:
		// SET members cannot contain commas, so the text splits exactly;
		// '' is the empty set.
		c.list = c.list[:0]
		for len(b) > 0 {
			m, rest, _ := bytes.Cut(b, []byte{','})
			c.list = typemap.AppendListElement(c.list, typemap.Target{Kind: typemap.String}, parquet.ByteArrayValue(m))
			b = rest
		}
		return parquet.ByteArrayValue(c.list), nil
	case convBitInt64, convBitInt32:
		if len(b) > 8 {
			return parquet.Value{}, fmt.Errorf("BIT value of %d bytes overflows INT64", len(b))
		}
		var u uint64
		for _, x := range b {
			u = u<<8 | uint64(x)
		}
		if c.kind == convBitInt32 {
			if u > math.MaxInt32 {
				return parquet.Value{}, fmt.Errorf("BIT value %d overflows INT32", u)
			}
			return parquet.Int32Value(int32(u)), nil
		}
		if u > math.MaxInt64 {
			return parquet.Value{}, fmt.Errorf("BIT value %d overflows INT64", u)
		}
		return parquet.Int64Value(int64(u)), nil
	}
	return parquet.Value{}, fmt.Errorf("unknown conversion %d", c.kind)
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseInt parses an optionally signed decimal integer; BIGINT UNSIGNED
// values above MaxInt64 are an overflow (they map to DECIMAL(20,0), not
// INT64).
func parseInt(b []byte) (int64, error) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	if i == len(b) {
		return 0, fmt.Errorf("%q is not an integer", b)
	}
	var u uint64
	for ; i < len(b); i++ {
		d := b[i] - '0'
		if d > 9 {
			return 0, fmt.Errorf("%q is not an integer", b)
		}
		if u > (math.MaxUint64-uint64(d))/10 {
			return 0, fmt.Errorf("%s overflows INT64", b)
		}
		u = u*10 + uint64(d)
	}
	if neg {
		if u > 1<<63 {
			return 0, fmt.Errorf("%s overflows INT64", b)
		}
		return -int64(u), nil // -(1<<63) wraps to MinInt64, as wanted
	}
	if u > math.MaxInt64 {
		return 0, fmt.Errorf("%s overflows INT64", b)
	}
	return int64(u), nil
}

// parseDecimal parses decimal text ("-12.340", "7") into the magnitude
// and sign of its unscaled integer at scale, with the semantics of
// typemap.UnscaledDecimal (digits beyond the scale must be zeros). ok is
// false when the magnitude does not fit a uint64; the caller then takes the
// exact big.Int path.
func parseDecimal(b []byte, scale int) (mag uint64, neg, ok bool, err error) {
	i := 0
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i = 1
	}
	digits, frac := 0, -1
	overflow := false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			if frac >= 0 {
				if frac >= scale {
					if c != '0' {
						return 0, false, false, fmt.Errorf("%q has more than %d decimal places", b, scale)
					}
					continue
				}
				frac++
			}
			d := uint64(c - '0')
			if mag > (math.MaxUint64-d)/10 {
				overflow = true
				continue
			}
			mag = mag*10 + d
		case c == '.' && frac < 0:
			frac = 0
		default:
			return 0, false, false, fmt.Errorf("%q is not a decimal number", b)
		}
	}
	if digits == 0 {
		return 0, false, false, fmt.Errorf("%q is not a decimal number", b)
	}
	if frac < 0 {
		frac = 0
	}
	for ; frac < scale && !overflow; frac++ {
		if mag > math.MaxUint64/10 {
			overflow = true
			break
		}
		mag *= 10
	}
	if overflow {
		return 0, false, false, nil
	}
	return mag, neg && mag != 0, true, nil
}

// parseDecimal64 is parseDecimal for values that fit an int64 (ok false
// otherwise).
func parseDecimal64(b []byte, scale int) (v int64, ok bool, err error) {
	mag, neg, ok, err := parseDecimal(b, scale)
	if err != nil || !ok {
		return 0, false, err
	}
	switch {
	case neg && mag <= 1<<63:
		return -int64(mag), true, nil // -(1<<63) wraps to MinInt64, as wanted
	case !neg && mag <= math.MaxInt64:
		return int64(mag), true, nil
	}
	return 0, false, nil
}

// pow10u64[i] is 10^i.
var pow10u64 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// exceedsPrecision reports whether |v| has more than p digits.
func exceedsPrecision(v int64, p int) bool {
	if p >= 19 {
		return false
	}
	limit := int64(pow10u64[p])
	return v >= limit || v <= -limit
}

// appendFixedMagnitude appends ±mag as an n-byte (n ≥ 9) big-endian two's
// complement integer: what typemap.AppendFixedDecimal produces for the same
// value, without a big.Int. With n ≥ 9 the leading byte only carries the
// sign, so the low 8 bytes are mag, or 2^64 − mag for a negative value.
func appendFixedMagnitude(dst []byte, mag uint64, neg bool, n int) []byte {
	ext := byte(0)
	if neg {
		ext = 0xff
		mag = -mag
	}
	for i := n; i > 8; i-- {
		dst = append(dst, ext)
	}
	return binary.BigEndian.AppendUint64(dst, mag)
}

// parseDateTime parses MySQL's DATETIME/TIMESTAMP/DATE text
// ('YYYY-MM-DD', 'YYYY-MM-DD hh:mm:ss', with up to 6 fractional digits)
// into microseconds since 1970-01-01T00:00:00Z, taking the wall clock as UTC
// (TIMESTAMP is read with the session time zone '+00:00'). A zero date or
// an invalid one the server kept (month or day 0, February 30 under
// ALLOW_INVALID_DATES) is errZeroDate.
func parseDateTime(b []byte) (int64, error) {
	bad := func() (int64, error) { return 0, fmt.Errorf("%q is not a DATETIME", b) }
	if len(b) < 10 || b[4] != '-' || b[7] != '-' {
		return bad()
	}
	y, ok1 := digitsN(b[0:4])
	mo, ok2 := digitsN(b[5:7])
	d, ok3 := digitsN(b[8:10])
	if !ok1 || !ok2 || !ok3 {
		return bad()
	}
	var h, mi, s, frac int64
	if len(b) > 10 {
		if len(b) < 19 || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
			return bad()
		}
		var ok4, ok5, ok6 bool
		h, ok4 = digitsN(b[11:13])
		mi, ok5 = digitsN(b[14:16])
		s, ok6 = digitsN(b[17:19])
		if !ok4 || !ok5 || !ok6 || h > 23 || mi > 59 || s > 59 {
			return bad()
		}
		if len(b) > 19 {
			if b[19] != '.' || len(b) == 20 || len(b) > 26 {
				return bad()
			}
			f, ok := digitsN(b[20:])
			if !ok {
				return bad()
			}
			for n := len(b) - 20; n < 6; n++ {
				f *= 10
			}
			frac = f
		}
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return 0, errZeroDate
	}
	days := daysFromCivil(y, mo, d)
	return ((days*24+h)*60+mi)*60*1e6 + s*1e6 + frac, nil
}

func digitsN(b []byte) (int64, bool) {
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func daysIn(y, m int64) int64 {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's algorithm), which is
// what MySQL's dates are.
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func truncateText(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// rowKey names the current row by the table's key for an error, as
// " (row id = 42)", or "" when the scan does not read the key.
func (r *rows) rowKey() string {
	k := r.req.Table.Key
	if k == nil {
		return ""
	}
	for i, c := range r.req.Columns {
		if c.Name != k.Column {
			continue
		}
		switch v := r.cells[i].v.(type) {
		case nil:
			return fmt.Sprintf(" (row %s IS NULL)", k.Column)
		case []byte:
			if k.Integer {
				return fmt.Sprintf(" (row %s = %s)", k.Column, v)
			}
			return fmt.Sprintf(" (row %s = %q)", k.Column, v)
		default:
			return fmt.Sprintf(" (row %s = %v)", k.Column, v)
		}
	}
	return ""
}
