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
func RDS() Mapper { return named{ProfileRDS, MapperFunc(rdsMap)} }

// Profile names, as TaskOptions.TypeProfile and --type-profile take them.
const (
	// ProfileRDS is the default: RDS's tables exactly.
	ProfileRDS = "rds"
	// ProfileTyped is the lossless typed profile (see the package
	// documentation's table).
	ProfileTyped = "typed"
)

// ProfileOptions tune a profile for one task. The zero value is every
// option's default.
type ProfileOptions struct {
	// UnboundedNumeric is the policy for numerics the typed profile cannot
	// give their own DECIMAL: PostgreSQL numeric without a precision, and
	// any declared precision above 38 (PostgreSQL numeric(50,10), MySQL
	// DECIMAL(65,30)). The zero value writes them as STRING, the exact
	// decimal text (NaN and ±Infinity included). A Precision of 1..38 writes
	// them as that DECIMAL(Precision, Scale) instead: a value with more
	// integer digits or more decimal places than it holds fails the task
	// naming the row, it is never rounded; NaN and ±Infinity are NULL,
	// counted per column in the warnings. The RDS profile ignores it.
	UnboundedNumeric NumericPolicy
	// TimestampUnit is the unit of every timestamp of the task (both
	// profiles): Micros, the zero value, or Millis for readers that take only
	// milliseconds (Athena and Glue of old). Millis rounds toward negative
	// infinity, so an instant never moves past the next one.
	TimestampUnit TimeUnit
}

// NumericPolicy is [ProfileOptions.UnboundedNumeric]: the zero value means
// STRING, otherwise DECIMAL(Precision, Scale).
type NumericPolicy struct{ Precision, Scale int }

// String is "string" or "decimal(p,s)", as ParseNumericPolicy reads it.
func (p NumericPolicy) String() string {
	if p.Precision == 0 {
		return "string"
	}
	return fmt.Sprintf("decimal(%d,%d)", p.Precision, p.Scale)
}

// ParseNumericPolicy reads "string" or "decimal(p,s)".
func ParseNumericPolicy(s string) (NumericPolicy, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "string" {
		return NumericPolicy{}, nil
	}
	var p NumericPolicy
	if n, _ := fmt.Sscanf(s, "decimal(%d,%d)", &p.Precision, &p.Scale); n == 2 && fmt.Sprintf("decimal(%d,%d)", p.Precision, p.Scale) == s {
		return p, p.validate()
	}
	return NumericPolicy{}, fmt.Errorf("typemap: unbounded numeric policy %q is not string or decimal(precision,scale)", s)
}

func (p NumericPolicy) validate() error {
	if p.Precision == 0 && p.Scale == 0 {
		return nil
	}
	if p.Precision < 1 || p.Precision > 38 || p.Scale < 0 || p.Scale > p.Precision {
		return fmt.Errorf("typemap: unbounded numeric policy decimal(%d,%d) is out of range (want 1 ≤ precision ≤ 38, 0 ≤ scale ≤ precision)", p.Precision, p.Scale)
	}
	return nil
}

// TimeUnit is the unit of timestamps.
type TimeUnit int

const (
	// Micros writes TIMESTAMP(MICROS): PostgreSQL's and MySQL's own
	// resolution.
	Micros TimeUnit = iota
	// Millis writes TIMESTAMP(MILLIS), rounding down.
	Millis
)

// ParseTimeUnit reads "micros" or "millis".
func ParseTimeUnit(s string) (TimeUnit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "micros", "us":
		return Micros, nil
	case "millis", "ms":
		return Millis, nil
	}
	return Micros, fmt.Errorf("typemap: timestamp unit %q is not micros or millis", s)
}

func (u TimeUnit) String() string {
	if u == Millis {
		return "millis"
	}
	return "micros"
}

// Profile returns the named profile ("" is ProfileRDS) with opts.
func Profile(name string, opts ProfileOptions) (Mapper, error) {
	if err := opts.UnboundedNumeric.validate(); err != nil {
		return nil, err
	}
	if opts.TimestampUnit != Micros && opts.TimestampUnit != Millis {
		return nil, fmt.Errorf("typemap: unknown timestamp unit %d", opts.TimestampUnit)
	}
	var m Mapper
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", ProfileRDS:
		m = RDS()
	case ProfileTyped:
		m = named{ProfileTyped, MapperFunc(func(engine, table string, col Column) (Target, error) {
			return typedMap(engine, col, opts)
		})}
	default:
		return nil, fmt.Errorf("typemap: unknown type profile %q (want %s or %s)", name, ProfileRDS, ProfileTyped)
	}
	if opts.TimestampUnit == Millis {
		base := m
		m = named{ProfileName(base), MapperFunc(func(engine, table string, col Column) (Target, error) {
			t, err := base.Map(engine, table, col)
			return t.inMillis(), err
		})}
	}
	return m, nil
}

// inMillis is t with every timestamp in milliseconds.
func (t Target) inMillis() Target {
	switch t.Kind {
	case TimestampMicros:
		t.Kind = TimestampMillis
	case LocalTimestampMicros:
		t.Kind = LocalTimestampMillis
	case List:
		e := t.ElemTarget().inMillis()
		t.Elem = e.Kind
	}
	return t
}

// ProfileName is the profile a mapper is built on: "rds", "typed", or
// "custom" for a mapper of the caller's own. Overrides keep the name of the
// profile they are applied to.
func ProfileName(m Mapper) string {
	if n, ok := m.(named); ok {
		return n.name
	}
	return "custom"
}

// named is a profile's mapper, which knows its name.
type named struct {
	name string
	Mapper
}

func typedMap(engine string, col Column, opts ProfileOptions) (Target, error) {
	switch engine {
	case EnginePostgres:
		return postgresTyped(col, opts)
	case EngineMySQL, EngineMariaDB:
		return mysqlTyped(col, opts)
	case EngineSQLite:
		// SQLite has no types beyond its affinities, so the affinity table
		// is already lossless (see sqlite.go).
		return sqliteTarget(col)
	}
	return Target{}, fmt.Errorf("typemap: no type profile for engine %q", engine)
}

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

// WithOverrides returns a mapper that consults o before base, whichever
// profile base is (its name is kept, see [ProfileName]). An override to a
// target that cannot hold the column's values at all (text as int32) is
// refused with an error naming the column and what would fit.
func WithOverrides(base Mapper, o Overrides) Mapper {
	return named{ProfileName(base), &overrideMapper{base: base, byType: lowerKeys(o.ByType), byCol: lowerKeys(o.ByColumn), o: o}}
}

type overrideMapper struct {
	base          Mapper
	byType, byCol map[string]Target
	o             Overrides
}

func (m *overrideMapper) Map(engine, table string, col Column) (Target, error) {
	if t, ok := m.byCol[strings.ToLower(table+"."+col.Name)]; ok {
		return t, validateOverride(engine, col, t)
	}
	if t, ok := m.byType[strings.ToLower(col.ColumnType)]; ok {
		return t, validateOverride(engine, col, t)
	}
	if t, ok := m.byType[strings.ToLower(col.DataType)]; ok {
		return t, validateOverride(engine, col, t)
	}
	return m.base.Map(engine, table, col)
}

// OverridesOf returns the overrides of a mapper made by [WithOverrides],
// as given, so a caller can tell the user about keys that match no column;
// ok is false for any other mapper.
func OverridesOf(m Mapper) (o Overrides, ok bool) {
	if n, ok := m.(named); ok {
		m = n.Mapper
	}
	om, ok := m.(*overrideMapper)
	if !ok {
		return Overrides{}, false
	}
	return om.o, true
}

func validateOverride(engine string, col Column, t Target) error {
	if t.Kind == Decimal && (t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision) {
		return fmt.Errorf("typemap: override decimal(%d,%d) is out of range (want 1 ≤ precision ≤ 38, 0 ≤ scale ≤ precision)", t.Precision, t.Scale)
	}
	if t.Kind == List || t.Elem != Omit {
		return fmt.Errorf("typemap: column %q: a list is not an override target; the typed profile maps arrays to lists", col.Name)
	}
	if isCharacterType(engine, col) {
		switch t.Kind {
		case String, Binary, JSON, Enum, Omit:
		default:
			return fmt.Errorf("typemap: column %q of type %s cannot be written as %s: its values are any text (what fits: string, binary, json or enum)",
				col.Name, col.DataType, t)
		}
	}
	return nil
}

// isCharacterType reports a PostgreSQL or MySQL column of a character type,
// whose values are arbitrary text. SQLite's declared types say too little
// (a DATETIME column has NUMERIC affinity and holds text): any override is
// taken there, and the values decide.
func isCharacterType(engine string, col Column) bool {
	switch engine {
	case EnginePostgres:
		if col.PG.OID != 0 {
			switch col.PG.BaseOID {
			case OIDText, OIDVarchar, OIDBPChar, OIDName, OIDChar:
				return col.PG.Kind == 'b' || col.PG.Kind == 'd'
			}
			return false
		}
		switch strings.ToLower(col.DataType) {
		case "text", "character varying", "character", "name", `"char"`, "varchar", "char", "bpchar":
			return true
		}
	case EngineMySQL, EngineMariaDB:
		switch strings.ToLower(col.DataType) {
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
			return true
		}
	}
	return false
}

func lowerKeys(m map[string]Target) map[string]Target {
	out := make(map[string]Target, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}
