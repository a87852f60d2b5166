package typemap

import "errors"

// postgresTarget maps a PostgreSQL column by the table of reference §10.2.
// Owned by the PostgreSQL source work; replaced there.
func postgresTarget(col Column) (Target, error) {
	return Target{}, errors.New("typemap: postgres profile not implemented")
}
