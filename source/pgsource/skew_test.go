package pgsource_test

import (
	"path/filepath"
	"slices"
	"testing"

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
	exp, ctx := newExporter(t)
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

	for _, f := range files {
		if filepath.Base(filepath.Dir(f)) != "1" {
			t.Errorf("file %s is not in batch folder 1", f)
		}
	}
	checkDigest(t, db, pool, s+".skewed", files)
}
