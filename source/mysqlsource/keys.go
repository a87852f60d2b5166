package mysqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	"github.com/snapexport/snapexport/source"
)

var _ source.KeySampler = (*Snapshot)(nil)

// keyQuantiles is KeyQuantiles before redaction.
func (s *Snapshot) keyQuantiles(ctx context.Context, t source.Table, column string, n int) ([]int64, error) {
	if n < 2 {
		return nil, nil
	}
	lo, hi, ok, err := s.keyBounds(ctx, t, column)
	if err != nil || !ok || hi <= lo {
		return nil, err
	}
	n = int(min(uint64(n), uint64(hi)-uint64(lo)+1))
	est := s.rangeEstimator(t, column)
	cells, err := estimateCells(ctx, est, lo, hi, n)
	if err != nil {
		return evenBounds(lo, hi, n), nil
	}
	return cellQuantiles(cells, n), nil
}

// keyCell is the estimated number of rows whose key is in [lo, hi].
type keyCell struct {
	lo, hi int64
	rows   float64
}

// estimateCells cuts [lo, hi] into cells until the heaviest holds at most
// 1/(4n) of the rows, or cannot be cut, or there are 16n+256 cells: enough
// to zoom into a dense cluster that is 2^-60 of a sparse key's span.
func estimateCells(ctx context.Context, est func(context.Context, int64, int64) (int64, error), lo, hi int64, n int) ([]keyCell, error) {
	first, err := est(ctx, lo, hi)
	if err != nil {
		return nil, err
	}
	cells := []keyCell{{lo, hi, float64(max(first, 1))}}
	for len(cells) < 16*n+256 {
		total, heaviest := 0.0, -1
		for i, c := range cells {
			total += c.rows
			if c.hi > c.lo && (heaviest < 0 || c.rows > cells[heaviest].rows) {
				heaviest = i
			}
		}
		if heaviest < 0 || cells[heaviest].rows <= total/float64(4*n) {
			break
		}
		c := cells[heaviest]
		mid := c.lo + int64((uint64(c.hi)-uint64(c.lo))/2)
		left, err := est(ctx, c.lo, mid)
		if err != nil {
			return nil, err
		}
		right, err := est(ctx, mid+1, c.hi)
		if err != nil {
			return nil, err
		}
		cells = slices.Replace(cells, heaviest, heaviest+1,
			keyCell{c.lo, mid, float64(left)}, keyCell{mid + 1, c.hi, float64(right)})
	}
	return cells, nil
}

// cellQuantiles reads n−1 ascending, distinct boundaries off the cells'
// cumulative counts, interpolating within a cell.
func cellQuantiles(cells []keyCell, n int) []int64 {
	total := 0.0
	for _, c := range cells {
		total += c.rows
	}
	if total <= 0 {
		return evenBounds(cells[0].lo, cells[len(cells)-1].hi, n)
	}
	var out []int64
	before, ci := 0.0, 0
	for i := 1; i < n; i++ {
		target := total * float64(i) / float64(n)
		for ci < len(cells)-1 && before+cells[ci].rows < target {
			before += cells[ci].rows
			ci++
		}
		c := cells[ci]
		frac := 0.0
		if c.rows > 0 {
			frac = min(max((target-before)/c.rows, 0), 1)
		}
		b := c.lo + int64(frac*float64(uint64(c.hi)-uint64(c.lo)))
		if b <= cells[0].lo || (len(out) > 0 && b <= out[len(out)-1]) {
			continue
		}
		out = append(out, b)
	}
	return out
}

// keyBounds returns the key's minimum and maximum as of the snapshot.
func (s *Snapshot) keyBounds(ctx context.Context, t source.Table, column string) (lo, hi int64, ok bool, err error) {
	if t.Key != nil && t.Key.Column == column {
		if t.Key.Min == nil || t.Key.Max == nil {
			return 0, 0, false, nil
		}
		return *t.Key.Min, *t.Key.Max, true, nil
	}
	conn, err := s.acquire(ctx)
	if err != nil {
		return 0, 0, false, err
	}
	var l, h sql.NullString
	qk := quoteIdent(column)
	err = conn.conn.QueryRowContext(ctx, "SELECT MIN("+qk+"), MAX("+qk+") FROM "+qualified(t)).Scan(&l, &h)
	s.release(conn, err == nil || isServerError(err))
	if err != nil {
		return 0, 0, false, fmt.Errorf("mysqlsource: key bounds of %s: %w", t.Target(), err)
	}
	if !l.Valid || !h.Valid {
		return 0, 0, false, nil
	}
	return clampInt64(l.String), clampInt64(h.String), true, nil
}

// rangeEstimator returns est(a, b): the server's estimate of the rows whose
// key is in [a, b]. The EXPLAINs run on the pool: estimates need no
// snapshot.
func (s *Snapshot) rangeEstimator(t source.Table, column string) func(context.Context, int64, int64) (int64, error) {
	force := ""
	if idx := s.keyIndex(t, column); idx != "" {
		// Without it the optimizer may choose a full scan for a wide range
		// and report the table's size instead of the range's.
		force = " FORCE INDEX (" + quoteIdent(idx) + ")"
	}
	k := quoteIdent(column)
	head := "EXPLAIN SELECT " + k + " FROM " + qualified(t) + force + " WHERE " + k + " >= "
	return func(ctx context.Context, a, b int64) (int64, error) {
		row, err := queryFirstRowDB(ctx, s.src.db, head+strconv.FormatInt(a, 10)+" AND "+k+" <= "+strconv.FormatInt(b, 10))
		if err != nil {
			return 0, err
		}
		if row["rows"] == "" { // "Impossible WHERE": no row there
			return 0, nil
		}
		return strconv.ParseInt(row["rows"], 10, 64)
	}
}

func evenBounds(lo, hi int64, n int) []int64 {
	span := uint64(hi) - uint64(lo)
	out := make([]int64, 0, n-1)
	for i := 1; i < n; i++ {
		// lo + span*i/n without overflowing: span < 2^64, i < n ≤ span+1.
		step := span / uint64(n) * uint64(i)
		step += span % uint64(n) * uint64(i) / uint64(n)
		out = append(out, int64(uint64(lo)+step))
	}
	return out
}

// keyIndex is the unique index Tables found for the key (the column leads
// it), "" when Tables did not report column as t's key.
func (s *Snapshot) keyIndex(t source.Table, column string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keyIndexes[t.Target()+"\x00"+column]
}

func (s *Snapshot) setKeyIndex(t source.Table, column, index string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keyIndexes == nil {
		s.keyIndexes = map[string]string{}
	}
	s.keyIndexes[t.Target()+"\x00"+column] = index
}

// queryFirstRowDB is queryFirstRow on the pool.
func queryFirstRowDB(ctx context.Context, db *sql.DB, q string) (map[string]string, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return queryFirstRow(ctx, conn, q)
}
