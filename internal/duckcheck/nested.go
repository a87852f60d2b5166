package duckcheck

import (
	"fmt"
	"strings"
)

// CheckListNullCounts is CheckNullCounts for files that may hold LIST
// columns: the null count of a LIST's leaf ("c, list, element") is its
// NULL lists, empty lists and NULL elements, every definition level below
// the element's, which readers use as CheckNullCounts explains.
func (d *DB) CheckListNullCounts(path string) {
	d.t.Helper()
	for _, r := range d.Rows(`SELECT path_in_schema, sum(stats_null_count), count(*) FILTER (WHERE stats_null_count IS NULL)
		FROM parquet_metadata(?) GROUP BY 1`, path) {
		leaf := fmt.Sprint(r[0])
		if ToInt(r[2]) > 0 {
			d.t.Errorf("duckcheck: %s: column %s has row groups without a null count", path, leaf)
			continue
		}
		name, _, isList := strings.Cut(leaf, ", ")
		q := "SELECT count(*) FILTER (WHERE %s IS NULL)"
		if isList {
			q = "SELECT count(*) FILTER (WHERE %s IS NULL OR len(%s) = 0) + coalesce(sum(len(list_filter(%s, x -> x IS NULL))), 0)"
		}
		real := d.Int(strings.ReplaceAll(q, "%s", Ident(name))+" FROM read_parquet(?)", path)
		if got := ToInt(r[1]); got != real {
			d.t.Errorf("duckcheck: %s: column %s: statistics say %d NULLs, the data has %d", path, leaf, got, real)
		}
	}
}
