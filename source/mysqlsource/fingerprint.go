package mysqlsource

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/source"
)

var _ source.Fingerprinter = (*Source)(nil)

// Fingerprint identifies the server and the databases this Source reads,
// so that a worker of a distributed export refuses a server other than the
// coordinator's: MySQL's @@server_uuid (unique per server, kept across
// restarts in auto.cnf); MariaDB, which has no server_uuid, by @@server_id
// and @@hostname together (a replica set must give each server its own
// server_id). The databases are "*" when the Source reads every database
// the account sees. It holds no credential.
//
// MySQL and MariaDB cannot join another session's snapshot (there is no
// snapshot import): the Source implements no [source.Joiner], and a
// distributed export of it is consistent only by a mode of its own.
func (s *Source) Fingerprint(ctx context.Context) (string, error) {
	server, err := s.serverIdentity(ctx)
	if err != nil {
		return "", s.redact(err)
	}
	dbs := "*"
	if s.opts.Databases != nil {
		quoted := make([]string, len(s.opts.Databases))
		for i, d := range s.opts.Databases {
			quoted[i] = strconv.Quote(d)
		}
		slices.Sort(quoted)
		dbs = strings.Join(quoted, ",")
	}
	return s.engine + " " + server + " databases=" + dbs, nil
}

func (s *Source) serverIdentity(ctx context.Context) (string, error) {
	if s.engine == "mysql" {
		var uuid string
		if err := s.db.QueryRowContext(ctx, "SELECT @@server_uuid").Scan(&uuid); err != nil {
			return "", connectError(err)
		}
		return "server_uuid=" + uuid, nil
	}
	var id sql.NullInt64
	var host string
	if err := s.db.QueryRowContext(ctx, "SELECT @@server_id, @@hostname").Scan(&id, &host); err != nil {
		return "", connectError(err)
	}
	return "server_id=" + strconv.FormatInt(id.Int64, 10) + " hostname=" + strconv.Quote(host), nil
}
