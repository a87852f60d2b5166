// Package sink defines where exported objects go: a [Sink] writes objects
// that become visible only when complete, reads them back, lists and
// deletes them.
//
// # Drivers
//
//	import _ "github.com/snapexport/snapexport/sink/s3sink"  // s3://bucket[/prefix]?region=…&endpoint=…
//	import _ "github.com/snapexport/snapexport/sink/dirsink" // file:///abs/dir
//	import _ "github.com/snapexport/snapexport/sink/memsink" // mem://name
//
// A bare bucket name given to [OpenURL] means AWS S3; a path ("/data/x") or
// an almost-URL of a known scheme ("file:rel", "file:/x") is refused with
// the form to write (file:///absolute/path). Every driver passes
// sinktest.RunConformanceTests; each "must" in the comments of [Sink] and
// [Writer] has a subtest there.
//
// # Atomic visibility
//
// A partly written object is never visible: dirsink writes a temporary file
// and renames it on Close, s3sink completes its multipart upload on Close
// and aborts it when the writer's context is cancelled, memsink stores the
// bytes on Close. Cancelling the context given to [Sink.NewWriter] is how a
// caller abandons an object.
//
// # What interrupted writes leave behind
//
// A process that is killed cannot clean up: dirsink's temporary file and
// s3sink's multipart upload stay. Both drivers (and memsink, for tests)
// implement [Sweeper], which a resuming export uses on its own prefix;
// whatever a driver could not remove after its retries is named by a
// [LeftoverError] (key and ID) for the task's warnings. s3sink's
// [Sink.Close] also aborts and waits for the writers still open, so a
// process that closes its sinks before it exits leaves nothing.
package sink
