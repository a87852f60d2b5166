package riversched

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/snapexport/snapexport/sink"
)

// The journal of part attempts, in the queue database. A worker inserts
// each key before it opens the file (Intend), so every object any attempt
// may have published is known to the coordinator, which deletes every
// journaled key that is not a file of a result it accepted (sweep).

// intend journals key for one attempt of a part.
func intend(ctx context.Context, pool *pgxpool.Pool, taskKey string, gen int, part string, jobID int64, attempt int, key string) error {
	_, err := pool.Exec(ctx, `INSERT INTO snapexport_part_key (task_key, generation, part, job_id, attempt, key)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_key, key) DO NOTHING`, taskKey, gen, part, jobID, attempt, key)
	if err != nil {
		return fmt.Errorf("riversched: journal the key %s: %w", key, err)
	}
	return nil
}

// journaled is one journal row.
type journaled struct {
	gen   int
	part  string
	jobID int64
	key   string
}

// journalOf lists the task's journaled keys.
func journalOf(ctx context.Context, pool *pgxpool.Pool, taskKey string) ([]journaled, error) {
	rows, err := pool.Query(ctx, `SELECT generation, part, job_id, key FROM snapexport_part_key WHERE task_key = $1 ORDER BY key`, taskKey)
	if err != nil {
		return nil, fmt.Errorf("riversched: read the journal: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (journaled, error) {
		var j journaled
		err := r.Scan(&j.gen, &j.part, &j.jobID, &j.key)
		return j, err
	})
}

// sweep deletes from the sink every key of the task's journal that drop
// selects, and its journal row once the object is gone. It returns the
// keys it could not delete.
func sweep(ctx context.Context, pool *pgxpool.Pool, s sink.Sink, taskKey string, drop func(journaled) bool) ([]string, error) {
	all, err := journalOf(ctx, pool, taskKey)
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, j := range all {
		if !drop(j) {
			continue
		}
		if err := s.Delete(ctx, j.key); err != nil && !errors.Is(err, sink.ErrNotExist) {
			failed = append(failed, j.key)
			continue
		}
		if err := sweepAbandoned(ctx, s, j.key); err != nil {
			failed = append(failed, j.key)
			continue
		}
		if _, err := pool.Exec(ctx, `DELETE FROM snapexport_part_key WHERE task_key = $1 AND key = $2`, taskKey, j.key); err != nil {
			return failed, fmt.Errorf("riversched: update the journal: %w", err)
		}
	}
	return failed, nil
}

// sweepAbandoned removes what an attempt killed mid-write left of key
// (an incomplete S3 multipart upload, a dirsink temporary file): nothing
// of it is visible, but it costs storage and shows in the bucket's
// listings of uploads.
func sweepAbandoned(ctx context.Context, s sink.Sink, key string) error {
	sw, ok := s.(sink.Sweeper)
	if !ok {
		return nil
	}
	for a, err := range sw.Abandoned(ctx, key) {
		if err != nil {
			return err
		}
		if a.Key != key {
			continue
		}
		if err := sw.Sweep(ctx, a); err != nil {
			return err
		}
	}
	return nil
}
