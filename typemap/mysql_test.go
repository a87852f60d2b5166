package typemap_test

import (
	"strings"
	"testing"

	"github.com/snapexport/snapexport/typemap"
)

// TestMySQLProfileMatchesReference checks every row of reference §10.1:
// the physical type, the logical annotation (through the text RDS writes in
// expectedExportedType) and the fixed width, for MySQL and MariaDB alike.
func TestMySQLProfileMatchesReference(t *testing.T) {
	type row struct {
		col      typemap.Column
		physical typemap.Physical
		exported string // expectedExportedType: physical type plus annotation
		fixedLen int
	}
	c := func(dataType, columnType string) typemap.Column {
		return typemap.Column{Name: "c", DataType: dataType, ColumnType: columnType}
	}
	dec := func(dataType string, p, s int) typemap.Column {
		col := c(dataType, dataType)
		col.Precision, col.Scale = p, s
		return col
	}
	rows := []row{
		// Numeric
		{c("bigint", "bigint(20)"), typemap.PhysicalInt64, "int64", 0},
		{c("bigint", "bigint(20) unsigned"), typemap.PhysicalFixedLenByteArray, "fixed_len_byte_array(9) (DECIMAL(20,0))", 9},
		{c("bit", "bit(10)"), typemap.PhysicalByteArray, "binary", 0},
		{dec("decimal", 9, 2), typemap.PhysicalInt32, "int32 (DECIMAL(9,2))", 0},
		{dec("decimal", 1, 0), typemap.PhysicalInt32, "int32 (DECIMAL(1,0))", 0},
		{dec("decimal", 10, 0), typemap.PhysicalInt64, "int64 (DECIMAL(10,0))", 0},
		{dec("decimal", 18, 4), typemap.PhysicalInt64, "int64 (DECIMAL(18,4))", 0},
		{dec("decimal", 19, 0), typemap.PhysicalFixedLenByteArray, "fixed_len_byte_array(9) (DECIMAL(19,0))", 9},
		{dec("decimal", 38, 10), typemap.PhysicalFixedLenByteArray, "fixed_len_byte_array(16) (DECIMAL(38,10))", 16},
		{dec("decimal", 39, 0), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{dec("decimal", 65, 30), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("double", "double"), typemap.PhysicalDouble, "double", 0},
		{c("float", "float"), typemap.PhysicalDouble, "double", 0},
		{c("int", "int(11)"), typemap.PhysicalInt32, "int32", 0},
		{c("int", "int(10) unsigned"), typemap.PhysicalInt64, "int64", 0},
		{c("mediumint", "mediumint(9)"), typemap.PhysicalInt32, "int32", 0},
		{c("mediumint", "mediumint(8) unsigned"), typemap.PhysicalInt64, "int64", 0},
		{dec("numeric", 5, 1), typemap.PhysicalInt32, "int32 (DECIMAL(5,1))", 0},
		{dec("numeric", 15, 1), typemap.PhysicalInt64, "int64 (DECIMAL(15,1))", 0},
		{dec("numeric", 30, 5), typemap.PhysicalFixedLenByteArray, "fixed_len_byte_array(13) (DECIMAL(30,5))", 13},
		{dec("numeric", 40, 5), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("smallint", "smallint(6)"), typemap.PhysicalInt32, "int32", 0},
		{c("smallint", "smallint(5) unsigned"), typemap.PhysicalInt32, "int32", 0},
		{c("tinyint", "tinyint(4)"), typemap.PhysicalInt32, "int32", 0},
		{c("tinyint", "tinyint(3) unsigned"), typemap.PhysicalInt32, "int32 (INT_16)", 0},
		// String
		{c("binary", "binary(16)"), typemap.PhysicalByteArray, "binary", 0},
		{c("blob", "blob"), typemap.PhysicalByteArray, "binary", 0},
		{c("char", "char(5)"), typemap.PhysicalByteArray, "binary", 0},
		{c("enum", "enum('a','b')"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("linestring", "linestring"), typemap.PhysicalByteArray, "binary", 0},
		{c("longblob", "longblob"), typemap.PhysicalByteArray, "binary", 0},
		{c("longtext", "longtext"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("mediumblob", "mediumblob"), typemap.PhysicalByteArray, "binary", 0},
		{c("mediumtext", "mediumtext"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("multilinestring", "multilinestring"), typemap.PhysicalByteArray, "binary", 0},
		{c("set", "set('a','b')"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("text", "text"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("tinyblob", "tinyblob"), typemap.PhysicalByteArray, "binary", 0},
		{c("tinytext", "tinytext"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("varbinary", "varbinary(10)"), typemap.PhysicalByteArray, "binary", 0},
		{c("varchar", "varchar(10)"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		// Date and time
		{c("date", "date"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("datetime", "datetime(6)"), typemap.PhysicalInt64, "int64 (TIMESTAMP_MICRO)", 0},
		{c("time", "time(3)"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("timestamp", "timestamp"), typemap.PhysicalInt64, "int64 (TIMESTAMP_MICRO)", 0},
		{c("year", "year(4)"), typemap.PhysicalInt32, "int32", 0},
		// Geometric
		{c("geometry", "geometry"), typemap.PhysicalByteArray, "binary", 0},
		{c("geometrycollection", "geometrycollection"), typemap.PhysicalByteArray, "binary", 0},
		{c("geomcollection", "geomcollection"), typemap.PhysicalByteArray, "binary", 0},
		{c("multipoint", "multipoint"), typemap.PhysicalByteArray, "binary", 0},
		{c("multipolygon", "multipolygon"), typemap.PhysicalByteArray, "binary", 0},
		{c("point", "point"), typemap.PhysicalByteArray, "binary", 0},
		{c("polygon", "polygon"), typemap.PhysicalByteArray, "binary", 0},
		// JSON (MySQL's json; MariaDB reports JSON columns as longtext)
		{c("json", "json"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		// MariaDB types newer than the reference: their text form
		{c("inet6", "inet6"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("inet4", "inet4"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
		{c("uuid", "uuid"), typemap.PhysicalByteArray, "binary (UTF8)", 0},
	}
	for _, engine := range []string{typemap.EngineMySQL, typemap.EngineMariaDB} {
		for _, r := range rows {
			name := engine + "/" + r.col.ColumnType
			got, err := typemap.RDS().Map(engine, "db.db.t", r.col)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if p := got.Physical(); p != r.physical {
				t.Errorf("%s: physical %v, want %v (target %v)", name, p, r.physical, got)
			}
			if e := got.ExpectedExportedType(); e != r.exported {
				t.Errorf("%s: exported as %q, want %q", name, e, r.exported)
			}
			if n := got.FixedLen(); n != r.fixedLen {
				t.Errorf("%s: fixed length %d, want %d", name, n, r.fixedLen)
			}
		}
	}
}

// The Unsigned flag and an "unsigned" column type are equivalent: drivers
// fill both, hand-made columns may fill one.
func TestMySQLUnsignedFlag(t *testing.T) {
	for _, dt := range []string{"bigint", "int", "mediumint", "tinyint"} {
		byFlag, err1 := typemap.RDS().Map("mysql", "d.d.t", typemap.Column{Name: "c", DataType: dt, ColumnType: dt, Unsigned: true})
		byType, err2 := typemap.RDS().Map("mysql", "d.d.t", typemap.Column{Name: "c", DataType: dt, ColumnType: dt + " unsigned"})
		if err1 != nil || err2 != nil || byFlag != byType {
			t.Errorf("%s: flag gives %v (%v), column type gives %v (%v)", dt, byFlag, err1, byType, err2)
		}
	}
}

func TestMySQLDecimalTargetCarriesPrecisionAndScale(t *testing.T) {
	got, err := typemap.RDS().Map("mariadb", "d.d.t", typemap.Column{Name: "c", DataType: "decimal", ColumnType: "decimal(12,3)", Precision: 12, Scale: 3})
	if err != nil || got != (typemap.Target{Kind: typemap.Decimal, Precision: 12, Scale: 3}) {
		t.Fatalf("decimal(12,3) maps to %v, %v", got, err)
	}
}

func TestMySQLUnknownTypeIsAnError(t *testing.T) {
	_, err := typemap.RDS().Map("mysql", "d.d.t", typemap.Column{Name: "c", DataType: "hyperloglog", ColumnType: "hyperloglog"})
	if err == nil || !strings.Contains(err.Error(), `"hyperloglog"`) || !strings.HasPrefix(err.Error(), "typemap: ") {
		t.Fatalf("unknown type: err = %v, want a typemap error naming the type", err)
	}
	_, err = typemap.RDS().Map("mysql", "d.d.t", typemap.Column{Name: "c", DataType: "decimal", Precision: 5, Scale: 7})
	if err == nil {
		t.Fatal("decimal(5,7) mapped without error")
	}
}
