package pgsource_test

import (
	"context"
	"errors"
	"math"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/source/pgsource"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/typemap"
)

// TestOverrides: targets other than the default profile's (what
// typemap.WithOverrides produces) are converted, values a target cannot
// hold become NULL with a warning, and impossible conversions are refused.
func TestOverrides(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, `CREATE TABLE `+s+`.o (
		id int, n numeric, ts timestamp, tstz timestamptz, d date, big bigint, txt text, i int, f8 float8, b bool, by bytea, r real)`)
	mustExec(t, pool, `INSERT INTO `+s+`.o VALUES
		(1, 12.34, '1970-01-01 00:00:00.001', '2024-01-01 00:00:00+00', '1969-12-31', 5, '42', 7, 0.1, true, '\x00ff', 1.5),
		(2, 'NaN', 'infinity', '1969-12-31 23:59:59.9995+00', 'infinity', 9999999999, ' -9 ', -1, -2.5, false, '', 'NaN'),
		(3, '-99999.99', '-infinity', '-infinity', '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	tb := tables["o"]
	col := func(name string, target typemap.Target) source.ScanColumn {
		for _, c := range tb.Columns {
			if c.Name == name {
				return source.ScanColumn{Column: c, Target: target}
			}
		}
		t.Fatalf("no column %s", name)
		return source.ScanColumn{}
	}
	k := func(kind typemap.Kind) typemap.Target { return typemap.Target{Kind: kind} }
	dec := func(p, s int) typemap.Target { return typemap.Target{Kind: typemap.Decimal, Precision: p, Scale: s} }
	req := source.ScanRequest{Table: tb, Columns: []source.ScanColumn{
		col("id", k(typemap.Int32)),
		col("n", dec(10, 2)), // INT64 decimal
		col("n", dec(30, 4)), // FIXED_LEN_BYTE_ARRAY decimal
		col("ts", k(typemap.TimestampMillis)),
		col("tstz", k(typemap.TimestampMicros)),
		col("tstz", k(typemap.TimestampMillis)),
		col("d", k(typemap.TimestampMicros)),
		col("big", k(typemap.Double)),
		col("txt", k(typemap.Int64)),
		col("i", k(typemap.Int16)),
		col("f8", k(typemap.Float)),
		col("b", k(typemap.String)),
		col("by", k(typemap.String)),
		col("txt", k(typemap.Binary)),
		col("r", k(typemap.Double)),
		col("n", dec(9, 2)), // INT32 decimal
	}}
	rows, err := snap.Scan(context.Background(), req)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	defer rows.Close()
	var got [][]parquet.Value
	for rows.Next() {
		vals, err := rows.Row(nil)
		if err != nil {
			t.Fatalf("Row: %v", err)
		}
		row := make([]parquet.Value, len(vals))
		for i, v := range vals {
			row[i] = v.Clone()
		}
		got = append(got, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d rows, want 3", len(got))
	}
	fixed := func(v int64) []byte {
		b, _ := typemap.AppendFixedDecimal(nil, big.NewInt(v), typemap.DecimalFixedLen(30))
		return b
	}
	null := parquet.NullValue()
	want := map[int32][]parquet.Value{
		1: {parquet.Int32Value(1), parquet.Int64Value(1234), parquet.FixedLenByteArrayValue(fixed(123400)),
			parquet.Int64Value(1), parquet.Int64Value(1704067200000000), parquet.Int64Value(1704067200000),
			parquet.Int64Value(-86400000000), parquet.DoubleValue(5), parquet.Int64Value(42), parquet.Int32Value(7),
			parquet.FloatValue(0.1), parquet.ByteArrayValue([]byte("t")), parquet.ByteArrayValue([]byte(`\x00ff`)),
			parquet.ByteArrayValue([]byte("42")), parquet.DoubleValue(1.5), parquet.Int32Value(1234)},
		2: {parquet.Int32Value(2), null, null,
			null, parquet.Int64Value(-500), parquet.Int64Value(-1), // floor: -0.5 ms is the millisecond before 1970
			null, parquet.DoubleValue(9999999999), parquet.Int64Value(-9), parquet.Int32Value(-1),
			parquet.FloatValue(-2.5), parquet.ByteArrayValue([]byte("f")), parquet.ByteArrayValue([]byte(`\x`)),
			parquet.ByteArrayValue([]byte(" -9 ")), parquet.DoubleValue(math.NaN()), null},
		3: {parquet.Int32Value(3), parquet.Int64Value(-9999999), parquet.FixedLenByteArrayValue(fixed(-999999900)),
			null, null, null, null, null, null, null, null, null, null, null, null, parquet.Int32Value(-9999999)},
	}
	for _, row := range got {
		id := row[0].Int32()
		for i, w := range want[id] {
			g := row[i]
			same := parquet.Equal(g, w) && g.IsNull() == w.IsNull() && g.Kind() == w.Kind()
			if w.Kind() == parquet.Double && math.IsNaN(w.Double()) {
				same = g.Kind() == parquet.Double && math.IsNaN(g.Double())
			}
			if !same {
				t.Errorf("row %d column %d (%s as %s): got %v (%v), want %v (%v)", id, i, req.Columns[i].Name, req.Columns[i].Target, g, g.Kind(), w, w.Kind())
			}
		}
	}
	warnings := rows.(source.RowsWarnings).Warnings()
	var details []string
	for _, w := range warnings {
		if w.Reason != pgsource.ReasonValuesWrittenAsNull || w.Target != tb.Target() {
			t.Errorf("unexpected warning %+v", w)
		}
		details = append(details, w.Detail)
	}
	wantDetails := []string{
		"column n: NULL written for 1 value that decimal(10,2) cannot represent (NaN, infinity or out of range)",
		"column n: NULL written for 1 value that decimal(30,4) cannot represent (NaN, infinity or out of range)",
		"column ts: NULL written for 2 values that timestamp_millis cannot represent (NaN, infinity or out of range)",
		"column tstz: NULL written for 1 value that timestamp_micros cannot represent (NaN, infinity or out of range)",
		"column tstz: NULL written for 1 value that timestamp_millis cannot represent (NaN, infinity or out of range)",
		"column d: NULL written for 2 values that timestamp_micros cannot represent (NaN, infinity or out of range)",
		"column n: NULL written for 1 value that decimal(9,2) cannot represent (NaN, infinity or out of range)",
	}
	if !slices.Equal(details, wantDetails) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(details, "\n"), strings.Join(wantDetails, "\n"))
	}
}

// TestOverrideErrors: values that do not fit fail the scan naming the
// column; conversions that cannot work are refused before reading.
func TestOverrideErrors(t *testing.T) {
	pool := adminPool(t)
	s := scratchSchema(t, pool)
	mustExec(t, pool, `CREATE TABLE `+s+`.o (big bigint, txt text, n numeric, ts timestamp)`)
	mustExec(t, pool, `INSERT INTO `+s+`.o VALUES (3000000000, 'abc', 123456789.5, now())`)
	src := openSource(t, nil)
	snap := snapshot(t, src, source.SnapshotOptions{})
	tables, _ := listSchema(t, snap, s)
	tb := tables["o"]
	scan := func(name string, target typemap.Target) error {
		for _, c := range tb.Columns {
			if c.Name == name {
				_, err := sourcetest.ReadAll(context.Background(), snap, source.ScanRequest{Table: tb, Columns: []source.ScanColumn{{Column: c, Target: target}}})
				return err
			}
		}
		t.Fatalf("no column %s", name)
		return nil
	}
	for _, c := range []struct {
		col    string
		target typemap.Target
		want   string
	}{
		{"big", typemap.Target{Kind: typemap.Int32}, "does not fit in a 32-bit integer"},
		{"txt", typemap.Target{Kind: typemap.Int64}, "invalid syntax"},
		{"n", typemap.Target{Kind: typemap.Decimal, Precision: 10, Scale: 0}, "more than 0 decimal places"},
		{"n", typemap.Target{Kind: typemap.Decimal, Precision: 5, Scale: 1}, "does not fit"},
	} {
		err := scan(c.col, c.target)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `column "`+c.col+`"`) {
			t.Errorf("%s as %s: %v, want an error naming the column and saying %q", c.col, c.target, err, c.want)
		}
	}
	for _, c := range []struct {
		col    string
		target typemap.Target
	}{
		{"txt", typemap.Target{Kind: typemap.TimestampMicros}},
		{"ts", typemap.Target{Kind: typemap.Omit}},
		{"n", typemap.Target{Kind: typemap.Decimal, Precision: 40, Scale: 0}},
	} {
		if err := scan(c.col, c.target); !errors.Is(err, source.ErrUnsupportedConversion) {
			t.Errorf("%s as %s: %v, want source.ErrUnsupportedConversion", c.col, c.target, err)
		}
	}
	// A hand-made column that lies about its type is caught, not misread.
	lie := tb.Columns[1] // txt
	lie.DataType = "bigint"
	_, err := sourcetest.ReadAll(context.Background(), snap, source.ScanRequest{Table: tb,
		Columns: []source.ScanColumn{{Column: lie, Target: typemap.Target{Kind: typemap.Int64}}}})
	if !errors.Is(err, source.ErrUnsupportedConversion) {
		t.Errorf("a text column described as bigint: %v, want source.ErrUnsupportedConversion", err)
	}
}
