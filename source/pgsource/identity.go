package pgsource

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Per-database unchanged-ness. A resumed export keeps parts read from an
// older snapshot, and says whether the source changed in between. The WAL
// position and the transaction ids are the cluster's: any write to any
// database of the server moves them. So each database's identity also
// holds "<db>.data_version", which the exporter compares alone when both
// identities have it: the database's row-change counters from
// pg_stat_database (tup_inserted, tup_updated, tup_deleted), with
// stats_reset, read inside the snapshot's transaction.
//
// What it can miss, documented: PostgreSQL counts rows changed by
// transactions that rolled back too (a false "changed", harmless), and a
// backend reports its counters when its transaction ends, at most once a
// second (PGSTAT_MIN_INTERVAL; an idle one within 10 s), so a write that
// committed in the second or so before a snapshot may show only in the
// next reading. A reset of the statistics (pg_stat_reset) reads as a
// change. Writes by replication (a standby applying WAL) are not counted
// on the standby: on a hot standby the WAL replay position, which is the
// database's, is what changes, and the identity keeps it.

// dataVersionKey is the identity key of a database's data version.
func dataVersionKey(database string) string { return database + ".data_version" }

// dataVersion reads the current database's row-change counters.
func dataVersion(ctx context.Context, conn *pgx.Conn) (string, error) {
	var ins, upd, del int64
	var reset *string
	err := conn.QueryRow(ctx, `SELECT tup_inserted, tup_updated, tup_deleted, stats_reset::text
		FROM pg_stat_database WHERE datname = current_database()`).Scan(&ins, &upd, &del, &reset)
	if err != nil {
		return "", fmt.Errorf("pgsource: reading the row-change counters of the database: %w", err)
	}
	r := "never"
	if reset != nil {
		r = *reset
	}
	return fmt.Sprintf("ins=%d upd=%d del=%d reset=%s", ins, upd, del, r), nil
}

// recordDataVersion adds the database's data version to the snapshot's
// identity; on a standby, where the counters do not see replayed writes,
// the replay position stands for it.
func (sn *Snapshot) recordDataVersion(ctx context.Context, conn *pgx.Conn, database string, inRecovery bool) error {
	if inRecovery {
		sn.info.ID[dataVersionKey(database)] = "replay_lsn=" + sn.info.ID[database+".lsn"]
		return nil
	}
	v, err := dataVersion(ctx, conn)
	if err != nil {
		return err
	}
	sn.info.ID[dataVersionKey(database)] = v
	return nil
}
