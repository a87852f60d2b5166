// Package lease is a run's ownership of its export task (fencing): the
// generation it claimed, the fence it passes before every publish and
// every record write, and the write-ahead journal of the keys it may
// publish. The protocol is below; the root package's doc.go tells users
// what it guarantees.
package lease
