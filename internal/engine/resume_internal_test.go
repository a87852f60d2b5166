package engine

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport/internal/manifest"
	"github.com/snapexport/snapexport/plan"
	"github.com/snapexport/snapexport/source"
)

// A recorded plan must come back exactly: a resumed run reads the same
// ranges, or rows would be read twice or not at all. The empty value is a
// bound of its own, apart from "unbounded".
func TestPlanSurvivesTheRecord(t *testing.T) {
	lo, hi := int64(-5), int64(1<<62)
	blk := uint32(9)
	parts := []plan.Part{
		{Batch: 1, Index: 0, Range: &source.KeyRange{Column: "id", Upper: &lo, IncludeNull: true}},
		{Batch: 1, Index: 1, Range: &source.KeyRange{Column: "id", Lower: &lo, Upper: &hi}},
		{Batch: 1, Index: 2, Range: &source.KeyRange{Column: "email", LowerBytes: []byte{}, UpperBytes: []byte("b\x00\xff")}},
		{Batch: 1, Index: 3, Range: &source.KeyRange{Column: "email", LowerBytes: []byte("b\x00\xff")}},
		{Batch: 1, Index: 4, Blocks: &source.BlockRange{Lower: 3, Upper: &blk}},
		{Batch: 2, Index: 0, TablePartition: "p2", RollBatches: true},
	}
	tr := &tableRun{parts: parts, partState: make([]partState, len(parts))}
	data, err := json.Marshal(partRecords(tr))
	require.NoError(t, err)
	var back []manifest.Part
	require.NoError(t, json.Unmarshal(data, &back))
	got := resumedParts(back)
	require.Equal(t, parts, got)
	assert.NotNil(t, got[2].Range.LowerBytes, "the empty value is not unbounded")
	assert.Nil(t, got[3].Range.UpperBytes)
	assert.Equal(t, `email in ["", "b\x00\xff")`, describeRange(got[2].Range))
}
