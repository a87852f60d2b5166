package mysqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// stringKeyCase is a table whose key k is a string column: rid numbers its
// rows (not indexed, so it is never the key), fill inserts them (%s is the
// quoted table name).
type stringKeyCase struct {
	name, def string
	fill      []string
	// even: k is unique, so every part must hold about its share.
	even bool
}

// Values whose order under the column's collation differs from their byte
// order: case and accents ('a' = 'Á' = 'á' under _general_ci), German ß
// (= 'ss' under _unicode_ci), Swedish ü (= 'y' under latin1_swedish_ci),
// emoji (4-byte UTF-8; all equal under utf8mb4_general_ci), UTF-16, control
// characters that sort below the pad space, trailing spaces (ignored under
// PAD SPACE collations, significant under NO PAD), 0x00 and 0xff bytes.
var stringKeyCases = []stringKeyCase{
	{name: "general_ci", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY)", even: true,
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT(ELT(1 + seq % 8, 'a', 'Á', 'b', 'É', 'z', 'ß', 'Ö', 'o'), seq) FROM seq_1_to_4000"}},
	{name: "bin", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY)", even: true,
		// 'a17' and 'A17', 'é17' and 'É17': keys that differ only in case.
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT(ELT(1 + seq % 4, 'a', 'A', 'é', 'É'), seq DIV 4) FROM seq_1_to_4000"}},
	{name: "unicode_ci", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY)", even: true,
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT(ELT(1 + seq % 6, 'ss', 'ß', 'æ', 'ae', 'Ø', 'o'), seq) FROM seq_1_to_4000"}},
	{name: "latin1_swedish_ci", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL PRIMARY KEY)", even: true,
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT(ELT(1 + seq % 7, 'y', 'ü', 'å', 'ä', 'ö', 'z', 'Y'), seq) FROM seq_1_to_4000"}},
	{name: "pad_space", def: "(rid INT NOT NULL, k VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY)", even: true,
		// 'k5', 'k5\t', 'k5 \t', 'k5\n', each with 0 to 2 trailing spaces:
		// distinct under PAD SPACE, where a tab sorts below the padding.
		fill: []string{`INSERT INTO %s SELECT seq, CONCAT('k', seq DIV 4, ELT(1 + seq % 4, '', '\t', ' \t', '\n'), REPEAT(' ', seq % 3)) FROM seq_1_to_4000`}},
	{name: "char_pad", def: "(rid INT NOT NULL, k CHAR(12) CHARACTER SET latin1 COLLATE latin1_general_cs NOT NULL PRIMARY KEY)", even: true,
		fill: []string{`INSERT INTO %s SELECT seq, CONCAT(ELT(1 + seq % 3, ' ', 'x', 'X'), seq, ELT(1 + seq % 2, '', '\t')) FROM seq_1_to_4000`}},
	{name: "no_pad", def: "(rid INT NOT NULL, k VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY)", even: true,
		// 'k5', 'k5 ', 'k5  ': three keys under NO PAD.
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT('k', seq DIV 3, REPEAT(' ', seq % 3)) FROM seq_1_to_4000"}},
	{name: "varbinary", def: "(rid INT NOT NULL, k VARBINARY(8) NOT NULL PRIMARY KEY)", even: true,
		// seq*7919 mod 65536 is one-to-one: two bytes each, 0x00 and 0xff
		// among them; and the empty value, runs of 0x00 and of 0xff.
		fill: []string{"INSERT INTO %s SELECT seq, UNHEX(LPAD(HEX(seq * 7919 % 65536), 4, '0')) FROM seq_1_to_4000",
			"INSERT INTO %s VALUES (100001, X''), (100002, X'00'), (100003, X'0000'), (100004, X'ff'), (100005, X'ffff'), (100006, X'ffffff'), (100007, X'00ff00')"}},
	{name: "binary", def: "(rid INT NOT NULL, k BINARY(3) NOT NULL PRIMARY KEY)", even: true,
		fill: []string{"INSERT INTO %s SELECT seq, UNHEX(LPAD(HEX(seq * 7919 % 65536), 4, '0')) FROM seq_1_to_4000",
			"INSERT INTO %s VALUES (100001, X''), (100004, X'ff'), (100006, X'ffffff')"}},
	{name: "emoji", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci NOT NULL PRIMARY KEY)", even: true,
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT(CONVERT(CHAR(0x1F600 + seq % 80 USING utf32) USING utf8mb4), seq) FROM seq_1_to_4000"}},
	{name: "utf16", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET utf16 COLLATE utf16_unicode_ci NOT NULL PRIMARY KEY)", even: true,
		// Bytes that are not UTF-8 at all: the bounds are UTF-16.
		fill: []string{"INSERT INTO %s SELECT seq, CONCAT(ELT(1 + seq % 5, 'a', 'Á', 'ß', '😀', 'Z'), seq) FROM seq_1_to_4000"}},
	{name: "nullable", def: "(rid INT NOT NULL, k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NULL, UNIQUE KEY uk (k))", even: true,
		fill: []string{"INSERT INTO %s SELECT seq, IF(seq % 10 = 0, NULL, CONCAT(ELT(1 + seq % 4, 'a', 'Á', 'b', 'É'), seq)) FROM seq_1_to_4000"}},
	{name: "composite", def: "(k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL, rid INT NOT NULL, PRIMARY KEY (k, rid))",
		// 37 values under the collation, each spelled several ways ('a5',
		// 'A5', 'á5', 'Ä5', with or without one of 50 emoji, which
		// utf8mb4_general_ci does not tell apart).
		fill: []string{"INSERT INTO %s SELECT CONCAT(ELT(1 + seq % 4, 'a', 'A', 'á', 'Ä'), seq % 37, IF(seq % 3 = 0, CONVERT(CHAR(0x1F600 + seq % 50 USING utf32) USING utf8mb4), '')), seq FROM seq_1_to_4000"}},
}

// fillSQL puts the quoted table name in one of stringKeyCases' fill
// statements.
func fillSQL(f, table string) string {
	return strings.Replace(f, "%s", quoteIdent(table), 1)
}

// keyRanges cuts a table at bounds as the planner does: the first range
// with the NULL keys, half-open ranges, the last open-ended.
func keyRanges(bounds [][]byte) []source.KeyRange {
	out := make([]source.KeyRange, len(bounds)+1)
	for i := range out {
		out[i] = source.KeyRange{Column: "k", IncludeNull: i == 0}
		if i > 0 {
			out[i].LowerBytes = bounds[i-1]
		}
		if i < len(bounds) {
			out[i].UpperBytes = bounds[i]
		}
	}
	return out
}

// keyRanks maps each row's rid to the rank of its key in the column's
// collation (DENSE_RANK: keys equal under the collation share a rank; NULL
// ranks first).
func keyRanks(t *testing.T, db *sql.DB, table string) map[int64]int64 {
	t.Helper()
	rows, err := db.Query("SELECT rid, DENSE_RANK() OVER (ORDER BY k) FROM " + quoteIdent(table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var rid, rank int64
		if err := rows.Scan(&rid, &rank); err != nil {
			t.Fatal(err)
		}
		out[rid] = rank
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkParts says how parts (the rids each range read, in range order) fail
// to read every row exactly once in key order: each row once, none
// missing, and every key of a part sorting after every key of the parts
// before it in the column's collation (so keys equal under the collation
// are in one part). A range that returns a row outside its bounds fails
// one of these.
func checkParts(parts [][]int64, rank map[int64]int64) error {
	seen := map[int64]int{}
	var problems []string
	prevMax, prevPart := int64(0), -1
	for i, p := range parts {
		lo, hi := int64(1<<62), int64(0)
		for _, rid := range p {
			seen[rid]++
			r, ok := rank[rid]
			if !ok {
				problems = append(problems, fmt.Sprintf("part %d read row %d, which the table does not hold", i, rid))
				continue
			}
			lo, hi = min(lo, r), max(hi, r)
		}
		if len(p) == 0 {
			continue
		}
		if lo <= prevMax {
			problems = append(problems, fmt.Sprintf("part %d holds a key of rank %d, not after part %d's largest (rank %d)", i, lo, prevPart, prevMax))
		}
		prevMax, prevPart = hi, i
	}
	for rid := range rank {
		if seen[rid] != 1 {
			problems = append(problems, fmt.Sprintf("row %d read %d times", rid, seen[rid]))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%d problems: %s", len(problems), strings.Join(problems[:min(len(problems), 8)], "; "))
	}
	return nil
}

// sessionPool is a pool on the test database whose connections use
// charset and collation (DSN parameters), not those of any key column.
func sessionPool(t *testing.T, charset, collation string) *sql.DB {
	t.Helper()
	cfg := serverConfig(t)
	if err := cfg.Apply(mysql.Charset(charset, collation)); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var got string
	if err := db.QueryRow("SELECT @@collation_connection").Scan(&got); err != nil || got != collation {
		t.Fatalf("session collation %q, %v; want %q", got, err, collation)
	}
	return db
}

// TestStringKeyRanges: for every string key of stringKeyCases and n from 2
// to 16, the ranges cut at KeyBoundaries' values read every row exactly
// once, in the column's collation order (checkParts), with parts of similar
// size where the key is unique. The same ranges' conditions, run on
// sessions of other character sets and collations, select the same rows:
// the bound literals do not depend on the session.
func TestStringKeyRanges(t *testing.T) {
	ctx := context.Background()
	admin := adminDB(t)
	base := uniqueName(t, "skey")
	var names []string
	for _, c := range stringKeyCases {
		name := base + "_" + c.name
		names = append(names, name)
		createTable(t, admin, name, c.def+" ENGINE=InnoDB")
		for _, f := range c.fill {
			mustExec(t, admin, fillSQL(f, name))
		}
		mustExec(t, admin, "ANALYZE TABLE "+quoteIdent(name))
	}
	sessions := map[string]*sql.DB{
		"latin1_german1_ci": sessionPool(t, "latin1", "latin1_german1_ci"),
		"utf8mb4_bin":       sessionPool(t, "utf8mb4", "utf8mb4_bin"),
		"sjis_japanese_ci":  sessionPool(t, "sjis", "sjis_japanese_ci"),
	}
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tables, _, err := snap.Tables(ctx, only(names...))
	if err != nil || len(tables) != len(names) {
		t.Fatalf("Tables: %d tables, %v", len(tables), err)
	}
	for i, c := range stringKeyCases {
		tb := tables[slices.IndexFunc(tables, func(x source.Table) bool { return x.Name == names[i] })]
		t.Run(c.name, func(t *testing.T) {
			if tb.Key == nil || tb.Key.Column != "k" || tb.Key.Integer {
				t.Fatalf("Table.Key = %+v, want the string column k", tb.Key)
			}
			sk, err := snap.stringKey(ctx, tb, "k")
			if err != nil {
				t.Fatal(err)
			}
			rank := keyRanks(t, admin, tb.Name)
			var nulls int
			if err := admin.QueryRow("SELECT COUNT(*) FROM " + quoteIdent(tb.Name) + " WHERE k IS NULL").Scan(&nulls); err != nil {
				t.Fatal(err)
			}
			ridCol := source.ScanColumn{Column: tb.Columns[slices.IndexFunc(tb.Columns, func(c source.Column) bool { return c.Name == "rid" })],
				Target: typemap.Target{Kind: typemap.Int64}}
			for _, n := range []int{2, 3, 5, 8, 16} {
				bounds, err := snap.KeyBoundaries(ctx, tb, "k", n)
				if err != nil {
					t.Fatalf("KeyBoundaries(%d): %v", n, err)
				}
				if len(bounds) > n-1 || len(bounds) < (n-1)/2 {
					t.Errorf("n=%d: %d boundaries, want %d or a few less", n, len(bounds), n-1)
				}
				// Strictly ascending in the column's collation.
				for j := 1; j < len(bounds); j++ {
					var less bool
					q := "SELECT " + sk.literal(bounds[j-1]) + " < " + sk.literal(bounds[j])
					if err := admin.QueryRow(q).Scan(&less); err != nil || !less {
						t.Errorf("n=%d: boundary %d (%q) does not sort after %q: %v", n, j, bounds[j], bounds[j-1], err)
					}
				}
				ranges := keyRanges(bounds)
				parts := ridsPerRange(t, snap, tb, ridCol, ranges)
				if err := checkParts(parts, rank); err != nil {
					t.Fatalf("n=%d, bounds %q: %v", n, bounds, err)
				}
				if c.even {
					// KeyBoundaries splits the non-NULL keys; the NULLs
					// are all in the first part, on top of its share.
					sizes := partLens(parts)
					sizes[0] -= nulls
					for _, size := range sizes {
						if size > 2*(len(rank)-nulls)/len(parts) {
							t.Errorf("n=%d: part sizes %v, one holds over twice its share", n, partLens(parts))
							break
						}
					}
				}
				for name, db := range sessions {
					for j, r := range ranges {
						var count int
						cond := byteRangeCondition(r, sk)
						if cond == "" {
							cond = "TRUE"
						}
						if err := db.QueryRow("SELECT COUNT(*) FROM " + quoteIdent(tb.Name) + " WHERE " + cond).Scan(&count); err != nil {
							t.Fatalf("session %s: %v", name, err)
						}
						if count != len(parts[j]) {
							t.Errorf("n=%d: range %d counts %d rows in a %s session, the snapshot's scan read %d", n, j, count, name, len(parts[j]))
						}
					}
				}
				if n == 8 {
					t.Logf("n=%d: part sizes %v", n, partLens(parts))
				}
			}
		})
	}
}

func partLens(parts [][]int64) []int {
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i] = len(p)
	}
	return out
}

// TestCheckPartsCatchesByteOrder: ranges cut at the same boundaries but
// compared byte by byte (what bounds taken out of the column's collation
// would do) read each row once, yet in an order the collation does not
// have; checkParts must say so, or TestStringKeyRanges proves nothing.
func TestCheckPartsCatchesByteOrder(t *testing.T) {
	ctx := context.Background()
	admin := adminDB(t)
	name := uniqueName(t, "skey_bytes")
	c := stringKeyCases[0] // utf8mb4_general_ci
	createTable(t, admin, name, c.def)
	mustExec(t, admin, fillSQL(c.fill[0], name), "ANALYZE TABLE "+quoteIdent(name))
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	bounds, err := snap.KeyBoundaries(ctx, tb, "k", 8)
	if err != nil || len(bounds) < 4 {
		t.Fatalf("KeyBoundaries: %q, %v", bounds, err)
	}
	var parts [][]int64
	for _, r := range keyRanges(bounds) {
		cond := byteRangeCondition(r, stringKey{}) // binary literals
		cond = strings.ReplaceAll(cond, "`k` ", "CAST(`k` AS BINARY) ")
		rows, err := admin.Query("SELECT rid FROM " + quoteIdent(name) + " WHERE " + cond)
		if err != nil {
			t.Fatal(err)
		}
		var p []int64
		for rows.Next() {
			var rid int64
			rows.Scan(&rid)
			p = append(p, rid)
		}
		rows.Close()
		parts = append(parts, p)
	}
	err = checkParts(parts, keyRanks(t, admin, name))
	if err == nil {
		t.Fatalf("byte-order ranges over a utf8mb4_general_ci key passed the check: %v", err)
	}
	t.Logf("byte-order ranges: %v", err)
}

// TestKeyBoundariesEstimates: the walk adapts when the row estimate is
// wrong (none, far too high, far too low): the boundaries still split the
// table into parts of similar size, read exactly once. The planner cuts
// the table at them.
func TestKeyBoundariesEstimates(t *testing.T) {
	ctx := context.Background()
	admin := adminDB(t)
	name := uniqueName(t, "skey_est")
	c := stringKeyCases[0]
	createTable(t, admin, name, c.def)
	mustExec(t, admin, fillSQL(strings.ReplaceAll(c.fill[0], "4000", "20000"), name), "ANALYZE TABLE "+quoteIdent(name))
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 2)
	tb := table(t, snap, name)
	rank := keyRanks(t, admin, name)
	ridCol := source.ScanColumn{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}}
	for _, est := range []int64{0, 1, 200, 20000, 2_000_000} {
		tb.EstimatedRows = est
		bounds, err := snap.KeyBoundaries(ctx, tb, "k", 8)
		if err != nil || len(bounds) < 5 || len(bounds) > 7 {
			t.Errorf("estimate %d: %d boundaries, %v; want about 7", est, len(bounds), err)
			continue
		}
		ranges := keyRanges(bounds)
		if est == 20000 {
			// As the exporter would: the planner cuts the table.
			tb.EstimatedBytes = 1 << 30
			parts, err := plan.Table(ctx, snap, tb, plan.Options{Workers: 8, MinSplitBytes: 1, TargetPartBytes: 1 << 40})
			if err != nil || len(parts) != len(bounds)+1 {
				t.Fatalf("plan of %d parts, %v; want %d", len(parts), err, len(bounds)+1)
			}
			ranges = ranges[:0]
			for j, p := range parts {
				if p.Range == nil || p.Batch != 1 || p.Index != j {
					t.Fatalf("part %+v", p)
				}
				ranges = append(ranges, *p.Range)
			}
		}
		parts := ridsPerRange(t, snap, tb, ridCol, ranges)
		if err := checkParts(parts, rank); err != nil {
			t.Fatalf("estimate %d: %v", est, err)
		}
		for _, p := range parts {
			if len(p) > 2*len(rank)/len(parts) {
				t.Errorf("estimate %d: part sizes %v, one holds over twice its share", est, partLens(parts))
				break
			}
		}
		t.Logf("estimate %d: part sizes %v", est, partLens(parts))
	}
	// A column that is not a string cannot be bounded by bytes.
	if _, err := snap.KeyBoundaries(ctx, tb, "rid", 4); err == nil || !strings.Contains(err.Error(), "integer key") {
		t.Errorf("KeyBoundaries on an INT column: %v", err)
	}
	if _, err := snap.Scan(ctx, source.ScanRequest{Table: tb, Columns: []source.ScanColumn{ridCol},
		Range: &source.KeyRange{Column: "rid", LowerBytes: []byte("1")}}); err == nil {
		t.Errorf("byte bounds on an INT column scanned")
	}
}

// TestKeyBoundariesSmallTables: an empty table, one of NULL keys only, and
// tables of fewer rows than parts.
func TestKeyBoundariesSmallTables(t *testing.T) {
	ctx := context.Background()
	admin := adminDB(t)
	name := uniqueName(t, "skey_small")
	createTable(t, admin, name, "(rid INT NOT NULL, k VARCHAR(10) NULL, UNIQUE KEY uk (k))")
	src := openTestSource(t, Options{})
	check := func(what string, wantMax int) {
		t.Helper()
		snap := snapshotOf(t, src, 1)
		tb := table(t, snap, name)
		tb.EstimatedRows = 1000 // as stale statistics may say
		bounds, err := snap.KeyBoundaries(ctx, tb, "k", 16)
		if err != nil || len(bounds) > wantMax {
			t.Fatalf("%s: %q, %v", what, bounds, err)
		}
		ridCol := source.ScanColumn{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}}
		parts := ridsPerRange(t, snap, tb, ridCol, keyRanges(bounds))
		if err := checkParts(parts, keyRanks(t, admin, name)); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	check("empty", 0)
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" VALUES (1, NULL), (2, NULL)")
	check("NULL keys only", 0)
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" VALUES (3, ''), (4, 'b'), (5, 'a')")
	check("three keys", 2)
}

// TestKeyBoundariesOtherColumn: a string column that is not Table.Key is
// sampled through any index it leads (here a non-unique one), and ranges
// over it read every row once; a column without an index is not sampled
// (each stride would sort the table).
func TestKeyBoundariesOtherColumn(t *testing.T) {
	ctx := context.Background()
	admin := adminDB(t)
	name := uniqueName(t, "skey_other")
	createTable(t, admin, name, "(rid INT NOT NULL PRIMARY KEY, k VARCHAR(10) NOT NULL, u VARCHAR(10), KEY kk (k)) ENGINE=InnoDB")
	mustExec(t, admin, "INSERT INTO "+quoteIdent(name)+" SELECT seq, CONCAT(ELT(1 + seq % 3, 'a', 'A', 'b'), seq % 50), seq FROM seq_1_to_3000",
		"ANALYZE TABLE "+quoteIdent(name))
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	if tb.Key == nil || tb.Key.Column != "rid" {
		t.Fatalf("key %+v", tb.Key)
	}
	bounds, err := snap.KeyBoundaries(ctx, tb, "k", 6)
	if err != nil || len(bounds) < 3 {
		t.Fatalf("KeyBoundaries over the indexed column k: %q, %v", bounds, err)
	}
	ridCol := source.ScanColumn{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}}
	parts := ridsPerRange(t, snap, tb, ridCol, keyRanges(bounds))
	if err := checkParts(parts, keyRanks(t, admin, name)); err != nil {
		t.Error(err)
	}
	if b, err := snap.KeyBoundaries(ctx, tb, "u", 6); err != nil || b != nil {
		t.Errorf("KeyBoundaries over the unindexed column u: %q, %v; want none", b, err)
	}
}

// ridsPerRange scans each range and returns the rid values each read.
func ridsPerRange(t *testing.T, snap *Snapshot, tb source.Table, ridCol source.ScanColumn, ranges []source.KeyRange) [][]int64 {
	t.Helper()
	parts := make([][]int64, len(ranges))
	for j, r := range ranges {
		rows, _ := scanAll(t, snap, source.ScanRequest{Table: tb, Range: &r, Columns: []source.ScanColumn{ridCol}})
		for _, row := range rows {
			parts[j] = append(parts[j], row[0].Int64())
		}
	}
	return parts
}
