// Package sinktest is the conformance suite every [sink.Sink] driver runs,
// in the shape of gocloud.dev's drivertest: a driver's test supplies a
// [HarnessMaker] and calls [RunConformanceTests].
//
//	func TestConformance(t *testing.T) {
//		sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
//			return &harness{dir: t.TempDir()}, nil
//		})
//	}
//
// # What is checked
//
// Each "must" in the comments of [sink.Sink] and [sink.Writer] has a subtest:
// an object is visible (to NewReader and List, through this sink and through
// a second sink standing in for another process) only once the writer's
// Close returns nil, with exactly the bytes written; replacing an object is
// atomic for concurrent readers; a writer whose context is cancelled before
// Close publishes nothing and fails Close with an error wrapping
// [context.Canceled]; missing objects give [sink.ErrNotExist]; invalid keys
// give [sink.ErrInvalidKey]; List is in lexical key order, accepts a prefix
// that is not at a "/" boundary (as S3 does) and never shows objects being
// written; IfNotExists refuses to replace with [sink.ErrExist], and when the
// sink reports an atomic [sink.ConditionalWriter], exactly one of racing
// writers wins; Location is set and carries no secrets; closing a sink
// aborts its writers still open, leaving nothing once Close returns.
//
// # Sweeper
//
// For a sink that implements [sink.Sweeper] (the subtests skip for one that
// does not): a write left open, as a killed process leaves it, once it has
// put something on the storage (for S3, once its first part is sent: the
// suite writes up to about 19 MiB until Abandoned shows it), is yielded by
// the second sink's Abandoned with its key and an ID; Sweep removes it so
// that Abandoned no longer yields it and nothing is left; the swept
// writer's Close then fails and publishes nothing (a stalled owner that
// comes back); sweeping a write that is already gone, swept or cancelled
// and closed, returns nil; Abandoned yields only keys under its prefix,
// whether the prefix ends at a "/" or not, and never a finished object.
//
// # Shared storage
//
// Every key the suite writes starts with "sinktest-<random>/<test name>/",
// and each subtest deletes what it wrote, so a harness may point at a bucket
// or directory other tests use at the same time. The suite never lists
// outside "sinktest-<random>/".
//
// # Store failures
//
// A harness that can make a sink whose destination does not exist
// implements [NonexistentMaker] (gocloud drivertest's
// MakeNonexistentBucket); one that can make a sink the store refuses for
// permissions implements [DeniedMaker]. The suite then checks that the
// operations fail with [sink.ErrNoSuchBucket] or [sink.ErrAccessDenied]
// respectively, match no other store failure sentinel, and give a
// *sink.OpError naming the destination (bucket, root directory, store
// name) and the operation, which is what the exporter's failure causes are
// made of. The subtests skip for a harness that implements neither.
//
// # Leftovers
//
// "Nothing left behind" cannot be seen through the Sink interface: temp files
// and incomplete multipart uploads are invisible to List by design. A harness
// that can see them implements [LeftoverLister]; the suite then checks that
// aborted, refused and swept writes leave none, including a write cancelled
// while several of its S3 parts are still uploading (checked as soon as
// Close returns). A harness that cannot is still run
// through every other check.
package sinktest
