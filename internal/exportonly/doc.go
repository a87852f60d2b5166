// Package exportonly parses a task's ExportOnly list (reference §4) and
// filters the source's tables with it, the way the engine reads it: a
// two-part entry is database.schema on PostgreSQL and database.table
// elsewhere. It also says which entries matched nothing, so that a typo
// is a warning (or, when nothing matched at all, a failure) rather than
// silence.
package exportonly
