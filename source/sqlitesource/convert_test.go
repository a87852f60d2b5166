package sqlitesource

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// TestConvert checks the conversion rules of the package documentation, per
// target and storage class, without writing any Parquet.
func TestConvert(t *testing.T) {
	ts := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	k := func(kind typemap.Kind) typemap.Target { return typemap.Target{Kind: kind} }
	dec := func(p, s int) typemap.Target { return typemap.Target{Kind: typemap.Decimal, Precision: p, Scale: s} }
	ok := []struct {
		target typemap.Target
		src    any
		want   parquet.Value
	}{
		{k(typemap.Int64), nil, parquet.NullValue()},
		{k(typemap.String), nil, parquet.NullValue()},
		// int64
		{k(typemap.Int64), int64(math.MinInt64), parquet.Int64Value(math.MinInt64)},
		{k(typemap.Int64), 42.0, parquet.Int64Value(42)},
		{k(typemap.Int64), -9.223372036854775808e18, parquet.Int64Value(math.MinInt64)},
		{k(typemap.Int64), "42", parquet.Int64Value(42)},
		{k(typemap.Int64), "-7", parquet.Int64Value(-7)},
		{k(typemap.Int64), "42.0", parquet.Int64Value(42)},
		{k(typemap.Int64), "1e3", parquet.Int64Value(1000)},
		// int32, int16
		{k(typemap.Int32), int64(math.MaxInt32), parquet.Int32Value(math.MaxInt32)},
		{k(typemap.Int32), "-2147483648", parquet.Int32Value(math.MinInt32)},
		{k(typemap.Int16), int64(-32768), parquet.Int32Value(-32768)},
		// double, float
		{k(typemap.Double), 1.5, parquet.DoubleValue(1.5)},
		{k(typemap.Double), int64(3), parquet.DoubleValue(3)},
		{k(typemap.Double), "2.5e-3", parquet.DoubleValue(2.5e-3)},
		{k(typemap.Double), math.Inf(-1), parquet.DoubleValue(math.Inf(-1))},
		{k(typemap.Float), 0.5, parquet.FloatValue(0.5)},
		// boolean
		{k(typemap.Boolean), int64(0), parquet.BooleanValue(false)},
		{k(typemap.Boolean), int64(1), parquet.BooleanValue(true)},
		{k(typemap.Boolean), 1.0, parquet.BooleanValue(true)},
		{k(typemap.Boolean), "TRUE", parquet.BooleanValue(true)},
		{k(typemap.Boolean), "false", parquet.BooleanValue(false)},
		{k(typemap.Boolean), "0", parquet.BooleanValue(false)},
		// string: text as is, numbers in SQLite's text form, UTF-8 blobs
		{k(typemap.String), "héllo", parquet.ByteArrayValue([]byte("héllo"))},
		{k(typemap.String), "", parquet.ByteArrayValue([]byte{})},
		{k(typemap.String), int64(-12), parquet.ByteArrayValue([]byte("-12"))},
		{k(typemap.String), []byte("blob text"), parquet.ByteArrayValue([]byte("blob text"))},
		// binary: blobs as is, text as its bytes, numbers as CAST(x AS BLOB)
		{k(typemap.Binary), []byte{0, 0xff}, parquet.ByteArrayValue([]byte{0, 0xff})},
		{k(typemap.Binary), "abc", parquet.ByteArrayValue([]byte("abc"))},
		{k(typemap.Binary), int64(7), parquet.ByteArrayValue([]byte("7"))},
		// timestamps: text (UTC unless zoned), unix seconds, Julian days
		{k(typemap.TimestampMicros), "2024-02-29", parquet.Int64Value(ts("2024-02-29T00:00:00Z"))},
		{k(typemap.TimestampMicros), "2024-02-29 13:45", parquet.Int64Value(ts("2024-02-29T13:45:00Z"))},
		{k(typemap.TimestampMicros), "2024-02-29 13:45:06", parquet.Int64Value(ts("2024-02-29T13:45:06Z"))},
		{k(typemap.TimestampMicros), "2024-02-29T13:45:06.123456", parquet.Int64Value(ts("2024-02-29T13:45:06.123456Z"))},
		{k(typemap.TimestampMicros), "2024-02-29 13:45:06.5+02:00", parquet.Int64Value(ts("2024-02-29T11:45:06.5Z"))},
		{k(typemap.TimestampMicros), "2024-02-29T13:45Z", parquet.Int64Value(ts("2024-02-29T13:45:00Z"))},
		{k(typemap.TimestampMicros), int64(86400), parquet.Int64Value(86400e6)},
		{k(typemap.TimestampMicros), 2440588.5, parquet.Int64Value(86400e6)},
		{k(typemap.TimestampMillis), "1969-12-31 23:59:59.9995", parquet.Int64Value(-1)},
		{k(typemap.TimestampMillis), int64(-1), parquet.Int64Value(-1000)},
		// decimals: int32, int64 and fixed-length storage
		{dec(9, 2), "12.34", parquet.Int32Value(1234)},
		{dec(9, 2), int64(-5), parquet.Int32Value(-500)},
		{dec(9, 2), 1.5, parquet.Int32Value(150)},
		{dec(18, 0), "999999999999999999", parquet.Int64Value(999999999999999999)},
		{dec(20, 0), "-1", parquet.FixedLenByteArrayValue([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
	}
	for _, c := range ok {
		cv := newConverter(source.Table{Database: "db", Name: "t"}, source.ScanColumn{Column: source.Column{Name: "c"}, Target: c.target}, 0)
		got, err := cv.convert(c.src)
		if err != nil {
			t.Errorf("convert %T %v to %s: %v", c.src, c.src, c.target, err)
			continue
		}
		if !parquet.Equal(got, c.want) || got.Kind() != c.want.Kind() || got.IsNull() != c.want.IsNull() {
			t.Errorf("convert %T %v to %s = %v (%v), want %v (%v)", c.src, c.src, c.target, got, got.Kind(), c.want, c.want.Kind())
		}
	}

	bad := []struct {
		target typemap.Target
		src    any
		class  string
		reason string
	}{
		{k(typemap.Int64), "abc", "TEXT", "not an integer"},
		{k(typemap.Int64), "9223372036854775808", "TEXT", "not an integer"},
		{k(typemap.Int64), "Inf", "TEXT", "not an integer"},
		{k(typemap.Int64), 1.5, "REAL", "not an integer"},
		{k(typemap.Int64), 9.3e18, "REAL", "not an integer"},
		{k(typemap.Int64), []byte{1}, "BLOB", "blob"},
		{k(typemap.Int32), int64(math.MaxInt32 + 1), "INTEGER", "out of int32 range"},
		{k(typemap.Int16), int64(40000), "INTEGER", "out of int16 range"},
		{k(typemap.Double), "NaN", "TEXT", "not a number"},
		{k(typemap.Double), "0x1p-2", "TEXT", "not a number"},
		{k(typemap.Double), []byte("1"), "BLOB", "blob"},
		{k(typemap.Boolean), int64(2), "INTEGER", "not 0, 1"},
		{k(typemap.Boolean), "yes", "TEXT", "not 0, 1"},
		{k(typemap.String), []byte{0xff, 0xfe}, "BLOB", "UTF-8"},
		{k(typemap.TimestampMicros), "yesterday", "TEXT", "date"},
		{k(typemap.TimestampMicros), "13:45", "TEXT", "date"},
		{k(typemap.TimestampMicros), []byte("2024-01-01"), "BLOB", "blob"},
		{k(typemap.TimestampMicros), int64(math.MaxInt64), "INTEGER", "range"},
		{dec(4, 2), "123.45", "TEXT", "more than 4 digits"},
		{dec(9, 2), "1.234", "TEXT", "decimal places"},
		{dec(9, 2), "1e3", "TEXT", "not a decimal"},
		{dec(9, 2), math.Inf(1), "REAL", "finite"},
	}
	for _, c := range bad {
		cv := newConverter(source.Table{Database: "db", Name: "t"}, source.ScanColumn{Column: source.Column{Name: "c"}, Target: c.target}, 0)
		_, err := cv.convert(c.src)
		var ce *ConversionError
		if !errors.As(err, &ce) {
			t.Errorf("convert %T %v to %s = %v, want a *ConversionError", c.src, c.src, c.target, err)
			continue
		}
		if ce.Table != "db.main.t" || ce.Column != "c" || ce.StorageClass != c.class || !strings.Contains(ce.Reason, c.reason) {
			t.Errorf("convert %T %v to %s: %+v, want class %s, reason containing %q", c.src, c.src, c.target, *ce, c.class, c.reason)
		}
		if msg := err.Error(); !strings.Contains(msg, `"c"`) || !strings.Contains(msg, "db.main.t") || !strings.Contains(msg, c.class) {
			t.Errorf("message %q does not name the column, table and storage class", msg)
		}
	}
}

// TestConvertLimit: MaxValueBytes counts text and blob bytes; the limit
// itself fails.
func TestConvertLimit(t *testing.T) {
	cv := newConverter(source.Table{Database: "db", Name: "t"}, source.ScanColumn{Column: source.Column{Name: "c"}, Target: typemap.Target{Kind: typemap.Binary}}, 4)
	for _, src := range []any{"abc", []byte{1, 2, 3}, int64(123456789)} {
		if _, err := cv.convert(src); err != nil {
			t.Errorf("convert %v under the limit: %v", src, err)
		}
	}
	for _, src := range []any{"abcd", []byte{1, 2, 3, 4, 5}} {
		_, err := cv.convert(src)
		var tl *source.ValueTooLargeError
		if !errors.As(err, &tl) || tl.Column != "c" || tl.Table != "t" || tl.Schema != "main" || tl.Limit != 4 {
			t.Errorf("convert %v at the limit = %v", src, err)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tg := range []typemap.Target{{Kind: typemap.Omit}, {Kind: typemap.Decimal, Precision: 40}, {Kind: typemap.Kind(99)}} {
		if err := checkTarget(tg); !errors.Is(err, source.ErrUnsupportedConversion) {
			t.Errorf("checkTarget(%v) = %v, want ErrUnsupportedConversion", tg, err)
		}
	}
}

// TestConvertAllocs: converting numbers and text allocates nothing per value.
func TestConvertAllocs(t *testing.T) {
	cv := newConverter(source.Table{Name: "t"}, source.ScanColumn{Column: source.Column{Name: "c"}, Target: typemap.Target{Kind: typemap.String}}, 0)
	var src any = int64(123456)
	text := any("some text")
	if n := testing.AllocsPerRun(100, func() {
		cv.convert(src)
		cv.convert(text)
	}); n != 0 {
		t.Errorf("convert allocates %v times per call", n)
	}
}
