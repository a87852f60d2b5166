// Package e2e holds the end-to-end test of s3sink with the exporter: the
// SQLite demo database exported into a bucket of the S3 test server, keys
// compared with the directory sink's layout, files read back with DuckDB.
// It is a package of its own so that the s3sink unit tests do not link
// DuckDB.
package e2e
