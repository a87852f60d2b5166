package writer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// pgbenchRow fills row with pgbench_accounts row i; the filler lives in
// buf, as a driver's buffer would. The filler is random letters, so that
// compression does not hide memory that is held.
func pgbenchRow(row []parquet.Value, buf []byte, i int) {
	x := uint64(i)*0x9E3779B97F4A7C15 | 1
	for j := range buf[:84] {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[j] = byte('a' + x%26)
	}
	row[0] = parquet.Int32Value(int32(i + 1))
	row[1] = parquet.Int32Value(int32(i/100000 + 1))
	row[2] = parquet.Int32Value(int32(i%20000) - 10000)
	row[3] = parquet.ByteArrayValue(buf[:84])
	if i%1000 == 7 {
		row[2] = parquet.NullValue()
	}
}

// TestRowGroupsBounded writes 200k rows with 256 KiB row groups: the
// buffered size must stay under the bound after every row, the file must
// have the row groups that implies, each about that size, and DuckDB must
// read every row.
func TestRowGroupsBounded(t *testing.T) {
	const rows, limit = 200_000, 256 << 10
	db := duckcheck.Open(t)
	path := filepath.Join(t.TempDir(), "f.snappy.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := writer.NewFileWriter(f, pgbenchColumns, writer.Options{Codec: writer.Snappy, RowGroupBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	row, buf := make([]parquet.Value, 4), make([]byte, 84)
	var written int64
	for i := range rows {
		pgbenchRow(row, buf, i)
		if err := fw.WriteRow(row); err != nil {
			t.Fatal(err)
		}
		if b := fw.BufferedBytes(); b >= limit || b < 0 {
			t.Fatalf("row %d: BufferedBytes() = %d, want under %d", i, b, limit)
		}
		if w := fw.WrittenBytes(); w < written {
			t.Fatalf("row %d: WrittenBytes() went from %d down to %d", i, written, w)
		} else {
			written = w
		}
		if fw.EstimatedSize() < fw.WrittenBytes() {
			t.Fatalf("row %d: EstimatedSize() %d below WrittenBytes() %d", i, fw.EstimatedSize(), fw.WrittenBytes())
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	groups := db.Rows(`SELECT row_group_id, any_value(row_group_num_rows), sum(total_uncompressed_size)
		FROM parquet_metadata(?) GROUP BY row_group_id ORDER BY row_group_id`, path)
	// 200k rows of about 100 bytes is about 20 MB: some 75 groups of 256 KiB.
	if len(groups) < 50 {
		t.Errorf("%d row groups, want about 75", len(groups))
	}
	var total int64
	for _, g := range groups {
		total += duckcheck.ToInt(g[1])
		if size := duckcheck.ToInt(g[2]); size > limit*5/4 {
			t.Errorf("row group %v: %d bytes uncompressed, want about %d", g[0], size, limit)
		}
	}
	if total != rows {
		t.Errorf("row groups hold %d rows, want %d", total, rows)
	}
	if got := db.Int(`SELECT count(*) FROM read_parquet(?)`, path); got != rows {
		t.Errorf("DuckDB reads %d rows, want %d", got, rows)
	}
	if got := db.Int(`SELECT count(abalance) FROM read_parquet(?)`, path); got != rows-rows/1000 {
		t.Errorf("count(abalance) = %d, want %d", got, rows-rows/1000)
	}
	if bad := db.Int(`SELECT count(*) FROM read_parquet(?, file_row_number=true) WHERE aid <> file_row_number + 1`, path); bad != 0 {
		t.Errorf("%d rows out of place", bad)
	}
}

// TestMemoryFlat measures the live heap while writing: it must not grow
// with the number of rows written.
func TestMemoryFlat(t *testing.T) {
	const limit = 512 << 10
	fw, err := writer.NewFileWriter(&countingDiscard{}, pgbenchColumns, writer.Options{Codec: writer.Snappy, RowGroupBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	row, buf := make([]parquet.Value, 4), make([]byte, 84)
	var first uint64
	const rows = 200_000 // about 20 MB of values
	for i := range rows {
		pgbenchRow(row, buf, i)
		if err := fw.WriteRow(row); err != nil {
			t.Fatal(err)
		}
		if i == rows/10 {
			first = heap()
		}
	}
	last := heap()
	if last > first && last-first > 4<<20 {
		t.Errorf("live heap grew by %d bytes from row %d to row %d; want it flat", last-first, rows/10, rows)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHugeValuesCopiedOnce writes values of 8 MiB, in pages of their own
// and among small rows, through one buffer the test overwrites after every
// row, as a driver reuses its read buffer. A huge value must reach the file
// intact, and cost only the library's column buffer, its encoded page and
// that page with its levels: no copy in the writer's own batch, and no
// second copy of a page holding one value (parquet-go's unordered-page
// path). Every allocation is recorded with its stack (MemProfileRate 1),
// so the count does not depend on what the library's pools happen to hold
// (the race detector empties them at random).
func TestHugeValuesCopiedOnce(t *testing.T) {
	const huge, rows = 8 << 20, 12
	cols := []writer.Column{
		{Name: "id", Target: typemap.Target{Kind: typemap.Int32}, SourceType: "integer"},
		{Name: "body", Target: typemap.Target{Kind: typemap.String}, SourceType: "text"},
		{Name: "raw", Target: typemap.Target{Kind: typemap.Binary}, SourceType: "bytea"},
	}
	path := filepath.Join(t.TempDir(), "huge.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := writer.NewFileWriter(f, cols, writer.Options{RowGroupBytes: 4 << 20, PageBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, huge)
	row := make([]parquet.Value, 3)
	var hugeBytes uint64
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	before := allocationsBySite()
	for i := range rows {
		// Rows 0, 3, 6, 9 are huge in body, 1, 4, 7, 10 in raw; the others
		// are small, so huge values come both alone and after small ones.
		for j := range buf {
			buf[j] = 'a' + byte(i)
		}
		small := buf[:10]
		row[0] = parquet.Int32Value(int32(i))
		row[1], row[2] = parquet.ByteArrayValue(small), parquet.NullValue()
		switch i % 3 {
		case 0:
			row[1] = parquet.ByteArrayValue(buf)
			hugeBytes += huge
		case 1:
			row[2] = parquet.ByteArrayValue(buf)
			hugeBytes += huge
		}
		if err := fw.WriteRow(row); err != nil {
			t.Fatal(err)
		}
		clear(buf) // the caller's buffer is reused after WriteRow
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	after := allocationsBySite()
	own := after.own - before.own
	pageCopies := after.onePageCopy - before.onePageCopy
	t.Logf("%d MiB of huge values: %d KiB allocated by the writer itself, %d KiB copying one-value pages, %d MiB in all",
		hugeBytes>>20, own>>10, pageCopies>>10, (after.all-before.all)>>20)
	if own > 1<<20 {
		t.Errorf("the writer allocated %d MiB itself writing %d MiB of huge values: it copies them", own>>20, hugeBytes>>20)
	}
	if pageCopies > 1<<20 {
		t.Errorf("%d MiB allocated copying pages of one value (parquet-go's byteArrayColumnBuffer.page)", pageCopies>>20)
	}

	db := duckcheck.Open(t)
	got := db.Rows(`SELECT id, length(body), left(body, 1), right(body, 1), octet_length(raw), left(raw::varchar, 1), right(raw::varchar, 1)
		FROM read_parquet(?) ORDER BY id`, path)
	if len(got) != rows {
		t.Fatalf("DuckDB reads %d rows, want %d", len(got), rows)
	}
	for i, r := range got {
		c := string(rune('a' + i))
		want := []any{int64(i), int64(10), c, c, nil, nil, nil}
		switch i % 3 {
		case 0:
			want[1] = int64(huge)
		case 1:
			want[1], want[4], want[5], want[6] = nil, int64(huge), c, c
			want[2], want[3] = nil, nil
		}
		if i%3 == 1 {
			want[1], want[2], want[3] = int64(10), c, c
		}
		if fmt.Sprint(r) != fmt.Sprint(want) {
			t.Errorf("row %d: DuckDB reads %v, want %v", i, r, want)
		}
	}
}

// allocationSites sums the bytes allocated so far: by the writer's own code
// (the first frame outside the runtime is in package writer), in
// parquet-go's copy of an unordered byte-array page, and in all.
type allocationSites struct{ own, onePageCopy, all uint64 }

func allocationsBySite() allocationSites {
	// The profile is as of the last collection but one.
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	var s allocationSites
	for _, r := range recs {
		bytes := uint64(r.AllocBytes)
		s.all += bytes
		frames := runtime.CallersFrames(r.Stack())
		first := true
		for {
			f, more := frames.Next()
			if first && !strings.HasPrefix(f.Function, "runtime.") && !strings.HasPrefix(f.Function, "internal/") {
				first = false
				if strings.HasPrefix(f.Function, "github.com/snapexport/snapexport/writer.") {
					s.own += bytes
				}
			}
			if strings.Contains(f.Function, "(*byteArrayColumnBuffer).page") {
				s.onePageCopy += bytes
				break
			}
			if !more {
				break
			}
		}
	}
	return s
}
