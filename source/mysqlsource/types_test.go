package mysqlsource

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/source"
	"github.com/snapexport/snapexport/typemap"
)

// scanAll reads every row of req, cloning values.
func scanAll(t testing.TB, snap source.Snapshot, req source.ScanRequest) ([][]parquet.Value, source.Rows) {
	t.Helper()
	rows, err := snap.Scan(context.Background(), req)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	var out [][]parquet.Value
	var buf []parquet.Value
	for rows.Next() {
		buf, err = rows.Row(buf[:0])
		if err != nil {
			rows.Close()
			t.Fatalf("Row: %v", err)
		}
		row := make([]parquet.Value, len(buf))
		for i, v := range buf {
			row[i] = v.Clone()
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("scan %s: %v", req.Table.Name, err)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	return out, rows
}

// rdsRequest maps every column of tb with the RDS profile.
func rdsRequest(t testing.TB, engine string, tb source.Table) source.ScanRequest {
	t.Helper()
	req := source.ScanRequest{Table: tb}
	for _, c := range tb.Columns {
		target, err := typemap.RDS().Map(engine, tb.Database+"."+tb.Schema+"."+tb.Name, c)
		if err != nil {
			t.Fatalf("map %s: %v", c.Name, err)
		}
		req.Columns = append(req.Columns, source.ScanColumn{Column: c, Target: target})
	}
	return req
}

func fixedDecimal(t testing.TB, text string, scale, precision int) parquet.Value {
	t.Helper()
	u, err := typemap.UnscaledDecimal([]byte(text), scale)
	if err != nil {
		t.Fatal(err)
	}
	b, err := typemap.AppendFixedDecimal(nil, u, typemap.DecimalFixedLen(precision))
	if err != nil {
		t.Fatal(err)
	}
	return parquet.FixedLenByteArrayValue(b)
}

func micros(s string) parquet.Value {
	tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
	if err != nil {
		panic(err)
	}
	return parquet.Int64Value(tm.UnixMicro())
}

// TestEveryTypeFamily reads one column of every §10.1 type family and
// compares each value with what the server holds, in the target's physical
// type.
func TestEveryTypeFamily(t *testing.T) {
	db := adminDB(t)
	name := uniqueName(t, "types")
	createTable(t, db, name, `(
		id INT NOT NULL PRIMARY KEY,
		ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
		mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
		d5 DECIMAL(5,2), d15 DECIMAL(15,3), d30 DECIMAL(30,10), d50 DECIMAL(50,5), n9 NUMERIC(9,0),
		f FLOAT, db DOUBLE, dbm DOUBLE(10,2), b BIT(10),
		dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(3) NULL, yr YEAR,
		ch CHAR(5), vc VARCHAR(20), bn BINARY(3), vb VARBINARY(10), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
		tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, en ENUM('a','b'), st SET('x','y'), js JSON,
		g GEOMETRY, pt POINT, ls LINESTRING, pg POLYGON, mp MULTIPOINT, ml MULTILINESTRING, mpg MULTIPOLYGON, gc GEOMETRYCOLLECTION
	) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`)
	mustExec(t, db, "INSERT INTO "+quoteIdent(name)+` VALUES (1,
		-128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
		-999.99, 123456789012.345, -12345678901234567890.0123456789, 123456789012345678901234567890123456789012345.12345, 999999999,
		16777217, 0.1e0, 1.005, b'1010101010',
		'2024-02-29', '-838:59:59.000', '1969-12-31 23:59:59.999999', '2038-01-19 03:14:07.499', 2155,
		'ab', 'héllo 世界', 'a', x'00ff', x'01', x'02', x'03', x'04',
		'tiny', 'text', 'medium', 'long', 'b', 'x,y', '{"k": [1, 2]}',
		ST_GeomFromText('POINT(1 2)'), ST_GeomFromText('POINT(3 4)'), ST_GeomFromText('LINESTRING(0 0,1 1)'),
		ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), ST_GeomFromText('MULTIPOINT(1 1,2 2)'),
		ST_GeomFromText('MULTILINESTRING((0 0,1 1))'), ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)))'),
		ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1))')),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, '', '', '', '', '', '', '', '', '', '', '', '', NULL, '', NULL,
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)

	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	req := rdsRequest(t, src.Engine(), tb)
	got, rows := scanAll(t, snap, req)
	if len(got) != 2 {
		t.Fatalf("read %d rows, want 2", len(got))
	}
	if w := rows.(source.RowsWarnings).Warnings(); len(w) != 0 {
		t.Errorf("warnings %v, want none", w)
	}

	// The server's own bytes for the binary-valued columns.
	geo := map[string][]byte{}
	for _, c := range []string{"g", "pt", "ls", "pg", "mp", "ml", "mpg", "gc", "b"} {
		var v []byte
		if err := db.QueryRow("SELECT " + c + " FROM " + quoteIdent(name) + " WHERE id = 1").Scan(&v); err != nil {
			t.Fatal(err)
		}
		geo[c] = v
	}
	bytesV := func(s string) parquet.Value { return parquet.ByteArrayValue([]byte(s)) }
	want1 := map[string]parquet.Value{
		"id": parquet.Int32Value(1), "ti": parquet.Int32Value(-128), "tiu": parquet.Int32Value(255),
		"si": parquet.Int32Value(-32768), "siu": parquet.Int32Value(65535), "mi": parquet.Int32Value(-8388608),
		"miu": parquet.Int64Value(16777215), "i": parquet.Int32Value(math.MinInt32), "iu": parquet.Int64Value(4294967295),
		"bi": parquet.Int64Value(math.MinInt64), "biu": fixedDecimal(t, "18446744073709551615", 0, 20),
		"d5": parquet.Int32Value(-99999), "d15": parquet.Int64Value(123456789012345),
		"d30": fixedDecimal(t, "-12345678901234567890.0123456789", 10, 30),
		"d50": bytesV("123456789012345678901234567890123456789012345.12345"),
		"n9":  parquet.Int32Value(999999999),
		"f":   parquet.DoubleValue(16777216), // FLOAT stores 16777217 as 16777216; the text protocol would say 16777200
		"db":  parquet.DoubleValue(0.1),
		"dbm": parquet.DoubleValue(1.0), // DOUBLE(10,2) rounds 1.005 to 1.00 on insert; the value stored is 1
		"b":   parquet.ByteArrayValue(geo["b"]),
		"dt":  bytesV("2024-02-29"),
		"tm":  bytesV("-838:59:59.000"),
		"dtm": micros("1969-12-31 23:59:59.999999"),
		"ts":  micros("2038-01-19 03:14:07.499"),
		"yr":  parquet.Int32Value(2155),
		"ch":  bytesV("ab"),
		"vc":  bytesV("héllo 世界"),
		"bn":  bytesV("a\x00\x00"),
		"vb":  bytesV("\x00\xff"),
		"tb":  bytesV("\x01"),
		"bl":  bytesV("\x02"),
		"mb":  bytesV("\x03"),
		"lb":  bytesV("\x04"),
		"tt":  bytesV("tiny"),
		"tx":  bytesV("text"),
		"mt":  bytesV("medium"),
		"lt":  bytesV("long"),
		"en":  bytesV("b"),
		"st":  bytesV("x,y"),
		"js":  bytesV(`{"k": [1, 2]}`),
	}
	for _, c := range []string{"g", "pt", "ls", "pg", "mp", "ml", "mpg", "gc"} {
		want1[c] = parquet.ByteArrayValue(geo[c])
	}
	if len(geo["b"]) != 2 || geo["b"][0] != 0x02 || geo["b"][1] != 0xaa {
		t.Errorf("BIT(10) b'1010101010' is %x on the server, want 02aa", geo["b"])
	}
	for i, col := range req.Columns {
		w, ok := want1[col.Name]
		if !ok {
			t.Fatalf("no expected value for %s", col.Name)
		}
		g := got[0][i]
		if g.Kind() != w.Kind() || !parquet.Equal(g, w) {
			t.Errorf("%s (%s → %v): got %v %v, want %v %v", col.Name, col.ColumnType, col.Target, g.Kind(), g, w.Kind(), w)
		}
		// The physical type is the target's.
		if phys := physicalOf(g); phys != col.Target.Physical() {
			t.Errorf("%s: value of physical %v, target wants %v", col.Name, phys, col.Target.Physical())
		}
	}
	// Row 2: NULLs stay NULL; empty strings stay empty, not NULL.
	for i, col := range req.Columns {
		g := got[1][i]
		switch col.Name {
		case "id":
		case "ch", "vc", "vb", "tb", "bl", "mb", "lb", "tt", "tx", "mt", "lt", "st":
			if g.IsNull() || len(g.ByteArray()) != 0 {
				t.Errorf("%s: empty string read as %v (null %v)", col.Name, g, g.IsNull())
			}
		case "bn":
			if g.IsNull() || string(g.ByteArray()) != "\x00\x00\x00" {
				t.Errorf("bn: empty BINARY(3) read as %q", g.ByteArray())
			}
		default:
			if !g.IsNull() {
				t.Errorf("%s: NULL read as %v", col.Name, g)
			}
		}
	}
}

func physicalOf(v parquet.Value) typemap.Physical {
	switch v.Kind() {
	case parquet.Boolean:
		return typemap.PhysicalBoolean
	case parquet.Int32:
		return typemap.PhysicalInt32
	case parquet.Int64:
		return typemap.PhysicalInt64
	case parquet.Float:
		return typemap.PhysicalFloat
	case parquet.Double:
		return typemap.PhysicalDouble
	case parquet.ByteArray:
		return typemap.PhysicalByteArray
	case parquet.FixedLenByteArray:
		return typemap.PhysicalFixedLenByteArray
	}
	return typemap.PhysicalNone
}

// TestZeroDates: a table written under a permissive sql_mode holds zero
// and invalid dates; reading it never fails. DATETIME/TIMESTAMP zero values
// become NULL, counted per column; DATE and TIME keep the server's text.
func TestZeroDates(t *testing.T) {
	db := adminDB(t)
	name := uniqueName(t, "zero")
	createTable(t, db, name, "(id INT PRIMARY KEY, d DATE, dt DATETIME, ts TIMESTAMP NULL, t TIME)")
	mustExec(t, db,
		"SET SESSION sql_mode = 'ALLOW_INVALID_DATES'",
		"INSERT INTO "+quoteIdent(name)+` VALUES
			(1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '00:00:00'),
			(2, '2020-02-00', '2020-00-10 01:02:03', NULL, '-01:00:00'),
			(3, '2021-02-30', '2021-02-30 10:00:00', '2020-01-01 00:00:00', '838:59:59'),
			(4, '1999-12-31', '1999-12-31 23:59:59', '1999-12-31 23:59:59', '23:59:59')`)
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	req := rdsRequest(t, src.Engine(), tb)
	got, rows := scanAll(t, snap, req)
	want := map[int32][]any{
		1: {"0000-00-00", nil, nil, "00:00:00"},
		2: {"2020-02-00", nil, nil, "-01:00:00"},
		3: {"2021-02-30", nil, micros("2020-01-01 00:00:00"), "838:59:59"},
		4: {"1999-12-31", micros("1999-12-31 23:59:59"), micros("1999-12-31 23:59:59"), "23:59:59"},
	}
	if len(got) != 4 {
		t.Fatalf("read %d rows", len(got))
	}
	for _, r := range got {
		w := want[r[0].Int32()]
		for i, wv := range w {
			g := r[i+1]
			switch wv := wv.(type) {
			case nil:
				if !g.IsNull() {
					t.Errorf("row %d %s: %v, want NULL", r[0].Int32(), req.Columns[i+1].Name, g)
				}
			case string:
				if string(g.ByteArray()) != wv {
					t.Errorf("row %d %s: %q, want %q", r[0].Int32(), req.Columns[i+1].Name, g.ByteArray(), wv)
				}
			case parquet.Value:
				if !parquet.Equal(g, wv) {
					t.Errorf("row %d %s: %v, want %v", r[0].Int32(), req.Columns[i+1].Name, g, wv)
				}
			}
		}
	}
	warnings := rows.(source.RowsWarnings).Warnings()
	counts := map[string]string{}
	for _, w := range warnings {
		if w.Reason != source.ReasonZeroDates || w.Target != testDatabase+"."+name {
			t.Errorf("warning %+v", w)
		}
		col, _, _ := strings.Cut(strings.TrimPrefix(w.Detail, "column "), " ")
		counts[col] = w.Detail
	}
	if len(counts) != 2 || !strings.Contains(counts["dt"], ": 3 zero") || !strings.Contains(counts["ts"], ": 1 zero") {
		t.Errorf("zero-date warnings %v, want dt: 3 and ts: 1", warnings)
	}
}

// TestSQLModeOfTheServerDoesNotMatter: whatever sql_mode the connection is
// given (a server default, or the URL), snapshot connections read with the
// package's own mode, so CHAR values are not padded
// (PAD_CHAR_TO_FULL_LENGTH), backtick quoting works (ANSI_QUOTES) and zero
// dates written under a permissive mode are read under a strict one.
func TestSQLModeOfTheServerDoesNotMatter(t *testing.T) {
	db := adminDB(t)
	name := uniqueName(t, "modes")
	createTable(t, db, name, "(id INT PRIMARY KEY, c CHAR(6), dt DATETIME)")
	mustExec(t, db, "SET SESSION sql_mode = ''", "INSERT INTO "+quoteIdent(name)+" VALUES (1, 'ab', '0000-00-00 00:00:00'), (2, 'abcdef', '2000-01-01 00:00:00')")
	strict := "'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,PAD_CHAR_TO_FULL_LENGTH,ANSI_QUOTES,TRADITIONAL'"
	// Through a *mysql.Config: a URL refuses session variables.
	cfg := serverConfig(t)
	cfg.Params = map[string]string{"sql_mode": strict, "time_zone": "'+05:00'"}
	src, err := OpenConfig(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshotOf(t, src, 2)
	tb := table(t, snap, name)
	got, rows := scanAll(t, snap, rdsRequest(t, src.Engine(), tb))
	if len(got) != 2 || string(got[0][1].ByteArray()) != "ab" || string(got[1][1].ByteArray()) != "abcdef" {
		t.Errorf("CHAR(6) values %v, want unpadded ab and abcdef", got)
	}
	if !got[0][2].IsNull() || !parquet.Equal(got[1][2], micros("2000-01-01 00:00:00")) {
		t.Errorf("DATETIME values %v %v", got[0][2], got[1][2])
	}
	if len(rows.(source.RowsWarnings).Warnings()) != 1 {
		t.Errorf("warnings %v", rows.(source.RowsWarnings).Warnings())
	}
}

// TestTimestampIsReadInUTC: TIMESTAMP values are instants; they come out
// as the same instant whatever the server's or the URL's time zone.
func TestTimestampIsReadInUTC(t *testing.T) {
	db := adminDB(t)
	name := uniqueName(t, "tz")
	createTable(t, db, name, "(id INT PRIMARY KEY, ts TIMESTAMP NULL, dt DATETIME)")
	mustExec(t, db, "SET SESSION time_zone = '-07:00'",
		"INSERT INTO "+quoteIdent(name)+" VALUES (1, '2024-06-01 05:00:00', '2024-06-01 05:00:00')")
	cfg := serverConfig(t)
	cfg.Params = map[string]string{"time_zone": "'+09:00'"}
	src, err := OpenConfig(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap := snapshotOf(t, src, 1)
	got, _ := scanAll(t, snap, rdsRequest(t, src.Engine(), table(t, snap, name)))
	// 05:00 at -07:00 is 12:00 UTC; DATETIME is a wall clock, taken as UTC.
	if !parquet.Equal(got[0][1], micros("2024-06-01 12:00:00")) || !parquet.Equal(got[0][2], micros("2024-06-01 05:00:00")) {
		t.Errorf("got %v %v", got[0][1], got[0][2])
	}
}

// TestDecimalOverrides: an override may give a DECIMAL column another
// precision and scale; the unscaled values follow, and a value that does
// not fit is an error naming the column.
func TestDecimalOverrides(t *testing.T) {
	db := adminDB(t)
	name := uniqueName(t, "decov")
	createTable(t, db, name, "(id INT PRIMARY KEY, d DECIMAL(10,2), big DECIMAL(38,0))")
	mustExec(t, db, "INSERT INTO "+quoteIdent(name)+" VALUES (1, 12345678.91, 99999999999999999999999999999999999999), (2, -0.01, -1)")
	src := openTestSource(t, Options{})
	snap := snapshotOf(t, src, 1)
	tb := table(t, snap, name)
	req := source.ScanRequest{Table: tb, Columns: []source.ScanColumn{
		{Column: tb.Columns[0], Target: typemap.Target{Kind: typemap.Int64}},
		{Column: tb.Columns[1], Target: typemap.Target{Kind: typemap.Decimal, Precision: 20, Scale: 4}},
		{Column: tb.Columns[2], Target: typemap.Target{Kind: typemap.Decimal, Precision: 38, Scale: 0}},
	}}
	got, _ := scanAll(t, snap, req)
	want := [][]parquet.Value{
		{parquet.Int64Value(1), fixedDecimal(t, "12345678.91", 4, 20), fixedDecimal(t, "99999999999999999999999999999999999999", 0, 38)},
		{parquet.Int64Value(2), fixedDecimal(t, "-0.01", 4, 20), fixedDecimal(t, "-1", 0, 38)},
	}
	for i := range want {
		for j := range want[i] {
			if !parquet.Equal(got[i][j], want[i][j]) {
				t.Errorf("row %d col %d: %v, want %v", i, j, got[i][j], want[i][j])
			}
		}
	}
	// DECIMAL(10,2) into DECIMAL(9,2): 12345678.91 has 10 digits.
	req.Columns[1].Target = typemap.Target{Kind: typemap.Decimal, Precision: 9, Scale: 2}
	rows, err := snap.Scan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var rowErr error
	for rows.Next() && rowErr == nil {
		_, rowErr = rows.Row(nil)
	}
	if rowErr == nil || !strings.Contains(rowErr.Error(), `"d"`) || !strings.Contains(rowErr.Error(), name) {
		t.Errorf("overflow error %v, want one naming table and column", rowErr)
	}
}
