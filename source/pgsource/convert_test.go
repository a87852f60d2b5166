package pgsource

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/typemap"
)

// TestTimestampBounds covers the binary date and timestamp edges: the
// infinities and values beyond int64 microseconds become NULL and are
// counted; the rest convert exactly, milliseconds rounding down.
func TestTimestampBounds(t *testing.T) {
	be64 := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	be32 := func(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }
	null := parquet.NullValue()
	cases := []struct {
		name string
		conv conv
		kind typemap.Kind
		in   []byte
		want parquet.Value
	}{
		{"timestamp epoch 2000", convTimestamp, typemap.TimestampMicros, be64(0), parquet.Int64Value(pgEpochMicros)},
		{"timestamp infinity", convTimestamp, typemap.TimestampMicros, be64(math.MaxInt64), null},
		{"timestamp -infinity", convTimestamp, typemap.TimestampMicros, be64(math.MinInt64), null},
		{"timestamp beyond int64 after the shift", convTimestamp, typemap.TimestampMicros, be64(math.MaxInt64 - 1), null},
		{"timestamp 4713 BC", convTimestamp, typemap.TimestampMicros, be64(-211813488000000000), parquet.Int64Value(-211813488000000000 + pgEpochMicros)},
		{"timestamp millis floor", convTimestamp, typemap.TimestampMillis, be64(-pgEpochMicros - 1), parquet.Int64Value(-1)},
		{"timestamp millis exact", convTimestamp, typemap.TimestampMillis, be64(-pgEpochMicros + 2000), parquet.Int64Value(2)},
		{"date 1970-01-01", convDate, typemap.TimestampMicros, be32(-pgEpochDays), parquet.Int64Value(0)},
		{"date infinity", convDate, typemap.TimestampMicros, be32(math.MaxInt32), null},
		{"date -infinity", convDate, typemap.TimestampMillis, be32(math.MinInt32), null},
		{"date 5874897 AD overflows", convDate, typemap.TimestampMicros, be32(2145031948), null},
		{"date wrong length", convDate, typemap.TimestampMicros, be64(0), null},
	}
	for _, c := range cases {
		col := column{conv: c.conv, target: typemap.Target{Kind: c.kind}}
		got := col.timestampValue(c.in)
		if !parquet.Equal(got, c.want) || got.IsNull() != c.want.IsNull() {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		wantNulled := int64(0)
		if c.want.IsNull() {
			wantNulled = 1
		}
		if col.nulled != wantNulled {
			t.Errorf("%s: nulled = %d, want %d", c.name, col.nulled, wantNulled)
		}
	}
}

func TestBinaryNumbers(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want int64
	}{
		{[]byte{0x80, 0x00}, math.MinInt16},
		{[]byte{0x7f, 0xff, 0xff, 0xff}, math.MaxInt32},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, -2},
	} {
		got, err := beInt(c.in)
		if err != nil || got != c.want {
			t.Errorf("beInt(% x) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	if _, err := beInt([]byte{1, 2, 3}); err == nil {
		t.Error("beInt accepted 3 bytes")
	}
	f4 := column{target: typemap.Target{Kind: typemap.Float}}
	v, err := f4.beFloat(binary.BigEndian.AppendUint32(nil, math.Float32bits(0.1)))
	if err != nil || v.Float() != float32(0.1) {
		t.Errorf("float4 0.1 as FLOAT = %v, %v", v, err)
	}
	f8 := column{target: typemap.Target{Kind: typemap.Double}}
	v, err = f8.beFloat(binary.BigEndian.AppendUint32(nil, math.Float32bits(0.1)))
	if err != nil || v.Double() != float64(float32(0.1)) {
		t.Errorf("float4 0.1 as DOUBLE = %v, %v", v, err)
	}
	if _, err := f8.beFloat([]byte{1}); err == nil {
		t.Error("beFloat accepted 1 byte")
	}
}
