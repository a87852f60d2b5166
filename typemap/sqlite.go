package typemap

import "strings"

// sqliteTarget maps a SQLite column by its declared type, following the
// column affinity rules of https://www.sqlite.org/datatype3.html §3.1, applied
// in the same order SQLite applies them (so "FLOATING POINT" has INTEGER
// affinity, as in SQLite):
//
//	declared type                        affinity  target
//	contains "INT"                       INTEGER   Int64
//	contains "CHAR", "CLOB" or "TEXT"    TEXT      String
//	contains "BLOB", or no type at all   BLOB      Binary
//	contains "REAL", "FLOA" or "DOUB"    REAL      Double
//	BOOLEAN, BOOL                        NUMERIC   Boolean
//	contains "BINARY", or BYTEA          NUMERIC   Binary
//	anything else (DECIMAL, NUMERIC,     NUMERIC   String: the value's text
//	  DATE, DATETIME, TIMESTAMP, ...)              form as SQLite prints it
//
// RDS has no SQLite profile; this is snapexport's. NUMERIC affinity holds
// integers, reals and text side by side (a DECIMAL(10,2) column stores 1.5 as
// a REAL and 'abc' as TEXT), so only a string keeps every value it can hold;
// dates stay the text (or number) the application stored, because SQLite has
// no date type to say which convention that is. BINARY, VARBINARY and BYTEA
// hold blobs (NUMERIC affinity never converts a blob), which a string could
// not carry. An override (by type or column) picks anything else, e.g.
// timestamp_micros for ISO-8601 text dates.
func sqliteTarget(col Column) (Target, error) {
	return Target{Kind: SQLiteAffinityKind(declaredType(col))}, nil
}

// SQLiteAffinityKind is the target kind of a SQLite declared type (as written
// in CREATE TABLE, any case, with or without "(n,m)"): see the table on
// sqliteTarget in sqlite.go and sqlitesource's package documentation.
func SQLiteAffinityKind(declared string) Kind {
	t := strings.ToUpper(strings.TrimSpace(declared))
	switch {
	case strings.Contains(t, "INT"):
		return Int64
	case strings.Contains(t, "CHAR"), strings.Contains(t, "CLOB"), strings.Contains(t, "TEXT"):
		return String
	case t == "", strings.Contains(t, "BLOB"):
		return Binary
	case strings.Contains(t, "REAL"), strings.Contains(t, "FLOA"), strings.Contains(t, "DOUB"):
		return Double
	}
	// NUMERIC affinity. Only the base name decides BOOLEAN: "BOOLEAN(1)" is
	// still a boolean, "BOOLEAN_FLAGS" is not.
	base := t
	if i := strings.IndexByte(base, '('); i >= 0 {
		base = strings.TrimSpace(base[:i])
	}
	switch {
	case base == "BOOLEAN" || base == "BOOL":
		return Boolean
	case strings.Contains(base, "BINARY") || base == "BYTEA":
		// Declared by schemas ported from MySQL or PostgreSQL; SQLite gives
		// them NUMERIC affinity, which leaves blobs as blobs.
		return Binary
	}
	return String
}

// declaredType is the full declared type of a SQLite column: sqlitesource
// puts it in ColumnType ("varchar(20)") and its base name in DataType.
func declaredType(col Column) string {
	if col.ColumnType != "" {
		return col.ColumnType
	}
	return col.DataType
}
