package typemap_test

import (
	"testing"

	"github.com/snapexport/snapexport/typemap"
)

// TestSQLiteAffinity checks every row of the affinity table, including the
// examples of https://www.sqlite.org/datatype3.html §3.1.1 and its quirks
// (rule order makes "FLOATING POINT" an integer and "STRING" numeric).
func TestSQLiteAffinity(t *testing.T) {
	cases := []struct {
		declared string
		want     typemap.Kind
	}{
		// INTEGER affinity
		{"INT", typemap.Int64},
		{"INTEGER", typemap.Int64},
		{"tinyint", typemap.Int64},
		{"SMALLINT", typemap.Int64},
		{"MEDIUMINT", typemap.Int64},
		{"BIGINT", typemap.Int64},
		{"UNSIGNED BIG INT", typemap.Int64},
		{"INT2", typemap.Int64},
		{"INT8", typemap.Int64},
		{"TINYINT(1)", typemap.Int64},
		{"FLOATING POINT", typemap.Int64}, // contains INT: rule 1 wins
		{"POINT", typemap.Int64},
		{"INTERVAL", typemap.Int64},
		// TEXT affinity
		{"CHARACTER(20)", typemap.String},
		{"VARCHAR(255)", typemap.String},
		{"VARYING CHARACTER(255)", typemap.String},
		{"NCHAR(55)", typemap.String},
		{"NATIVE CHARACTER(70)", typemap.String},
		{"NVARCHAR(100)", typemap.String},
		{"text", typemap.String},
		{"CLOB", typemap.String},
		{"CHARINT", typemap.Int64}, // rule 1 before rule 2
		// BLOB affinity
		{"BLOB", typemap.Binary},
		{"", typemap.Binary},
		{"  ", typemap.Binary},
		{"blobby", typemap.Binary},
		// REAL affinity
		{"REAL", typemap.Double},
		{"DOUBLE", typemap.Double},
		{"DOUBLE PRECISION", typemap.Double},
		{"float", typemap.Double},
		{"FLOAT(8)", typemap.Double},
		// NUMERIC affinity
		{"BOOLEAN", typemap.Boolean},
		{"bool", typemap.Boolean},
		{"BOOLEAN(1)", typemap.Boolean},
		{"BOOLEAN_FLAGS", typemap.String},
		{"VARBINARY(16)", typemap.Binary},
		{"binary(4)", typemap.Binary},
		{"BYTEA", typemap.Binary},
		{"NUMERIC", typemap.String},
		{"DECIMAL(10,5)", typemap.String},
		{"DATE", typemap.String},
		{"DATETIME", typemap.String},
		{"TIMESTAMP", typemap.String},
		{"TIME", typemap.String},
		{"STRING", typemap.String}, // NUMERIC affinity in SQLite, text form here
		{"JSON", typemap.String},
		{"MONEY", typemap.String},
	}
	m := typemap.RDS()
	for _, c := range cases {
		if got := typemap.SQLiteAffinityKind(c.declared); got != c.want {
			t.Errorf("SQLiteAffinityKind(%q) = %v, want %v", c.declared, got, c.want)
		}
		// The profile reads ColumnType first, DataType when ColumnType is empty.
		for _, col := range []typemap.Column{
			{Name: "c", ColumnType: c.declared, DataType: c.declared},
			{Name: "c", DataType: c.declared},
		} {
			got, err := m.Map(typemap.EngineSQLite, "db.main.t", col)
			if err != nil {
				t.Fatalf("Map(%+v): %v", col, err)
			}
			if got != (typemap.Target{Kind: c.want}) {
				t.Errorf("Map(%+v) = %v, want %v", col, got, c.want)
			}
		}
	}
}

// TestSQLiteOverride checks that overrides reach SQLite columns like any
// other engine's, by declared type and by column.
func TestSQLiteOverride(t *testing.T) {
	m := typemap.WithOverrides(typemap.RDS(), typemap.Overrides{
		ByType:   map[string]typemap.Target{"datetime": {Kind: typemap.TimestampMicros}},
		ByColumn: map[string]typemap.Target{"shop.main.orders.total": {Kind: typemap.Decimal, Precision: 10, Scale: 2}},
	})
	got, err := m.Map(typemap.EngineSQLite, "shop.main.orders", typemap.Column{Name: "created", DataType: "datetime", ColumnType: "datetime"})
	if err != nil || got.Kind != typemap.TimestampMicros {
		t.Errorf("datetime override: got %v, %v", got, err)
	}
	got, err = m.Map(typemap.EngineSQLite, "shop.main.orders", typemap.Column{Name: "Total", DataType: "decimal", ColumnType: "decimal(10,2)"})
	if err != nil || got != (typemap.Target{Kind: typemap.Decimal, Precision: 10, Scale: 2}) {
		t.Errorf("column override: got %v, %v", got, err)
	}
	got, err = m.Map(typemap.EngineSQLite, "shop.main.orders", typemap.Column{Name: "note", DataType: "decimal", ColumnType: "decimal(10,2)"})
	if err != nil || got.Kind != typemap.String {
		t.Errorf("no override: got %v, %v", got, err)
	}
}
