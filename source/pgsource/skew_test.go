package pgsource_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
)

// TestExportSkewedKey: 90% of the rows sit in under 1% of the key's range.
// Exported with Concurrency 4 in key ranges cut at the quantiles pgsource
// samples, the largest part holds at most twice the median part's rows,
// and the parts together hold every row exactly once (count, sum of the
// key, and a hash of every column, against the server).
func TestExportSkewedKey(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	for _, q := range []string{
		"CREATE TABLE " + s + ".skewed (id bigint PRIMARY KEY, pad text)",
		// 180,000 dense keys from 5*10^12, 20,000 spread over [0, 10^13).
		"INSERT INTO " + s + ".skewed SELECT 5000000000000 + g, md5(g::text) FROM generate_series(1, 180000) g",
		"INSERT INTO " + s + ".skewed SELECT g::bigint * 500000000, md5(g::text) FROM generate_series(0, 19999) g",
		"ANALYZE " + s + ".skewed",
	} {
		mustExec(t, pool, q)
	}
	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	task, out, id := startExportOpts(t, ctx, exp, s, snapexport.TaskOptions{Concurrency: 4, TargetPartBytes: 2 << 20})
	rec, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	files := parquetFiles(t, filepath.Join(out, id, testDatabase, s+".skewed"))
	if len(files) < 4 {
		t.Fatalf("%d files, want the table split into at least 4 parts", len(files))
	}
	db := duckcheck.Open(t)
	var sizes []int64
	for _, f := range files {
		sizes = append(sizes, db.Int("SELECT count(*) FROM read_parquet(?)", f))
	}
	sorted := slices.Clone(sizes)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	if sorted[len(sorted)-1] > 2*median {
		t.Errorf("part sizes %v: the largest is over twice the median %d", sizes, median)
	}
	t.Logf("part sizes %v", sizes)

	// count, sum of the key and an MD5 over every row's columns, in key order.
	var wantN int64
	var wantSum, wantHash string
	if err := pool.QueryRow(ctx, "SELECT count(*), sum(id)::text, md5(string_agg(id::text || ':' || pad, ',' ORDER BY id)) FROM "+s+".skewed").
		Scan(&wantN, &wantSum, &wantHash); err != nil {
		t.Fatal(err)
	}
	glob := filepath.Join(out, id, testDatabase, s+".skewed", "1", "*.parquet")
	var gotN int64
	var gotSum, gotHash string
	if err := db.SQL().QueryRow("SELECT count(*), CAST(sum(id) AS VARCHAR), md5(string_agg(CAST(id AS VARCHAR) || ':' || pad, ',' ORDER BY id)) FROM read_parquet(?)", glob).
		Scan(&gotN, &gotSum, &gotHash); err != nil {
		t.Fatal(err)
	}
	if gotN != wantN || gotSum != wantSum || gotHash != wantHash {
		t.Errorf("DuckDB: %d rows, key sum %s, hash %s; server: %d, %s, %s", gotN, gotSum, gotHash, wantN, wantSum, wantHash)
	}
}
