package pgsource

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// locksPerRelation is what the exporting transaction holds per relation it
// locks, as measured: 2,000 small tables took 4,025 locks (the table's
// ACCESS SHARE lock and the catalog and index locks around it).
const locksPerRelation = 2

// checkLockCapacity refuses to lock more than half of what is free in the
// server's shared lock table, max_locks_per_transaction ×
// (max_connections + max_prepared_transactions) less the locks in use:
// past that, other sessions' transactions fail with "out of shared
// memory". The error says which setting to raise, and to what.
func (d *dbSnapshot) checkLockCapacity(ctx context.Context, conn *pgx.Conn, src *Source, lockable []*listed) error {
	rels := 0
	for _, r := range lockable {
		rels += 1 + len(r.partitionOIDs)
	}
	need := int64(rels * locksPerRelation)
	var perTx, maxConns, maxPrepared, inUse int64
	err := conn.QueryRow(ctx, `SELECT current_setting('max_locks_per_transaction')::int8, current_setting('max_connections')::int8,
		current_setting('max_prepared_transactions')::int8, (SELECT count(*) FROM pg_locks)`).Scan(&perTx, &maxConns, &maxPrepared, &inUse)
	if err != nil {
		return fmt.Errorf("pgsource: read the lock table's size in database %q: %w", d.database, err)
	}
	capacity := perTx * (maxConns + maxPrepared)
	if src.lockCapacity > 0 {
		capacity = src.lockCapacity
	}
	if need <= (capacity-inUse)/2 {
		return nil
	}
	slots := max(maxConns+maxPrepared, 1)
	want := (2*need + inUse + slots - 1) / slots
	return fmt.Errorf("pgsource: locking the %d tables of database %q to export takes about %d locks, more than half of the %d free in the server's lock table "+
		"(max_locks_per_transaction %d × (max_connections %d + max_prepared_transactions %d) = %d, %d in use): "+
		"raise max_locks_per_transaction to at least %d (a server restart), or export fewer tables at once (ExportOnly)",
		rels, d.database, need, capacity-inUse, perTx, maxConns, maxPrepared, capacity, inUse, max(want, perTx+1))
}
