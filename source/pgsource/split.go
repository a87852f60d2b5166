package pgsource

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/snapexport/snapexport/source"
)

var (
	_ source.KeySampler   = (*Snapshot)(nil)
	_ source.BlockScanner = (*Snapshot)(nil)
)

// ScansBlocks reports whether scans accept page ranges
// ([source.ScanRequest.Blocks]): from PostgreSQL 14, whose TID range scans
// read only the pages asked for. Before 14 a ctid condition would read the
// whole table for every range.
func (sn *Snapshot) ScansBlocks() bool { return sn.src.version >= 140000 }

// sampleRows is about how many rows KeyQuantiles reads: enough for
// boundaries within a percent or two of the ideal, whatever the table size.
const sampleRows = 30000

// keyQuantiles is KeyQuantiles before redaction.
func (sn *Snapshot) keyQuantiles(ctx context.Context, t source.Table, column string, n int) ([]int64, error) {
	if n < 2 {
		return nil, nil
	}
	d, err := sn.db(t.Database)
	if err != nil {
		return nil, err
	}
	from, _, err := d.fromSQL(t, "")
	if err != nil {
		return nil, fmt.Errorf("pgsource: sample the key of %q: %w", t.Target(), err)
	}
	fractions := make([]string, n-1)
	for i := range fractions {
		fractions[i] = strconv.FormatFloat(float64(i+1)/float64(n), 'g', -1, 64)
	}
	key := pgx.Identifier{column}.Sanitize()
	query := func(percent float64) string {
		return "SELECT percentile_disc(ARRAY[" + strings.Join(fractions, ", ") + "]::float8[]) WITHIN GROUP (ORDER BY " + key + ")::int8[] FROM " +
			from + " TABLESAMPLE SYSTEM (" + strconv.FormatFloat(percent, 'f', -1, 64) + ") REPEATABLE (0) WHERE " + key + " IS NOT NULL"
	}

	conn, err := d.join(ctx, sn.src)
	if err != nil {
		return nil, fmt.Errorf("pgsource: join snapshot to sample the key of %q: %w", t.Target(), err)
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		_ = rollback(rctx, conn.Conn().PgConn()) // on failure the pool discards the connection
		cancel()
		sn.src.release(conn)
	}()
	percent := samplePercent(t, n)
	for {
		var bounds []*int64
		if err := conn.QueryRow(ctx, query(percent)).Scan(&bounds); err != nil {
			return nil, fmt.Errorf("pgsource: sample the key of %q: %w", t.Target(), err)
		}
		if len(bounds) > 0 || percent >= 100 {
			out := make([]int64, 0, len(bounds))
			for _, b := range bounds {
				if b != nil {
					out = append(out, *b)
				}
			}
			slices.Sort(out)
			return slices.Compact(out), nil
		}
		// The statistics overstated the table: sample more of it.
		percent = min(100, percent*100)
	}
}

// samplePercent is the share of pages to sample for about sampleRows rows
// (at least 100 per part), from the row estimate or, for a table never
// analyzed, from its size.
func samplePercent(t source.Table, n int) float64 {
	want := float64(max(sampleRows, 100*n))
	var p float64
	switch {
	case t.EstimatedRows > 0:
		p = 100 * want / float64(t.EstimatedRows)
	case t.Pages > 0:
		p = 100 * float64(max(300, 10*n)) / float64(t.Pages)
	default:
		p = 100
	}
	return min(100, max(p, 0.0001))
}
