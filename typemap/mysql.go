package typemap

import (
	"fmt"
	"strings"
)

// mysqlTarget maps a MySQL/MariaDB column by the table of reference §10.1,
// row for row (physical type and logical annotation):
//
//	BIGINT                                  INT64
//	BIGINT UNSIGNED                         FIXED_LEN_BYTE_ARRAY(9) DECIMAL(20,0)
//	INT, MEDIUMINT, SMALLINT (UNSIGNED),
//	TINYINT, YEAR                           INT32
//	INT UNSIGNED, MEDIUMINT UNSIGNED        INT64
//	TINYINT UNSIGNED                        INT32 INT(16, true)
//	FLOAT, DOUBLE                           DOUBLE
//	DECIMAL/NUMERIC(p,s)                    DECIMAL(p,s) on INT32 (p ≤ 9), INT64 (p ≤ 18),
//	                                        FIXED_LEN_BYTE_ARRAY(minimal width) (p ≤ 38);
//	                                        p > 38: BYTE_ARRAY STRING (the exact decimal text)
//	DATETIME, TIMESTAMP                     INT64 TIMESTAMP_MICROS
//	DATE, TIME                              BYTE_ARRAY STRING (MySQL's text form)
//	CHAR, BINARY, VARBINARY, BIT, BLOBs,
//	geometry types                          BYTE_ARRAY (no annotation)
//	VARCHAR, TEXTs, ENUM, SET, JSON         BYTE_ARRAY STRING
//
// The reference states DECIMAL's storage per value; a Parquet column has one
// physical type, so it is chosen from the declared precision, which bounds
// every value of the column. CHAR carries no STRING annotation because the
// reference lists none. MariaDB-only types the reference predates (INET4,
// INET6, UUID) are written as STRING in their text form, and MySQL 9's
// VECTOR as BYTE_ARRAY; any other type is an error rather than a guess.
func mysqlTarget(col Column) (Target, error) {
	unsigned := col.Unsigned || strings.Contains(strings.ToLower(col.ColumnType), "unsigned")
	switch t := strings.ToLower(strings.TrimSpace(col.DataType)); t {
	case "bigint":
		if unsigned {
			return Target{Kind: Decimal, Precision: 20, Scale: 0}, nil
		}
		return Target{Kind: Int64}, nil
	case "int", "integer", "mediumint":
		if unsigned {
			return Target{Kind: Int64}, nil
		}
		return Target{Kind: Int32}, nil
	case "smallint", "year":
		return Target{Kind: Int32}, nil
	case "tinyint", "bool", "boolean":
		if unsigned {
			return Target{Kind: Int16}, nil
		}
		return Target{Kind: Int32}, nil
	case "float", "double", "double precision", "real":
		return Target{Kind: Double}, nil
	case "decimal", "numeric", "dec", "fixed":
		p, s := col.Precision, col.Scale
		if p <= 0 {
			// MySQL's default for a bare DECIMAL; catalogs always report
			// the precision, so this only guards hand-made columns.
			p = 10
		}
		if p > 38 {
			return Target{Kind: String}, nil
		}
		if s < 0 || s > p {
			return Target{}, fmt.Errorf("typemap: mysql column %q: decimal(%d,%d) has an impossible scale", col.Name, p, s)
		}
		return Target{Kind: Decimal, Precision: p, Scale: s}, nil
	case "datetime", "timestamp":
		return Target{Kind: TimestampMicros}, nil
	case "date", "time":
		return Target{Kind: String}, nil
	case "char", "binary", "varbinary", "bit",
		"tinyblob", "blob", "mediumblob", "longblob",
		"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
		"multipolygon", "geometrycollection", "geomcollection", "vector":
		return Target{Kind: Binary}, nil
	case "varchar", "tinytext", "text", "mediumtext", "longtext",
		"enum", "set", "json", "inet4", "inet6", "uuid":
		return Target{Kind: String}, nil
	default:
		return Target{}, fmt.Errorf("typemap: mysql column %q has type %q, which has no RDS mapping (map it with an override)", col.Name, col.ColumnType)
	}
}
