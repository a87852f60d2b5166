package sqlitesource

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// ConversionError reports a value whose storage class does not convert to
// its column's target without loss: SQLite is dynamically typed, so an
// INTEGER column may hold 'abc' or 1.5. The fix is an override (by column or
// type) to a target that holds the value, usually string.
type ConversionError struct {
	// Table is database.main.table.
	Table, Column string
	// StorageClass is the value's SQLite storage class: INTEGER, REAL, TEXT
	// or BLOB.
	StorageClass string
	// Value is the value, abbreviated (BLOBs in hex).
	Value  string
	Target typemap.Target
	// Reason says what is lost ("out of int32 range", "not valid UTF-8").
	Reason string
}

func (e *ConversionError) Error() string {
	return fmt.Sprintf("sqlitesource: column %q of %s holds the %s value %s, which does not convert to %s: %s (override the column's type to keep it)",
		e.Column, e.Table, e.StorageClass, e.Value, e.Target, e.Reason)
}

// checkTarget rejects targets no conversion produces.
func checkTarget(t typemap.Target) error {
	switch t.Kind {
	case typemap.Boolean, typemap.Int16, typemap.Int32, typemap.Int64, typemap.Float, typemap.Double,
		typemap.String, typemap.Binary, typemap.TimestampMicros, typemap.TimestampMillis:
		return nil
	case typemap.Decimal:
		if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
			return fmt.Errorf("%w: decimal(%d,%d) is out of range", source.ErrUnsupportedConversion, t.Precision, t.Scale)
		}
		return nil
	}
	return fmt.Errorf("%w: to %s", source.ErrUnsupportedConversion, t)
}

// converter turns one column's driver values into Parquet values of its
// target's physical type. It reuses one buffer for values it formats, so a
// value it returns is valid until its next call.
type converter struct {
	target          typemap.Target
	database, table string
	column          string
	limit           int64
	buf             []byte
	pow10           *big.Int // 10^precision, for decimals
}

func newConverter(tb source.Table, c source.ScanColumn, limit int64) converter {
	cv := converter{target: c.Target, database: tb.Database, table: tb.Name, column: c.Name, limit: limit}
	if c.Target.Kind == typemap.Decimal {
		cv.pow10 = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(c.Target.Precision)), nil)
	}
	return cv
}

// convert converts one value: int64, float64, string, []byte or nil, as
// modernc.org/sqlite returns INTEGER, REAL, TEXT, BLOB and NULL. The rules
// are the table in the package documentation ("Values").
func (c *converter) convert(src any) (parquet.Value, error) {
	switch v := src.(type) {
	case nil:
		return parquet.NullValue(), nil
	case string:
		if c.limit > 0 && int64(len(v)) >= c.limit {
			return parquet.Value{}, c.tooLarge(len(v))
		}
	case []byte:
		if c.limit > 0 && int64(len(v)) >= c.limit {
			return parquet.Value{}, c.tooLarge(len(v))
		}
	case int64, float64:
	default:
		// time.Time, from a pool opened with _texttotime or _inttotime.
		return parquet.Value{}, fmt.Errorf("sqlitesource: column %q of %s: the driver returned a %T; open the pool without _texttotime and _inttotime", c.column, c.where(), src)
	}

	switch c.target.Kind {
	case typemap.Int64:
		n, err := c.toInt(src)
		return parquet.Int64Value(n), err
	case typemap.Int32, typemap.Int16:
		n, err := c.toInt(src)
		if err != nil {
			return parquet.Value{}, err
		}
		lo, hi := int64(math.MinInt32), int64(math.MaxInt32)
		if c.target.Kind == typemap.Int16 {
			lo, hi = math.MinInt16, math.MaxInt16
		}
		if n < lo || n > hi {
			return parquet.Value{}, c.bad(src, fmt.Sprintf("out of %s range", c.target))
		}
		return parquet.Int32Value(int32(n)), nil
	case typemap.Double:
		f, err := c.toFloat(src)
		return parquet.DoubleValue(f), err
	case typemap.Float:
		f, err := c.toFloat(src)
		return parquet.FloatValue(float32(f)), err
	case typemap.Boolean:
		return c.toBool(src)
	case typemap.String:
		switch v := src.(type) {
		case []byte:
			if !utf8.Valid(v) {
				return parquet.Value{}, c.bad(src, "not valid UTF-8")
			}
			return parquet.ByteArrayValue(v), nil
		case string:
			return parquet.ByteArrayValue(stringBytes(v)), nil
		}
		return parquet.ByteArrayValue(c.text(src)), nil
	case typemap.Binary:
		switch v := src.(type) {
		case []byte:
			return parquet.ByteArrayValue(v), nil
		case string:
			return parquet.ByteArrayValue(stringBytes(v)), nil
		}
		return parquet.ByteArrayValue(c.text(src)), nil // as CAST(x AS BLOB)
	case typemap.TimestampMicros, typemap.TimestampMillis:
		return c.toTimestamp(src)
	case typemap.Decimal:
		return c.toDecimal(src)
	}
	return parquet.Value{}, fmt.Errorf("sqlitesource: column %q of %s: %w: to %s", c.column, c.where(), source.ErrUnsupportedConversion, c.target)
}

func (c *converter) where() string { return c.database + "." + Schema + "." + c.table }

func (c *converter) tooLarge(n int) error {
	return &source.ValueTooLargeError{Database: c.database, Schema: Schema, Table: c.table, Column: c.column, Size: int64(n), Limit: c.limit}
}

func (c *converter) bad(src any, reason string) error {
	e := &ConversionError{Table: c.where(), Column: c.column, Target: c.target, Reason: reason}
	const max = 40
	switch v := src.(type) {
	case int64:
		e.StorageClass, e.Value = "INTEGER", strconv.FormatInt(v, 10)
	case float64:
		e.StorageClass, e.Value = "REAL", strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		e.StorageClass = "TEXT"
		if len(v) > max {
			v = v[:max] + "..."
		}
		e.Value = strconv.Quote(v)
	case []byte:
		e.StorageClass = "BLOB"
		s := fmt.Sprintf("x'%x'", v)
		if len(v) > max/2 {
			s = fmt.Sprintf("x'%x'... (%d bytes)", v[:max/2], len(v))
		}
		e.Value = s
	}
	return e
}

// text formats a number as SQLite does. Reals reach here only for targets
// other than string and binary, whose query casts them in SQLite.
func (c *converter) text(src any) []byte {
	c.buf = c.buf[:0]
	switch v := src.(type) {
	case int64:
		c.buf = strconv.AppendInt(c.buf, v, 10)
	case float64:
		c.buf = strconv.AppendFloat(c.buf, v, 'g', -1, 64)
	}
	return c.buf
}

// stringBytes views s as bytes without a copy; the parquet writer only reads
// them.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (c *converter) toInt(src any) (int64, error) {
	switch v := src.(type) {
	case int64:
		return v, nil
	case float64:
		if n, ok := floatToInt(v); ok {
			return n, nil
		}
		return 0, c.bad(src, "not an integer in the int64 range")
	case string:
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n, nil
		}
		if looksNumeric(v) {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				if n, ok := floatToInt(f); ok {
					return n, nil
				}
			}
		}
		return 0, c.bad(src, "not an integer in the int64 range")
	}
	return 0, c.bad(src, "a blob is not a number")
}

// floatToInt converts integral reals in the int64 range: 2^63 itself is a
// float64 but not an int64.
func floatToInt(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

// looksNumeric accepts the decimal notation SQLite reads as a number, and so
// refuses what strconv.ParseFloat would also take: "Inf", "NaN", hex floats,
// underscores.
func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case b >= '0' && b <= '9', b == '.', b == 'e', b == 'E', b == '+', b == '-':
		default:
			return false
		}
	}
	return true
}

func (c *converter) toFloat(src any) (float64, error) {
	switch v := src.(type) {
	case float64:
		return v, nil
	case int64:
		return float64(v), nil // as SQLite's REAL affinity does
	case string:
		if looksNumeric(v) {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f, nil
			}
		}
		return 0, c.bad(src, "not a number")
	}
	return 0, c.bad(src, "a blob is not a number")
}

func (c *converter) toBool(src any) (parquet.Value, error) {
	switch v := src.(type) {
	case int64:
		if v == 0 || v == 1 {
			return parquet.BooleanValue(v == 1), nil
		}
	case float64:
		if v == 0 || v == 1 {
			return parquet.BooleanValue(v == 1), nil
		}
	case string:
		switch strings.ToLower(v) {
		case "0", "false":
			return parquet.BooleanValue(false), nil
		case "1", "true":
			return parquet.BooleanValue(true), nil
		}
	}
	return parquet.Value{}, c.bad(src, "not 0, 1, 'true' or 'false'")
}

// unixEpochJulianDay is the Julian day number of 1970-01-01T00:00:00Z.
const unixEpochJulianDay = 2440587.5

func (c *converter) toTimestamp(src any) (parquet.Value, error) {
	var micros int64
	switch v := src.(type) {
	case int64: // unix seconds, as strftime('%s') and unixepoch() store
		if v > math.MaxInt64/1_000_000 || v < math.MinInt64/1_000_000 {
			return parquet.Value{}, c.bad(src, "out of the timestamp range")
		}
		micros = v * 1e6
	case float64: // a Julian day number, as julianday() stores
		m := math.Round((v - unixEpochJulianDay) * 86400e6)
		if math.IsNaN(m) || m < -(1<<63) || m >= 1<<63 {
			return parquet.Value{}, c.bad(src, "out of the timestamp range")
		}
		micros = int64(m)
	case string:
		t, ok := parseSQLiteTime(v)
		if !ok {
			return parquet.Value{}, c.bad(src, "not a SQLite date and time (YYYY-MM-DD[ HH:MM[:SS[.SSS]]][Z|±HH:MM])")
		}
		micros = t.UnixMicro()
	default:
		return parquet.Value{}, c.bad(src, "a blob is not a date")
	}
	if c.target.Kind == typemap.TimestampMillis {
		return parquet.Int64Value(floorDiv(micros, 1000)), nil
	}
	return parquet.Int64Value(micros), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}

var sqliteTimeLayouts = []string{
	"2006-01-02 15:04:05Z07:00", // fractional seconds are accepted after 05 when parsing
	"2006-01-02 15:04:05",
	"2006-01-02 15:04Z07:00",
	"2006-01-02 15:04",
	"2006-01-02",
}

// parseSQLiteTime parses the time values of SQLite's date functions
// (https://www.sqlite.org/lang_datefunc.html, formats 1-7): a date, a time
// with minutes, seconds and fractions, "T" or a space between them, and an
// optional "Z" or ±HH:MM zone. Without a zone the time is UTC, as in SQLite.
func parseSQLiteTime(s string) (time.Time, bool) {
	if len(s) > 10 && s[10] == 'T' {
		s = s[:10] + " " + s[11:]
	}
	for _, layout := range sqliteTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (c *converter) toDecimal(src any) (parquet.Value, error) {
	var text []byte
	switch v := src.(type) {
	case int64:
		c.buf = strconv.AppendInt(c.buf[:0], v, 10)
		text = c.buf
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return parquet.Value{}, c.bad(src, "not a finite number")
		}
		c.buf = strconv.AppendFloat(c.buf[:0], v, 'f', -1, 64) // the shortest decimal that reads back as v
		text = c.buf
	case string:
		text = stringBytes(v)
	default:
		return parquet.Value{}, c.bad(src, "a blob is not a number")
	}
	u, err := typemap.UnscaledDecimal(text, c.target.Scale)
	if err != nil {
		return parquet.Value{}, c.bad(src, err.Error())
	}
	if u.CmpAbs(c.pow10) >= 0 {
		return parquet.Value{}, c.bad(src, fmt.Sprintf("more than %d digits", c.target.Precision))
	}
	switch c.target.DecimalPhysical() {
	case typemap.PhysicalInt32:
		return parquet.Int32Value(int32(u.Int64())), nil
	case typemap.PhysicalInt64:
		return parquet.Int64Value(u.Int64()), nil
	}
	c.buf, err = typemap.AppendFixedDecimal(c.buf[:0], u, c.target.FixedLen())
	if err != nil {
		return parquet.Value{}, c.bad(src, err.Error())
	}
	return parquet.FixedLenByteArrayValue(c.buf), nil
}
