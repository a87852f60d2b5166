package typemap

import (
	"fmt"
	"strings"
)

// Engine names, as [source.Source.Engine] reports them and profiles are keyed.
const (
	EnginePostgres = "postgres"
	EngineMySQL    = "mysql"
	EngineMariaDB  = "mariadb"
	EngineSQLite   = "sqlite"
)

// RDS returns the default mapper: the exact type-mapping tables of the RDS
// reference (§10.1 MySQL/MariaDB, §10.2 PostgreSQL), and the documented
// affinity mapping for SQLite (see sqlite.go).
func RDS() Mapper { return MapperFunc(rdsMap) }

func rdsMap(engine, table string, col Column) (Target, error) {
	switch engine {
	case EnginePostgres:
		return postgresTarget(col)
	case EngineMySQL, EngineMariaDB:
		return mysqlTarget(col)
	case EngineSQLite:
		return sqliteTarget(col)
	}
	return Target{}, fmt.Errorf("typemap: no type profile for engine %q", engine)
}

// Overrides replace the mapping of some columns. Keys are matched
// case-insensitively.
type Overrides struct {
	// ByType maps a catalog type name (Column.DataType, or Column.ColumnType
	// such as "bigint unsigned") to a target.
	ByType map[string]Target
	// ByColumn maps "database.schema.table.column" to a target; it wins over
	// ByType.
	ByColumn map[string]Target
}

// WithOverrides returns a mapper that consults o before base.
func WithOverrides(base Mapper, o Overrides) Mapper {
	return &overrideMapper{base: base, byType: lowerKeys(o.ByType), byCol: lowerKeys(o.ByColumn), o: o}
}

type overrideMapper struct {
	base          Mapper
	byType, byCol map[string]Target
	o             Overrides
}

func (m *overrideMapper) Map(engine, table string, col Column) (Target, error) {
	if t, ok := m.byCol[strings.ToLower(table+"."+col.Name)]; ok {
		return t, validateOverride(t)
	}
	if t, ok := m.byType[strings.ToLower(col.ColumnType)]; ok {
		return t, validateOverride(t)
	}
	if t, ok := m.byType[strings.ToLower(col.DataType)]; ok {
		return t, validateOverride(t)
	}
	return m.base.Map(engine, table, col)
}

// OverridesOf returns the overrides of a mapper made by [WithOverrides],
// as given, so a caller can tell the user about keys that match no column;
// ok is false for any other mapper.
func OverridesOf(m Mapper) (o Overrides, ok bool) {
	om, ok := m.(*overrideMapper)
	if !ok {
		return Overrides{}, false
	}
	return om.o, true
}

func validateOverride(t Target) error {
	if t.Kind == Decimal && (t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision) {
		return fmt.Errorf("typemap: override decimal(%d,%d) is out of range (want 1 ≤ precision ≤ 38, 0 ≤ scale ≤ precision)", t.Precision, t.Scale)
	}
	return nil
}

func lowerKeys(m map[string]Target) map[string]Target {
	out := make(map[string]Target, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
