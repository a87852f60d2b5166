package wasmcheck_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/wasmcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// TestRead writes one row group of every kind with the writer and checks
// that the Node script reports the footer's schema and decodes every value
// in the documented Go form.
func TestRead(t *testing.T) {
	wasmcheck.Require(t)
	cols := []writer.Column{
		{Name: "b", Target: typemap.Target{Kind: typemap.Boolean}},
		{Name: "i16", Target: typemap.Target{Kind: typemap.Int16}},
		{Name: "i64", Target: typemap.Target{Kind: typemap.Int64}},
		{Name: "f", Target: typemap.Target{Kind: typemap.Float}},
		{Name: "d", Target: typemap.Target{Kind: typemap.Double}},
		{Name: "s", Target: typemap.Target{Kind: typemap.String}},
		{Name: "bin", Target: typemap.Target{Kind: typemap.Binary}},
		{Name: "ts", Target: typemap.Target{Kind: typemap.TimestampMicros}},
		{Name: "dec", Target: typemap.Target{Kind: typemap.Decimal, Precision: 30, Scale: 2}},
	}
	dec, err := typemap.AppendFixedDecimal(nil, big.NewInt(-150), cols[8].Target.FixedLen())
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 3000)
	rows := [][]parquet.Value{
		{parquet.BooleanValue(true), parquet.Int32Value(-7), parquet.Int64Value(math.MinInt64),
			parquet.FloatValue(float32(math.NaN())), parquet.DoubleValue(-0.0 * -1), parquet.ByteArrayValue([]byte("é")),
			parquet.ByteArrayValue([]byte{0xff, 0}), parquet.Int64Value(1), parquet.FixedLenByteArrayValue(dec)},
		{parquet.NullValue(), parquet.NullValue(), parquet.NullValue(), parquet.NullValue(), parquet.NullValue(),
			parquet.ByteArrayValue(nil), parquet.ByteArrayValue(big), parquet.NullValue(), parquet.NullValue()},
	}
	path := filepath.Join(t.TempDir(), "all.parquet")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := writer.NewFileWriter(out, cols, writer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.WriteRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}

	f := wasmcheck.ReadDigest(t, path, 2000)
	wantSchema := []string{
		"b BOOLEAN  ", "i16 INT32 INT_16 INTEGER(16,true)", "i64 INT64  ", "f FLOAT  ", "d DOUBLE  ",
		"s BYTE_ARRAY UTF8 STRING", "bin BYTE_ARRAY  ", "ts INT64 TIMESTAMP_MICROS TIMESTAMP(MICROS,true)",
		"dec FIXED_LEN_BYTE_ARRAY DECIMAL DECIMAL(30,2)",
	}
	for i, c := range f.Columns {
		if got := c.Name + " " + c.Physical + " " + c.Converted + " " + c.Logical; got != wantSchema[i] || c.Repetition != "OPTIONAL" {
			t.Errorf("column %d: %q %s (arrow %s), want %q OPTIONAL", i, got, c.Repetition, c.Arrow, wantSchema[i])
		}
	}
	if f.Columns[8].TypeLength != cols[8].Target.FixedLen() {
		t.Errorf("dec type length %d, want %d", f.Columns[8].TypeLength, cols[8].Target.FixedLen())
	}
	sum := sha256.Sum256(big)
	want := [][]wasmcheck.Value{
		{true, nil}, {int64(-7), nil}, {int64(math.MinInt64), nil}, {math.NaN(), nil}, {0.0, nil},
		{"é", ""}, {[]byte{0xff, 0}, wasmcheck.Digest{Len: 3000, SHA256: hex.EncodeToString(sum[:])}},
		{int64(1), nil}, {"-1.50", nil},
	}
	for c := range want {
		for r := range want[c] {
			if got := f.Values[c][r]; !wasmcheck.Equal(got, want[c][r]) {
				t.Errorf("%s row %d: %#v, want %#v", cols[c].Name, r, got, want[c][r])
			}
		}
	}
	if f.NumRows != 2 || len(f.RowGroups) != 1 || len(f.RowGroups[0].Columns) != len(cols) {
		t.Fatalf("rows %d, row groups %+v", f.NumRows, f.RowGroups)
	}
	if ch := f.RowGroups[0].Columns[0]; ch.Codec != "GZIP" || ch.NullCount != 1 || !reflect.DeepEqual(ch.Min, []byte{1}) {
		t.Errorf("chunk b: %+v, want GZIP, 1 null, min true", ch)
	}
}

// TestPinnedVersions keeps the constants Read checks the install against
// equal to the versions `make tools` installs.
func TestPinnedVersions(t *testing.T) {
	b, err := os.ReadFile("node/package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Dependencies map[string]string }
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"parquet-wasm": wasmcheck.ParquetWasmVersion, "apache-arrow": wasmcheck.ApacheArrowVersion}
	if !reflect.DeepEqual(pkg.Dependencies, want) {
		t.Errorf("node/package.json pins %v, constants say %v", pkg.Dependencies, want)
	}
}
