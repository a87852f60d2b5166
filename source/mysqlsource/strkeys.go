package mysqlsource

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/source"
)

var _ source.KeyBoundarySampler = (*Snapshot)(nil)

// stringKey is what it takes to compare a string column exactly as its
// index orders it: the column's own character set and collation.
type stringKey struct {
	column string
	// charset and collation are the column's; both "" for BINARY and
	// VARBINARY, which compare byte by byte.
	charset, collation string
}

// charsetName matches the character set and collation names the server
// reports (utf8mb4, utf8mb4_uca1400_ai_ci): they are spliced into SQL.
var charsetName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// literal renders v, a value of the column as CAST(column AS BINARY) reads
// it, as an SQL literal of the column's own character set and collation.
// The hex bytes are taken as they are whatever the connection's character
// set (no conversion, no escaping), and the explicit COLLATE makes the
// server compare column and literal in the column's collation, the order of
// its index, whatever the connection's collation.
func (k stringKey) literal(v []byte) string {
	h := hex.EncodeToString(v)
	if k.charset == "" {
		return "_binary X'" + h + "'"
	}
	return "_" + k.charset + " X'" + h + "' COLLATE " + k.collation
}

// stringKey describes column of t for byte-bounded ranges, from
// information_schema.COLUMNS (once per column and snapshot).
func (s *Snapshot) stringKey(ctx context.Context, t source.Table, column string) (stringKey, error) {
	id := t.Target() + "\x00" + column
	s.mu.Lock()
	k, ok := s.stringKeys[id]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	var dataType string
	var charset, collation sql.NullString
	err := s.src.db.QueryRowContext(ctx, `SELECT LOWER(DATA_TYPE), CHARACTER_SET_NAME, COLLATION_NAME
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?`,
		t.Database, t.Name, column).Scan(&dataType, &charset, &collation)
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("mysqlsource: %s has no column %q to split on", t.Target(), column)
	}
	if err != nil {
		return k, fmt.Errorf("mysqlsource: describe key column %q of %s: %w", column, t.Target(), err)
	}
	if !stringKeyTypes[dataType] {
		return k, fmt.Errorf("mysqlsource: column %q of %s is %s: byte bounds (KeyRange.LowerBytes, UpperBytes) need a CHAR, VARCHAR, BINARY or VARBINARY column; bound an integer key with Lower and Upper",
			column, t.Target(), dataType)
	}
	k = stringKey{column: column}
	if dataType == "char" || dataType == "varchar" {
		if !charsetName.MatchString(charset.String) || !charsetName.MatchString(collation.String) {
			return k, fmt.Errorf("mysqlsource: column %q of %s: unexpected character set %q or collation %q",
				column, t.Target(), charset.String, collation.String)
		}
		k.charset, k.collation = charset.String, collation.String
	}
	s.mu.Lock()
	if s.stringKeys == nil {
		s.stringKeys = map[string]stringKey{}
	}
	s.stringKeys[id] = k
	s.mu.Unlock()
	return k, nil
}

// Sampling: KeyBoundaries walks the key's index once, in strides.
const (
	// strideSamples is how many samples per part the first stride aims
	// at: the boundaries are picked among them, so a part's size is
	// within about a quarter of a share of its target.
	strideSamples = 4
	// samplesBeforeDoubling: once this many samples per part were taken
	// (the estimate was low), the stride doubles every strideSamples per
	// part more, so an estimate far too low costs a logarithmic number of
	// extra queries, not a linear one.
	samplesBeforeDoubling = 2 * strideSamples
)

// keySample is a value of the key and its approximate rank among the
// non-NULL entries of the index (1 for the smallest).
type keySample struct {
	value []byte
	rank  int64
}

// keyBoundaries is KeyBoundaries before redaction.
func (s *Snapshot) keyBoundaries(ctx context.Context, t source.Table, column string, n int) ([][]byte, error) {
	if n < 2 {
		return nil, nil
	}
	sk, err := s.stringKey(ctx, t, column)
	if err != nil {
		return nil, err
	}
	ix, err := s.orderedIndex(ctx, t, column)
	if err != nil || ix == "" {
		// Without an index on the column each stride would sort the
		// table: not worth it to plan.
		return nil, err
	}
	k := quoteIdent(column)
	from := qualified(t) + forceIndex(ix)
	est := t.EstimatedRows
	if est <= 0 {
		// TABLE_ROWS is not known yet: the optimizer's own estimate.
		if row, err := queryFirstRowDB(ctx, s.src.db, "EXPLAIN SELECT "+k+" FROM "+from); err == nil {
			est, _ = strconv.ParseInt(row["rows"], 10, 64)
		}
	}
	conn, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	healthy := true
	defer func() { s.release(conn, healthy) }()
	fail := func(err error) ([][]byte, error) {
		healthy = isServerError(err)
		return nil, fmt.Errorf("mysqlsource: sample key %s of %s: %w", column, t.Target(), err)
	}
	// next returns the stride-th value after prev (after NULL: the first
	// values), or nil past the end.
	next := func(prev []byte, stride int64) ([]byte, error) {
		where := k + " IS NOT NULL"
		if prev != nil {
			where = k + " > " + sk.literal(prev)
		}
		var v []byte
		err := conn.conn.QueryRowContext(ctx, "SELECT CAST("+k+" AS BINARY) FROM "+from+" WHERE "+where+
			" ORDER BY "+k+" LIMIT 1 OFFSET "+strconv.FormatInt(stride-1, 10)).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if v == nil && err == nil {
			v = []byte{} // the empty value, not the end
		}
		return v, err
	}
	stride := max(1, est/int64(strideSamples*n))
	var samples []keySample
	for {
		v, err := next(nil, stride)
		if err != nil {
			return fail(err)
		}
		if v != nil {
			samples = append(samples, keySample{v, stride})
			break
		}
		if stride == 1 {
			return nil, nil // no non-NULL key at all
		}
		// Fewer keys than one stride: count them (cheap, there are few)
		// and stride by the count.
		var count int64
		if err := conn.conn.QueryRowContext(ctx, "SELECT COUNT("+k+") FROM "+from).Scan(&count); err != nil {
			return fail(err)
		}
		if count == 0 {
			return nil, nil
		}
		stride = max(1, min(stride-1, count/int64(strideSamples*n)))
	}
	for {
		if len(samples) >= samplesBeforeDoubling*n && len(samples)%(strideSamples*n) == 0 {
			stride *= 2
		}
		last := samples[len(samples)-1]
		v, err := next(last.value, stride)
		if err != nil {
			return fail(err)
		}
		if v == nil {
			// Fewer than stride entries remain: count half of one.
			return pickBoundaries(samples, last.rank+stride/2, n), nil
		}
		samples = append(samples, keySample{v, last.rank + stride})
	}
}

// orderedIndex is an index that orders column's whole values: the key's
// own, or else any B-tree index column leads, not by a prefix ("" if none).
func (s *Snapshot) orderedIndex(ctx context.Context, t source.Table, column string) (string, error) {
	if index := s.keyIndex(t, column); index != "" {
		return index, nil
	}
	indexes, err := s.indexes(ctx, t, false)
	if err != nil {
		return "", err
	}
	for _, ix := range indexes {
		if ix.usable && ix.btree && !ix.prefix && ix.columns[0] == column {
			return ix.name, nil
		}
	}
	return "", nil
}

// pickBoundaries returns, for each i in 1..n−1, the sample whose rank is
// nearest to i/n of total, each sample once, none at the smallest key
// (the first range would hold only NULLs).
func pickBoundaries(samples []keySample, total int64, n int) [][]byte {
	var out [][]byte
	j, last := 0, -1
	for i := 1; i < n; i++ {
		// A boundary of rank r has r−1 entries before it.
		target := float64(total)*float64(i)/float64(n) + 1
		dist := func(j int) float64 { return abs(float64(samples[j].rank) - target) }
		for j+1 < len(samples) && dist(j+1) <= dist(j) {
			j++
		}
		if j == last || samples[j].rank <= 1 {
			continue
		}
		out = append(out, samples[j].value)
		last = j
	}
	return out
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// forceIndex is the index hint that makes the server walk index ("" for
// none): range reads and sampling then follow the key's order and never
// turn into a full table scan per part.
func forceIndex(index string) string {
	if index == "" {
		return ""
	}
	return " FORCE INDEX (" + quoteIdent(index) + ")"
}

// byteRangeCondition is the WHERE of a range bounded by LowerBytes and
// UpperBytes, its bounds literals of the column's collation ("" for none).
func byteRangeCondition(r source.KeyRange, sk stringKey) string {
	k := quoteIdent(r.Column)
	var conds []string
	if r.LowerBytes != nil {
		conds = append(conds, k+" >= "+sk.literal(r.LowerBytes))
	}
	if r.UpperBytes != nil {
		conds = append(conds, k+" < "+sk.literal(r.UpperBytes))
	}
	return joinRange(k, conds, r.IncludeNull)
}

// joinRange ANDs a range's bounds and adds the NULL keys when asked.
func joinRange(k string, conds []string, includeNull bool) string {
	if len(conds) == 0 {
		if includeNull {
			return ""
		}
		return k + " IS NOT NULL"
	}
	where := strings.Join(conds, " AND ")
	if includeNull {
		return "(" + where + ") OR " + k + " IS NULL"
	}
	return where
}
