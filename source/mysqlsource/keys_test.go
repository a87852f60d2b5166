package mysqlsource

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

func TestEvenBounds(t *testing.T) {
	if got := evenBounds(0, 100, 4); !slices.Equal(got, []int64{25, 50, 75}) {
		t.Errorf("evenBounds(0, 100, 4) = %v", got)
	}
	got := evenBounds(math.MinInt64, math.MaxInt64, 4)
	if len(got) != 3 || !slices.IsSorted(got) || got[1] != -1 {
		t.Errorf("evenBounds over all of int64 = %v", got)
	}
}

// partSizes plans t with the package partition planner and this snapshot
// as KeySampler, scans every part, and returns the rows each read and the
// keys of all parts together.
func partSizes(t *testing.T, snap *Snapshot, tb source.Table, workers int) ([]int, []int64) {
	t.Helper()
	parts, err := plan.Table(context.Background(), snap, tb, plan.Options{Workers: workers, MinSplitBytes: 1, TargetPartBytes: 1 << 40})
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	var keys []int64
	col := source.ScanColumn{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}}
	for _, p := range parts {
		rows, _ := scanAll(t, snap, source.ScanRequest{Table: tb, Range: p.Range, Columns: []source.ScanColumn{col}})
		sizes = append(sizes, len(rows))
		for _, r := range rows {
			keys = append(keys, r[0].Int64())
		}
	}
	slices.Sort(keys)
	return sizes, keys
}

// TestKeyQuantiles: the planner splits a table on its key with this
// snapshot's quantiles into parts of similar size, also when the key is
// skewed (evenly spaced boundaries would put nearly every row in one
// part), and the parts read every row exactly once.
func TestKeyQuantiles(t *testing.T) {
	admin := adminDB(t)
	dense, skewed := uniqueName(t, "q_dense"), uniqueName(t, "q_skew")
	createTable(t, admin, dense, "(id BIGINT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(dense)+" SELECT seq, 0 FROM seq_1_to_40000")
	createTable(t, admin, skewed, "(id BIGINT NOT NULL PRIMARY KEY, v INT) ENGINE=InnoDB")
	// 36000 keys packed at the bottom, 4000 spread over a huge range.
	mustExec(t, admin, "INSERT INTO "+quoteIdent(skewed)+" SELECT seq, 0 FROM seq_1_to_36000",
		"INSERT INTO "+quoteIdent(skewed)+" SELECT seq * 1000000000000, 0 FROM seq_1_to_4000")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	for _, name := range []string{dense, skewed} {
		tb := table(t, snap, name)
		sizes, keys := partSizes(t, snap, tb, 4) // at least one part per worker
		if len(sizes) < 3 {
			t.Errorf("%s: %d parts, want the table split", name, len(sizes))
		}
		if len(keys) != 40000 || len(slices.Compact(slices.Clone(keys))) != 40000 {
			t.Fatalf("%s: the parts read %d rows (duplicates or gaps)", name, len(keys))
		}
		for _, n := range sizes {
			if n > 40000*2/len(sizes) {
				t.Errorf("%s: part sizes %v, one holds over twice its share", name, sizes)
				break
			}
		}
		t.Logf("%s: part sizes %v", name, sizes)
	}
}

// TestKeyQuantilesUnsignedAndEmpty: BIGINT UNSIGNED keys beyond MaxInt64
// and an empty table.
func TestKeyQuantilesUnsignedAndEmpty(t *testing.T) {
	admin := adminDB(t)
	u, empty := uniqueName(t, "q_unsigned"), uniqueName(t, "q_empty")
	createTable(t, admin, u, "(id BIGINT UNSIGNED NOT NULL PRIMARY KEY)")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(u)+" SELECT seq FROM seq_1_to_3000",
		"INSERT INTO "+quoteIdent(u)+" SELECT 18446744073709551615 - seq FROM seq_0_to_999")
	createTable(t, admin, empty, "(id INT NOT NULL PRIMARY KEY)")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tb := table(t, snap, u)
	bounds, err := snap.KeyQuantiles(context.Background(), tb, "id", 4)
	if err != nil || len(bounds) == 0 || !slices.IsSorted(bounds) || bounds[0] <= 0 {
		t.Fatalf("unsigned key: %v, %v", bounds, err)
	}
	// Ranges from the bounds, the last open-ended, read all 4000 rows once.
	target, _ := typemap.RDS().Map(src.Engine(), "", tb.Columns[0])
	total := 0
	var lower *int64
	for i := 0; i <= len(bounds); i++ {
		var upper *int64
		if i < len(bounds) {
			upper = &bounds[i]
		}
		rows, _ := scanAll(t, snap, source.ScanRequest{Table: tb, Range: &source.KeyRange{Column: "id", Lower: lower, Upper: upper, IncludeNull: i == 0},
			Columns: []source.ScanColumn{{Column: tb.Columns[0], Target: target}}})
		total += len(rows)
		lower = upper
	}
	if total != 4000 {
		t.Errorf("ranges read %d rows, want 4000", total)
	}
	eb, err := snap.KeyQuantiles(context.Background(), table(t, snap, empty), "id", 4)
	if err != nil || len(eb) != 0 {
		t.Errorf("empty table: %v, %v", eb, err)
	}
	// A column that is not the key: bounds read in the snapshot.
	if b, err := snap.KeyQuantiles(context.Background(), source.Table{Database: tb.Database, Schema: tb.Schema, Name: tb.Name}, "id", 2); err != nil || len(b) != 1 {
		t.Errorf("without Table.Key: %v, %v", b, err)
	}
}

// TestKeyQuantilesCompositeAndNullable: an integer key that leads a
// composite primary key (its values repeat; the estimates come through the
// index prefix), and a nullable unique integer key (its NULLs go to the
// first range): the planner splits both, and the parts read every row once.
func TestKeyQuantilesCompositeAndNullable(t *testing.T) {
	admin := adminDB(t)
	composite, nullable := uniqueName(t, "q_comp"), uniqueName(t, "q_null")
	createTable(t, admin, composite, "(a BIGINT NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b)) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(composite)+" SELECT seq DIV 3, seq % 3 FROM seq_3_to_30002")
	createTable(t, admin, nullable, "(a BIGINT NULL, b INT NOT NULL, UNIQUE KEY ua (a)) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(nullable)+" SELECT IF(seq % 10 = 0, NULL, seq), seq FROM seq_1_to_30000")
	for _, name := range []string{composite, nullable} {
		mustExec(t, admin, "ANALYZE TABLE "+quoteIdent(name))
	}
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	for _, name := range []string{composite, nullable} {
		tb := table(t, snap, name)
		if tb.Key == nil || tb.Key.Column != "a" || !tb.Key.Integer {
			t.Fatalf("%s: key %+v, want the integer column a", name, tb.Key)
		}
		parts, err := plan.Table(context.Background(), snap, tb, plan.Options{Workers: 4, MinSplitBytes: 1, TargetPartBytes: 1 << 40})
		if err != nil || len(parts) < 3 {
			t.Fatalf("%s: %d parts, %v", name, len(parts), err)
		}
		cols := []source.ScanColumn{{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}},
			{Column: tb.Columns[1], Target: typemap.Target{Kind: typemap.Int64}}}
		seen := map[[2]int64]int{}
		var sizes []int
		for _, p := range parts {
			rows, _ := scanAll(t, snap, source.ScanRequest{Table: tb, Range: p.Range, Columns: cols})
			sizes = append(sizes, len(rows))
			for _, r := range rows {
				a := int64(-1) // NULL
				if !r[0].IsNull() {
					a = r[0].Int64()
				}
				seen[[2]int64{a, r[1].Int64()}]++
			}
		}
		total := 0
		for row, n := range seen {
			if n != 1 {
				t.Errorf("%s: row %v read %d times", name, row, n)
			}
			total += n
		}
		if total != 30000 {
			t.Errorf("%s: the parts read %d rows, want 30000", name, total)
		}
		t.Logf("%s: part sizes %v", name, sizes)
	}
}
