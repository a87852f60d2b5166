package writer_test

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

func TestParseCodec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want writer.Codec
	}{
		{"gzip", writer.Gzip}, {"GZIP", writer.Gzip}, {"snappy", writer.Snappy}, {"Zstd", writer.Zstd},
		{"none", writer.Uncompressed}, {"uncompressed", writer.Uncompressed},
	} {
		got, err := writer.ParseCodec(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseCodec(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "lz4", "gz", "brotli"} {
		_, err := writer.ParseCodec(in)
		if err == nil || !strings.Contains(err.Error(), "gzip, snappy, zstd or none") {
			t.Errorf("ParseCodec(%q) error = %v, want one naming the allowed values", in, err)
		}
	}
	var zero writer.Codec
	if zero != writer.Gzip {
		t.Errorf("the zero Codec is %v, want gzip", zero)
	}
	for _, tc := range []struct {
		c         writer.Codec
		name, ext string
	}{
		{writer.Gzip, "gzip", ".gz.parquet"}, {writer.Snappy, "snappy", ".snappy.parquet"},
		{writer.Zstd, "zstd", ".zstd.parquet"}, {writer.Uncompressed, "none", ".parquet"},
	} {
		if tc.c.String() != tc.name || tc.c.Extension() != tc.ext {
			t.Errorf("%d: String %q Extension %q, want %q %q", int(tc.c), tc.c.String(), tc.c.Extension(), tc.name, tc.ext)
		}
		if back, err := writer.ParseCodec(tc.c.String()); err != nil || back != tc.c {
			t.Errorf("ParseCodec(%v.String()) = %v, %v", tc.c, back, err)
		}
	}
}

// TestCodecs writes a file with every codec and level setting and checks
// that DuckDB reads the codec in the metadata and the data back.
func TestCodecs(t *testing.T) {
	db := duckcheck.Open(t)
	tbl := genTable(allKinds, 500)
	for _, tc := range []struct {
		opts writer.Options
		want string
	}{
		{writer.Options{}, "GZIP"},
		{writer.Options{Codec: writer.Gzip, Level: 1}, "GZIP"},
		{writer.Options{Codec: writer.Gzip, Level: 9}, "GZIP"},
		{writer.Options{Codec: writer.Snappy}, "SNAPPY"},
		{writer.Options{Codec: writer.Zstd}, "ZSTD"},
		{writer.Options{Codec: writer.Zstd, Level: 1}, "ZSTD"},
		{writer.Options{Codec: writer.Zstd, Level: 7}, "ZSTD"},
		{writer.Options{Codec: writer.Uncompressed}, "UNCOMPRESSED"},
	} {
		t.Run(tc.opts.Codec.String(), func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tbl, tc.opts)
			if !strings.HasSuffix(path, tc.opts.Codec.Extension()) {
				t.Errorf("file %s does not end in %s", path, tc.opts.Codec.Extension())
			}
			for _, r := range db.Rows(`SELECT DISTINCT compression FROM parquet_metadata(?)`, path) {
				if r[0] != tc.want {
					t.Errorf("compression %v, want %s", r[0], tc.want)
				}
			}
			checkFile(t, db, path, tbl)
		})
	}
}

// TestMetadata checks created_by and the key-value metadata: the column
// list with source types, and the caller's entries.
func TestMetadata(t *testing.T) {
	db := duckcheck.Open(t)
	tbl := genTable(allKinds, 10)
	dir := t.TempDir()
	path := writeFile(t, dir, tbl, writer.Options{Metadata: map[string]string{"origin": "test", "ünï": "cödé"}})
	createdBy := db.Rows(`SELECT created_by FROM parquet_file_metadata(?)`, path)[0][0].(string)
	if !strings.HasPrefix(createdBy, "snapexport version ") {
		t.Errorf("created_by %q, want snapexport version …", createdBy)
	}
	kv := map[string]string{}
	for _, r := range db.Rows(`SELECT decode(key), decode(value) FROM parquet_kv_metadata(?)`, path) {
		kv[r[0].(string)] = r[1].(string)
	}
	if kv["origin"] != "test" || kv["ünï"] != "cödé" {
		t.Errorf("key-value metadata %q lacks the caller's entries", kv)
	}
	var cols []struct{ ColumnName, OriginalType, ExpectedExportedType string }
	if err := json.Unmarshal([]byte(kv[writer.MetadataKeyColumns]), &cols); err != nil {
		t.Fatalf("%s: %v", writer.MetadataKeyColumns, err)
	}
	if len(cols) != len(allKinds) {
		t.Fatalf("%s lists %d columns, want %d", writer.MetadataKeyColumns, len(cols), len(allKinds))
	}
	for i, c := range allKinds {
		if cols[i].ColumnName != c.Name || cols[i].OriginalType != c.SourceType || cols[i].ExpectedExportedType != c.Target.ExpectedExportedType() {
			t.Errorf("%s[%d] = %+v, want %s %s %s", writer.MetadataKeyColumns, i, cols[i], c.Name, c.SourceType, c.Target.ExpectedExportedType())
		}
	}

	path = writeFile(t, t.TempDir(), tbl, writer.Options{CreatedBy: "someapp version 1.2.3 (build abc)"})
	if got := db.Rows(`SELECT created_by FROM parquet_file_metadata(?)`, path)[0][0]; got != "someapp version 1.2.3 (build abc)" {
		t.Errorf("created_by %q, want the one given", got)
	}
}

// TestInvalidOptions checks that NewFileWriter refuses what would not make
// a valid file, naming the problem.
func TestInvalidOptions(t *testing.T) {
	i32 := typemap.Target{Kind: typemap.Int32}
	col := func(name string, target typemap.Target) []writer.Column {
		return []writer.Column{{Name: "ok", Target: i32}, {Name: name, Target: target}}
	}
	for _, tc := range []struct {
		name string
		cols []writer.Column
		opts writer.Options
		want string
	}{
		{"no columns", nil, writer.Options{}, "no columns"},
		{"empty name", col("", i32), writer.Options{}, "no name"},
		{"duplicate", col("ok", i32), writer.Options{}, `"ok" appears twice`},
		{"omit", col("oid", typemap.Target{Kind: typemap.Omit}), writer.Options{}, `"oid"`},
		{"unknown kind", col("k", typemap.Target{Kind: typemap.Kind(99)}), writer.Options{}, `"k"`},
		{"precision 0", col("d", typemap.Target{Kind: typemap.Decimal}), writer.Options{}, "precision 0"},
		{"precision 39", col("d", typemap.Target{Kind: typemap.Decimal, Precision: 39}), writer.Options{}, "precision 39"},
		{"scale > precision", col("d", typemap.Target{Kind: typemap.Decimal, Precision: 5, Scale: 6}), writer.Options{}, "scale 6"},
		{"negative scale", col("d", typemap.Target{Kind: typemap.Decimal, Precision: 5, Scale: -1}), writer.Options{}, "scale -1"},
		{"codec", col("a", i32), writer.Options{Codec: writer.Codec(9)}, "codec"},
		{"gzip level", col("a", i32), writer.Options{Level: 10}, "gzip level 10"},
		{"zstd level", col("a", i32), writer.Options{Codec: writer.Zstd, Level: 23}, "zstd level 23"},
		{"snappy level", col("a", i32), writer.Options{Codec: writer.Snappy, Level: 1}, "no levels"},
		{"row group bytes", col("a", i32), writer.Options{RowGroupBytes: -1}, "negative"},
		{"page bytes", col("a", i32), writer.Options{PageBytes: -1}, "negative"},
		{"reserved metadata", col("a", i32), writer.Options{Metadata: map[string]string{writer.MetadataKeyColumns: "x"}}, "reserved"},
	} {
		fw, err := writer.NewFileWriter(io.Discard, tc.cols, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "writer: ") {
			t.Errorf("%s: NewFileWriter = %v, %v; want an error containing %q", tc.name, fw, err, tc.want)
		}
	}
}

// TestRefusedRows passes values a converter should never produce and
// checks that each row is refused with an error naming the column, that
// nothing of it is written, and that the file stays good.
func TestRefusedRows(t *testing.T) {
	db := duckcheck.Open(t)
	cols := []writer.Column{
		{Name: "s", Target: typemap.Target{Kind: typemap.String}},
		{Name: "i16", Target: typemap.Target{Kind: typemap.Int16}},
		{Name: "i32", Target: typemap.Target{Kind: typemap.Int32}},
		{Name: "d9", Target: typemap.Target{Kind: typemap.Decimal, Precision: 9, Scale: 2}},
		{Name: "d18", Target: typemap.Target{Kind: typemap.Decimal, Precision: 18, Scale: 0}},
		{Name: "d20", Target: typemap.Target{Kind: typemap.Decimal, Precision: 20, Scale: 0}},
		{Name: "f", Target: typemap.Target{Kind: typemap.Double}},
		{Name: "b", Target: typemap.Target{Kind: typemap.Boolean}},
	}
	good := func(i int) []parquet.Value {
		return []parquet.Value{
			parquet.ByteArrayValue([]byte(strings.Repeat("é", i))), parquet.Int32Value(int32(i)), parquet.Int32Value(int32(i)),
			parquet.Int32Value(int32(i)), parquet.Int64Value(int64(i)), parquet.FixedLenByteArrayValue(make([]byte, 9)),
			parquet.DoubleValue(float64(i)), parquet.BooleanValue(i%2 == 0),
		}
	}
	bad := []struct {
		col  int
		v    parquet.Value
		want string
	}{
		{0, parquet.Int32Value(1), `column "s" (string, BYTE_ARRAY): INT32 value`},
		{0, parquet.ByteArrayValue([]byte("ab\xffcd")), `column "s" (string, BYTE_ARRAY): invalid UTF-8`},
		{1, parquet.Int32Value(40000), `column "i16" (int16, INT32): value 40000 out of range`},
		{1, parquet.Int64Value(1), `column "i16" (int16, INT32): INT64 value`},
		{2, parquet.Int64Value(1), `column "i32" (int32, INT32): INT64 value`},
		{3, parquet.Int32Value(1_000_000_000), `column "d9" (decimal(9,2), INT32): value 1000000000 out of range`},
		{3, parquet.Int32Value(-1_000_000_000), `column "d9"`},
		{4, parquet.Int64Value(math.MaxInt64), `column "d18" (decimal(18,0), INT64): value 9223372036854775807 out of range`},
		{5, parquet.FixedLenByteArrayValue(make([]byte, 8)), `column "d20" (decimal(20,0), FIXED_LEN_BYTE_ARRAY): 8-byte value`},
		{5, parquet.ByteArrayValue(make([]byte, 9)), `column "d20" (decimal(20,0), FIXED_LEN_BYTE_ARRAY): BYTE_ARRAY value`},
		{6, parquet.FloatValue(1), `column "f" (double, DOUBLE): FLOAT value`},
		{7, parquet.Int32Value(1), `column "b" (boolean, BOOLEAN): INT32 value`},
	}
	path := filepath.Join(t.TempDir(), "f.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fw, err := writer.NewFileWriter(f, cols, writer.Options{Codec: writer.Snappy})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, b := range bad {
		if err := fw.WriteRow(good(n)); err != nil {
			t.Fatal(err)
		}
		n++
		row := good(1000 + i) // a long string first, so the refusal has something to undo
		row[b.col] = b.v
		err := fw.WriteRow(row)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("bad value %d: WriteRow error %v, want one containing %q", i, err, b.want)
		}
	}
	if err := fw.WriteRow(good(0)[:3]); err == nil || !strings.Contains(err.Error(), "3 values for 8 columns") {
		t.Errorf("short row: WriteRow error %v", err)
	}
	if err := fw.WriteRow(good(n)); err != nil {
		t.Fatal(err)
	}
	n++
	if fw.Rows() != int64(n) {
		t.Errorf("Rows() = %d, want %d", fw.Rows(), n)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := db.Int(`SELECT count(*) FROM read_parquet(?)`, path); got != int64(n) {
		t.Fatalf("%d rows, want %d", got, n)
	}
	wrong := db.Int(`SELECT count(*) FROM read_parquet(?, file_row_number=true) WHERE
		length(s) <> file_row_number OR i16 <> file_row_number OR i32 <> file_row_number OR d9 * 100 <> file_row_number
		OR d18 <> file_row_number OR d20 <> 0 OR f <> file_row_number OR b <> (file_row_number % 2 = 0)`, path)
	if wrong != 0 {
		t.Errorf("%d rows differ from the good rows written", wrong)
	}
}

// errWriter fails every write after the first n bytes.
type errWriter struct{ n int }

var errDisk = errors.New("disk full")

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDisk
	}
	w.n -= len(p)
	return len(p), nil
}

// TestOutputError checks that a failed write to the output ends the file:
// the error comes back, wrapped, from then on.
func TestOutputError(t *testing.T) {
	fw, err := writer.NewFileWriter(&errWriter{n: 1000}, pgbenchColumns, writer.Options{Codec: writer.Uncompressed, RowGroupBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	row := []parquet.Value{parquet.Int32Value(1), parquet.Int32Value(1), parquet.Int32Value(1), parquet.ByteArrayValue([]byte(strings.Repeat("x", 84)))}
	for i := 0; err == nil; i++ {
		if i > 100000 {
			t.Fatal("no error after 100000 rows")
		}
		err = fw.WriteRow(row)
	}
	if !errors.Is(err, errDisk) {
		t.Fatalf("WriteRow error %v, want one wrapping %v", err, errDisk)
	}
	if err2 := fw.WriteRow(row); !errors.Is(err2, errDisk) {
		t.Errorf("next WriteRow: %v, want the same error", err2)
	}
	if err2 := fw.Close(); !errors.Is(err2, errDisk) {
		t.Errorf("Close: %v, want the same error", err2)
	}
}

// TestClosed checks the calls after Close.
func TestClosed(t *testing.T) {
	fw, err := writer.NewFileWriter(io.Discard, pgbenchColumns, writer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fw.WriteRow(make([]parquet.Value, 4)); err == nil {
		t.Error("WriteRow after Close succeeded")
	}
	if err := fw.Close(); err == nil {
		t.Error("second Close succeeded")
	}
	if fw.WrittenBytes() == 0 {
		t.Error("an empty file is still a file: WrittenBytes() = 0")
	}
}
