package sourcetest

import (
	"math"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
)

// The suite's own comparisons must fail on wrong values, or a driver could
// pass it by returning anything.
func TestCheckValue(t *testing.T) {
	match := []struct {
		got  parquet.Value
		want any
	}{
		{parquet.NullValue(), nil},
		{parquet.Int32Value(-1), int32(-1)},
		{parquet.Int64Value(math.MinInt64), int64(math.MinInt64)},
		{parquet.DoubleValue(1.5e300), 1.5e300},
		{parquet.ByteArrayValue([]byte("héllo")), "héllo"},
		{parquet.ByteArrayValue([]byte{}), ""},
		{parquet.ByteArrayValue([]byte{0, 0xff}), []byte{0, 0xff}},
	}
	for _, c := range match {
		if err := checkValue(c.got, c.want); err != nil {
			t.Errorf("checkValue(%v, %#v): %v", c.got, c.want, err)
		}
	}
	mismatch := []struct {
		got  parquet.Value
		want any
	}{
		{parquet.NullValue(), int64(0)},
		{parquet.Int64Value(0), nil},
		{parquet.ByteArrayValue(nil), nil}, // an empty string is not NULL
		{parquet.Int64Value(1), int32(1)},  // wrong physical type
		{parquet.Int32Value(1), int64(1)},
		{parquet.Int64Value(2), int64(1)},
		{parquet.FloatValue(0.5), 0.5},
		{parquet.ByteArrayValue([]byte("a")), "b"},
		{parquet.Int32Value(7), "7"},
	}
	for _, c := range mismatch {
		if err := checkValue(c.got, c.want); err == nil {
			t.Errorf("checkValue(%v, %#v) accepted a wrong value", c.got, c.want)
		}
	}
}

func TestCompareRows(t *testing.T) {
	got := [][]parquet.Value{
		{parquet.Int64Value(2), parquet.ByteArrayValue([]byte("b"))},
		{parquet.Int64Value(1), parquet.NullValue()},
	}
	if err := compareRows(got, [][]any{{int64(1), nil}, {int64(2), "b"}}); err != nil {
		t.Errorf("rows in another order: %v", err)
	}
	for _, want := range [][][]any{
		{{int64(1), nil}},                            // a row too many
		{{int64(1), nil}, {int64(2), "c"}},           // a wrong value
		{{int64(1), nil}, {int64(1), nil}},           // a duplicate for a missing row
		{{int64(1), nil}, {int64(2), "b", int64(3)}}, // a missing column
	} {
		if err := compareRows(got, want); err == nil {
			t.Errorf("compareRows accepted %v for %v", got, want)
		}
	}
}

func TestInRange(t *testing.T) {
	p := func(v int64) *int64 { return &v }
	r := source.KeyRange{Lower: p(-5), Upper: p(5)}
	for k, want := range map[int64]bool{-6: false, -5: true, 4: true, 5: false} {
		if got := inRange(parquet.Int64Value(k), r); got != want {
			t.Errorf("inRange(%d, %s) = %v", k, rangeString(r), got)
		}
	}
	if inRange(parquet.NullValue(), r) {
		t.Errorf("NULL in a range without IncludeNull")
	}
	r = source.KeyRange{Upper: p(math.MinInt64), IncludeNull: true}
	if !inRange(parquet.NullValue(), r) || inRange(parquet.Int64Value(math.MinInt64), r) {
		t.Errorf("range %s", rangeString(r))
	}
	if s := rangeString(source.KeyRange{Lower: p(3), IncludeNull: true}); s != "[3, +∞) + NULL" {
		t.Errorf("rangeString = %q", s)
	}
}
