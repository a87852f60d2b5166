package wasmcheck

import (
	"bytes"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snapexport/snapexport/internal/testenv"
)

//go:embed read.cjs
var readScript []byte

// Versions pinned by the Makefile's tools target; Read checks the installed
// ones so a stale install is reported, not silently used.
const (
	ParquetWasmVersion = "0.8.0"
	ApacheArrowVersion = "21.2.0"
)

// File is a Parquet file as parquet-wasm reads it.
type File struct {
	CreatedBy string
	NumRows   int64
	KeyValue  map[string]string
	Columns   []Column
	RowGroups []RowGroup
	// Values holds every value of every column, Values[column][row], in
	// the canonical Go form described at Value.
	Values [][]Value
}

// Column is one leaf column of the footer's schema, decoded by the Node
// script from the Thrift bytes, with the Arrow type arrow-rs maps it to.
type Column struct {
	Name       string
	Physical   string // BOOLEAN, INT32, INT64, INT96, FLOAT, DOUBLE, BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY
	TypeLength int    // type_length as the footer has it (parquet-go also sets it for integers)
	Repetition string // REQUIRED, OPTIONAL, REPEATED
	Converted  string // UTF8, DECIMAL, INT_16, TIMESTAMP_MICROS, …, or ""
	Logical    string // STRING, DECIMAL(p,s), INTEGER(bits,signed), TIMESTAMP(unit,utc), …, or ""
	Arrow      string // e.g. Utf8, Binary, Int16, Decimal[10e+2], Timestamp<MICROSECOND, UTC>
}

// RowGroup is one row group's metadata.
type RowGroup struct {
	NumRows int64
	Columns []Chunk
}

// Chunk is one column chunk's metadata as the footer gives it.
type Chunk struct {
	Encodings         []string // PLAIN, RLE, RLE_DICTIONARY, PLAIN_DICTIONARY, …
	Codec             string   // UNCOMPRESSED, SNAPPY, GZIP, ZSTD, …
	NumValues         int64
	UncompressedBytes int64
	CompressedBytes   int64
	HasDictionaryPage bool
	// NullCount is the chunk statistics' null count, -1 when absent.
	NullCount int64
	// Min and Max are the statistics' min_value and max_value bytes, nil
	// when absent.
	Min, Max []byte
}

// Value is one value as arrow-rs decoded it: nil for NULL; bool; int64 for
// every integer, and for timestamps and dates in the file's unit (raw
// microseconds, milliseconds or days); float64 for FLOAT and DOUBLE (NaN
// included); string for STRING (checked to be valid UTF-8) and for DECIMAL
// (its exact digits with the scale's decimal places, "-1.50"); []byte for
// BINARY and bare FIXED_LEN_BYTE_ARRAY; Digest for a byte array longer than
// ReadDigest's limit.
type Value = any

// Digest stands for a large byte array: its length and SHA-256.
type Digest struct {
	Len    int
	SHA256 string
}

// ModulesDir is where `make tools` installs parquet-wasm and apache-arrow:
// $SNAPEXPORT_NODE_MODULES, or else $(go env GOPATH)/lib/snapexport-node/node_modules.
func ModulesDir() string {
	if d := os.Getenv("SNAPEXPORT_NODE_MODULES"); d != "" {
		return d
	}
	gopath := filepath.SplitList(build.Default.GOPATH)
	if len(gopath) == 0 {
		return ""
	}
	return filepath.Join(gopath[0], "lib", "snapexport-node", "node_modules")
}

// Available reports why parquet-wasm cannot run here, or nil.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return errors.New("node is not on PATH")
	}
	dir := ModulesDir()
	for pkg, want := range map[string]string{"parquet-wasm": ParquetWasmVersion, "apache-arrow": ApacheArrowVersion} {
		b, err := os.ReadFile(filepath.Join(dir, pkg, "package.json"))
		if err != nil {
			return fmt.Errorf("%s is not installed in %s", pkg, dir)
		}
		var meta struct{ Version string }
		if err := json.Unmarshal(b, &meta); err != nil || meta.Version != want {
			return fmt.Errorf("%s in %s is version %q, want %s", pkg, dir, meta.Version, want)
		}
	}
	return nil
}

// Require skips t, or fails it when SNAPEXPORT_REQUIRE_INTEGRATION=1, when
// parquet-wasm cannot run.
func Require(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		testenv.Unavailable(t, "parquet-wasm (Node)", "run `make tools` (needs node and npm)", err)
	}
}

// Read reads path with parquet-wasm, skipping t (failing it under
// SNAPEXPORT_REQUIRE_INTEGRATION=1) when Node or parquet-wasm is missing,
// and failing it when the file cannot be read.
func Read(t testing.TB, path string) *File {
	t.Helper()
	return ReadDigest(t, path, 0)
}

// ReadDigest is Read with every byte array longer than over bytes returned
// as a Digest (0: none), so a test of huge values does not pass them
// through JSON.
func ReadDigest(t testing.TB, path string, over int) *File {
	t.Helper()
	Require(t)
	f, err := read(t.TempDir(), path, over)
	if err != nil {
		t.Fatalf("wasmcheck: %v", err)
	}
	return f
}

func read(tmp, path string, over int) (*File, error) {
	script := filepath.Join(tmp, "wasmcheck-read.cjs")
	if err := os.WriteFile(script, readScript, 0o600); err != nil {
		return nil, err
	}
	args := []string{"--max-old-space-size=4096", script, ModulesDir(), path}
	if over > 0 {
		args = append(args, strconv.Itoa(over))
	}
	cmd := exec.Command("node", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("parquet-wasm cannot read %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return decode(stdout.Bytes())
}

type rawFile struct {
	CreatedBy string            `json:"createdBy"`
	NumRows   int64             `json:"numRows"`
	KeyValue  map[string]string `json:"keyValue"`
	Columns   []Column          `json:"columns"`
	RowGroups []struct {
		NumRows int64 `json:"numRows"`
		Columns []struct {
			Encodings         []string `json:"encodings"`
			Codec             string   `json:"codec"`
			NumValues         int64    `json:"numValues"`
			UncompressedBytes int64    `json:"uncompressedBytes"`
			CompressedBytes   int64    `json:"compressedBytes"`
			HasDictionaryPage bool     `json:"hasDictionaryPage"`
			NullCount         *int64   `json:"nullCount"`
			Min               *string  `json:"min"`
			Max               *string  `json:"max"`
		} `json:"columns"`
	} `json:"rowGroups"`
	Values [][]json.RawMessage `json:"values"`
}

func decode(b []byte) (*File, error) {
	var raw rawFile
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("decode read.cjs output: %v", err)
	}
	f := &File{CreatedBy: raw.CreatedBy, NumRows: raw.NumRows, KeyValue: raw.KeyValue, Columns: raw.Columns}
	for _, rg := range raw.RowGroups {
		g := RowGroup{NumRows: rg.NumRows}
		for _, c := range rg.Columns {
			ch := Chunk{
				Encodings: c.Encodings, Codec: c.Codec, NumValues: c.NumValues,
				UncompressedBytes: c.UncompressedBytes, CompressedBytes: c.CompressedBytes,
				HasDictionaryPage: c.HasDictionaryPage, NullCount: -1,
			}
			if c.NullCount != nil {
				ch.NullCount = *c.NullCount
			}
			var err error
			if ch.Min, err = hexPtr(c.Min); err != nil {
				return nil, err
			}
			if ch.Max, err = hexPtr(c.Max); err != nil {
				return nil, err
			}
			g.Columns = append(g.Columns, ch)
		}
		f.RowGroups = append(f.RowGroups, g)
	}
	if len(raw.Values) != len(f.Columns) {
		return nil, fmt.Errorf("read.cjs returned %d value columns for %d schema columns", len(raw.Values), len(f.Columns))
	}
	for c, col := range raw.Values {
		vals := make([]Value, len(col))
		for r, v := range col {
			var err error
			if vals[r], err = value(f.Columns[c], v); err != nil {
				return nil, fmt.Errorf("column %q row %d: %v", f.Columns[c].Name, r, err)
			}
		}
		f.Values = append(f.Values, vals)
	}
	return f, nil
}

func hexPtr(s *string) ([]byte, error) {
	if s == nil {
		return nil, nil
	}
	b, err := hex.DecodeString(*s)
	if b == nil {
		b = []byte{}
	}
	return b, err
}

func value(col Column, raw json.RawMessage) (Value, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '{' {
		var d struct {
			Len    int    `json:"len"`
			SHA256 string `json:"sha256"`
		}
		err := json.Unmarshal(raw, &d)
		return Digest{d.Len, d.SHA256}, err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	arrow := col.Arrow
	switch {
	case arrow == "Bool":
		return s == "true", nil
	case strings.HasPrefix(arrow, "Float"):
		return strconv.ParseFloat(s, 64) // "NaN", "Infinity", "-0" included
	case strings.HasPrefix(arrow, "Decimal"):
		return s, nil
	case strings.HasPrefix(arrow, "Int"), strings.HasPrefix(arrow, "Uint"),
		strings.HasPrefix(arrow, "Timestamp"), strings.HasPrefix(arrow, "Date"):
		return strconv.ParseInt(s, 10, 64)
	case col.Logical == "STRING" || col.Converted == "UTF8":
		return s, nil
	default: // Binary, FixedSizeBinary
		b, err := hex.DecodeString(s)
		if b == nil {
			b = []byte{}
		}
		return b, err
	}
}

// Micros converts a TIMESTAMP(MICROS) value to a time.Time in UTC.
func Micros(v Value) time.Time { return time.UnixMicro(v.(int64)).UTC() }

// Equal reports whether two values are the same, NaN equal to NaN.
func Equal(a, b Value) bool {
	if x, ok := a.(float64); ok {
		if y, ok := b.(float64); ok {
			return x == y && math.Signbit(x) == math.Signbit(y) || math.IsNaN(x) && math.IsNaN(y)
		}
	}
	if x, ok := a.([]byte); ok {
		if y, ok := b.([]byte); ok {
			return bytes.Equal(x, y)
		}
	}
	return a == b
}
