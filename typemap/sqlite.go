package typemap

import "errors"

// sqliteTarget maps a SQLite column by its declared type's affinity.
// Owned by the SQLite source work; replaced there.
func sqliteTarget(col Column) (Target, error) {
	return Target{}, errors.New("typemap: sqlite profile not implemented")
}
