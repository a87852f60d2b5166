package main

// The drivers the command can use, registered by URL scheme.
import (
	_ "github.com/snapexport/snapexport/sink/dirsink"
	_ "github.com/snapexport/snapexport/sink/memsink"
	_ "github.com/snapexport/snapexport/source/sqlitesource"
)
