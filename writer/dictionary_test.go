package writer_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go/format"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/internal/wasmcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// dataPageEncodings lists, per column, the encodings of the data pages of
// every row group (from the footer's encoding_stats), and whether each
// chunk has a dictionary page.
func dataPageEncodings(t *testing.T, path string) (encs [][]map[format.Encoding]bool, dictPages [][]bool) {
	t.Helper()
	md := openParquet(t, path).Metadata()
	encs = make([][]map[format.Encoding]bool, len(md.Schema)-1)
	dictPages = make([][]bool, len(md.Schema)-1)
	for _, rg := range md.RowGroups {
		for i, cc := range rg.Columns {
			m := map[format.Encoding]bool{}
			dict := false
			for _, s := range cc.MetaData.EncodingStats {
				switch s.PageType {
				case format.DataPage:
					m[s.Encoding] = true
				case format.DictionaryPage:
					dict = true
				}
			}
			encs[i] = append(encs[i], m)
			dictPages[i] = append(dictPages[i], dict)
		}
	}
	return encs, dictPages
}

// wasmWant is the value parquet-wasm must read for a cell of c (see
// wasmcheck.Value).
func wasmWant(c writer.Column, want any) wasmcheck.Value {
	switch v := want.(type) {
	case nil:
		return nil
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case float32:
		return float64(v)
	case *big.Int:
		return decimalText(v, c.Target.Scale)
	}
	return want
}

// checkWasm reads the file with parquet-wasm (arrow-rs) and fails t
// unless it holds exactly tbl, with the schema DuckDB also checks.
func checkWasm(t *testing.T, path string, tbl table) *wasmcheck.File {
	t.Helper()
	f := wasmcheck.Read(t, path)
	if len(f.Columns) != len(tbl.cols) {
		t.Fatalf("parquet-wasm: %d columns, want %d", len(f.Columns), len(tbl.cols))
	}
	for i, c := range tbl.cols {
		want := wantSchema(c)
		got := f.Columns[i]
		if got.Name != want.Name || got.Physical != want.Type || got.Repetition != "OPTIONAL" ||
			got.Converted != want.ConvertedType {
			t.Errorf("parquet-wasm column %d: %+v, want %+v", i, got, want)
		}
	}
	if f.NumRows != int64(len(tbl.rows)) {
		t.Fatalf("parquet-wasm: %d rows, want %d", f.NumRows, len(tbl.rows))
	}
	bad := 0
	for r, row := range tbl.rows {
		for i, cl := range row {
			got, want := f.Values[i][r], wasmWant(tbl.cols[i], cl.want)
			if !wasmcheck.Equal(got, want) && bad < 20 {
				bad++
				t.Errorf("parquet-wasm row %d column %q: %#v, want %#v", r, tbl.cols[i].Name, got, want)
			}
		}
	}
	return f
}

// lowCardinality is genTable with values repeating every period rows (the
// edge rows first), so that every column except booleans is dictionary
// encoded.
func lowCardinality(cols []writer.Column, n, period int) table {
	tbl := table{cols: cols, rows: edgeRows(cols)}
	for i := range n {
		tbl.rows = append(tbl.rows, genRow(cols, i%period))
	}
	return tbl
}

// TestStatisticsBothPaths writes every kind on the PLAIN path, the
// dictionary path, and a column chunk that switches from one to the other
// in the middle of a row group, checks that each file took the path it
// tests (the data pages' encodings), and checks values, statistics, null
// counts, filters and column index with DuckDB and values with
// parquet-wasm. The data holds what each correction of writer/doc.go is
// about (negative FIXED_LEN_BYTE_ARRAY decimals, NaN, byte arrays over 64
// bytes, NULLs), so a path that loses one fails checkStatistics,
// checkFilters or checkPageIndex.
func TestStatisticsBothPaths(t *testing.T) {
	db := duckcheck.Open(t)
	dictKind := func(c writer.Column) bool { return c.Target.Kind != typemap.Boolean }
	for _, tc := range []struct {
		name string
		opts writer.Options
		tbl  table
		// want says which data page encodings column chunk (c, g) must have.
		want func(c writer.Column, g int) []format.Encoding
	}{
		{
			name: "plain",
			opts: writer.Options{DictionaryBytes: -1, PageBytes: 4 << 10, RowGroupBytes: 128 << 10},
			tbl:  lowCardinality(allKinds, 3000, 37),
			want: func(writer.Column, int) []format.Encoding { return []format.Encoding{format.Plain} },
		},
		{
			name: "dictionary",
			opts: writer.Options{PageBytes: 4 << 10, RowGroupBytes: 128 << 10},
			tbl:  lowCardinality(allKinds, 3000, 37),
			want: func(c writer.Column, _ int) []format.Encoding {
				if dictKind(c) {
					return []format.Encoding{format.RLEDictionary}
				}
				return []format.Encoding{format.Plain}
			},
		},
		{
			// 2000 repeating rows, then distinct ones: with a 16 KiB limit
			// every dictionary overflows in the first row group's middle.
			name: "fallback",
			opts: writer.Options{DictionaryBytes: 8 << 10, PageBytes: 4 << 10, RowGroupBytes: 1 << 20},
			tbl: func() table {
				tbl := lowCardinality(allKinds, 1500, 37)
				tbl.rows = append(tbl.rows, genTable(allKinds, 2500).rows[len(edgeRows(allKinds)):]...)
				return tbl
			}(),
			want: func(c writer.Column, g int) []format.Encoding {
				if dictKind(c) && g == 0 {
					return []format.Encoding{format.Plain, format.RLEDictionary}
				}
				return []format.Encoding{format.Plain}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tc.tbl, tc.opts)
			encs, _ := dataPageEncodings(t, path)
			for i, c := range tc.tbl.cols {
				for g, m := range encs[i] {
					if tc.name == "fallback" && g > 0 {
						break // later row groups: whatever the data makes of them
					}
					var got []format.Encoding
					for e := range m {
						got = append(got, e)
					}
					slices.Sort(got)
					if want := tc.want(c, g); !slices.Equal(got, want) {
						t.Errorf("column %q row group %d: data pages %v, want %v", c.Name, g, got, want)
					}
				}
			}
			checkFile(t, db, path, tc.tbl)
			checkPageIndex(t, path, tc.tbl)
			checkWasm(t, path, tc.tbl)
		})
	}
}

// TestDictionaryEncodingUsed checks the choice of encoding per column on
// pgbench_accounts-like data: a unique key and a column of distinct
// texts are PLAIN (at most one dictionary-encoded value per chunk), low
// cardinality columns are dictionary encoded with a dictionary page, and
// the dictionary path is on at all (it is turned off if parquet-go's
// internals change, see writer/dictionary.go).
func TestDictionaryEncodingUsed(t *testing.T) {
	cols := []writer.Column{
		{Name: "aid", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "bid", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "abalance", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "filler", Target: typemap.Target{Kind: typemap.String}},
		{Name: "note", Target: typemap.Target{Kind: typemap.String}},
		{Name: "price", Target: typemap.Target{Kind: typemap.Decimal, Precision: 30, Scale: 2}},
	}
	tbl := table{cols: cols}
	filler := strings.Repeat(" ", 84)
	for i := range 50000 {
		tbl.rows = append(tbl.rows, []cell{
			valueOf(cols[0].Target, int32(i+1)),
			valueOf(cols[1].Target, int32(i/10000+1)),
			valueOf(cols[2].Target, int32(0)),
			valueOf(cols[3].Target, filler),
			valueOf(cols[4].Target, fmt.Sprintf("note %d: %x", i, i*7919)),
			valueOf(cols[5].Target, big.NewInt(int64(i%50-25)*100)),
		})
	}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{})
	encs, dictPages := dataPageEncodings(t, path)
	pf := openParquet(t, path)
	for i, c := range cols {
		for g := range encs[i] {
			unique := c.Name == "aid" || c.Name == "note"
			switch {
			case unique && encs[i][g][format.Plain] && dictPages[i][g]:
				cc := pf.Metadata().RowGroups[g].Columns[i]
				// The dictionary is given up after its first value.
				if cc.MetaData.DictionaryPageOffset == 0 {
					t.Errorf("column %q row group %d: no dictionary page offset", c.Name, g)
				}
				for _, s := range cc.MetaData.EncodingStats {
					if s.PageType == format.DataPage && s.Encoding == format.RLEDictionary && s.Count != 1 {
						t.Errorf("column %q row group %d: %d dictionary-encoded pages, want 1", c.Name, g, s.Count)
					}
				}
			case unique:
				t.Errorf("column %q row group %d: data pages %v, dictionary page %v; want PLAIN after one dictionary page",
					c.Name, g, encs[i][g], dictPages[i][g])
			case !dictPages[i][g] || encs[i][g][format.Plain] || !encs[i][g][format.RLEDictionary]:
				t.Errorf("column %q row group %d: data pages %v, dictionary page %v; want RLE_DICTIONARY only",
					c.Name, g, encs[i][g], dictPages[i][g])
			}
		}
	}
	checkFile(t, duckcheck.Open(t), path, tbl)
	f := checkWasm(t, path, tbl)
	for i, c := range cols {
		if enc := f.RowGroups[0].Columns[i].Encodings; !slices.Contains(enc, "RLE_DICTIONARY") {
			t.Errorf("parquet-wasm: column %q encodings %v, want RLE_DICTIONARY among them", c.Name, enc)
		}
	}
}

// TestBadInput writes the inputs that break dictionaries and byte-array
// handling: an all-NULL column, an all-distinct one, empty strings next to
// NULLs, values over 1 MiB among small ones (a dictionary overflowing in
// the middle of a row group, and a column falling back to PLAIN at a huge
// value), and BINARY values that are not UTF-8, and reads them back with
// both readers.
func TestBadInput(t *testing.T) {
	cols := []writer.Column{
		{Name: "nothing", Target: typemap.Target{Kind: typemap.String}},
		{Name: "distinct", Target: typemap.Target{Kind: typemap.Int64}},
		{Name: "empty", Target: typemap.Target{Kind: typemap.String}},
		{Name: "big", Target: typemap.Target{Kind: typemap.String}},
		{Name: "raw", Target: typemap.Target{Kind: typemap.Binary}},
		{Name: "dec", Target: typemap.Target{Kind: typemap.Decimal, Precision: 38, Scale: 0}},
	}
	tbl := table{cols: cols}
	const rows = 3000
	for i := range rows {
		var long any = fmt.Sprintf("v%d", i%5)
		switch {
		case i == 1500: // the dictionary of five values meets a 1.5 MiB value mid row group
			long = strings.Repeat("é", 3<<18)
		case i > 2000 && i%400 == 0:
			long = strings.Repeat(string(rune('a'+i%26)), 1<<20+i)
		}
		raw := []byte{0xff, 0xfe, byte(i % 3), 0x80, 0xc0} // never UTF-8
		if i%7 == 0 {
			raw = bytes.Repeat([]byte{0xc3, 0x28}, i%100) // invalid sequences, and empty
		}
		empty := any("")
		if i%2 == 0 {
			empty = nil
		}
		d := new(big.Int).Lsh(big.NewInt(int64(i%3-1)), 120) // -2^120, 0, 2^120
		tbl.rows = append(tbl.rows, []cell{
			null(),
			valueOf(cols[1].Target, int64(i)*1_000_003),
			cellOf(cols[2].Target, empty),
			valueOf(cols[3].Target, long),
			valueOf(cols[4].Target, raw),
			valueOf(cols[5].Target, d),
		})
	}
	for _, opts := range []writer.Options{{}, {Codec: writer.Snappy, PageBytes: 8 << 10}} {
		t.Run(opts.Codec.String(), func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tbl, opts)
			checkFile(t, duckcheck.Open(t), path, tbl)
			checkPageIndex(t, path, tbl)
			checkWasm(t, path, tbl)
			encs, _ := dataPageEncodings(t, path)
			if !encs[3][0][format.RLEDictionary] || !encs[3][0][format.Plain] {
				t.Errorf("column big: data pages %v, want a fallback from RLE_DICTIONARY to PLAIN", encs[3][0])
			}
		})
	}
}

// cellOf is valueOf, or NULL for nil.
func cellOf(t typemap.Target, want any) cell {
	if want == nil {
		return null()
	}
	return valueOf(t, want)
}

// TestSingleHugeValue writes one 200 MB BINARY value between small rows,
// and reads it back with DuckDB (length and md5) and parquet-wasm (length
// and SHA-256). It needs about 1 GB of memory and some seconds, so it runs
// only with SNAPEXPORT_HUGE_TESTS=1 (not in CI; see writer/doc.go Memory
// for what holds such a value).
func TestSingleHugeValue(t *testing.T) {
	if os.Getenv("SNAPEXPORT_HUGE_TESTS") != "1" {
		t.Skip("a 200 MB value needs about 1 GB of memory; set SNAPEXPORT_HUGE_TESTS=1 to run it")
	}
	const huge = 200 << 20
	cols := []writer.Column{
		{Name: "id", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "doc", Target: typemap.Target{Kind: typemap.Binary}},
	}
	big := make([]byte, huge)
	for i := range big {
		big[i] = byte(i*7 + i>>12)
	}
	tbl := table{cols: cols}
	for i := range 5 {
		doc := []byte(fmt.Sprintf("small %d", i))
		if i == 2 {
			doc = big
		}
		tbl.rows = append(tbl.rows, []cell{valueOf(cols[0].Target, int32(i)), valueOf(cols[1].Target, doc)})
	}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{})
	sum := md5.Sum(big)
	db := duckcheck.Open(t)
	got := db.Rows(`SELECT id, octet_length(doc), md5(doc) FROM read_parquet(?) ORDER BY id`, path)
	if len(got) != 5 || fmt.Sprint(got[2]) != fmt.Sprint([]any{int32(2), int64(huge), hex.EncodeToString(sum[:])}) {
		t.Fatalf("DuckDB reads %v", got)
	}
	f := wasmcheck.ReadDigest(t, path, 1<<20)
	sha := sha256.Sum256(big)
	if want := (wasmcheck.Digest{Len: huge, SHA256: hex.EncodeToString(sha[:])}); f.Values[1][2] != want {
		t.Fatalf("parquet-wasm reads %v, want %v", f.Values[1][2], want)
	}
	if !bytes.Equal(f.Values[1][4].([]byte), []byte("small 4")) {
		t.Fatalf("parquet-wasm reads row 4 as %q", f.Values[1][4])
	}
}

// TestDictionaryAgainAfterFallback checks that a column chunk that fell
// back to PLAIN leaves the next row group's chunk dictionary encoded, and
// that both read back with both readers.
func TestDictionaryAgainAfterFallback(t *testing.T) {
	cols := []writer.Column{{Name: "s", Target: typemap.Target{Kind: typemap.String}}}
	tbl := table{cols: cols}
	for i := range 6000 {
		v := fmt.Sprintf("distinct value %d", i) // distinct in the first row groups, then 3 values
		if i >= 1500 {
			v = fmt.Sprintf("v%d", i%3)
		}
		tbl.rows = append(tbl.rows, []cell{valueOf(cols[0].Target, v)})
	}
	opts := writer.Options{DictionaryBytes: 4 << 10, RowGroupBytes: 16 << 10, PageBytes: 4 << 10}
	path := writeFile(t, t.TempDir(), tbl, opts)
	encs, dictPages := dataPageEncodings(t, path)
	if len(encs[0]) < 3 {
		t.Fatalf("%d row groups, want several", len(encs[0]))
	}
	if !encs[0][0][format.Plain] {
		t.Errorf("row group 0: data pages %v, want a fallback to PLAIN", encs[0][0])
	}
	last := len(encs[0]) - 1
	if !dictPages[0][last] || encs[0][last][format.Plain] || !encs[0][last][format.RLEDictionary] {
		t.Errorf("row group %d: data pages %v, dictionary page %v; want RLE_DICTIONARY only", last, encs[0][last], dictPages[0][last])
	}
	checkFile(t, duckcheck.Open(t), path, tbl)
	checkWasm(t, path, tbl)
}

// TestRisingRunsKeepDictionary checks that a column whose values rise for
// longer than the rising test's sample and then repeat (dates in runs of
// 2000 distinct days, as the wide benchmark table's dt) gives its
// dictionary up in the first row group only: its later chunks are judged
// by whether the dictionary pays, and it does. Both readers read it back.
func TestRisingRunsKeepDictionary(t *testing.T) {
	cols := []writer.Column{{Name: "dt", Target: typemap.Target{Kind: typemap.String}}}
	tbl := table{cols: cols}
	day0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 90_000 {
		tbl.rows = append(tbl.rows, []cell{valueOf(cols[0].Target, day0.AddDate(0, 0, i%2000).Format(time.DateOnly))})
	}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{RowGroupBytes: 400 << 10})
	encs, dictPages := dataPageEncodings(t, path)
	if len(encs[0]) < 3 {
		t.Fatalf("%d row groups, want 3 or more", len(encs[0]))
	}
	if !encs[0][0][format.Plain] {
		t.Errorf("row group 0: data pages %v, want a fallback to PLAIN (its first values rise)", encs[0][0])
	}
	for g := 1; g < len(encs[0]); g++ {
		if !dictPages[0][g] || encs[0][g][format.Plain] || !encs[0][g][format.RLEDictionary] {
			t.Errorf("row group %d: data pages %v, dictionary page %v; want RLE_DICTIONARY only", g, encs[0][g], dictPages[0][g])
		}
	}
	checkFile(t, duckcheck.Open(t), path, tbl)
	checkWasm(t, path, tbl)
}

// TestKeyThatWrapsStaysPlain checks that a key read from the middle of its
// table to the end and then from the start (a PostgreSQL synchronized scan
// that joins another one) still gives its dictionary up after the rising
// test's sample in every row group, the one that wraps and those after:
// one fall is no run of repeating values.
func TestKeyThatWrapsStaysPlain(t *testing.T) {
	cols := []writer.Column{{Name: "id", Target: typemap.Target{Kind: typemap.Int64}}}
	tbl := table{cols: cols}
	const n = 200_000
	for i := range n {
		tbl.rows = append(tbl.rows, []cell{valueOf(cols[0].Target, int64((i+n/3)%n))})
	}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{RowGroupBytes: 400 << 10})
	f := openParquet(t, path)
	if len(f.Metadata().RowGroups) < 4 {
		t.Fatalf("%d row groups, want 4 or more", len(f.Metadata().RowGroups))
	}
	for g, rg := range f.Metadata().RowGroups {
		cc := rg.Columns[0].MetaData
		if dict := cc.DataPageOffset - cc.DictionaryPageOffset; cc.DictionaryPageOffset > 0 && dict > 8<<10 {
			t.Errorf("row group %d: dictionary page of %d bytes, want the rising test's few values", g, dict)
		}
	}
	checkFile(t, duckcheck.Open(t), path, tbl)
}
