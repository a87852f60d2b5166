package writer_test

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// cell is one value of a test table: the value written, and what DuckDB
// must read back (nil for NULL), in the Go type listed at wantOf.
type cell struct {
	v    parquet.Value
	want any
}

// table is test data: columns and rows of cells.
type table struct {
	cols []writer.Column
	rows [][]cell
}

func null() cell { return cell{v: parquet.NullValue()} }

// valueOf builds the cell of a target from the value DuckDB reads back:
//
//	Boolean bool, Int16 int16, Int32 int32, Int64 int64, Float float32,
//	Double float64, String string, Binary []byte, TimestampMicros int64
//	(µs since the epoch), TimestampMillis int64 (ms), Decimal *big.Int
//	(the unscaled value).
func valueOf(t typemap.Target, want any) cell {
	switch t.Kind {
	case typemap.Boolean:
		return cell{parquet.BooleanValue(want.(bool)), want}
	case typemap.Int16:
		return cell{parquet.Int32Value(int32(want.(int16))), want}
	case typemap.Int32:
		return cell{parquet.Int32Value(want.(int32)), want}
	case typemap.Int64, typemap.TimestampMicros, typemap.TimestampMillis:
		return cell{parquet.Int64Value(want.(int64)), want}
	case typemap.Float:
		return cell{parquet.FloatValue(want.(float32)), want}
	case typemap.Double:
		return cell{parquet.DoubleValue(want.(float64)), want}
	case typemap.String:
		return cell{parquet.ByteArrayValue([]byte(want.(string))), want}
	case typemap.Binary:
		return cell{parquet.ByteArrayValue(want.([]byte)), want}
	case typemap.Decimal:
		u := want.(*big.Int)
		switch t.DecimalPhysical() {
		case typemap.PhysicalInt32:
			return cell{parquet.Int32Value(int32(u.Int64())), want}
		case typemap.PhysicalInt64:
			return cell{parquet.Int64Value(u.Int64()), want}
		default:
			b, err := typemap.AppendFixedDecimal(nil, u, t.FixedLen())
			if err != nil {
				panic(err)
			}
			return cell{parquet.FixedLenByteArrayValue(b), want}
		}
	}
	panic("no test values for " + t.String())
}

// writeFile writes tbl to a new file in dir and returns its path.
func writeFile(t testing.TB, dir string, tbl table, opts writer.Options) string {
	t.Helper()
	path := filepath.Join(dir, "part-00000"+opts.Codec.Extension())
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := writer.NewFileWriter(f, tbl.cols, opts)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]parquet.Value, len(tbl.cols))
	for _, r := range tbl.rows {
		for i, c := range r {
			row[i] = c.v
		}
		if err := fw.WriteRow(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := fw.Rows(), int64(len(tbl.rows)); got != want {
		t.Errorf("Rows() = %d, want %d", got, want)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fw.WrittenBytes() != st.Size() {
		t.Errorf("WrittenBytes() = %d, the file has %d bytes", fw.WrittenBytes(), st.Size())
	}
	return path
}

// wantSchema is the Parquet schema element DuckDB must report for a target.
func wantSchema(c writer.Column) duckcheck.Column {
	s := duckcheck.Column{Name: c.Name, Repetition: "OPTIONAL"}
	switch c.Target.Kind {
	case typemap.Boolean:
		s.Type = "BOOLEAN"
	case typemap.Int16:
		s.Type, s.ConvertedType, s.LogicalType = "INT32", "INT_16", "IntType(bitWidth=\x10, isSigned=1)"
	case typemap.Int32:
		s.Type = "INT32"
	case typemap.Int64:
		s.Type = "INT64"
	case typemap.Float:
		s.Type = "FLOAT"
	case typemap.Double:
		s.Type = "DOUBLE"
	case typemap.String:
		s.Type, s.ConvertedType, s.LogicalType = "BYTE_ARRAY", "UTF8", "StringType()"
	case typemap.Binary:
		s.Type = "BYTE_ARRAY"
	case typemap.TimestampMicros:
		s.Type, s.ConvertedType = "INT64", "TIMESTAMP_MICROS"
		s.LogicalType = "TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))"
	case typemap.TimestampMillis:
		s.Type, s.ConvertedType = "INT64", "TIMESTAMP_MILLIS"
		s.LogicalType = "TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=MilliSeconds(), MICROS=<null>, NANOS=<null>))"
	case typemap.Decimal:
		s.ConvertedType = "DECIMAL"
		s.LogicalType = fmt.Sprintf("DecimalType(scale=%d, precision=%d)", c.Target.Scale, c.Target.Precision)
		s.Precision, s.Scale = int64(c.Target.Precision), int64(c.Target.Scale)
		switch c.Target.DecimalPhysical() {
		case typemap.PhysicalInt32:
			s.Type = "INT32"
		case typemap.PhysicalInt64:
			s.Type = "INT64"
		default:
			s.Type, s.TypeLength = "FIXED_LEN_BYTE_ARRAY", int64(c.Target.FixedLen())
		}
	}
	return s
}

// readExpr is the DuckDB expression reading column c as its want type.
func readExpr(c writer.Column) string {
	id := duckcheck.Ident(c.Name)
	switch c.Target.Kind {
	case typemap.TimestampMicros:
		return "epoch_us(" + id + ")"
	case typemap.TimestampMillis:
		return "epoch_ms(" + id + ")"
	case typemap.Decimal:
		return "CAST(" + id + " AS VARCHAR)"
	}
	return id
}

// sqlType is the DuckDB type of column c.
func sqlType(c writer.Column) string {
	switch c.Target.Kind {
	case typemap.Boolean:
		return "BOOLEAN"
	case typemap.Int16:
		return "SMALLINT"
	case typemap.Int32:
		return "INTEGER"
	case typemap.Int64:
		return "BIGINT"
	case typemap.Float:
		return "FLOAT"
	case typemap.Double:
		return "DOUBLE"
	case typemap.String:
		return "VARCHAR"
	case typemap.Binary:
		return "BLOB"
	case typemap.TimestampMicros, typemap.TimestampMillis:
		return "TIMESTAMPTZ"
	case typemap.Decimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", c.Target.Precision, c.Target.Scale)
	}
	panic(c.Target.String())
}

// sqlLiteral is a DuckDB constant of the type of column c with the value
// want. Filters must hold constants, not parameters: DuckDB pushes only
// constants into the Parquet scan, where statistics skip row groups.
func sqlLiteral(c writer.Column, want any) string {
	var text string
	switch c.Target.Kind {
	case typemap.Boolean:
		text = fmt.Sprint(want)
	case typemap.Float:
		text = floatText(float64(want.(float32)), 32)
	case typemap.Double:
		text = floatText(want.(float64), 64)
	case typemap.Int16, typemap.Int32, typemap.Int64:
		text = fmt.Sprint(want)
	case typemap.String:
		text = want.(string)
	case typemap.Binary:
		var b strings.Builder
		for _, x := range want.([]byte) {
			fmt.Fprintf(&b, "\\x%02X", x)
		}
		text = b.String()
	case typemap.TimestampMicros:
		text = time.UnixMicro(want.(int64)).UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	case typemap.TimestampMillis:
		text = time.UnixMilli(want.(int64)).UTC().Format("2006-01-02 15:04:05.999") + "+00"
	case typemap.Decimal:
		text = decimalText(want.(*big.Int), c.Target.Scale)
	}
	return "CAST('" + strings.ReplaceAll(text, "'", "''") + "' AS " + sqlType(c) + ")"
}

func floatText(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// decimalText formats an unscaled decimal as DuckDB prints it.
func decimalText(u *big.Int, scale int) string {
	s := new(big.Int).Abs(u).String()
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if u.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// sameValue reports whether DuckDB's value got is the want of a cell of c.
func sameValue(c writer.Column, got, want any) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	switch c.Target.Kind {
	case typemap.Float:
		g, ok := got.(float32)
		w := want.(float32)
		return ok && (g == w && math.Signbit(float64(g)) == math.Signbit(float64(w)) || g != g && w != w)
	case typemap.Double:
		g, ok := got.(float64)
		w := want.(float64)
		return ok && (g == w && math.Signbit(g) == math.Signbit(w) || g != g && w != w)
	case typemap.Binary:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, want.([]byte))
	case typemap.Decimal:
		return got == decimalText(want.(*big.Int), c.Target.Scale)
	}
	return got == want
}

// compareWant orders two non-NULL wants of column c as DuckDB does (NaN
// above every number, -0 equal to +0, strings and blobs bytewise).
func compareWant(c writer.Column, a, b any) int {
	switch c.Target.Kind {
	case typemap.Boolean:
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case typemap.Int16:
		return cmpOrdered(a.(int16), b.(int16))
	case typemap.Int32:
		return cmpOrdered(a.(int32), b.(int32))
	case typemap.Int64, typemap.TimestampMicros, typemap.TimestampMillis:
		return cmpOrdered(a.(int64), b.(int64))
	case typemap.Float:
		return cmpFloat(float64(a.(float32)), float64(b.(float32)))
	case typemap.Double:
		return cmpFloat(a.(float64), b.(float64))
	case typemap.String:
		return cmpOrdered(a.(string), b.(string))
	case typemap.Binary:
		return bytes.Compare(a.([]byte), b.([]byte))
	case typemap.Decimal:
		return a.(*big.Int).Cmp(b.(*big.Int))
	}
	panic(c.Target.String())
}

func cmpOrdered[T int16 | int32 | int64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) int {
	switch an, bn := a != a, b != b; {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// checkFile reads the file at path back with DuckDB and fails t unless it
// holds exactly tbl: schema (names in order, physical, logical and
// converted types, precision and scale, all OPTIONAL), every value, the
// null counts of the statistics, and answers to filters that DuckDB
// evaluates by skipping row groups on their min/max statistics.
func checkFile(t *testing.T, db *duckcheck.DB, path string, tbl table) {
	t.Helper()
	schema := db.Schema(path)
	if len(schema) != len(tbl.cols) {
		t.Fatalf("file has %d columns, want %d", len(schema), len(tbl.cols))
	}
	for i, c := range tbl.cols {
		if schema[i].Type != "FIXED_LEN_BYTE_ARRAY" {
			// parquet-go records the bit width of other types there, which
			// the format allows and readers ignore.
			schema[i].TypeLength = 0
		}
		if want := wantSchema(c); schema[i] != want {
			t.Errorf("column %d schema:\n got %+v\nwant %+v", i, schema[i], want)
		}
	}

	exprs := ""
	for i, c := range tbl.cols {
		if i > 0 {
			exprs += ", "
		}
		exprs += readExpr(c)
	}
	got := db.Rows(`SELECT `+exprs+` FROM read_parquet(?, file_row_number=true) ORDER BY file_row_number`, path)
	if len(got) != len(tbl.rows) {
		t.Fatalf("DuckDB reads %d rows, want %d", len(got), len(tbl.rows))
	}
	bad := 0
	for r, row := range tbl.rows {
		for i, c := range row {
			if !sameValue(tbl.cols[i], got[r][i], c.want) && bad < 20 {
				bad++
				t.Errorf("row %d column %q: DuckDB reads %#v, want %#v", r, tbl.cols[i].Name, got[r][i], c.want)
			}
		}
	}
	db.CheckNullCounts(path)
	checkStatistics(t, db, path, tbl)
	checkFilters(t, db, path, tbl)
}

// statsExpr parses DuckDB's rendering of a statistics value of column c
// (parquet_metadata's stats_min_value, stats_max_value) into the want type.
func statsExpr(c writer.Column, x string) string {
	switch c.Target.Kind {
	case typemap.Boolean, typemap.Int16, typemap.Int32, typemap.Int64, typemap.Float, typemap.Double, typemap.Binary:
		return "CAST(" + x + " AS " + sqlType(c) + ")"
	case typemap.TimestampMicros:
		return "epoch_us(CAST(" + x + " AS TIMESTAMPTZ))"
	case typemap.TimestampMillis:
		return "epoch_ms(CAST(" + x + " AS TIMESTAMPTZ))"
	}
	return x // String, and Decimal as decimalText
}

// checkStatistics compares the min/max statistics of every row group, as
// DuckDB reads them, with the true bounds of its values. They must be
// exact, except where the writer's documented rules say otherwise: a FLOAT
// or DOUBLE row group holding NaN has NaN as its maximum (which DuckDB
// shows as no maximum, as it does infinite bounds), and byte arrays longer
// than 64 bytes have shorter bounds.
func checkStatistics(t *testing.T, db *duckcheck.DB, path string, tbl table) {
	t.Helper()
	for i, c := range tbl.cols {
		rgs := db.Rows(`SELECT row_group_num_rows, `+statsExpr(c, "stats_min_value")+`, `+statsExpr(c, "stats_max_value")+`
			FROM parquet_metadata(?) WHERE path_in_schema = ? ORDER BY row_group_id`, path, c.Name)
		first := 0
		for g, rg := range rgs {
			n := int(duckcheck.ToInt(rg[0]))
			var lo, hi any
			nan := false
			for _, r := range tbl.rows[first : first+n] {
				v := r[i].want
				switch {
				case v == nil:
					continue
				case c.Target.Kind == typemap.Double && math.IsNaN(v.(float64)),
					c.Target.Kind == typemap.Float && math.IsNaN(float64(v.(float32))):
					nan = true
					continue
				}
				if lo == nil || compareWant(c, v, lo) < 0 {
					lo = v
				}
				if hi == nil || compareWant(c, v, hi) > 0 {
					hi = v
				}
			}
			first += n
			if nan { // NaN is the maximum, and the minimum if there is nothing else
				switch c.Target.Kind {
				case typemap.Double:
					lo, hi = cmpOr(lo, any(math.NaN())), math.NaN()
				default:
					lo, hi = cmpOr(lo, any(float32(math.NaN()))), float32(math.NaN())
				}
			}
			where := fmt.Sprintf("column %q row group %d", c.Name, g)
			checkBound(t, where+" min", c, rg[1], lo, false)
			checkBound(t, where+" max", c, rg[2], hi, true)
		}
		if first != len(tbl.rows) {
			t.Errorf("column %q: row groups hold %d rows, want %d", c.Name, first, len(tbl.rows))
		}
	}
}

func cmpOr(v, def any) any {
	if v == nil {
		return def
	}
	return v
}

func checkBound(t *testing.T, where string, c writer.Column, got, want any, upper bool) {
	t.Helper()
	switch {
	case want == nil:
		if got != nil {
			t.Errorf("%s: %#v, want none (no values)", where, got)
		}
		return
	case c.Target.Kind == typemap.Float || c.Target.Kind == typemap.Double:
		f := toFloat(want)
		if got == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return // DuckDB does not show non-finite bounds
		}
	case c.Target.Kind == typemap.String || c.Target.Kind == typemap.Binary:
		g, w := asBytes(got), asBytes(want)
		if g == nil || len(w) <= 64 {
			break
		}
		// A long maximum is kept whole only when no short bound exists:
		// its first 64 bytes are all 0xFF.
		whole := upper && bytes.Count(w[:64], []byte{0xff}) == 64
		if len(g) > 64 && !whole {
			t.Errorf("%s: %d bytes, want at most 64", where, len(g))
		}
		if !upper && !bytes.HasPrefix(w, g) || upper && bytes.Compare(g, w) < 0 {
			t.Errorf("%s: %q does not bound %q", where, g, w)
		}
		if c.Target.Kind == typemap.String && !utf8.Valid(g) {
			t.Errorf("%s: %q is not UTF-8", where, g)
		}
		return
	}
	if !sameValue(c, got, want) {
		t.Errorf("%s: %#v, want %#v", where, got, want)
	}
}

func toFloat(v any) float64 {
	if f, ok := v.(float32); ok {
		return float64(f)
	}
	return v.(float64)
}

func asBytes(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return x
	}
	return nil
}

// checkFilters compares DuckDB's counts for col < v, col = v and col > v, for
// probe values v taken from the data, with the true counts. DuckDB skips the
// row groups whose statistics exclude v, so a wrong bound shows as a wrong
// count. count(col) checks the null counts the same way.
func checkFilters(t *testing.T, db *duckcheck.DB, path string, tbl table) {
	t.Helper()
	for i, c := range tbl.cols {
		var values []any
		for _, r := range tbl.rows {
			if r[i].want != nil {
				values = append(values, r[i].want)
			}
		}
		id := duckcheck.Ident(c.Name)
		if got := db.Int(`SELECT count(`+id+`) FROM read_parquet(?)`, path); got != int64(len(values)) {
			t.Errorf("column %q: count = %d, want %d", c.Name, got, len(values))
		}
		if len(values) == 0 {
			continue
		}
		probes := []any{values[0], values[len(values)-1], values[len(values)/2], values[len(values)/3]}
		lo, hi := values[0], values[0]
		for _, v := range values {
			if compareWant(c, v, lo) < 0 {
				lo = v
			}
			if compareWant(c, v, hi) > 0 {
				hi = v
			}
		}
		probes = append(probes, lo, hi)
		switch c.Target.Kind {
		case typemap.Double:
			probes = append(probes, math.NaN(), math.Inf(1), 1e300)
		case typemap.Float:
			probes = append(probes, float32(math.NaN()), float32(math.Inf(1)), float32(1e30))
		}
		for _, p := range probes {
			var lt, eq, gt int64
			for _, v := range values {
				switch compareWant(c, v, p) {
				case -1:
					lt++
				case 0:
					eq++
				default:
					gt++
				}
			}
			lit := sqlLiteral(c, p)
			for _, q := range []struct {
				op   string
				want int64
			}{{"<", lt}, {"=", eq}, {">", gt}} {
				got := db.Int(`SELECT count(*) FROM read_parquet(?) WHERE `+id+` `+q.op+` `+lit, path)
				if got != q.want {
					t.Errorf("column %q: count(*) WHERE %s %s %s = %d, want %d", c.Name, c.Name, q.op, lit, got, q.want)
				}
			}
		}
	}
}
