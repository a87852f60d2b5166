package mysqlsource_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/duckcheck"
	"github.com/snapexport/snapexport/sink"
	"github.com/snapexport/snapexport/sink/dirsink"
	"github.com/snapexport/snapexport/source"
	ms "github.com/snapexport/snapexport/source/mysqlsource"
	"github.com/snapexport/snapexport/source/sourcetest"
	"github.com/snapexport/snapexport/writer"
)

// export runs one task on the test database to a directory and returns the
// final record and the directory.
func export(t *testing.T, in snapexport.StartExportTaskInput) (snapexport.ExportTask, string, error) {
	t.Helper()
	dir := t.TempDir()
	if in.Sink == nil {
		s, err := dirsink.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		in.Sink = s
	}
	if in.SourceArn == "" && in.Source == nil {
		in.SourceArn = ms.TestURL(t)
	}
	if in.ExportTaskIdentifier == "" {
		in.ExportTaskIdentifier = "mysql-e2e-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	}
	exp, err := snapexport.New(snapexport.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	task, err := exp.StartExportTask(ctx, in)
	if err != nil {
		t.Fatalf("StartExportTask: %v", err)
	}
	rec, err := task.Wait(ctx)
	return rec, dir, err
}

// parquetFiles lists the data files under dir/<id>/<db>/<db>.<table>/.
func parquetFiles(t *testing.T, dir, id, table string) []string {
	t.Helper()
	root := filepath.Join(dir, id, ms.TestDatabase, ms.TestDatabase+"."+table)
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			files = append(files, p)
		}
		return nil
	})
	slices.Sort(files)
	return files
}

// parquetType is what §10.1 says a MySQL type becomes, as DuckDB's
// parquet_schema reports it.
type parquetType struct {
	physical  string
	converted string // UTF8, INT_16, DECIMAL, TIMESTAMP_MICROS, ""
	precision int64
	scale     int64
	length    int64 // FIXED_LEN_BYTE_ARRAY width
}

// columnSpec is one column of the end-to-end table: its MySQL type, its
// §10.1 Parquet type, and how values compare.
type columnSpec struct {
	name, def string
	want      parquetType
	cmp       string // int, decimal, double, string, bytes, micros
}

var (
	tInt32  = parquetType{physical: "INT32"}
	tInt64  = parquetType{physical: "INT64"}
	tInt16  = parquetType{physical: "INT32", converted: "INT_16"}
	tDouble = parquetType{physical: "DOUBLE"}
	tString = parquetType{physical: "BYTE_ARRAY", converted: "UTF8"}
	tBinary = parquetType{physical: "BYTE_ARRAY"}
	tMicros = parquetType{physical: "INT64", converted: "TIMESTAMP_MICROS"}
)

func tDecimal(physical string, p, s, n int64) parquetType {
	return parquetType{physical: physical, converted: "DECIMAL", precision: p, scale: s, length: n}
}

// e2eColumns has one column per row of §10.1.
var e2eColumns = []columnSpec{
	{"id", "INT NOT NULL PRIMARY KEY", tInt32, "int"},
	{"c_bigint", "BIGINT", tInt64, "int"},
	{"c_bigint_u", "BIGINT UNSIGNED", tDecimal("FIXED_LEN_BYTE_ARRAY", 20, 0, 9), "decimal"},
	{"c_bit", "BIT(12)", tBinary, "bytes"},
	{"c_dec_4", "DECIMAL(9,4)", tDecimal("INT32", 9, 4, 0), "decimal"},
	{"c_dec_18", "DECIMAL(18,2)", tDecimal("INT64", 18, 2, 0), "decimal"},
	{"c_dec_38", "DECIMAL(38,6)", tDecimal("FIXED_LEN_BYTE_ARRAY", 38, 6, 16), "decimal"},
	{"c_dec_65", "DECIMAL(65,10)", tString, "string"},
	{"c_double", "DOUBLE", tDouble, "double"},
	{"c_float", "FLOAT", tDouble, "double"},
	{"c_int", "INT", tInt32, "int"},
	{"c_int_u", "INT UNSIGNED", tInt64, "int"},
	{"c_medium", "MEDIUMINT", tInt32, "int"},
	{"c_medium_u", "MEDIUMINT UNSIGNED", tInt64, "int"},
	{"c_numeric", "NUMERIC(12,0)", tDecimal("INT64", 12, 0, 0), "decimal"},
	{"c_small", "SMALLINT", tInt32, "int"},
	{"c_small_u", "SMALLINT UNSIGNED", tInt32, "int"},
	{"c_tiny", "TINYINT", tInt32, "int"},
	{"c_tiny_u", "TINYINT UNSIGNED", tInt16, "int"},
	{"c_binary", "BINARY(4)", tBinary, "bytes"},
	{"c_blob", "BLOB", tBinary, "bytes"},
	{"c_char", "CHAR(8)", tBinary, "bytes"},
	{"c_enum", "ENUM('red','green')", tString, "string"},
	{"c_linestring", "LINESTRING", tBinary, "bytes"},
	{"c_longblob", "LONGBLOB", tBinary, "bytes"},
	{"c_longtext", "LONGTEXT", tString, "string"},
	{"c_mediumblob", "MEDIUMBLOB", tBinary, "bytes"},
	{"c_mediumtext", "MEDIUMTEXT", tString, "string"},
	{"c_multilinestring", "MULTILINESTRING", tBinary, "bytes"},
	{"c_set", "SET('a','b','c')", tString, "string"},
	{"c_text", "TEXT", tString, "string"},
	{"c_tinyblob", "TINYBLOB", tBinary, "bytes"},
	{"c_tinytext", "TINYTEXT", tString, "string"},
	{"c_varbinary", "VARBINARY(16)", tBinary, "bytes"},
	{"c_varchar", "VARCHAR(32)", tString, "string"},
	{"c_date", "DATE", tString, "string"},
	{"c_datetime", "DATETIME(6)", tMicros, "micros"},
	{"c_time", "TIME(2)", tString, "string"},
	{"c_timestamp", "TIMESTAMP(6) NULL", tMicros, "micros"},
	{"c_year", "YEAR", tInt32, "int"},
	{"c_geometry", "GEOMETRY", tBinary, "bytes"},
	{"c_geometrycollection", "GEOMETRYCOLLECTION", tBinary, "bytes"},
	{"c_multipoint", "MULTIPOINT", tBinary, "bytes"},
	{"c_multipolygon", "MULTIPOLYGON", tBinary, "bytes"},
	{"c_point", "POINT", tBinary, "bytes"},
	{"c_polygon", "POLYGON", tBinary, "bytes"},
	{"c_json", "JSON", tString, "string"},
}

// e2eRow returns the SQL literals of row i (i = 0 is all NULL but id).
func e2eRow(i int) []string {
	if i == 0 {
		out := []string{"0"}
		for range e2eColumns[1:] {
			out = append(out, "NULL")
		}
		return out
	}
	neg := i%2 == 0
	sign := ""
	if neg {
		sign = "-"
	}
	n := int64(i) * 7919
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	geo := func(wkt string) string { return "ST_GeomFromText(" + q(wkt) + ")" }
	vals := map[string]string{
		"id":                   strconv.Itoa(i),
		"c_bigint":             sign + strconv.FormatInt(n*1000003, 10),
		"c_bigint_u":           strconv.FormatUint(math.MaxUint64-uint64(n), 10),
		"c_bit":                "b'" + strconv.FormatInt(n%4096, 2) + "'",
		"c_dec_4":              sign + fmt.Sprintf("%d.%04d", n%99999, n%10000),
		"c_dec_18":             sign + fmt.Sprintf("%d.%02d", n*1234567, n%100),
		"c_dec_38":             sign + fmt.Sprintf("%d%d.%06d", n, int64(1e15)+n, n%1000000),
		"c_dec_65":             sign + fmt.Sprintf("%d%d%d.%010d", n, int64(1e17)+n, int64(1e17)+n, n),
		"c_double":             sign + strconv.FormatFloat(float64(n)/3, 'g', -1, 64),
		"c_float":              sign + strconv.FormatFloat(float64(n)/7, 'g', -1, 64),
		"c_int":                sign + strconv.FormatInt(n*100, 10),
		"c_int_u":              strconv.FormatInt(4294967295-n, 10),
		"c_medium":             sign + strconv.FormatInt(n%8388607, 10),
		"c_medium_u":           strconv.FormatInt(16777215-n%16777215, 10),
		"c_numeric":            sign + strconv.FormatInt(n*1111, 10),
		"c_small":              sign + strconv.FormatInt(n%32767, 10),
		"c_small_u":            strconv.FormatInt(65535-n%65535, 10),
		"c_tiny":               sign + strconv.FormatInt(n%127, 10),
		"c_tiny_u":             strconv.FormatInt(255-n%255, 10),
		"c_binary":             fmt.Sprintf("x'%08x'", n),
		"c_blob":               fmt.Sprintf("x'00ff%06x'", n),
		"c_char":               q(fmt.Sprintf("c%d", i)),
		"c_enum":               q([]string{"red", "green"}[i%2]),
		"c_linestring":         geo(fmt.Sprintf("LINESTRING(0 0,%d %d)", i, i+1)),
		"c_longblob":           fmt.Sprintf("x'%x'", strings.Repeat("L", i%50)),
		"c_longtext":           q(strings.Repeat("long ", i%20)),
		"c_mediumblob":         fmt.Sprintf("x'%x'", "medium"),
		"c_mediumtext":         q(fmt.Sprintf("médium %d", i)),
		"c_multilinestring":    geo("MULTILINESTRING((0 0,1 1),(2 2,3 3))"),
		"c_set":                q([]string{"a", "a,b", "b,c", ""}[i%4]),
		"c_text":               q(fmt.Sprintf("text it's %d 世界", i)),
		"c_tinyblob":           "x'01'",
		"c_tinytext":           q("tiny"),
		"c_varbinary":          fmt.Sprintf("x'%x'", fmt.Sprint(n)),
		"c_varchar":            q(fmt.Sprintf("v%d", i)),
		"c_date":               q(fmt.Sprintf("%04d-%02d-%02d", 1000+i*37%9000, 1+i%12, 1+i%28)),
		"c_datetime":           q(time.Unix(n*10007-1e9, int64(i)*1000).UTC().Format("2006-01-02 15:04:05.000000")),
		"c_time":               q(fmt.Sprintf("%s%d:%02d:%02d.%02d", sign, n%838, i%60, i%60, i%100)),
		"c_timestamp":          q(time.Unix(n*10007+1, int64(i)*1000).UTC().Format("2006-01-02 15:04:05.000000")),
		"c_year":               strconv.Itoa(1901 + i%254),
		"c_geometry":           geo(fmt.Sprintf("POINT(%d %d)", i, -i)),
		"c_geometrycollection": geo("GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1 1))"),
		"c_multipoint":         geo("MULTIPOINT(1 1,2 2)"),
		"c_multipolygon":       geo("MULTIPOLYGON(((0 0,1 0,1 1,0 0)))"),
		"c_point":              geo(fmt.Sprintf("POINT(%d.5 2)", i)),
		"c_polygon":            geo("POLYGON((0 0,2 0,2 2,0 0))"),
		"c_json":               q(fmt.Sprintf(`{"i": %d, "s": "x"}`, i)),
	}
	out := make([]string, len(e2eColumns))
	for j, c := range e2eColumns {
		v, ok := vals[c.name]
		if !ok {
			panic("no value for " + c.name)
		}
		out[j] = v
	}
	return out
}

// TestEndToEndExportMatchesServer exports a table with a column of every
// §10.1 type through snapexport.New to a directory, then reads every
// Parquet file with DuckDB: per column, the physical type and annotation are
// §10.1's, and every value equals what the server returns.
func TestEndToEndExportMatchesServer(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "e2e_types")
	defs := make([]string, len(e2eColumns))
	for i, c := range e2eColumns {
		defs[i] = ms.QuoteIdent(c.name) + " " + c.def
	}
	ms.CreateTable(t, admin, name, "("+strings.Join(defs, ", ")+") DEFAULT CHARSET=utf8mb4")
	const nRows = 500
	for start := 0; start < nRows; start += 100 {
		var rows []string
		for i := start; i < start+100; i++ {
			rows = append(rows, "("+strings.Join(e2eRow(i), ", ")+")")
		}
		ms.MustExec(t, admin, "INSERT INTO "+ms.QuoteIdent(name)+" VALUES "+strings.Join(rows, ", "))
	}
	for _, codec := range []writer.Codec{writer.Gzip, writer.Snappy} {
		t.Run(codec.String(), func(t *testing.T) {
			rec, dir, err := export(t, snapexport.StartExportTaskInput{
				ExportOnly: []string{ms.TestDatabase + "." + name},
				Options:    &snapexport.TaskOptions{Compression: codec, RowGroupBytes: 64 << 10},
			})
			if err != nil {
				t.Fatalf("export: %v (%s)", err, rec.FailureCause)
			}
			if rec.Engine != "mariadb" && rec.Engine != "mysql" {
				t.Errorf("engine %q", rec.Engine)
			}
			if rec.ExportedRows != nRows {
				t.Errorf("exported %d rows, want %d", rec.ExportedRows, nRows)
			}
			files := parquetFiles(t, dir, rec.ExportTaskIdentifier, name)
			if len(files) == 0 {
				t.Fatal("no Parquet file")
			}
			duck := duckcheck.Open(t)
			for _, f := range files {
				if !strings.HasSuffix(f, codec.Extension()) {
					t.Errorf("%s: extension, want %s", f, codec.Extension())
				}
				checkSchema(t, duck, f)
				duck.CheckNullCounts(f)
			}
			compareValues(t, admin, duck, name, files, nRows)
		})
	}
}

func checkSchema(t *testing.T, duck *duckcheck.DB, file string) {
	t.Helper()
	schema := duck.Schema(file)
	if len(schema) != len(e2eColumns) {
		t.Fatalf("%s: %d columns, want %d", file, len(schema), len(e2eColumns))
	}
	for i, c := range e2eColumns {
		got := schema[i]
		w := c.want
		if got.Name != c.name || got.Type != w.physical || got.ConvertedType != w.converted ||
			got.Repetition != "OPTIONAL" || (w.converted == "DECIMAL" && (got.Precision != w.precision || got.Scale != w.scale)) ||
			(w.physical == "FIXED_LEN_BYTE_ARRAY" && got.TypeLength != w.length) {
			t.Errorf("column %s (%s): got %+v, want %+v", c.name, c.def, got, w)
		}
		if w.converted == "TIMESTAMP_MICROS" && !strings.Contains(strings.ToLower(got.LogicalType), "isadjustedtoutc=1") &&
			!strings.Contains(strings.ToLower(got.LogicalType), "isadjustedtoutc=true") {
			t.Errorf("column %s: logical type %q is not UTC-adjusted", c.name, got.LogicalType)
		}
	}
}

// compareValues reads the table from the server and the files from DuckDB,
// ordered by id, and compares every value with the column's comparison.
func compareValues(t *testing.T, admin *sql.DB, duck *duckcheck.DB, name string, files []string, nRows int) {
	t.Helper()
	var mysqlCols, duckCols []string
	for _, c := range e2eColumns {
		q := ms.QuoteIdent(c.name)
		d := duckcheck.Ident(c.name)
		switch c.cmp {
		case "double":
			mysqlCols = append(mysqlCols, "("+q+" + 0e0)") // the stored value, exactly
			duckCols = append(duckCols, d)
		case "decimal":
			mysqlCols = append(mysqlCols, q)
			duckCols = append(duckCols, "CAST("+d+" AS VARCHAR)")
		case "micros":
			mysqlCols = append(mysqlCols, q)
			duckCols = append(duckCols, "epoch_us("+d+")")
		case "int":
			mysqlCols = append(mysqlCols, q)
			duckCols = append(duckCols, "CAST("+d+" AS BIGINT)")
		default:
			mysqlCols = append(mysqlCols, q)
			duckCols = append(duckCols, d)
		}
	}
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = "'" + f + "'"
	}
	got := duck.Rows("SELECT " + strings.Join(duckCols, ", ") + " FROM read_parquet([" + strings.Join(list, ", ") + "]) ORDER BY id")
	rows, err := admin.Query("SELECT " + strings.Join(mysqlCols, ", ") + " FROM " + ms.QuoteIdent(name) + " ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if len(got) != nRows {
		t.Fatalf("DuckDB reads %d rows, want %d", len(got), nRows)
	}
	raw := make([]sql.RawBytes, len(e2eColumns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	r := 0
	errs := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for j, c := range e2eColumns {
			if err := sameValue(c.cmp, raw[j], got[r][j]); err != nil {
				if errs++; errs <= 20 {
					t.Errorf("row %d column %s (%s): %v", r, c.name, c.def, err)
				}
			}
		}
		r++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func sameValue(cmp string, server sql.RawBytes, duck any) error {
	if server == nil || duck == nil {
		if (server == nil) != (duck == nil) {
			return fmt.Errorf("server %q, file %v", server, duck)
		}
		return nil
	}
	s := string(server)
	switch cmp {
	case "int":
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || duck != v {
			return fmt.Errorf("server %s, file %v (%T)", s, duck, duck)
		}
	case "decimal", "string":
		if duck != s {
			return fmt.Errorf("server %q, file %q", s, duck)
		}
	case "double":
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || duck != v {
			return fmt.Errorf("server %s, file %v", s, duck)
		}
	case "bytes":
		b, ok := duck.([]byte)
		if !ok || string(b) != s {
			return fmt.Errorf("server %x, file %x", s, duck)
		}
	case "micros":
		tm, err := time.Parse("2006-01-02 15:04:05.999999", s)
		if err != nil || duck != tm.UnixMicro() {
			return fmt.Errorf("server %s, file %v", s, duck)
		}
	default:
		return fmt.Errorf("unknown comparison %q", cmp)
	}
	return nil
}

// TestEndToEndPartitionsAndWarnings: a partitioned table gets one batch
// folder per partition; zero dates are NULL in the file and reported in
// WarningMessage; a table the account cannot read is a skipped table;
// an ExportOnly entry that matches nothing is a skipped objective.
func TestEndToEndPartitionsAndWarnings(t *testing.T) {
	admin := ms.AdminDB(t)
	parts, zero, secret := ms.UniqueName(t, "e2e_parts"), ms.UniqueName(t, "e2e_zero"), ms.UniqueName(t, "e2e_secret")
	ms.CreateTable(t, admin, parts, `(id INT NOT NULL PRIMARY KEY, v VARCHAR(5))
		PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (20), PARTITION p2 VALUES LESS THAN MAXVALUE)`)
	ms.MustExec(t, admin, "INSERT INTO "+ms.QuoteIdent(parts)+" SELECT seq, 'x' FROM seq_1_to_25")
	ms.CreateTable(t, admin, zero, "(id INT PRIMARY KEY, dt DATETIME, d DATE)")
	ms.MustExec(t, admin, "INSERT INTO "+ms.QuoteIdent(zero)+" VALUES (1, '0000-00-00 00:00:00', '0000-00-00'), (2, '2001-01-01 00:00:00', '2001-01-01')")
	ms.CreateTable(t, admin, secret, "(id INT PRIMARY KEY)")
	_, _, rawURL := ms.CreateUser(t, admin,
		"SELECT ON "+ms.TestDatabase+"."+ms.QuoteIdent(parts),
		"SELECT ON "+ms.TestDatabase+"."+ms.QuoteIdent(zero),
		"INSERT ON "+ms.TestDatabase+"."+ms.QuoteIdent(secret))
	rec, dir, err := export(t, snapexport.StartExportTaskInput{
		SourceArn:  rawURL,
		ExportOnly: []string{ms.TestDatabase + "." + parts, ms.TestDatabase + "." + zero, ms.TestDatabase + "." + secret, ms.TestDatabase + ".no_such_table"},
	})
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	if strings.Contains(rec.SourceArn, "pw-") {
		t.Errorf("SourceArn shows the password: %s", rec.SourceArn)
	}
	// One batch folder per partition.
	files := parquetFiles(t, dir, rec.ExportTaskIdentifier, parts)
	var batches []string
	for _, f := range files {
		batches = append(batches, filepath.Base(filepath.Dir(f)))
	}
	if !slices.Equal(batches, []string{"1", "2", "3"}) {
		t.Errorf("batch folders %v, want 1 2 3", batches)
	}
	duck := duckcheck.Open(t)
	for i, f := range files {
		if n := duck.Int("SELECT count(*) FROM read_parquet(?)", f); n != []int64{9, 10, 6}[i] {
			t.Errorf("partition %d: %d rows", i, n)
		}
	}
	zf := parquetFiles(t, dir, rec.ExportTaskIdentifier, zero)
	if len(zf) != 1 {
		t.Fatalf("zero-date table files %v", zf)
	}
	got := duck.Rows("SELECT id, epoch_us(dt), d FROM read_parquet(?) ORDER BY id", zf[0])
	if got[0][1] != nil || got[0][2] != "0000-00-00" || got[1][1] != time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro() {
		t.Errorf("zero-date rows %v", got)
	}
	w, err := snapexport.ParseWarnings(rec.WarningMessage)
	if err != nil {
		t.Fatalf("WarningMessage %q: %v", rec.WarningMessage, err)
	}
	has := func(entries []snapexport.WarningEntry, target, reason string) bool {
		return slices.ContainsFunc(entries, func(e snapexport.WarningEntry) bool {
			return strings.HasSuffix(e.Target, target) && e.Reason == reason
		})
	}
	if !has(w.General, zero, source.ReasonZeroDates) {
		t.Errorf("no zero-date warning in %s", rec.WarningMessage)
	}
	if !has(w.SkippedTables, secret, source.ReasonPermissionsDoNotExist) {
		t.Errorf("no skipped table for %s in %s", secret, rec.WarningMessage)
	}
	if !has(w.SkippedObjectives, "no_such_table", source.ReasonNoMatch) {
		t.Errorf("no skipped objective in %s", rec.WarningMessage)
	}
	if !has(w.General, "", source.ReasonConsistencyFallback) {
		t.Errorf("an account without RELOAD exported without the fallback warning: %s", rec.WarningMessage)
	}
	if _, err := os.Stat(filepath.Join(dir, rec.ExportTaskIdentifier, ms.TestDatabase, ms.TestDatabase+"."+secret)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the skipped table has a folder: %v", err)
	}
}

// TestEndToEndWritesAfterInProgressAreInvisible: with and without the lock
// privilege, rows inserted, updated and deleted by another connection once
// the task is IN_PROGRESS do not appear in the files.
func TestEndToEndWritesAfterInProgressAreInvisible(t *testing.T) {
	admin := ms.AdminDB(t)
	for _, grants := range [][]string{
		{"SELECT ON " + ms.TestDatabase + ".*", "RELOAD ON *.*"},
		{"SELECT ON " + ms.TestDatabase + ".*"},
	} {
		t.Run(strings.Join(grants, "+"), func(t *testing.T) {
			a, b := ms.UniqueName(t, "e2e_iso_a"), ms.UniqueName(t, "e2e_iso_b")
			ms.FillTable(t, admin, a, 2000)
			ms.FillTable(t, admin, b, 2000)
			_, _, rawURL := ms.CreateUser(t, admin, grants...)
			var once sync.Once
			writeErr := make(chan error, 1)
			rec, dir, err := export(t, snapexport.StartExportTaskInput{
				SourceArn:  rawURL,
				ExportOnly: []string{ms.TestDatabase + "." + a, ms.TestDatabase + "." + b},
				Options: &snapexport.TaskOptions{Concurrency: 2, OnEvent: func(ev snapexport.Event) {
					if ev.Task.Status != snapexport.StatusInProgress {
						return
					}
					once.Do(func() {
						var err error
						for _, tb := range []string{a, b} {
							q := ms.QuoteIdent(tb)
							for _, stmt := range []string{
								"INSERT INTO " + q + " VALUES (5000, 'new'), (0, 'new')",
								"UPDATE " + q + " SET v = 'changed' WHERE id IN (1, 1000, 2000)",
								"DELETE FROM " + q + " WHERE id BETWEEN 100 AND 199",
							} {
								if _, e := admin.Exec(stmt); e != nil && err == nil {
									err = e
								}
							}
						}
						writeErr <- err
					})
				}},
			})
			if err != nil {
				t.Fatalf("export: %v (%s)", err, rec.FailureCause)
			}
			select {
			case err := <-writeErr:
				if err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatal("the task never reported IN_PROGRESS")
			}
			duck := duckcheck.Open(t)
			for _, tb := range []string{a, b} {
				files := parquetFiles(t, dir, rec.ExportTaskIdentifier, tb)
				if len(files) != 1 {
					t.Fatalf("%s: files %v", tb, files)
				}
				r := duck.Rows("SELECT count(*), min(id), max(id), count(*) FILTER (WHERE v <> 'orig') FROM read_parquet(?)", files[0])
				if fmt.Sprint(r[0]) != "[2000 1 2000 0]" {
					t.Errorf("%s: count, min, max, changed = %v, want [2000 1 2000 0]", tb, r[0])
				}
			}
		})
	}
}

// blockingSink holds the first write of a key containing block until
// release is closed, and says when it is holding.
type blockingSink struct {
	sink.Sink
	block   string
	holding chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *blockingSink) NewWriter(ctx context.Context, key string, opts *sink.WriterOptions) (sink.Writer, error) {
	w, err := s.Sink.NewWriter(ctx, key, opts)
	if err != nil || !strings.Contains(key, s.block) {
		return w, err
	}
	return &blockingWriter{Writer: w, s: s}, nil
}

type blockingWriter struct {
	sink.Writer
	s *blockingSink
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.s.once.Do(func() {
		close(w.s.holding)
		<-w.s.release
	})
	return w.Writer.Write(p)
}

// TestEndToEndKilledConnectionFailsTheTask: the scan's connection killed
// from another session mid-table fails the task with a FailureCause naming
// the table, and no object of that table is visible.
func TestEndToEndKilledConnectionFailsTheTask(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "e2e_kill")
	ms.FillTable(t, admin, name, 300000)
	dir := t.TempDir()
	ds, err := dirsink.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	bs := &blockingSink{Sink: ds, block: name, holding: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	var rec snapexport.ExportTask
	var exportErr error
	go func() {
		defer close(done)
		rec, _, exportErr = export(t, snapexport.StartExportTaskInput{
			Sink:       bs,
			ExportOnly: []string{ms.TestDatabase + "." + name},
			Options:    &snapexport.TaskOptions{Concurrency: 1, RowGroupBytes: 64 << 10},
		})
	}()
	select {
	case <-bs.holding:
	case <-done:
		t.Fatalf("the task ended before writing: %v", exportErr)
	}
	// The scan is mid-table, its worker held in the sink: kill its connection.
	var id int64
	pattern := "%FROM `" + ms.TestDatabase + "`.`" + name + "`%"
	if err := admin.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND INFO NOT LIKE '%PROCESSLIST%'", pattern).Scan(&id); err != nil {
		close(bs.release)
		t.Fatalf("finding the scan's connection: %v", err)
	}
	ms.MustExec(t, admin, fmt.Sprintf("KILL %d", id))
	close(bs.release)
	<-done
	if exportErr == nil || rec.Status != snapexport.StatusFailed {
		t.Fatalf("task %s, err %v; want FAILED", rec.Status, exportErr)
	}
	if !strings.Contains(rec.FailureCause, ms.TestDatabase+"."+name) {
		t.Errorf("FailureCause %q does not name the table", rec.FailureCause)
	}
	for obj, err := range ds.List(context.Background(), "") {
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(obj.Key, name) {
			t.Errorf("object of the failed table is visible: %s", obj.Key)
		}
	}
}

// TestEndToEndSplitTable: a table large enough to split is read as several
// key ranges on four snapshot connections at once; rows written by another
// connection once the task is IN_PROGRESS appear in none of the parts, and
// together the parts hold every row exactly once: DuckDB's count, sum of
// id and digest of all columns over the files equal the server's before
// the writes.
func TestEndToEndSplitTable(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "e2e_split")
	ms.CreateTable(t, admin, name, "(id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20), pad CHAR(100)) ENGINE=InnoDB")
	ms.MustExec(t, admin, "INSERT INTO "+ms.QuoteIdent(name)+" SELECT seq, IF(seq % 97 = 0, NULL, 'orig'), IF(seq % 5 = 0, '', REPEAT(CHAR(97 + seq % 26), 100)) FROM seq_1_to_250000",
		"ANALYZE TABLE "+ms.QuoteIdent(name))
	columns := []string{"id", "v", "pad"}
	want := serverDigest(t, admin, name, "id", columns)
	q := ms.QuoteIdent(name)
	var once sync.Once
	writeErr := make(chan error, 1)
	rec, dir, err := export(t, snapexport.StartExportTaskInput{
		ExportOnly: []string{ms.TestDatabase + "." + name},
		// Parts of 4 MiB: the 30 MB table is split as a large one is.
		Options: &snapexport.TaskOptions{Concurrency: 4, TargetPartBytes: 4 << 20, Compression: writer.Snappy, OnEvent: func(ev snapexport.Event) {
			if ev.Task.Status != snapexport.StatusInProgress {
				return
			}
			once.Do(func() {
				_, err := admin.Exec("UPDATE " + q + " SET v = 'changed' WHERE id % 1000 = 0")
				if err == nil {
					_, err = admin.Exec("DELETE FROM " + q + " WHERE id % 1000 = 1")
				}
				if err == nil {
					_, err = admin.Exec("INSERT INTO " + q + " VALUES (0, 'new', ''), (300000, 'new', '')")
				}
				writeErr <- err
			})
		}},
	})
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	if err := <-writeErr; err != nil {
		t.Fatal(err)
	}
	if rec.SnapshotIdentity[ms.IDConsistency] != "ftwrl" {
		t.Errorf("snapshot identity %v", rec.SnapshotIdentity)
	}
	files := parquetFiles(t, dir, rec.ExportTaskIdentifier, name)
	checkSplitFiles(t, files, 4)
	duck := duckcheck.Open(t)
	list := fileList(files)
	r := duck.Rows("SELECT count(*), count(DISTINCT id), min(id), max(id), count(*) FILTER (WHERE v <> 'orig') FROM read_parquet([" + list + "])")
	if fmt.Sprint(r[0]) != "[250000 250000 1 250000 0]" {
		t.Errorf("rows, distinct ids, min, max, changed = %v; want [250000 250000 1 250000 0]", r[0])
	}
	if got := duckDigest(t, duck, list, "id", columns); got != want {
		t.Errorf("DuckDB over the files: %v; server before the writes: %v", got, want)
	}
}

// TestEndToEndStringKeyTable: a table whose only key is a VARCHAR (mixed
// case, accents, ß and ss, emoji, under utf8mb4_unicode_ci) is split into
// ranges of that key, read four at a time: part-00000… in batch folder 1,
// several parts, and DuckDB's count, sum of n and digest of all columns
// over the files equal the server's.
func TestEndToEndStringKeyTable(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "e2e_strkey")
	ms.CreateTable(t, admin, name, `(k VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY,
		n INT NOT NULL, d DECIMAL(12,2), note VARCHAR(120)) ENGINE=InnoDB`)
	ms.MustExec(t, admin, "INSERT INTO "+ms.QuoteIdent(name)+` SELECT
		CONCAT(ELT(1 + seq % 7, 'a', 'Á', 'ß', 'ss', '😀', 'Z', 'z'), seq),
		seq % 1000, IF(seq % 11 = 0, NULL, ROUND(seq / 7 - 5000, 2)),
		CONCAT('note ', seq, ' ', REPEAT(ELT(1 + seq % 3, 'x', 'é', '🙂'), 20))
		FROM seq_1_to_120000`,
		"ANALYZE TABLE "+ms.QuoteIdent(name))
	columns := []string{"k", "n", "d", "note"}
	want := serverDigest(t, admin, name, "n", columns)
	rec, dir, err := export(t, snapexport.StartExportTaskInput{
		ExportOnly: []string{ms.TestDatabase + "." + name},
		// Parts of 2 MiB: the table of about 15 MB is split.
		Options: &snapexport.TaskOptions{Concurrency: 4, TargetPartBytes: 2 << 20, Compression: writer.Snappy},
	})
	if err != nil {
		t.Fatalf("export: %v (%s)", err, rec.FailureCause)
	}
	files := parquetFiles(t, dir, rec.ExportTaskIdentifier, name)
	checkSplitFiles(t, files, 4)
	duck := duckcheck.Open(t)
	if got := duckDigest(t, duck, fileList(files), "n", columns); got != want {
		t.Errorf("DuckDB over the files: %v; server: %v", got, want)
	}
	t.Logf("rows, sum of n, digest: %+v", want)
}

// checkSplitFiles: every file of a table split into key ranges is in batch
// folder 1 and named part-<index>-…, and there are at least minParts
// distinct indexes.
func checkSplitFiles(t *testing.T, files []string, minParts int) {
	t.Helper()
	parts := map[string]bool{}
	for _, f := range files {
		base := filepath.Base(f)
		if filepath.Base(filepath.Dir(f)) != "1" {
			t.Errorf("%s: key ranges go to batch folder 1", f)
		}
		if len(base) < 11 || !strings.HasPrefix(base, "part-") || strings.Trim(base[5:10], "0123456789") != "" || base[10] != '-' {
			t.Errorf("%s: not named part-<5 digits>-…", f)
			continue
		}
		parts[base[:10]] = true
	}
	if len(parts) < minParts {
		t.Fatalf("the table was read in %d parts, want at least %d: files %v", len(parts), minParts, files)
	}
	t.Logf("%d files, %d parts", len(files), len(parts))
}

func fileList(files []string) string {
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	return strings.Join(list, ", ")
}

// tableDigest is what both engines compute over a table's rows: the row
// count, the sum of one integer column, and a digest of every column.
//
// The digest is per row: the md5 of the columns' text (CAST AS CHAR on the
// server, AS VARCHAR in DuckDB: integers, DECIMAL with its scale and UTF-8
// strings print alike in both), joined by '|', NULL written as <NULL>; its
// first 15 hex digits (60 bits, so each fits a signed 64-bit integer) are
// summed exactly (DECIMAL on the server, HUGEINT in DuckDB) and compared as
// text. A sum does not depend on the order of rows or files, and unlike an
// XOR a row read twice changes it; a missing, duplicated or altered row
// changes it unless 60-bit hashes collide.
type tableDigest struct {
	rows      int64
	sum, hash string
}

func serverDigest(t *testing.T, db *sql.DB, table, sumColumn string, columns []string) tableDigest {
	t.Helper()
	texts := make([]string, len(columns))
	for i, c := range columns {
		texts[i] = "COALESCE(CAST(" + ms.QuoteIdent(c) + " AS CHAR), '<NULL>')"
	}
	var d tableDigest
	err := db.QueryRow("SELECT COUNT(*), CAST(SUM("+ms.QuoteIdent(sumColumn)+") AS CHAR), "+
		"CAST(SUM(CAST(CONV(LEFT(MD5(CONCAT_WS('|', "+strings.Join(texts, ", ")+")), 15), 16, 10) AS UNSIGNED)) AS CHAR) FROM "+
		ms.QuoteIdent(table)).Scan(&d.rows, &d.sum, &d.hash)
	if err != nil {
		t.Fatalf("digest of %s on the server: %v", table, err)
	}
	return d
}

func duckDigest(t *testing.T, duck *duckcheck.DB, fileList, sumColumn string, columns []string) tableDigest {
	t.Helper()
	texts := make([]string, len(columns))
	for i, c := range columns {
		texts[i] = "COALESCE(CAST(\"" + c + "\" AS VARCHAR), '<NULL>')"
	}
	var d tableDigest
	err := duck.SQL().QueryRow("SELECT count(*), CAST(sum(\""+sumColumn+"\") AS VARCHAR), "+
		"CAST(sum(CAST(CAST('0x' || substr(md5(concat_ws('|', "+strings.Join(texts, ", ")+")), 1, 15) AS BIGINT) AS HUGEINT)) AS VARCHAR) "+
		"FROM read_parquet(["+fileList+"])").Scan(&d.rows, &d.sum, &d.hash)
	if err != nil {
		t.Fatalf("digest in DuckDB: %v", err)
	}
	return d
}

// TestEndToEndUnderUserConnectionLimit: an account created WITH
// MAX_USER_CONNECTIONS 3 (and RELOAD, so the snapshot would use 8
// connections) exports with Concurrency 8: the task COMPLETEs with every
// row and its warnings say fewer scans ran at once.
func TestEndToEndUnderUserConnectionLimit(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "e2e_limit")
	ms.FillTable(t, admin, name, 20000)
	user, _, rawURL := ms.CreateUser(t, admin, "SELECT ON "+ms.TestDatabase+".*", "RELOAD ON *.*")
	ms.MustExec(t, admin, "ALTER USER '"+user+"'@'127.0.0.1' WITH MAX_USER_CONNECTIONS 3")
	rec, _, err := export(t, snapexport.StartExportTaskInput{
		SourceArn:  rawURL,
		ExportOnly: []string{ms.TestDatabase + "." + name},
		Options:    &snapexport.TaskOptions{Concurrency: 8},
	})
	if err != nil || rec.Status != snapexport.StatusComplete || rec.ExportedRows != 20000 {
		t.Fatalf("task %s with %d rows (%v), want COMPLETE with 20000", rec.Status, rec.ExportedRows, err)
	}
	if !strings.Contains(rec.WarningMessage, source.ReasonFewerConnections) {
		t.Errorf("WarningMessage %q does not say fewer connections were used", rec.WarningMessage)
	}
}

// TestEndToEndPasswordOutsideTheURL: with the password only in MYSQL_PWD,
// or only in the [client] group of an option file named by option_file, an
// export COMPLETEs and the password is in no record, file, event, warning
// or error.
func TestEndToEndPasswordOutsideTheURL(t *testing.T) {
	admin := ms.AdminDB(t)
	name := ms.UniqueName(t, "e2e_secret")
	ms.FillTable(t, admin, name, 10)
	user, password, rawURL := ms.CreateUser(t, admin, "SELECT ON "+ms.TestDatabase+".*")
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	optionFile := filepath.Join(t.TempDir(), "my.cnf")
	if err := os.WriteFile(optionFile, []byte("[mysql]\npassword=not-this-one\n[client]\n# the account's\npassword = \""+password+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	withFile := *u
	withFile.RawQuery = url.Values{"option_file": {optionFile}}.Encode()
	for way, sourceURL := range map[string]string{"MYSQL_PWD": u.String(), "option_file": withFile.String()} {
		t.Run(way, func(t *testing.T) {
			if way == "MYSQL_PWD" {
				t.Setenv(ms.EnvPassword, password)
			}
			var events []snapexport.Event
			var mu sync.Mutex
			rec, dir, err := export(t, snapexport.StartExportTaskInput{
				SourceArn:  sourceURL,
				ExportOnly: []string{ms.TestDatabase + "." + name},
				Options: &snapexport.TaskOptions{OnEvent: func(ev snapexport.Event) {
					mu.Lock()
					events = append(events, ev)
					mu.Unlock()
				}},
			})
			if err != nil || rec.Status != snapexport.StatusComplete || rec.ExportedRows != 10 {
				t.Fatalf("task %s, %d rows, %v", rec.Status, rec.ExportedRows, err)
			}
			mu.Lock()
			defer mu.Unlock()
			sourcetest.CheckNoSecret(t, password, dir, rec, events, rec.WarningMessage)
		})
	}
	t.Setenv(ms.EnvPassword, "wrong-"+password)
	_, err = ms.OpenURL(context.Background(), u.String(), ms.Options{})
	if err == nil {
		t.Fatal("a wrong MYSQL_PWD connected")
	}
	sourcetest.CheckNoSecret(t, password, "", err, err.Error())
}

// TestEndToEndURLDatabaseIsTheScope: without ExportOnly, a URL naming one
// of two databases exports that one, and the record (SourceArn, Tables)
// says so.
func TestEndToEndURLDatabaseIsTheScope(t *testing.T) {
	admin := ms.AdminDB(t)
	dbA, dbB := ms.UniqueName(t, "e2e_scope_a"), ms.UniqueName(t, "e2e_scope_b")
	for _, db := range []string{dbA, dbB} {
		t.Cleanup(func() { admin.Exec("DROP DATABASE IF EXISTS " + ms.QuoteIdent(db)) })
		ms.MustExec(t, admin, "CREATE DATABASE "+ms.QuoteIdent(db), "CREATE TABLE "+ms.QuoteIdent(db)+".t (id INT PRIMARY KEY)",
			"INSERT INTO "+ms.QuoteIdent(db)+".t VALUES (1), (2)")
	}
	u, err := url.Parse(ms.TestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbA
	rec, _, err := export(t, snapexport.StartExportTaskInput{SourceArn: u.String()})
	if err != nil || rec.Status != snapexport.StatusComplete || rec.ExportedRows != 2 {
		t.Fatalf("task %s, %d rows, %v; want COMPLETE with %s's 2 rows", rec.Status, rec.ExportedRows, err, dbA)
	}
	if !strings.HasSuffix(rec.SourceArn, "/"+dbA) || len(rec.Tables) != 1 || rec.Tables[0].Target != dbA+".t" {
		t.Errorf("record: SourceArn %q, tables %+v", rec.SourceArn, rec.Tables)
	}
}
