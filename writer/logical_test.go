package writer_test

import (
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// TestLogicalKinds writes every kind of the typed profile (DATE, TIME,
// TIMESTAMP without time zone, UUID, JSON, ENUM, DECIMAL on
// FIXED_LEN_BYTE_ARRAY, and LISTs with NULL and empty lists and NULL
// elements) over many small row groups, and reads it back with DuckDB: the
// logical types, every value, the null counts, and statistics that let
// DuckDB skip row groups only where no row matches. Values alternate in
// sign (and UUIDs in their first bit) inside every row group, so a bound
// ordered the wrong way (a decimal compared unsigned, a UUID compared
// signed) makes a filtered count wrong.
func TestLogicalKinds(t *testing.T) {
	dec := typemap.Target{Kind: typemap.Decimal, Precision: 30, Scale: 2}
	cols := []writer.Column{
		{Name: "i", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "d", Target: typemap.Target{Kind: typemap.Date}},
		{Name: "tm", Target: typemap.Target{Kind: typemap.TimeMicros}},
		{Name: "ts", Target: typemap.Target{Kind: typemap.LocalTimestampMicros}},
		{Name: "tms", Target: typemap.Target{Kind: typemap.LocalTimestampMillis}},
		{Name: "u", Target: typemap.Target{Kind: typemap.UUID}},
		{Name: "j", Target: typemap.Target{Kind: typemap.JSON}},
		{Name: "e", Target: typemap.Target{Kind: typemap.Enum}},
		{Name: "dec", Target: dec},
		{Name: "li", Target: typemap.Target{Kind: typemap.List, Elem: typemap.Int32}},
		{Name: "ls", Target: typemap.Target{Kind: typemap.List, Elem: typemap.String}},
		{Name: "ld", Target: typemap.Target{Kind: typemap.List, Elem: typemap.Decimal, Precision: 30, Scale: 2}},
		{Name: "lu", Target: typemap.Target{Kind: typemap.List, Elem: typemap.UUID}},
	}
	const n = 3000
	sign := func(i int) int64 {
		if i%2 == 0 {
			return -1
		}
		return 1
	}
	unscaled := func(i int) *big.Int {
		v := new(big.Int).Mul(big.NewInt(int64(i)*sign(i)), big.NewInt(1234567890123456789))
		return v
	}
	uuidOf := func(i int) []byte {
		b := make([]byte, 16)
		if i%2 == 0 {
			b[0] = 0xf0
		}
		b[1], b[15] = byte(i>>8), byte(i)
		return b
	}
	fixed := func(u *big.Int) parquet.Value {
		b, err := typemap.AppendFixedDecimal(nil, u, dec.FixedLen())
		if err != nil {
			t.Fatal(err)
		}
		return parquet.FixedLenByteArrayValue(b)
	}
	list := func(elem typemap.Target, vals ...parquet.Value) parquet.Value {
		b := []byte{}
		for _, v := range vals {
			b = typemap.AppendListElement(b, elem, v)
		}
		return parquet.ByteArrayValue(b)
	}
	var tbl table
	tbl.cols = cols
	for i := 0; i < n; i++ {
		row := []cell{
			{v: parquet.Int32Value(int32(i))},
			{v: parquet.Int32Value(int32(sign(i) * int64(i) * 97))},
			{v: parquet.Int64Value(int64(i) * 28_800_001 % 86_400_000_000)},
			{v: parquet.Int64Value(sign(i) * int64(i) * 86_400_000_123)},
			{v: parquet.Int64Value(sign(i) * int64(i) * 86_400_123)},
			{v: parquet.FixedLenByteArrayValue(uuidOf(i))},
			{v: parquet.ByteArrayValue([]byte(fmt.Sprintf(`{"i":%d}`, i)))},
			{v: parquet.ByteArrayValue([]byte([]string{"sad", "ok", "happy ☺"}[i%3]))},
			{v: fixed(unscaled(i))},
		}
		switch i % 4 {
		case 0:
			row = append(row, cell{v: parquet.NullValue()}, cell{v: parquet.NullValue()}, cell{v: parquet.NullValue()}, cell{v: parquet.NullValue()})
		case 1:
			row = append(row, cell{v: list(typemap.Target{Kind: typemap.Int32})}, cell{v: list(typemap.Target{Kind: typemap.String})},
				cell{v: list(dec)}, cell{v: list(typemap.Target{Kind: typemap.UUID})})
		default:
			row = append(row,
				cell{v: list(typemap.Target{Kind: typemap.Int32}, parquet.Int32Value(int32(i)), parquet.NullValue(), parquet.Int32Value(int32(-i)))},
				cell{v: list(typemap.Target{Kind: typemap.String}, parquet.ByteArrayValue([]byte("é")), parquet.NullValue(), parquet.ByteArrayValue(nil))},
				cell{v: list(dec, fixed(unscaled(i)), parquet.NullValue())},
				cell{v: list(typemap.Target{Kind: typemap.UUID}, parquet.FixedLenByteArrayValue(uuidOf(i)))})
		}
		tbl.rows = append(tbl.rows, row)
	}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{RowGroupBytes: 32 << 10, PageBytes: 4 << 10})
	duck := duckcheck.Open(t)
	if groups := duck.Int("SELECT count(DISTINCT row_group_id) FROM parquet_metadata(?)", path); groups < 5 {
		t.Fatalf("%d row groups, want several", groups)
	}

	types := map[string]string{}
	for _, r := range duck.Rows("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", path) {
		types[fmt.Sprint(r[0])] = fmt.Sprint(r[1])
	}
	for name, want := range map[string]string{
		"d": "DATE", "tm": "TIME", "ts": "TIMESTAMP", "tms": "TIMESTAMP", "u": "UUID", "j": "JSON", "e": "VARCHAR",
		"dec": "DECIMAL(30,2)", "li": "INTEGER[]", "ls": "VARCHAR[]", "ld": "DECIMAL(30,2)[]", "lu": "UUID[]",
	} {
		if types[name] != want {
			t.Errorf("column %s: DuckDB type %s, want %s", name, types[name], want)
		}
	}

	// Every value, as text DuckDB prints, against the same text built here.
	uuidText := func(b []byte) string {
		h := fmt.Sprintf("%x", b)
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	}
	decText := func(u *big.Int) string {
		s := new(big.Int).Abs(u).String()
		for len(s) < 3 {
			s = "0" + s
		}
		s = s[:len(s)-2] + "." + s[len(s)-2:]
		if u.Sign() < 0 {
			s = "-" + s
		}
		return s
	}
	got := duck.Rows(`SELECT i, date_diff('day', DATE '1970-01-01', d), CAST(tm AS VARCHAR), epoch_us(ts), epoch_ms(tms), CAST(u AS VARCHAR),
		CAST(j AS VARCHAR), e, CAST(dec AS VARCHAR), CAST(li AS VARCHAR), CAST(ls AS VARCHAR), CAST(ld AS VARCHAR), CAST(lu AS VARCHAR)
		FROM read_parquet(?) ORDER BY i`, path)
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
	for i, r := range got {
		us := int64(i) * 28_800_001 % 86_400_000_000
		want := []string{
			fmt.Sprint(i), fmt.Sprint(sign(i) * int64(i) * 97),
			timeText(us),
			fmt.Sprint(sign(i) * int64(i) * 86_400_000_123), fmt.Sprint(sign(i) * int64(i) * 86_400_123),
			uuidText(uuidOf(i)), fmt.Sprintf(`{"i":%d}`, i), []string{"sad", "ok", "happy ☺"}[i%3], decText(unscaled(i)),
		}
		switch i % 4 {
		case 0:
			want = append(want, "<nil>", "<nil>", "<nil>", "<nil>")
		case 1:
			want = append(want, "[]", "[]", "[]", "[]")
		default:
			want = append(want, fmt.Sprintf("[%d, NULL, %d]", i, -i), "[é, NULL, '']", "["+decText(unscaled(i))+", NULL]", "["+uuidText(uuidOf(i))+"]")
		}
		for j, w := range want {
			g := r[j]
			if b, ok := g.([]byte); ok {
				g = string(b)
			}
			if gs := fmt.Sprint(g); gs != w {
				t.Errorf("row %d column %d: DuckDB reads %s, want %s", i, j, gs, w)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}

	// Filtered counts go through the row-group and page statistics.
	for _, c := range []struct {
		where string
		want  int64
	}{
		{"dec < -3000000000000000000.00", countIf(n, func(i int) bool { return unscaled(i).Cmp(new(big.Int).Mul(big.NewInt(-3e18), big.NewInt(100))) < 0 })},
		{"dec > 3000000000000000000.00", countIf(n, func(i int) bool { return unscaled(i).Cmp(new(big.Int).Mul(big.NewInt(3e18), big.NewInt(100))) > 0 })},
		{"dec = -1234567890123456789.00 * 2", 1},
		{"d < DATE '1970-01-01' - 100000", countIf(n, func(i int) bool { return sign(i)*int64(i)*97 < -100000 })},
		{"d > DATE '1970-01-01' + 100000", countIf(n, func(i int) bool { return sign(i)*int64(i)*97 > 100000 })},
		{"ts < TIMESTAMP '1900-01-01'", countIf(n, func(i int) bool { return sign(i)*int64(i)*86_400_000_123 < -2208988800000000 })},
		{"u >= 'f0000000-0000-0000-0000-000000000000'", n / 2},
		{"u < '01000000-0000-0000-0000-000000000000'", n / 2},
		{"tm < TIME '01:00:00'", countIf(n, func(i int) bool { return int64(i)*28_800_001%86_400_000_000 < 3_600_000_000 })},
		{"e = 'ok'", n / 3},
		{"list_contains(li, 2999)", 1},
		{"len(ls) = 3", countIf(n, func(i int) bool { return i%4 >= 2 })},
	} {
		if got := duck.Int("SELECT count(*) FROM read_parquet(?) WHERE "+c.where, path); got != c.want {
			t.Errorf("WHERE %s: %d rows, want %d", c.where, got, c.want)
		}
	}
	duck.CheckListNullCounts(path)
}

// timeText is a TIME as DuckDB prints it: the fraction without trailing
// zeros.
func timeText(us int64) string {
	s := fmt.Sprintf("%02d:%02d:%02d", us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if us%1_000_000 != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%06d", us%1_000_000), "0")
	}
	return s
}

func countIf(n int, f func(int) bool) int64 {
	var c int64
	for i := 0; i < n; i++ {
		if f(i) {
			c++
		}
	}
	return c
}

// TestListRejects: a LIST value whose elements break the element's rules
// is refused like a flat value, naming the column; the row is not written.
func TestListRejects(t *testing.T) {
	cols := []writer.Column{
		{Name: "ls", Target: typemap.Target{Kind: typemap.List, Elem: typemap.String}},
		{Name: "l16", Target: typemap.Target{Kind: typemap.List, Elem: typemap.Int16}},
	}
	fw, err := writer.NewFileWriter(&strings.Builder{}, cols, writer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Abort()
	str := typemap.AppendListElement(nil, typemap.Target{Kind: typemap.String}, parquet.ByteArrayValue([]byte("caf\xe9")))
	err = fw.WriteRow([]parquet.Value{parquet.ByteArrayValue(str), parquet.NullValue()})
	if err == nil || !strings.Contains(err.Error(), `column "ls"`) || !strings.Contains(err.Error(), "invalid UTF-8") {
		t.Errorf("invalid UTF-8 element: %v", err)
	}
	big := typemap.AppendListElement(nil, typemap.Target{Kind: typemap.Int16}, parquet.Int32Value(40000))
	err = fw.WriteRow([]parquet.Value{parquet.NullValue(), parquet.ByteArrayValue(big)})
	if err == nil || !strings.Contains(err.Error(), `column "l16"`) || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("out of range element: %v", err)
	}
	if err := fw.WriteRow([]parquet.Value{parquet.ByteArrayValue([]byte{7}), parquet.NullValue()}); err == nil {
		t.Error("a malformed list value was accepted")
	}
	if fw.Rows() != 0 {
		t.Errorf("%d rows written", fw.Rows())
	}
}
