package pgsource_test

import (
	"context"
	"strings"
	"testing"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/sourcetest"
)

// TestKeyQuantiles: boundaries from a sample cut a skewed key (two dense
// clusters far apart, and NULLs) into ranges of similar size, and the
// ranges they make read every row once.
func TestKeyQuantiles(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".skewed (id bigint PRIMARY KEY, k bigint UNIQUE, pad text)")
	mustExec(t, pool, "INSERT INTO "+s+".skewed SELECT g, CASE WHEN g % 2 = 0 THEN g ELSE 1000000000000 + g END, repeat('x', 100) FROM generate_series(1, 200000) g")
	mustExec(t, pool, "INSERT INTO "+s+".skewed SELECT g, NULL, 'null key' FROM generate_series(200001, 200100) g")
	mustExec(t, pool, "ANALYZE "+s+".skewed")
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	tb := tables["skewed"]
	ks := snap.(source.KeySampler)

	for _, column := range []string{"id", "k"} {
		bounds, err := ks.KeyQuantiles(context.Background(), tb, column, 4)
		if err != nil {
			t.Fatalf("KeyQuantiles(%s): %v", column, err)
		}
		if len(bounds) != 3 {
			t.Fatalf("KeyQuantiles(%s, 4) = %v, want 3 boundaries", column, bounds)
		}
		var lower *int64
		seen := map[int32]int{}
		for i := 0; i <= len(bounds); i++ {
			var upper *int64
			if i < len(bounds) {
				upper = &bounds[i]
			}
			req := rdsRequest(t, tb)
			req.Range = &source.KeyRange{Column: column, Lower: lower, Upper: upper, IncludeNull: i == 0}
			rows := scanAll(t, snap, req)
			nonNull := 0
			for _, r := range rows {
				seen[int32(r[0].Int64())]++
				if !r[1].IsNull() || column == "id" {
					nonNull++
				}
			}
			// Four ranges of 50,000 keys each, give or take the sample's error.
			if nonNull < 40000 || nonNull > 60000 {
				t.Errorf("column %s range %d of %v holds %d keys, want about 50000", column, i, bounds, nonNull)
			}
			lower = upper
		}
		if len(seen) != 200100 {
			t.Errorf("column %s: the ranges read %d distinct rows, want 200100", column, len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("column %s: row %d read %d times", column, id, n)
				break
			}
		}
	}
	if b, err := ks.KeyQuantiles(context.Background(), tb, "id", 1); err != nil || b != nil {
		t.Errorf("KeyQuantiles(n=1) = %v, %v; want nothing", b, err)
	}
}

// TestBlockRanges: page ranges that tile the table read every row once, as
// of the snapshot, also after updates moved rows to new pages.
func TestBlockRanges(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, "CREATE TABLE "+s+".heap (id int, pad text)")
	mustExec(t, pool, "INSERT INTO "+s+".heap SELECT g, repeat('y', 200) FROM generate_series(1, 30000) g")
	mustExec(t, pool, "CREATE TABLE "+s+".parted (id int) PARTITION BY RANGE (id)")
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	tb := tables["heap"]
	if !snap.(source.BlockScanner).ScansBlocks() {
		t.Fatal("ScansBlocks() is false on PostgreSQL 14+")
	}
	if tb.Pages < 100 || tb.Key != nil {
		t.Fatalf("heap: Pages %d, Key %v; want ~900 pages and no key", tb.Pages, tb.Key)
	}
	// Rows updated after the snapshot get new versions on other pages.
	mustExec(t, pool, "UPDATE "+s+".heap SET pad = 'moved' WHERE id % 10 = 0")
	p := func(v uint32) *uint32 { return &v }
	third := uint32(tb.Pages / 3)
	plan := []source.BlockRange{{Lower: 0, Upper: p(third)}, {Lower: third, Upper: p(2 * third)}, {Lower: 2 * third}}
	seen := map[int32]int{}
	for _, br := range plan {
		req := rdsRequest(t, tb)
		req.Blocks = &br
		rows := scanAll(t, snap, req)
		if len(rows) < 5000 {
			t.Errorf("pages %d-%v hold %d rows, want about 10000", br.Lower, br.Upper, len(rows))
		}
		for _, r := range rows {
			seen[r[0].Int32()]++
			if string(r[1].ByteArray()) == "moved" {
				t.Fatalf("a row updated after the snapshot was read")
			}
		}
	}
	if len(seen) != 30000 {
		t.Errorf("the page ranges read %d distinct rows, want 30000", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %d read %d times", id, n)
		}
	}
	// Page and key ranges combine.
	req := rdsRequest(t, tb)
	req.Blocks = &plan[0]
	ten := int64(10)
	req.Table.Key = &source.Key{Column: "id", Integer: true}
	req.Range = &source.KeyRange{Column: "id", Upper: &ten}
	if n := len(scanAll(t, snap, req)); n != 9 {
		t.Errorf("pages 0-%d and id < 10: %d rows, want 9", third, n)
	}
	// A partitioned table has no pages of its own.
	preq := rdsRequest(t, tables["parted"])
	preq.Blocks = &plan[0]
	if _, err := sourcetest.ReadAll(context.Background(), snap, preq); err == nil || !strings.Contains(err.Error(), "partitioned") {
		t.Errorf("page range on a partitioned table: %v, want an error", err)
	}
}
