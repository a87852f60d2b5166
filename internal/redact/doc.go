// Package redact hides a task's secrets in every text that leaves the
// library: the passwords and keys its URLs hold and those of the
// environment variables the drivers read.
package redact
