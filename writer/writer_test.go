package writer_test

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// allKinds has a column of every kind, named so that neither alphabetical
// nor any other order but the given one comes out right.
var allKinds = []writer.Column{
	{Name: "zeta_bool", Target: typemap.Target{Kind: typemap.Boolean}, SourceType: "boolean"},
	{Name: "Alpha_i16", Target: typemap.Target{Kind: typemap.Int16}, SourceType: "smallint"},
	{Name: "mid i32", Target: typemap.Target{Kind: typemap.Int32}, SourceType: "integer"},
	{Name: "b_i64", Target: typemap.Target{Kind: typemap.Int64}, SourceType: "bigint"},
	{Name: "éf_float", Target: typemap.Target{Kind: typemap.Float}, SourceType: "real"},
	{Name: "a_double", Target: typemap.Target{Kind: typemap.Double}, SourceType: "double precision"},
	{Name: "y_text", Target: typemap.Target{Kind: typemap.String}, SourceType: "text"},
	{Name: "c_bin", Target: typemap.Target{Kind: typemap.Binary}, SourceType: "bytea"},
	{Name: "x_ts_us", Target: typemap.Target{Kind: typemap.TimestampMicros}, SourceType: "timestamp with time zone"},
	{Name: "d_ts_ms", Target: typemap.Target{Kind: typemap.TimestampMillis}, SourceType: "timestamp without time zone"},
	{Name: "w_dec9", Target: typemap.Target{Kind: typemap.Decimal, Precision: 9, Scale: 2}, SourceType: "numeric"},
	{Name: "e_dec18", Target: typemap.Target{Kind: typemap.Decimal, Precision: 18, Scale: 4}, SourceType: "numeric"},
	{Name: "v_dec20", Target: typemap.Target{Kind: typemap.Decimal, Precision: 20, Scale: 0}, SourceType: "bigint unsigned"},
	{Name: "f_dec38", Target: typemap.Target{Kind: typemap.Decimal, Precision: 38, Scale: 10}, SourceType: "numeric"},
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// decimalLimit is the largest unscaled value of a precision, 10^p - 1.
func decimalLimit(p int) *big.Int { return new(big.Int).Sub(pow10(p), big.NewInt(1)) }

// edgeRows are the values where writers go wrong: NULL everywhere first
// (the first slot of the first page), the limits of every type, empty
// strings next to NULLs, multi-byte UTF-8, NaN, infinities and signed
// zeros, negative decimals of every storage.
func edgeRows(cols []writer.Column) [][]cell {
	type vals = []any
	neg := func(p int) *big.Int { return new(big.Int).Neg(decimalLimit(p)) }
	rows := []vals{
		{nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{false, int16(math.MinInt16), int32(math.MinInt32), int64(math.MinInt64), float32(math.Inf(-1)), math.Inf(-1),
			"", []byte{}, int64(-62135596800000000), int64(-62135596800000), neg(9), neg(18), neg(20), neg(38)},
		{true, int16(math.MaxInt16), int32(math.MaxInt32), int64(math.MaxInt64), float32(math.Inf(1)), math.Inf(1),
			"héllo wörld ✓ 𝄞 日本語", []byte{0, 0xff, 0}, int64(253402300799999999), int64(253402300799999),
			decimalLimit(9), decimalLimit(18), decimalLimit(20), decimalLimit(38)},
		{nil, int16(0), int32(0), int64(0), float32(math.NaN()), math.NaN(), "NULL", []byte("\x00"), int64(0), int64(0),
			big.NewInt(-1), big.NewInt(-1), big.NewInt(-1), big.NewInt(-1)},
		{true, nil, int32(-1), int64(-1), float32(math.Copysign(0, -1)), math.Copysign(0, -1), " ", nil,
			int64(1700000000123456), int64(1700000000123), big.NewInt(1), big.NewInt(1), big.NewInt(0), big.NewInt(1)},
		{false, int16(-1), nil, int64(1), float32(math.SmallestNonzeroFloat32), math.SmallestNonzeroFloat64,
			strings.Repeat("x", 63) + "日本", bytes.Repeat([]byte{0xff}, 100), int64(-1), int64(-1),
			big.NewInt(-12345), big.NewInt(-123456789), new(big.Int).Neg(pow10(19)), new(big.Int).Neg(pow10(37))},
		{nil, nil, nil, nil, float32(math.MaxFloat32), math.MaxFloat64, strings.Repeat("ü", 100), nil, nil, nil,
			nil, nil, nil, nil},
		{true, int16(7), int32(7), int64(7), float32(-math.MaxFloat32), -math.MaxFloat64, "", []byte{}, int64(7), int64(7),
			big.NewInt(7), big.NewInt(7), big.NewInt(7), big.NewInt(7)},
	}
	out := make([][]cell, len(rows))
	for r, row := range rows {
		out[r] = make([]cell, len(cols))
		for i, want := range row {
			if want == nil {
				out[r][i] = null()
			} else {
				out[r][i] = valueOf(cols[i].Target, want)
			}
		}
	}
	return out
}

// genRow is row i of a deterministic mix of values, with NULLs scattered
// differently in every column.
func genRow(cols []writer.Column, i int) []cell {
	row := make([]cell, len(cols))
	h := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	for k, c := range cols {
		h ^= h >> 29
		h *= 0xBF58476D1CE4E5B9
		if (i*7+k*3)%11 == 0 {
			row[k] = null()
			continue
		}
		var want any
		switch c.Target.Kind {
		case typemap.Boolean:
			want = h%3 == 0
		case typemap.Int16:
			want = int16(h)
		case typemap.Int32:
			want = int32(h)
		case typemap.Int64:
			want = int64(h)
		case typemap.Float:
			switch {
			case i%97 == 5:
				want = float32(math.NaN())
			default:
				want = float32(int32(h>>40)) / 7
			}
		case typemap.Double:
			switch {
			case i%89 == 3:
				want = math.NaN()
			case i%1009 == 4: // rare: most row groups have NaN and no infinity
				want = math.Inf(1)
			default:
				want = float64(int64(h)) / 3
			}
		case typemap.String:
			want = fmt.Sprintf("r%d-%s", h%1000, strings.Repeat("ü", int(h%40)))
		case typemap.Binary:
			if i%50 == 0 {
				want = bytes.Repeat([]byte{0xff}, 70) // no short upper bound exists
			} else {
				want = bytes.Repeat([]byte{byte(h), byte(h >> 8), 0}, int(h%30))
			}
		case typemap.TimestampMicros:
			want = int64(h%(400*365*86400*1e6)) - 200*365*86400*1e6
		case typemap.TimestampMillis:
			want = int64(h%(400*365*86400*1e3)) - 200*365*86400*1e3
		case typemap.Decimal:
			lim := decimalLimit(c.Target.Precision)
			v := new(big.Int).SetUint64(h)
			v.Mul(v, new(big.Int).SetUint64(h|1))
			v.Mod(v, new(big.Int).Lsh(lim, 1))
			want = v.Sub(v, lim) // in [-lim, lim)
		}
		row[k] = valueOf(c.Target, want)
	}
	return row
}

func genTable(cols []writer.Column, n int) table {
	tbl := table{cols: cols, rows: edgeRows(cols)}
	for i := range n {
		tbl.rows = append(tbl.rows, genRow(cols, i))
	}
	return tbl
}

// TestAllKinds writes every kind, reads the file back with DuckDB and
// compares schema, values, null counts and filtered counts, with the
// default options and with pages and row groups small enough that the
// file has many of both.
func TestAllKinds(t *testing.T) {
	db := duckcheck.Open(t)
	t.Run("defaults", func(t *testing.T) {
		tbl := genTable(allKinds, 3000)
		checkFile(t, db, writeFile(t, t.TempDir(), tbl, writer.Options{}), tbl)
	})
	t.Run("small pages and row groups", func(t *testing.T) {
		opts := writer.Options{Codec: writer.Snappy, PageBytes: 1 << 10, RowGroupBytes: 64 << 10}
		tbl := genTable(allKinds, 6000)
		path := writeFile(t, t.TempDir(), tbl, opts)
		if n := db.Int(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata(?)`, path); n < 3 {
			t.Fatalf("%d row groups, the test wants several", n)
		}
		checkFile(t, db, path, tbl)
		checkPageIndex(t, path, tbl)
	})
}

// openParquet opens the Parquet file at path with parquet-go; the file is
// closed when the test ends.
func openParquet(t *testing.T, path string) *parquet.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// pageStarts lists, per column, the index in the file of the first row of
// every page, read from the offset index; it also checks that the column
// index describes the same pages.
func pageStarts(t *testing.T, path string) [][]int64 {
	t.Helper()
	pf := openParquet(t, path)
	var starts [][]int64
	var base int64
	for _, rg := range pf.RowGroups() {
		chunks := rg.ColumnChunks()
		if starts == nil {
			starts = make([][]int64, len(chunks))
		}
		for c, cc := range chunks {
			oi, err := cc.OffsetIndex()
			if err != nil {
				t.Fatal(err)
			}
			ci, err := cc.ColumnIndex()
			if err != nil {
				t.Fatal(err)
			}
			if ci.NumPages() != oi.NumPages() {
				t.Fatalf("column %d: column index has %d pages, offset index %d", c, ci.NumPages(), oi.NumPages())
			}
			for p := range oi.NumPages() {
				starts[c] = append(starts[c], base+oi.FirstRowIndex(p))
			}
		}
		base += rg.NumRows()
	}
	return starts
}

// valueWant converts a value read by parquet-go to the want type of c.
func valueWant(c writer.Column, v parquet.Value) any {
	switch c.Target.Kind {
	case typemap.Boolean:
		return v.Boolean()
	case typemap.Int16:
		return int16(v.Int32())
	case typemap.Int32:
		return v.Int32()
	case typemap.Int64, typemap.TimestampMicros, typemap.TimestampMillis:
		return v.Int64()
	case typemap.Float:
		return v.Float()
	case typemap.Double:
		return v.Double()
	case typemap.String:
		return string(v.ByteArray())
	case typemap.Binary:
		return bytes.Clone(v.ByteArray())
	}
	switch c.Target.DecimalPhysical() {
	case typemap.PhysicalInt32:
		return big.NewInt(int64(v.Int32()))
	case typemap.PhysicalInt64:
		return big.NewInt(v.Int64())
	}
	b := v.ByteArray()
	u := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 { // two's complement
		u.Sub(u, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return u
}

// checkPageIndex checks the column index (per-page statistics, which
// Spark and Trino skip pages with) against the data: null pages and null
// counts exact, every value of a page within its min and max, ordered as
// DuckDB orders them (NaN above every number).
func checkPageIndex(t *testing.T, path string, tbl table) {
	t.Helper()
	pf := openParquet(t, path)
	var base int64
	for g, rg := range pf.RowGroups() {
		for i, cc := range rg.ColumnChunks() {
			c := tbl.cols[i]
			oi, err := cc.OffsetIndex()
			if err != nil {
				t.Fatal(err)
			}
			ci, err := cc.ColumnIndex()
			if err != nil {
				t.Fatal(err)
			}
			for p := range oi.NumPages() {
				start, end := oi.FirstRowIndex(p), rg.NumRows()
				if p+1 < oi.NumPages() {
					end = oi.FirstRowIndex(p + 1)
				}
				var nulls int64
				lo, hi := valueWant(c, ci.MinValue(p)), valueWant(c, ci.MaxValue(p))
				for r := base + start; r < base+end; r++ {
					v := tbl.rows[r][i].want
					if v == nil {
						nulls++
					} else if compareWant(c, lo, v) > 0 || compareWant(c, v, hi) > 0 {
						t.Errorf("column %q row group %d page %d: row %d value %v outside [%v, %v]", c.Name, g, p, r, v, lo, hi)
					}
				}
				if ci.NullCount(p) != nulls || ci.NullPage(p) != (nulls == end-start) {
					t.Errorf("column %q row group %d page %d: %d nulls (null page %v), want %d of %d rows",
						c.Name, g, p, ci.NullCount(p), ci.NullPage(p), nulls, end-start)
				}
			}
		}
		base += rg.NumRows()
	}
}

// TestNullPages puts a NULL in the first slot of every page of every column
// and makes whole pages NULL, the layouts whose statistics and column index
// writers get wrong, and checks the result with DuckDB.
func TestNullPages(t *testing.T) {
	db := duckcheck.Open(t)
	for _, mode := range []struct {
		name string
		dict int64
	}{{"plain", -1}, {"dictionary", 0}} {
		t.Run(mode.name, func(t *testing.T) {
			// One row group: row groups end on byte counts, which NULLs change.
			// Pages of fixed-width values end at 4 × PageBytes of parquet-go's
			// buffer, those of byte arrays at PageBytes of values.
			opts := writer.Options{Codec: writer.Zstd, PageBytes: 1 << 8, DictionaryBytes: mode.dict}
			tbl := table{cols: allKinds}
			for i := range 4000 {
				tbl.rows = append(tbl.rows, genRow(allKinds, i))
			}
			// Find the page boundaries, then write the same rows with NULLs
			// there. PLAIN pages end on row counts; dictionary pages on the
			// bytes of their values, which the NULLs change, so the NULLs
			// are added again at the pages that moved until none do.
			starts := pageStarts(t, writeFile(t, t.TempDir(), tbl, opts))
			if len(starts[0]) < 8 {
				t.Fatalf("%d pages, the test wants many", len(starts[0]))
			}
			whole := [2]int64{starts[0][3], starts[0][4]} // a whole page of column 0
			var path string
			for round := 0; ; round++ {
				for c := range starts {
					for _, r := range starts[c] {
						tbl.rows[r][c] = null()
					}
				}
				for r := whole[0]; r < whole[1]; r++ {
					for c := range tbl.cols {
						tbl.rows[r][c] = null()
					}
				}
				path = writeFile(t, t.TempDir(), tbl, opts)
				again := pageStarts(t, path)
				moved := false
				for c := range again {
					for _, r := range again[c] {
						moved = moved || tbl.rows[r][c].want != nil
					}
				}
				if !moved {
					break
				}
				if mode.dict < 0 || round == 5 {
					t.Fatalf("pages moved with the values: %v, were %v", again, starts)
				}
				starts = again
			}
			checkFile(t, db, path, tbl)
			checkPageIndex(t, path, tbl)
		})
	}
}

// TestColumnOrder checks that the file's columns come in the given order
// whatever their names, for several orders.
func TestColumnOrder(t *testing.T) {
	db := duckcheck.Open(t)
	for _, names := range [][]string{{"b", "a", "c"}, {"c", "b", "a"}, {"Z", "a", "_", "1", "é"}} {
		cols := make([]writer.Column, len(names))
		row := make([]cell, len(names))
		for i, n := range names {
			cols[i] = writer.Column{Name: n, Target: typemap.Target{Kind: typemap.Int32}}
			row[i] = valueOf(cols[i].Target, int32(i))
		}
		tbl := table{cols: cols, rows: [][]cell{row}}
		checkFile(t, db, writeFile(t, t.TempDir(), tbl, writer.Options{}), tbl)
	}
}

// TestCallerBuffersReused overwrites the byte arrays of each row right
// after WriteRow, as a driver reusing its buffers does; the file must hold
// what was passed.
func TestCallerBuffersReused(t *testing.T) {
	db := duckcheck.Open(t)
	cols := []writer.Column{
		{Name: "s", Target: typemap.Target{Kind: typemap.String}},
		{Name: "b", Target: typemap.Target{Kind: typemap.Binary}},
		{Name: "d", Target: typemap.Target{Kind: typemap.Decimal, Precision: 30, Scale: 0}},
	}
	path := t.TempDir() + "/f.parquet"
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := writer.NewFileWriter(f, cols, writer.Options{Codec: writer.Uncompressed})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 64)
	fixed := make([]byte, typemap.DecimalFixedLen(30))
	const n = 5000
	for i := range n {
		buf = fmt.Appendf(buf[:0], "value-%06d", i)
		clear(fixed)
		fixed[len(fixed)-1], fixed[len(fixed)-2] = byte(i), byte(i>>8)
		row := []parquet.Value{parquet.ByteArrayValue(buf), parquet.ByteArrayValue(buf), parquet.FixedLenByteArrayValue(fixed)}
		if err := fw.WriteRow(row); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = '#'
		}
		for j := range fixed {
			fixed[j] = 0x7f
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	bad := db.Int(`SELECT count(*) FROM read_parquet(?, file_row_number=true)
		WHERE s <> printf('value-%06d', file_row_number) OR b <> s::BLOB OR d <> file_row_number`, path)
	if total := db.Int(`SELECT count(*) FROM read_parquet(?)`, path); total != n || bad != 0 {
		t.Errorf("%d rows, %d of them wrong; want %d rows, none wrong", total, bad, n)
	}
}

// TestEmptyFile closes a FileWriter without rows: the file is valid and
// empty.
func TestEmptyFile(t *testing.T) {
	db := duckcheck.Open(t)
	tbl := table{cols: allKinds}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{})
	if n := db.Int(`SELECT count(*) FROM read_parquet(?)`, path); n != 0 {
		t.Errorf("%d rows, want 0", n)
	}
	if got := len(db.Schema(path)); got != len(allKinds) {
		t.Errorf("%d columns, want %d", got, len(allKinds))
	}
}
