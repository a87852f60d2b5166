package mysqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Per-database unchanged-ness. A resumed export keeps parts read from an
// older snapshot, and says whether the source changed in between. The
// binary log position and the GTID set are the server's: a write to any
// database moves them. So the identity of a snapshot taken under FLUSH
// TABLES WITH READ LOCK also holds "<db>.data_version" for each exported
// database, which the exporter compares alone when both identities have
// it: the number of the database's tables and the latest UPDATE_TIME among
// them (information_schema.TABLES), read while the lock holds, so no write
// can slip between the snapshot and the reading.
//
// UPDATE_TIME has whole seconds. A database whose latest update is in the
// second of the snapshot (or later) gets a version that never compares
// equal ("unsettled"), since a write in the same second after the snapshot
// would not move it. InnoDB keeps UPDATE_TIME in memory only: after a
// restart it is NULL until the next write, so a restart reads as a change
// when the database had been written since the previous one. ALTER TABLE
// changes it too. The single-connection fallback (no lock) records no
// data version, and the exporter compares the binary log position.

// dataVersionKey is the identity key of a database's data version.
func dataVersionKey(database string) string { return database + ".data_version" }

// recordDataVersions adds the data version of each database in only (nil:
// every database but the system ones) to the identity. It runs on the lock
// connection while FLUSH TABLES WITH READ LOCK holds.
func recordDataVersions(ctx context.Context, conn *sql.Conn, id map[string]string, only []string, snapshotID string) error {
	rows, err := conn.QueryContext(ctx, `SELECT TABLE_SCHEMA, COUNT(*), COALESCE(CAST(MAX(UPDATE_TIME) AS CHAR), 'none'),
			COALESCE(MAX(UPDATE_TIME) >= NOW(), 0)
		FROM information_schema.TABLES
		WHERE TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
		GROUP BY TABLE_SCHEMA`)
	if err != nil {
		return fmt.Errorf("mysqlsource: reading the update times of the databases: %w", err)
	}
	defer rows.Close()
	want := map[string]bool{}
	for _, d := range only {
		want[d] = true
	}
	for rows.Next() {
		var db, latest string
		var tables int64
		var unsettled bool
		if err := rows.Scan(&db, &tables, &latest, &unsettled); err != nil {
			return fmt.Errorf("mysqlsource: reading the update times of the databases: %w", err)
		}
		if only != nil && !want[db] {
			continue
		}
		v := fmt.Sprintf("tables=%d updated=%s", tables, strings.ReplaceAll(latest, " ", "T"))
		if unsettled {
			v = "unsettled:" + snapshotID
		}
		id[dataVersionKey(db)] = v
	}
	return rows.Err()
}
