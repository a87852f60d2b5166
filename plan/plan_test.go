package plan_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
)

// sampler answers KeyQuantiles from an in-memory list of keys, exactly.
// The fakes are snapshots with only the optional methods the planner
// looks for; the embedded interface is never called.
type sampler struct {
	source.Snapshot
	keys   []int64 // sorted, non-NULL
	blocks bool
}

func (s sampler) KeyQuantiles(_ context.Context, _ source.Table, _ string, n int) ([]int64, error) {
	var out []int64
	for i := 1; i < n; i++ {
		out = append(out, s.keys[len(s.keys)*i/n])
	}
	return out, nil
}

func (s sampler) ScansBlocks() bool { return s.blocks }

func table(rows, bytes int64) source.Table {
	return source.Table{Database: "d", Schema: "s", Name: "t", EstimatedRows: rows, EstimatedBytes: bytes,
		Key: &source.Key{Column: "id", Integer: true}}
}

// in reports whether key k falls in the part's range.
func in(p plan.Part, k *int64) bool {
	r := p.Range
	if r == nil {
		return true
	}
	if k == nil {
		return r.IncludeNull
	}
	return (r.Lower == nil || *k >= *r.Lower) && (r.Upper == nil || *k < *r.Upper)
}

// assertTiles checks that every key (and NULL) falls in exactly one part.
func assertTiles(t *testing.T, parts []plan.Part, keys []int64) []int {
	t.Helper()
	counts := make([]int, len(parts))
	for i := range keys {
		hits := 0
		for j, p := range parts {
			if in(p, &keys[i]) {
				hits++
				counts[j]++
			}
		}
		require.Equal(t, 1, hits, "key %d", keys[i])
	}
	nulls := 0
	for _, p := range parts {
		if in(p, nil) {
			nulls++
		}
	}
	require.Equal(t, 1, nulls, "NULL keys are read by exactly one part")
	return counts
}

func TestSkewedKeyGivesEvenParts(t *testing.T) {
	// 90% of the rows sit in less than 1% of the key's range: 90,000 dense
	// keys from 5*10^9+1, 10,000 sparse ones spread over [0, 10^10).
	var keys []int64
	for i := int64(0); i < 90000; i++ {
		keys = append(keys, 5_000_000_001+i)
	}
	for i := int64(0); i < 10000; i++ {
		keys = append(keys, i*1_000_000)
	}
	slices.Sort(keys)
	require.Equal(t, 100000, len(slices.Compact(slices.Clone(keys))), "keys are unique")
	parts, err := plan.Table(context.Background(), sampler{keys: keys}, table(int64(len(keys)), 1<<30), plan.Options{Workers: 2, TargetPartBytes: 64 << 20})
	require.NoError(t, err)
	require.Greater(t, len(parts), 4)
	counts := assertTiles(t, parts, keys)
	sorted := slices.Clone(counts)
	sort.Ints(sorted)
	median := sorted[len(sorted)/2]
	assert.LessOrEqual(t, sorted[len(sorted)-1], 2*median, "largest part at most twice the median: %v", counts)
	for i, p := range parts {
		assert.Equal(t, 1, p.Batch)
		assert.Equal(t, i, p.Index)
	}
}

func TestExtremeAndNegativeKeys(t *testing.T) {
	keys := []int64{math.MinInt64, math.MinInt64 + 1, -5, -1, 0, 1, 7, math.MaxInt64 - 1, math.MaxInt64}
	for i := int64(0); i < 1000; i++ {
		keys = append(keys, -500+i)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	parts, err := plan.Table(context.Background(), sampler{keys: keys}, table(int64(len(keys)), 1<<30), plan.Options{Workers: 4})
	require.NoError(t, err)
	require.Greater(t, len(parts), 1)
	assertTiles(t, parts, keys)
	assert.Nil(t, parts[0].Range.Lower, "the first range is open below")
	assert.Nil(t, parts[len(parts)-1].Range.Upper, "the last range is open above: MaxInt64 is read")
}

func TestRepeatedBoundariesAreMerged(t *testing.T) {
	keys := make([]int64, 1000) // statistics of a constant column
	parts, err := plan.Table(context.Background(), sampler{keys: keys}, table(1000, 1<<30), plan.Options{Workers: 4})
	require.NoError(t, err)
	assertTiles(t, parts, keys)
	assert.LessOrEqual(t, len(parts), 2)
}

func TestSmallTableIsOnePart(t *testing.T) {
	parts, err := plan.Table(context.Background(), sampler{keys: []int64{1, 2, 3}}, table(3, 100), plan.Options{Workers: 8})
	require.NoError(t, err)
	require.Len(t, parts, 1)
	assert.Nil(t, parts[0].Range)
	assert.True(t, parts[0].RollBatches)
}

func TestPartCountFollowsSize(t *testing.T) {
	keys := make([]int64, 100000)
	for i := range keys {
		keys[i] = int64(i)
	}
	small, _ := plan.Table(context.Background(), sampler{keys: keys}, table(100000, 100<<20), plan.Options{Workers: 1, TargetPartBytes: 10 << 20})
	big, _ := plan.Table(context.Background(), sampler{keys: keys}, table(100000, 1000<<20), plan.Options{Workers: 1, TargetPartBytes: 10 << 20})
	assert.Len(t, small, 10)
	assert.Len(t, big, 100)
	busy, _ := plan.Table(context.Background(), sampler{keys: keys}, table(100000, 20<<20), plan.Options{Workers: 4, TargetPartBytes: 16 << 20})
	assert.Len(t, busy, 4, "a table that is split keeps every worker busy")
	whole, _ := plan.Table(context.Background(), sampler{keys: keys}, table(100000, 100<<20), plan.Options{Workers: 4})
	assert.Len(t, whole, 1, "a table under the target size is one sequential scan")
}

func TestKeylessTables(t *testing.T) {
	tb := source.Table{Name: "heap", EstimatedRows: 1e6, EstimatedBytes: 1 << 30, Pages: 131072}
	parts, err := plan.Table(context.Background(), sampler{blocks: true}, tb, plan.Options{Workers: 2})
	require.NoError(t, err)
	require.Equal(t, 2, len(parts)) // 1 GiB in 512 MiB parts
	var next uint32
	for i, p := range parts {
		require.NotNil(t, p.Blocks)
		assert.Equal(t, next, p.Blocks.Lower, "page ranges are contiguous")
		if i < len(parts)-1 {
			next = *p.Blocks.Upper
		} else {
			assert.Nil(t, p.Blocks.Upper, "the last page range is open-ended")
		}
	}
	// Without page scans, one part whose files roll into batches 1, 2, ….
	parts, err = plan.Table(context.Background(), sampler{}, tb, plan.Options{Workers: 2})
	require.NoError(t, err)
	require.Len(t, parts, 1)
	assert.True(t, parts[0].RollBatches)
}

func TestDeclarativePartitions(t *testing.T) {
	tb := table(300, 1<<30)
	tb.TablePartitions = []string{"p2023", "p2024", "p2025"}
	parts, err := plan.Table(context.Background(), sampler{}, tb, plan.Options{})
	require.NoError(t, err)
	require.Len(t, parts, 3)
	for i, p := range parts {
		assert.Equal(t, i+1, p.Batch)
		assert.Equal(t, 0, p.Index)
		assert.Equal(t, tb.TablePartitions[i], p.TablePartition)
	}
}

// textSampler answers KeyBoundaries from sorted string keys, as a driver
// does: values of the column in its own order.
type textSampler struct {
	source.Snapshot
	keys   []string // sorted in the "collation" (here: byte order)
	blocks bool
}

func (s textSampler) KeyBoundaries(_ context.Context, _ source.Table, _ string, n int) ([][]byte, error) {
	var out [][]byte
	for i := 1; i < n; i++ {
		out = append(out, []byte(s.keys[len(s.keys)*i/n]))
	}
	return out, nil
}

func (s textSampler) ScansBlocks() bool { return s.blocks }

func TestStringKeyRanges(t *testing.T) {
	var keys []string
	for i := 0; i < 10000; i++ {
		keys = append(keys, fmt.Sprintf("user-%05d", i))
	}
	tb := table(10000, 4<<30)
	tb.Key = &source.Key{Column: "email"}
	// A repeated boundary and the empty value must not make empty or
	// overlapping ranges.
	s := textSampler{keys: keys}
	parts, err := plan.Table(context.Background(), s, tb, plan.Options{TargetPartBytes: 512 << 20, Workers: 2})
	require.NoError(t, err)
	require.Len(t, parts, 8)
	counts := make([]int, len(parts))
	for _, k := range keys {
		hits := 0
		for j, p := range parts {
			r := p.Range
			require.Nil(t, r.Lower)
			require.Nil(t, r.Upper)
			if (r.LowerBytes == nil || k >= string(r.LowerBytes)) && (r.UpperBytes == nil || k < string(r.UpperBytes)) {
				hits++
				counts[j]++
			}
		}
		require.Equal(t, 1, hits, "key %s", k)
	}
	for j, c := range counts {
		assert.InDelta(t, 1250, c, 1, "part %d", j)
		assert.Equal(t, j == 0, parts[j].Range.IncludeNull)
		assert.Equal(t, j, parts[j].Index)
	}

	dup := textSampler{keys: []string{"", "", "a", "a", "b", "b"}}
	parts, err = plan.Table(context.Background(), dup, tb, plan.Options{TargetPartBytes: 1 << 30, Workers: 6})
	require.NoError(t, err)
	require.Len(t, parts, 3, "boundaries a, b: the empty value and repeats dropped")
	assert.Equal(t, []byte("a"), parts[0].Range.UpperBytes)
	assert.Equal(t, []byte("a"), parts[1].Range.LowerBytes)
	assert.Equal(t, []byte("b"), parts[1].Range.UpperBytes)
	assert.Equal(t, []byte("b"), parts[2].Range.LowerBytes)
	assert.Nil(t, parts[2].Range.UpperBytes)
}

func TestKeyThatWillNotSplitFallsBackToPages(t *testing.T) {
	tb := table(1000, 4<<30)
	tb.Pages = 100
	// No boundary (statistics missing): the pages still split.
	parts, err := plan.Table(context.Background(), noBoundaries{}, tb, plan.Options{Workers: 2})
	require.NoError(t, err)
	require.Len(t, parts, 8)
	for _, p := range parts {
		assert.Nil(t, p.Range)
		assert.NotNil(t, p.Blocks)
	}
	// A string key on a driver that cannot sample it: pages.
	tb.Key = &source.Key{Column: "name"}
	parts, err = plan.Table(context.Background(), sampler{blocks: true}, tb, plan.Options{Workers: 2})
	require.NoError(t, err)
	require.Len(t, parts, 8)
	assert.NotNil(t, parts[0].Blocks)
}

type noBoundaries struct{ source.Snapshot }

func (noBoundaries) KeyQuantiles(context.Context, source.Table, string, int) ([]int64, error) {
	return nil, nil
}
func (noBoundaries) ScansBlocks() bool { return true }
