package main

// The drivers the command can use, registered by URL scheme.
import (
	_ "github.com/snapexport/snapexport/sink/dirsink"        // file:///abs/dir
	_ "github.com/snapexport/snapexport/sink/memsink"        // mem://name (useful only within one process)
	_ "github.com/snapexport/snapexport/sink/s3sink"         // bucket name, s3://bucket?…
	_ "github.com/snapexport/snapexport/source/mysqlsource"  // mysql://, mariadb://
	_ "github.com/snapexport/snapexport/source/pgsource"     // postgres://, postgresql://
	_ "github.com/snapexport/snapexport/source/sqlitesource" // sqlite:///abs/file.db
)
