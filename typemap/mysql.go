package typemap

import "errors"

// mysqlTarget maps a MySQL/MariaDB column by the table of reference §10.1.
// Owned by the MySQL source work; replaced there.
func mysqlTarget(col Column) (Target, error) {
	return Target{}, errors.New("typemap: mysql profile not implemented")
}
