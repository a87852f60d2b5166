package source

import (
	"context"
	"errors"
)

// Reading one point in time from several processes.
//
// A distributed export has one coordinator, which takes the snapshot and
// plans, and workers on other machines, which scan parts. Every worker must
// read the coordinator's point in time, and must read the same server: the
// two optional interfaces below give a driver's answer to both. A worker
// opens its own Source with its own credentials (none travel in the queue),
// checks that its Fingerprint equals the coordinator's, and joins the
// coordinator's snapshot by the identity the coordinator recorded
// (SnapshotInfo.ID).

// Joiner is implemented by sources whose snapshot another session, in this
// process or another, can join (PostgreSQL: SET TRANSACTION SNAPSHOT).
type Joiner interface {
	// JoinSnapshot returns a Snapshot that reads the point in time id
	// identifies: the SnapshotInfo.ID of a snapshot of the same server
	// that is still open (the coordinator's). Its scans must return
	// exactly the rows scans of that snapshot return. It may prepare no
	// catalog: Tables may fail (the coordinator lists tables; a part
	// carries its Table). A snapshot that has ended, or that this server
	// does not hold, is an error wrapping ErrSnapshotGone.
	JoinSnapshot(ctx context.Context, id map[string]string) (Snapshot, error)
}

// Fingerprinter is implemented by sources that can tell which server and
// databases they read, without a secret, so that a worker refuses to export
// parts of another source than the coordinator's.
type Fingerprinter interface {
	// Fingerprint is equal for two Sources exactly when they read the same
	// databases of the same server (cluster): a server's own identifier
	// (PostgreSQL's system identifier, MySQL's server_uuid) and the
	// databases, never a host name alone, which another server may take
	// over, and never a credential.
	Fingerprint(ctx context.Context) (string, error)
}

// ErrSnapshotGone is wrapped by JoinSnapshot and by scans of a joined
// snapshot when the snapshot to join is no longer open: its coordinator
// ended it, stopped or crashed.
var ErrSnapshotGone = errors.New("source: the snapshot to join is no longer open")
