// Package memsink is a [sink.Sink] that keeps objects in memory, for tests
// and examples.
//
// # URL
//
//	mem://name
//
// The URL has no parameters. Importing the package registers the scheme
// "mem" ([Scheme]) with [sink.OpenURL].
//
// # Named stores
//
// A store is named, and one name means one store in the process: [New]("x"),
// [Lookup]("x") and sink.OpenURL(ctx, "mem://x") all reach the same objects.
// A test can therefore hand "mem://x" to code that opens sinks by URL and
// inspect the result through memsink.New("x").Keys() or Bytes. New("") makes
// a store with a fresh unique name, which its [Sink.Location] gives. Stores
// live as long as the process; [Sink.Close] releases the handle, not the
// objects, and [Sink.Clear] empties the store.
//
// # Semantics
//
// A writer buffers its bytes and stores them on Close, so an object is
// visible all at once and never partly. IfNotExists is decided under the
// store's lock, so it is atomic ([Sink.AtomicIfNotExists] reports true).
// Keys follow [sink.ValidateKey], like every driver's.
//
// # Abandoned writes
//
// A write in memory cannot outlive its process, so nothing is ever left
// behind for a later process. memsink implements [sink.Sweeper] all the
// same, over what stands for an abandoned write within one process: a
// writer open on the store (through any handle), neither closed nor
// cancelled, as a test leaves the writer of an exporter it stalled or
// "killed". [Sink.Abandoned] yields those under a prefix (ID "mem-write-N",
// Started when NewWriter was called); [Sink.Sweep] marks one swept, and
// its Write and Close then fail and publish nothing. Core tests use this to
// exercise a resume's sweep and a fenced-out writer without S3.
//
// # Store failures
//
// New and mem:// URLs always make the store, so none of package sink's
// store failures happens by itself. [Absent] stands for a destination that
// does not exist: every operation of its handle fails with
// [sink.ErrNoSuchBucket] and a *sink.OpError, for tests of what a caller
// does then. Access denied, wrong region, KMS key and role failures do not
// apply: memory has no credentials, regions or keys.
package memsink
