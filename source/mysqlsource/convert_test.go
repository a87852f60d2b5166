package mysqlsource

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

func TestParseInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"+7", 7, true}, {"2147483648", 2147483648, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"9223372036854775808", 0, false}, {"18446744073709551615", 0, false}, {"99999999999999999999", 0, false},
		{"-9223372036854775809", 0, false}, {"", 0, false}, {"-", 0, false}, {"1.5", 0, false}, {"1e3", 0, false},
	} {
		got, err := parseInt([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseInt(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

// parseDecimal64 is a fast path of typemap.UnscaledDecimal: wherever it
// answers, the two agree.
func TestParseDecimal64AgreesWithUnscaledDecimal(t *testing.T) {
	inputs := []string{"0", "-0", "0.000", "12.34", "-12.340", "+5", ".5", "5.", "123456789012345678",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999.99",
		"1.23456", "1.2300", "abc", "", "-", "1.2.3", "1e5", "00012.5"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		digits := 1 + r.IntN(22)
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		for i := range digits {
			b.WriteByte(byte('0' + r.IntN(10)))
			if i == digits/2 && r.IntN(2) == 0 {
				b.WriteByte('.')
			}
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		for _, scale := range []int{0, 2, 4, 10} {
			fast, ok, ferr := parseDecimal64([]byte(in), scale)
			slow, serr := typemap.UnscaledDecimal([]byte(in), scale)
			if (ferr == nil) != (serr == nil) {
				t.Fatalf("%q scale %d: fast err %v, shared err %v", in, scale, ferr, serr)
			}
			if ferr != nil {
				continue
			}
			if ok != slow.IsInt64() {
				t.Fatalf("%q scale %d: fast ok=%v, shared value %s", in, scale, ok, slow)
			}
			if ok && fast != slow.Int64() {
				t.Fatalf("%q scale %d: fast %d, shared %s", in, scale, fast, slow)
			}
		}
	}
}

func FuzzParseDecimal64(f *testing.F) {
	for _, s := range []string{"1.5", "-0.001", "99999999999999999999", "12a"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, in string, scale int) {
		if scale < 0 || scale > 40 {
			return
		}
		fast, ok, ferr := parseDecimal64([]byte(in), scale)
		slow, serr := typemap.UnscaledDecimal([]byte(in), scale)
		if (ferr == nil) != (serr == nil) {
			t.Fatalf("%q scale %d: fast err %v, shared err %v", in, scale, ferr, serr)
		}
		if ferr == nil && (ok != slow.IsInt64() || (ok && fast != slow.Int64())) {
			t.Fatalf("%q scale %d: fast %d/%v, shared %s", in, scale, fast, ok, slow)
		}
	})
}

func TestAppendFixedMagnitudeMatchesSharedEncoding(t *testing.T) {
	for _, mag := range []uint64{0, 1, 255, 256, math.MaxInt64, 1 << 63, 1<<63 + 1, math.MaxUint64, 1234567890123} {
		for _, neg := range []bool{false, true} {
			v := new(big.Int).SetUint64(mag)
			if neg {
				v.Neg(v)
			}
			// n ≥ 9: FIXED_LEN_BYTE_ARRAY decimals start at precision 19.
			for _, n := range []int{9, 13, 16} {
				want, err := typemap.AppendFixedDecimal(nil, v, n)
				if err != nil {
					t.Fatal(err)
				}
				if got := appendFixedMagnitude(nil, mag, neg && mag != 0, n); !bytes.Equal(got, want) {
					t.Errorf("appendFixedMagnitude(%d, neg=%v, %d) = %x, want %x", mag, neg, n, got, want)
				}
			}
		}
	}
}

// parseDecimal agrees with typemap.UnscaledDecimal wherever the magnitude
// fits a uint64.
func TestParseDecimalMagnitude(t *testing.T) {
	for _, in := range []string{"18446744073709551615", "-18446744073709551615", "18446744073709551616", "-0.00", "1844674407370955161.5"} {
		for _, scale := range []int{0, 1, 2} {
			mag, neg, ok, err := parseDecimal([]byte(in), scale)
			want, werr := typemap.UnscaledDecimal([]byte(in), scale)
			if (err == nil) != (werr == nil) {
				t.Fatalf("%q scale %d: %v vs %v", in, scale, err, werr)
			}
			if err != nil {
				continue
			}
			fits := want.CmpAbs(new(big.Int).SetUint64(math.MaxUint64)) <= 0
			if ok != fits {
				t.Fatalf("%q scale %d: ok=%v, shared %s", in, scale, ok, want)
			}
			if ok {
				got := new(big.Int).SetUint64(mag)
				if neg {
					got.Neg(got)
				}
				if got.Cmp(want) != 0 {
					t.Fatalf("%q scale %d: %s, shared %s", in, scale, got, want)
				}
			}
		}
	}
}

func TestParseDateTime(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	min := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	max := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
	for range 5000 {
		us := min + r.Int64N(max-min)
		tm := time.UnixMicro(us).UTC()
		for _, layout := range []string{"2006-01-02 15:04:05.000000", "2006-01-02 15:04:05.000", "2006-01-02 15:04:05"} {
			text := tm.Format(layout)
			want, _ := time.ParseInLocation(layout, text, time.UTC)
			got, err := parseDateTime([]byte(text))
			if err != nil || got != want.UnixMicro() {
				t.Fatalf("parseDateTime(%q) = %d, %v; want %d", text, got, err, want.UnixMicro())
			}
		}
		date := tm.Format("2006-01-02")
		want, _ := time.Parse("2006-01-02", date)
		if got, err := parseDateTime([]byte(date)); err != nil || got != want.UnixMicro() {
			t.Fatalf("parseDateTime(%q) = %d, %v; want %d", date, got, err, want.UnixMicro())
		}
	}
	// Year 0 is a date MySQL accepts in DATETIME ('0000-01-01'); it is
	// the proleptic year before 1.
	if got, err := parseDateTime([]byte("0000-03-01 00:00:00")); err != nil ||
		got != time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC).UnixMicro() {
		t.Errorf("year 0: %d, %v", got, err)
	}
	for _, zero := range []string{"0000-00-00 00:00:00", "0000-00-00 00:00:00.000000", "2020-00-10 01:02:03", "2020-02-00", "2021-02-29 00:00:00", "2020-04-31 10:00:00"} {
		if _, err := parseDateTime([]byte(zero)); !errors.Is(err, errZeroDate) {
			t.Errorf("parseDateTime(%q) = %v, want errZeroDate", zero, err)
		}
	}
	for _, bad := range []string{"", "2020-01-01T00:00:00", "2020-01-01 25:00:00", "2020-01-01 00:00:00.", "2020-01-01 00:00:00.1234567", "20x0-01-01", "12:00:00"} {
		if _, err := parseDateTime([]byte(bad)); err == nil || errors.Is(err, errZeroDate) {
			t.Errorf("parseDateTime(%q) = %v, want a format error", bad, err)
		}
	}
}

func TestConvertHotPathDoesNotAllocate(t *testing.T) {
	col := func(dt, ct string, target typemap.Target) conversion {
		c, err := planConversion(source.ScanColumn{Column: typemap.Column{Name: "c", DataType: dt, ColumnType: ct}, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		c  conversion
		in string
	}{
		{col("int", "int(11)", typemap.Target{Kind: typemap.Int32}), "-2147483648"},
		{col("bigint", "bigint(20)", typemap.Target{Kind: typemap.Int64}), "9223372036854775807"},
		{col("double", "double", typemap.Target{Kind: typemap.Double}), "1.7976931348623157e308"},
		{col("decimal", "decimal(12,2)", typemap.Target{Kind: typemap.Decimal, Precision: 12, Scale: 2}), "-1234567890.12"},
		{col("bigint", "bigint(20) unsigned", typemap.Target{Kind: typemap.Decimal, Precision: 20}), "18446744073709551615"},
		{col("decimal", "decimal(30,6)", typemap.Target{Kind: typemap.Decimal, Precision: 30, Scale: 6}), "-12345678901234.123456"},
		{col("datetime", "datetime(6)", typemap.Target{Kind: typemap.TimestampMicros}), "2024-02-29 23:59:59.999999"},
		{col("varchar", "varchar(10)", typemap.Target{Kind: typemap.String}), "héllo"},
	}
	scratch := make([]byte, 0, 64)
	for _, tc := range cases {
		in := []byte(tc.in)
		allocs := testing.AllocsPerRun(100, func() {
			scratch = scratch[:0]
			if _, err := tc.c.convert(in, &scratch); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per value", tc.in, allocs)
		}
	}
}

func TestConvertValues(t *testing.T) {
	type tc struct {
		dt, ct string
		target typemap.Target
		in     string
		want   parquet.Value
	}
	fixed := func(hexBytes ...byte) parquet.Value { return parquet.FixedLenByteArrayValue(hexBytes) }
	for _, c := range []tc{
		{"tinyint", "tinyint(3) unsigned", typemap.Target{Kind: typemap.Int16}, "255", parquet.Int32Value(255)},
		{"year", "year(4)", typemap.Target{Kind: typemap.Int32}, "0000", parquet.Int32Value(0)},
		{"bigint", "bigint(20) unsigned", typemap.Target{Kind: typemap.Decimal, Precision: 20}, "18446744073709551615",
			fixed(0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"bigint", "bigint(20) unsigned", typemap.Target{Kind: typemap.Decimal, Precision: 20}, "1", fixed(0, 0, 0, 0, 0, 0, 0, 0, 1)},
		{"decimal", "decimal(5,2)", typemap.Target{Kind: typemap.Decimal, Precision: 5, Scale: 2}, "-123.45", parquet.Int32Value(-12345)},
		{"decimal", "decimal(19,0)", typemap.Target{Kind: typemap.Decimal, Precision: 19}, "-1", fixed(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"float", "float", typemap.Target{Kind: typemap.Double}, "0.10000000149011612", parquet.DoubleValue(float64(float32(0.1)))},
		{"datetime", "datetime", typemap.Target{Kind: typemap.TimestampMicros}, "1970-01-01 00:00:01", parquet.Int64Value(1e6)},
		{"timestamp", "timestamp(3)", typemap.Target{Kind: typemap.TimestampMillis}, "1969-12-31 23:59:59.999", parquet.Int64Value(-1)},
		{"bit", "bit(10)", typemap.Target{Kind: typemap.Binary}, "\x02\xaa", parquet.ByteArrayValue([]byte{2, 0xaa})},
		{"bit", "bit(10)", typemap.Target{Kind: typemap.Int64}, "\x02\xaa", parquet.Int64Value(0x2aa)},
		{"tinyint", "tinyint(1)", typemap.Target{Kind: typemap.Boolean}, "1", parquet.BooleanValue(true)},
	} {
		conv, err := planConversion(source.ScanColumn{Column: typemap.Column{Name: "c", DataType: c.dt, ColumnType: c.ct}, Target: c.target})
		if err != nil {
			t.Fatalf("%s → %v: %v", c.ct, c.target, err)
		}
		var scratch []byte
		got, err := conv.convert([]byte(c.in), &scratch)
		if err != nil || !parquet.Equal(got, c.want) || got.Kind() != c.want.Kind() {
			t.Errorf("%s %q → %v: got %v (%v), %v; want %v", c.ct, c.in, c.target, got, got.Kind(), err, c.want)
		}
	}
	// The big.Int path: DECIMAL(38) beyond int64.
	conv, _ := planConversion(source.ScanColumn{Column: typemap.Column{Name: "c", DataType: "decimal"}, Target: typemap.Target{Kind: typemap.Decimal, Precision: 38, Scale: 2}})
	in := "-123456789012345678901234567890123456.78"
	var scratch []byte
	got, err := conv.convert([]byte(in), &scratch)
	u, _ := typemap.UnscaledDecimal([]byte(in), 2)
	want, _ := typemap.AppendFixedDecimal(nil, u, 16)
	if err != nil || !bytes.Equal(got.ByteArray(), want) {
		t.Errorf("decimal(38,2) %s = %x, %v; want %x", in, got.ByteArray(), err, want)
	}
	// Values outside the target are errors, not wrapped numbers.
	for _, c := range []tc{
		{"int", "int(10) unsigned", typemap.Target{Kind: typemap.Int32}, "4294967295", parquet.Value{}},
		{"decimal", "decimal(10,2)", typemap.Target{Kind: typemap.Decimal, Precision: 4, Scale: 2}, "123.45", parquet.Value{}},
		{"decimal", "decimal(10,2)", typemap.Target{Kind: typemap.Decimal, Precision: 9, Scale: 0}, "1.5", parquet.Value{}},
	} {
		conv, err := planConversion(source.ScanColumn{Column: typemap.Column{Name: "c", DataType: c.dt, ColumnType: c.ct}, Target: c.target})
		if err != nil {
			t.Fatal(err)
		}
		var scratch []byte
		if got, err := conv.convert([]byte(c.in), &scratch); err == nil {
			t.Errorf("%s %q → %v = %v, want an error", c.ct, c.in, c.target, got)
		}
	}
}

func TestUnsupportedConversions(t *testing.T) {
	for _, c := range []struct{ dt, ct string }{{"blob", "blob"}, {"time", "time"}, {"varchar", "varchar(3)"}} {
		for _, k := range []typemap.Kind{typemap.Int64, typemap.TimestampMicros, typemap.Decimal} {
			_, err := planConversion(source.ScanColumn{Column: typemap.Column{Name: "c", DataType: c.dt, ColumnType: c.ct}, Target: typemap.Target{Kind: k, Precision: 10}})
			if !errors.Is(err, source.ErrUnsupportedConversion) {
				t.Errorf("%s → %v: err = %v, want ErrUnsupportedConversion", c.ct, k, err)
			}
		}
	}
}

func TestScanQuery(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	tb := source.Table{Database: "d`b", Schema: "d`b", Name: "t"}
	convs := []conversion{{expr: quoteIdent("a")}, {expr: "(`f` + 0e0)"}}
	for _, tc := range []struct {
		part string
		r    *source.KeyRange
		want string
	}{
		{"", nil, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t`"},
		{"p0", nil, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` PARTITION (`p0`)"},
		{"", &source.KeyRange{Column: "id", Lower: p(-5), Upper: p(10)}, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` WHERE `id` >= -5 AND `id` < 10"},
		{"", &source.KeyRange{Column: "id", Upper: p(10), IncludeNull: true}, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` WHERE (`id` < 10) OR `id` IS NULL"},
		{"", &source.KeyRange{Column: "id"}, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` WHERE `id` IS NOT NULL"},
		{"", &source.KeyRange{Column: "id", IncludeNull: true}, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t`"},
		{"p1", &source.KeyRange{Column: "id", Lower: p(math.MinInt64)}, "SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` PARTITION (`p1`) WHERE `id` >= " + strconv.FormatInt(math.MinInt64, 10)},
	} {
		if got := scanQuery(source.ScanRequest{Table: tb, TablePartition: tc.part, Range: tc.r}, convs, rangeKey{}); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	if got := scanQuery(source.ScanRequest{Table: tb}, nil, rangeKey{}); got != "SELECT 1 FROM `d``b`.`t`" {
		t.Errorf("no columns: %s", got)
	}
	// Byte bounds: literals of the column's character set and collation
	// (binary strings for VARBINARY), through the key's index.
	text := rangeKey{bytes: &stringKey{column: "s", charset: "latin1", collation: "latin1_swedish_ci"}, index: "PRIMARY"}
	bin := rangeKey{bytes: &stringKey{column: "s"}, index: "u`s"}
	for _, tc := range []struct {
		part string
		r    source.KeyRange
		key  rangeKey
		want string
	}{
		{"", source.KeyRange{Column: "s", UpperBytes: []byte("a'\\"), IncludeNull: true}, text,
			"SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` FORCE INDEX (`PRIMARY`) WHERE (`s` < _latin1 X'61275c' COLLATE latin1_swedish_ci) OR `s` IS NULL"},
		{"p0", source.KeyRange{Column: "s", LowerBytes: []byte{}, UpperBytes: []byte{0xe9}}, text,
			"SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` PARTITION (`p0`) FORCE INDEX (`PRIMARY`) WHERE `s` >= _latin1 X'' COLLATE latin1_swedish_ci AND `s` < _latin1 X'e9' COLLATE latin1_swedish_ci"},
		{"", source.KeyRange{Column: "s", LowerBytes: []byte{0, 0xff}}, bin,
			"SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` FORCE INDEX (`u``s`) WHERE `s` >= _binary X'00ff'"},
		{"", source.KeyRange{Column: "s", LowerBytes: []byte{1}}, rangeKey{bytes: &stringKey{column: "s"}},
			"SELECT `a`, (`f` + 0e0) FROM `d``b`.`t` WHERE `s` >= _binary X'01'"},
	} {
		if got := scanQuery(source.ScanRequest{Table: tb, TablePartition: tc.part, Range: &tc.r}, convs, tc.key); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	cfg, id, uo, err := parseURL("mysql://u%40x:s3cr%2Fet@db.example:3307/shop?tls=skip-verify&timeout=3s&lock=none&lock_wait_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.User != "u@x" || cfg.Passwd != "s3cr/et" || cfg.Net != "tcp" || cfg.Addr != "db.example:3307" || cfg.DBName != "shop" ||
		cfg.TLSConfig != "skip-verify" || cfg.Timeout != 3*time.Second || len(cfg.Params) != 0 {
		t.Errorf("config %+v", cfg)
	}
	if !uo.NoLock || uo.LockWaitTimeout != 2*time.Second {
		t.Errorf("url options %+v", uo)
	}
	if id != "mysql://u%40x@db.example:3307/shop" {
		t.Errorf("identity %q", id)
	}
	cfg, id, _, err = parseURL("mariadb://root@localhost/?socket=/run/mysqld/mysqld.sock")
	if err != nil || cfg.Net != "unix" || cfg.Addr != "/run/mysqld/mysqld.sock" || id != "mariadb://root@localhost/?socket=%2Frun%2Fmysqld%2Fmysqld.sock" {
		t.Errorf("socket: %+v %q %v", cfg, id, err)
	}
	cfg, id, _, err = parseURL("mysql://root@127.0.0.1/")
	if err != nil || cfg.Addr != "127.0.0.1:3306" || cfg.DBName != "" || id != "mysql://root@127.0.0.1:3306/" {
		t.Errorf("default port: %+v %q %v", cfg, id, err)
	}
	for _, bad := range []string{
		"postgres://u:hunter2@h/db",
		"mysql://u:hunter2@h/db?lock=sometimes",
		"mysql://u:hunter2@h/db?lock_wait_timeout=soon",
		"mysql://u:hunter2@h/db?tls=nosuchconfig",
		"mysql://u:hunter2@h:port/db",
	} {
		_, _, _, err := parseURL(bad)
		if err == nil {
			t.Errorf("%s: no error", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: error shows the password: %v", bad, err)
		}
		if !strings.HasPrefix(err.Error(), "mysqlsource: ") {
			t.Errorf("%s: error %q lacks the package prefix", bad, err)
		}
	}
}

func TestQuoting(t *testing.T) {
	if got := quoteIdent("a`b"); got != "`a``b`" {
		t.Errorf("quoteIdent = %s", got)
	}
	if got := quoteAccount("o'neil@10.0.0.%"); got != "'o''neil'@'10.0.0.%'" {
		t.Errorf("quoteAccount = %s", got)
	}
}

// The driver hands integer and floating-point columns over as Go numbers;
// each target gets the same value it would from the text.
func TestConvertDriverNumbers(t *testing.T) {
	plan := func(dt, ct string, target typemap.Target) conversion {
		c, err := planConversion(source.ScanColumn{Column: typemap.Column{Name: "c", DataType: dt, ColumnType: ct}, Target: target})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	dec := func(p, s int) typemap.Target { return typemap.Target{Kind: typemap.Decimal, Precision: p, Scale: s} }
	for _, tc := range []struct {
		c    conversion
		in   any
		text string // the same value as text, converted the text way
	}{
		{plan("int", "int", typemap.Target{Kind: typemap.Int32}), int64(-2147483648), "-2147483648"},
		{plan("bigint", "bigint", typemap.Target{Kind: typemap.Int64}), int64(math.MinInt64), "-9223372036854775808"},
		{plan("bigint", "bigint unsigned", dec(20, 0)), uint64(math.MaxUint64), "18446744073709551615"},
		{plan("bigint", "bigint unsigned", dec(20, 0)), uint64(0), "0"},
		{plan("bigint", "bigint", dec(19, 0)), int64(-1), "-1"},
		{plan("int", "int", dec(10, 2)), int64(-12), "-12"},
		{plan("int", "int", dec(9, 3)), int64(999999), "999999"},
		{plan("bigint", "bigint unsigned", dec(38, 10)), uint64(math.MaxUint64), "18446744073709551615"},
		{plan("bigint", "bigint", dec(38, 19)), int64(math.MinInt64), "-9223372036854775808"},
		{plan("tinyint", "tinyint", typemap.Target{Kind: typemap.Boolean}), int64(-3), "-3"},
		{plan("int", "int", typemap.Target{Kind: typemap.Double}), int64(-7), "-7"},
		{plan("double", "double", typemap.Target{Kind: typemap.Double}), math.Nextafter(0.3, 1), "0.30000000000000004"},
		{plan("double", "double", typemap.Target{Kind: typemap.Float}), 1.5, "1.5"},
		{plan("float", "float", typemap.Target{Kind: typemap.Double}), float32(0.1), "0.10000000149011612"},
	} {
		var s1, s2 []byte
		got, err := tc.c.convertValue(tc.in, &s1)
		want, werr := tc.c.convert([]byte(tc.text), &s2)
		if err != nil || werr != nil || got.Kind() != want.Kind() || !parquet.Equal(got, want) {
			t.Errorf("%T %v: got %v (%v), from text %v (%v)", tc.in, tc.in, got, err, want, werr)
		}
	}
	for _, tc := range []struct {
		c  conversion
		in any
	}{
		{plan("int", "int unsigned", typemap.Target{Kind: typemap.Int32}), int64(4294967295)},
		{plan("bigint", "bigint unsigned", typemap.Target{Kind: typemap.Int64}), uint64(math.MaxUint64)},
		{plan("int", "int", dec(4, 2)), int64(100)},
		{plan("bigint", "bigint", dec(18, 0)), int64(math.MinInt64)},
		{plan("int", "int", typemap.Target{Kind: typemap.Int32}), float64(1)},
		{plan("int", "int", typemap.Target{Kind: typemap.Int32}), "text"},
	} {
		var s []byte
		if got, err := tc.c.convertValue(tc.in, &s); err == nil {
			t.Errorf("%T %v → %v: got %v, want an error", tc.in, tc.in, tc.c.kind, got)
		}
	}
	// No allocation: the driver boxed the value already.
	c := plan("bigint", "bigint unsigned", dec(20, 0))
	var v any = uint64(math.MaxUint64)
	scratch := make([]byte, 0, 16)
	if n := testing.AllocsPerRun(100, func() {
		scratch = scratch[:0]
		c.convertValue(v, &scratch)
	}); n != 0 {
		t.Errorf("%v allocations per value", n)
	}
}
