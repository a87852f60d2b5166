package main

import (
	"io"
	"log"

	"github.com/go-sql-driver/mysql"

	// The drivers the command can use, registered by URL scheme.
	_ "github.com/snapexport/snapexport/sink/dirsink"        // file:///abs/dir
	_ "github.com/snapexport/snapexport/sink/memsink"        // mem://name (useful only within one process)
	_ "github.com/snapexport/snapexport/sink/s3sink"         // bucket name, s3://bucket?…
	_ "github.com/snapexport/snapexport/source/mysqlsource"  // mysql://, mariadb://
	_ "github.com/snapexport/snapexport/source/pgsource"     // postgres://, postgresql://
	_ "github.com/snapexport/snapexport/source/sqlitesource" // sqlite:///abs/file.db
)

func init() {
	// go-sql-driver logs "packets.go: unexpected EOF" on stderr when a
	// connection is killed; the task's FailureCause already says what
	// happened, in words a person can act on.
	_ = mysql.SetLogger(log.New(io.Discard, "", 0))
}
