package riversched

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// MigrateCommand is the command that installs the queue's schema; errors
// about a missing schema name it.
const MigrateCommand = "snapexport queue migrate"

// ErrNoSchema is wrapped by CheckSchema when the queue database lacks
// River's tables (or snapexport's one), or holds an older version of them.
var ErrNoSchema = errors.New("riversched: the queue database has no (or an outdated) River schema; install it with `" + MigrateCommand + " --queue URL`")

// keyTable is snapexport's own table in the queue database: the
// write-ahead journal of every key a part attempt intends to write (see
// the package documentation, "Fencing").
const keyTableDDL = `CREATE TABLE IF NOT EXISTS snapexport_part_key (
	task_key   text        NOT NULL,
	generation int         NOT NULL,
	part       text        NOT NULL,
	job_id     bigint      NOT NULL,
	attempt    int         NOT NULL,
	key        text        NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (task_key, key)
);
CREATE INDEX IF NOT EXISTS snapexport_part_key_job ON snapexport_part_key (job_id)`

// Migrate installs or upgrades River's schema with River's own migrator,
// and snapexport's journal table, in the database pool connects to. It is
// idempotent.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return nil, fmt.Errorf("riversched: migrate: %w", err)
	}
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("riversched: migrate River's schema: %w", err)
	}
	if _, err := pool.Exec(ctx, keyTableDDL); err != nil {
		return nil, fmt.Errorf("riversched: create snapexport_part_key: %w", err)
	}
	var applied []int
	for _, v := range res.Versions {
		applied = append(applied, v.Version)
	}
	return applied, nil
}

// CheckSchema fails with an error wrapping ErrNoSchema unless the queue
// database holds River's schema at the version this build migrates to and
// snapexport's journal table; an unreachable database is reported as
// such.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pool.Ping(ctx); err != nil {
		return fmt.Errorf("riversched: the queue database is unreachable: %w", err)
	}
	m, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("riversched: %w", err)
	}
	res, err := m.Validate(ctx, nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNoSchema, err)
	}
	if !res.OK {
		return fmt.Errorf("%w (%v)", ErrNoSchema, res.Messages)
	}
	var ok bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('snapexport_part_key') IS NOT NULL").Scan(&ok); err != nil {
		return fmt.Errorf("riversched: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w (snapexport_part_key is missing)", ErrNoSchema)
	}
	return nil
}
