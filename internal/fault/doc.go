// Package fault holds the RDS faults every error of the exporter is matched
// against, and the one error type that carries them. The root package
// re-exports both (snapexport.ErrInvalidS3Bucket is fault.InvalidS3Bucket):
// the internal packages that refuse a request or fail a task return them
// without importing the public API.
package fault
