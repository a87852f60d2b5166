// Package drivers opens the source and the sink a task's request names:
// by URL through the registries (the S3 destination with the task's IAM
// role and KMS key), or the already-open drivers the caller passed, which
// the task then does not close.
package drivers
