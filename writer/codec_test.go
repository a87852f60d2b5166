package writer_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// TestCompressionNeverExpands writes an incompressible column and a
// column of sequential integers (which klauspost/compress's GZIP levels
// 1 to 6 store uncompressed) with every codec: no column chunk may come
// out larger than uncompressed by more than the codec's framing (32 bytes
// a page and 0.05 %: GZIP's header and trailer, a 5-byte header per stored
// block of 16 KiB), and GZIP and ZSTD at every level must really compress
// the integers.
func TestCompressionNeverExpands(t *testing.T) {
	cols := []writer.Column{
		{Name: "seq", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "noise", Target: typemap.Target{Kind: typemap.Binary}},
	}
	r := rand.New(rand.NewPCG(1, 2))
	tbl := table{cols: cols}
	for i := range 40_000 {
		noise := make([]byte, 24)
		for j := range noise {
			noise[j] = byte(r.Uint32())
		}
		tbl.rows = append(tbl.rows, []cell{valueOf(cols[0].Target, int32(i)), valueOf(cols[1].Target, noise)})
	}
	db := duckcheck.Open(t)
	for _, opts := range []writer.Options{
		{}, {Level: 1}, {Level: 5}, {Level: 9},
		{Codec: writer.Zstd}, {Codec: writer.Zstd, Level: 1}, {Codec: writer.Zstd, Level: 19},
		{Codec: writer.Snappy}, {Codec: writer.Uncompressed},
	} {
		t.Run(fmt.Sprintf("%s-%d", opts.Codec, opts.Level), func(t *testing.T) {
			opts.DictionaryBytes = -1 // the codecs alone, on PLAIN pages
			path := writeFile(t, t.TempDir(), tbl, opts)
			pf := openParquet(t, path)
			for _, rg := range pf.Metadata().RowGroups {
				for i, cc := range rg.Columns {
					md := cc.MetaData
					pages := int64(len(pageStarts(t, path)[i]))
					if md.TotalCompressedSize > md.TotalUncompressedSize+32*pages+md.TotalUncompressedSize/2048 {
						t.Errorf("column %q: %d bytes compressed, %d uncompressed (%d pages)",
							cols[i].Name, md.TotalCompressedSize, md.TotalUncompressedSize, pages)
					}
					// What compresses: sequential int32 PLAIN at least to 75%,
					// except Snappy, which cannot (matches of 4 bytes or more).
					compresses := opts.Codec == writer.Gzip || opts.Codec == writer.Zstd && opts.Level != 0 && opts.Level > 3
					// The default GZIP's 3-byte matches (internal/flate) get
					// them to about 35 %, as zlib and DuckDB do.
					if i == 0 && opts.Codec == writer.Gzip && opts.Level == 0 && md.TotalCompressedSize > md.TotalUncompressedSize*2/5 {
						t.Errorf("column seq: %d bytes compressed of %d, want under 40%% with the default GZIP",
							md.TotalCompressedSize, md.TotalUncompressedSize)
					}
					if i == 0 && compresses && md.TotalCompressedSize > md.TotalUncompressedSize*3/4 {
						t.Errorf("column seq: %d bytes compressed of %d: the codec does not compress sequential integers",
							md.TotalCompressedSize, md.TotalUncompressedSize)
					}
				}
			}
			checkFile(t, db, path, tbl)
		})
	}
}

// TestDictionaryIndexesCompress checks that the pages of dictionary
// indexes of a STRING column compress at GZIP's default level: dates in an
// order that repeats every 9,000 rows (like the wide benchmark table's dt)
// repeat their 14-bit indexes every 15,750 bytes. DefaultGzipLevel
// (klauspost/compress level 3) finds those repeats, compress/gzip's level 1,
// the text level before, wrote these pages three times larger (52,966
// bytes), and the wide table's dt 2.7 times DuckDB's.
func TestDictionaryIndexesCompress(t *testing.T) {
	cols := []writer.Column{{Name: "dt", Target: typemap.Target{Kind: typemap.String}}}
	tbl := table{cols: cols}
	day0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100_000 {
		tbl.rows = append(tbl.rows, []cell{valueOf(cols[0].Target, day0.AddDate(0, 0, (i*7919)%9000).Format(time.DateOnly))})
	}
	path := writeFile(t, t.TempDir(), tbl, writer.Options{RowGroupBytes: 64 << 20})
	f := openParquet(t, path)
	var data, raw int64
	for _, rg := range f.Metadata().RowGroups {
		cc := rg.Columns[0].MetaData
		if cc.DictionaryPageOffset == 0 {
			t.Fatal("no dictionary page")
		}
		data += cc.TotalCompressedSize - (cc.DataPageOffset - cc.DictionaryPageOffset)
		raw += cc.TotalUncompressedSize
	}
	t.Logf("data pages: %d bytes, column chunks %d bytes uncompressed", data, raw)
	if data > 30_000 {
		t.Errorf("data pages of 100,000 dictionary indexes: %d bytes, want at most 30000", data)
	}
	checkFile(t, duckcheck.Open(t), path, tbl)
}
