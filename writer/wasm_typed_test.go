package writer_test

import (
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/internal/wasmcheck"
	"github.com/snapexport/snapexport/typemap"
	"github.com/snapexport/snapexport/writer"
)

// TestTypedKindsParquetWasm reads the typed profile's kinds with arrow-rs
// (parquet-wasm under Node), a reader that shares no code with the writer:
// DATE, TIMESTAMP with and without isAdjustedToUTC, UUID and DECIMAL values
// through wasmcheck, and TIME, JSON, ENUM and LIST (which wasmcheck's flat
// decoder does not take) through Arrow JS's own JSON form of each column.
func TestTypedKindsParquetWasm(t *testing.T) {
	wasmcheck.Require(t)
	dec := typemap.Target{Kind: typemap.Decimal, Precision: 30, Scale: 2}
	flat := []writer.Column{
		{Name: "d", Target: typemap.Target{Kind: typemap.Date}},
		{Name: "ts", Target: typemap.Target{Kind: typemap.LocalTimestampMicros}},
		{Name: "tstz", Target: typemap.Target{Kind: typemap.TimestampMicros}},
		{Name: "u", Target: typemap.Target{Kind: typemap.UUID}},
		{Name: "dec", Target: dec},
	}
	fixed := func(s string) parquet.Value {
		u, _ := new(big.Int).SetString(s, 10)
		b, err := typemap.AppendFixedDecimal(nil, u, dec.FixedLen())
		if err != nil {
			t.Fatal(err)
		}
		return parquet.FixedLenByteArrayValue(b)
	}
	uuid := []byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}
	rows := [][]cell{
		{{v: parquet.Int32Value(-2440588)}, {v: parquet.Int64Value(-62135596800000000)}, {v: parquet.Int64Value(1717245296789012)},
			{v: parquet.FixedLenByteArrayValue(uuid)}, {v: fixed("-123456789012345678901234567890")}},
		{{v: parquet.NullValue()}, {v: parquet.NullValue()}, {v: parquet.NullValue()}, {v: parquet.NullValue()}, {v: parquet.NullValue()}},
		{{v: parquet.Int32Value(2932896)}, {v: parquet.Int64Value(253402300799999999)}, {v: parquet.Int64Value(-1)},
			{v: parquet.FixedLenByteArrayValue(make([]byte, 16))}, {v: fixed("1")}},
	}
	path := writeFile(t, t.TempDir(), table{cols: flat, rows: rows}, writer.Options{})
	f := wasmcheck.Read(t, path)
	want := [][]wasmcheck.Value{
		{int64(-2440588), nil, int64(2932896)},
		{int64(-62135596800000000), nil, int64(253402300799999999)},
		{int64(1717245296789012), nil, int64(-1)},
		{uuid, nil, make([]byte, 16)},
		{"-1234567890123456789012345678.90", nil, "0.01"},
	}
	logical := []string{"DATE", "TIMESTAMP(MICROS,false)", "TIMESTAMP(MICROS,true)", "UUID", "DECIMAL(30,2)"}
	for c := range flat {
		if f.Columns[c].Logical != logical[c] {
			t.Errorf("%s: logical type %q, want %q (arrow %s)", flat[c].Name, f.Columns[c].Logical, logical[c], f.Columns[c].Arrow)
		}
		for r := range want[c] {
			if !wasmcheck.Equal(f.Values[c][r], want[c][r]) {
				t.Errorf("%s row %d: arrow-rs reads %#v, want %#v", flat[c].Name, r, f.Values[c][r], want[c][r])
			}
		}
	}

	// TIME, JSON, ENUM and LIST: the Arrow types and values Arrow JS gives.
	nested := []writer.Column{
		{Name: "tm", Target: typemap.Target{Kind: typemap.TimeMicros}},
		{Name: "j", Target: typemap.Target{Kind: typemap.JSON}},
		{Name: "e", Target: typemap.Target{Kind: typemap.Enum}},
		{Name: "li", Target: typemap.Target{Kind: typemap.List, Elem: typemap.Int32}},
		{Name: "ls", Target: typemap.Target{Kind: typemap.List, Elem: typemap.String}},
	}
	list := func(elem typemap.Target, vals ...parquet.Value) parquet.Value {
		b := []byte{}
		for _, v := range vals {
			b = typemap.AppendListElement(b, elem, v)
		}
		return parquet.ByteArrayValue(b)
	}
	i32, str := typemap.Target{Kind: typemap.Int32}, typemap.Target{Kind: typemap.String}
	rows = [][]cell{
		{{v: parquet.Int64Value(86_400_000_000 - 1)}, {v: parquet.ByteArrayValue([]byte(`{"a":[1,"é"]}`))}, {v: parquet.ByteArrayValue([]byte("sad"))},
			{v: list(i32, parquet.Int32Value(1), parquet.NullValue(), parquet.Int32Value(-3))}, {v: list(str, parquet.ByteArrayValue([]byte("é")), parquet.NullValue())}},
		{{v: parquet.NullValue()}, {v: parquet.NullValue()}, {v: parquet.NullValue()}, {v: parquet.NullValue()}, {v: list(str)}},
	}
	path = writeFile(t, t.TempDir(), table{cols: nested, rows: rows}, writer.Options{})
	got := arrowJSON(t, path)
	// arrow-rs reads ENUM as Binary (the format leaves an ENUM's bytes to
	// the data model); the bytes are the UTF-8 label.
	wantTypes := map[string]string{"tm": "Time64<MICROSECOND>", "j": "Utf8", "e": "Binary", "li": "List<Int32>", "ls": "List<Utf8>"}
	wantVals := map[string]string{
		"tm": `["86399999999",null]`, "j": `["{\"a\":[1,\"é\"]}",null]`, "e": `["sad",null]`,
		"li": `[[1,null,-3],null]`, "ls": `[["é",null],[]]`,
	}
	for _, c := range got.Columns {
		if c.Type != wantTypes[c.Name] && !(c.Name == "li" && c.Type == "List<item: Int32>") {
			t.Errorf("%s: Arrow type %s, want %s", c.Name, c.Type, wantTypes[c.Name])
		}
		if string(c.Values) != wantVals[c.Name] {
			t.Errorf("%s: arrow-rs reads %s, want %s", c.Name, c.Values, wantVals[c.Name])
		}
	}
	if len(got.Columns) != len(nested) {
		t.Errorf("arrow-rs sees %d columns: %+v", len(got.Columns), got.Columns)
	}
}

// arrowColumns is what arrowScript prints: each column's Arrow type and
// its values as JSON (BigInt as strings).
type arrowColumns struct {
	Columns []struct {
		Name, Type string
		Values     json.RawMessage
	}
}

const arrowScript = `
const [modules, file] = process.argv.slice(2);
const pw = require(modules + '/parquet-wasm/node/parquet_wasm.js');
const arrow = require(modules + '/apache-arrow/Arrow.node.js');
const table = arrow.tableFromIPC(pw.readParquet(require('fs').readFileSync(file)).intoIPCStream());
// Iterating a vector (not toArray, which gives the raw buffer) yields NULLs.
const plain = (v) => typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') :
  (v && typeof v[Symbol.iterator] === 'function' && typeof v !== 'string') ? Array.from(v, plain) : v;
process.stdout.write(JSON.stringify({Columns: table.schema.fields.map((f, i) => ({
  Name: f.name, Type: String(f.type), Values: Array.from(table.getChildAt(i), plain)}))}));
`

// arrowJSON reads path with parquet-wasm and Arrow JS.
func arrowJSON(t *testing.T, path string) arrowColumns {
	t.Helper()
	script := filepath.Join(t.TempDir(), "arrow-json.cjs")
	if err := os.WriteFile(script, []byte(arrowScript), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", script, wasmcheck.ModulesDir(), path).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("parquet-wasm: %v: %s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got arrowColumns
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return got
}
