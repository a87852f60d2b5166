// Package s3sink is the [sink.Sink] driver for Amazon S3 and S3-compatible
// stores (MinIO, Ceph RGW, Cloudflare R2, versitygw), on
// github.com/aws/aws-sdk-go-v2.
//
// Open a sink on a client you built, or by URL through the sink registry:
//
//	client, err := s3sink.NewClient(ctx, &s3sink.ClientOptions{Region: "eu-west-1"})
//	s, err := s3sink.Open(ctx, client, "my-bucket", &s3sink.Options{Prefix: "exports"})
//
//	import _ "github.com/snapexport/snapexport/sink/s3sink"
//	s, err := sink.OpenURL(ctx, "s3://my-bucket/exports?region=eu-west-1")
//
// A bare bucket name given to sink.OpenURL ("my-bucket") is
// "s3://my-bucket": AWS S3 with the SDK's default credential and region
// chains, as RDS's S3BucketName.
//
// # URL
//
//	s3://bucket[/prefix][?param=value&...]
//
// The path is the key prefix (Options.Prefix). The bucket name must follow
// S3's naming rules ([ValidateBucketName]: 3–63 lowercase letters, digits,
// dots and hyphens, ...); a name that breaks one is refused before anything
// else, with the rule it breaks. Parameters (unknown ones are an error):
//
//	region                        region to sign for; default: AWS_REGION, AWS_DEFAULT_REGION, the
//	                              shared config; "us-east-1" when an endpoint is given
//	endpoint                      base URL of an S3-compatible store: http://127.0.0.1:7070
//	use_path_style=true           endpoint/bucket/key addressing (most S3-compatible stores)
//	disable_https=true            plain HTTP (for an endpoint given without a scheme)
//	request_checksum_calculation  when_supported (default) | when_required, for stores that
//	                              refuse the SDK's automatic CRC32 checksums
//	response_checksum_validation  when_supported (default) | when_required
//	max_attempts=N                attempts per request, retries of transient errors included (default 10)
//	role_arn=ARN                  assume this IAM role with STS AssumeRole (RDS IamRoleArn)
//	role_session_name=NAME        its session name; see SessionName (default "snapexport")
//	external_id=ID                AssumeRole external ID
//	sts_endpoint=URL              STS endpoint (private or regional)
//	sse=aws:kms|AES256            server-side encryption of every object
//	kms_key_id=KEY                SSE-KMS key id, ARN or alias (RDS KmsKeyId); implies sse=aws:kms
//	part_size=N[KiB|MiB|GiB]      multipart part size, at least 5MiB (default 8MiB)
//	concurrency=N                 part buffers per object (default 4)
//	conditional_writes=false      the store ignores If-None-Match: check with HeadObject instead
//
// Credentials never go in the URL (a URL with user information is refused):
// they come from the SDK's default chain, that is AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, AWS_PROFILE with the shared
// files ~/.aws/config and ~/.aws/credentials, web identity, and the ECS and
// EC2 instance roles. With role_arn, those are the credentials that call
// AssumeRole.
//
// # Writing
//
// [Sink.NewWriter] streams: bytes are held in a part buffer, and each full
// part is uploaded (UploadPart) while the next one fills. A writer holds at
// most PartSize × Concurrency bytes (8 MiB × 4 by default), whatever the
// object's size, and uses no temporary file. An object that fits in one part
// is a single PutObject at Close. The object becomes visible only when Close
// completes the upload (CompleteMultipartUpload); an incomplete multipart
// upload is invisible to GetObject and ListObjectsV2.
//
// When the writer's context is cancelled — even if Close is never called —
// or an upload fails, the multipart upload is aborted (AbortMultipartUpload
// on a fresh context), so nothing is left behind; [Sink.IncompleteUploads]
// lists what ListMultipartUploads shows. Parts already in flight are let
// finish first (for up to 30 s): a part the store is still storing when the
// upload is aborted can bring the upload back, on AWS as on versitygw.
// ListParts then confirms the upload is gone, and the abort is repeated if
// a late part revived it. The abort is awaited: the writer's Close returns
// only once it is done, and [Sink.Close] aborts every writer still open
// (cancelled or not, closed or not) and waits for all the aborts, so a
// process that is cancelled, interrupted or fails and then closes its sink
// leaves no incomplete upload. The cleanup requests have their own retries
// (12 attempts with at least 55 s of backoff in all, within 2 minutes per upload),
// outside the client's retryer and its max_attempts. Close decides before
// it publishes: the publishing request (PutObject or
// CompleteMultipartUpload) is not cut short by a cancellation that comes
// while it runs, so Close either publishes and returns nil or publishes
// nothing. Should an abort itself fail (the store is gone for good), the
// error of Close (the writer's, or the sink's for a writer it aborted)
// wraps a *sink.LeftoverError naming the key and the upload ID; a bucket
// lifecycle rule (AbortIncompleteMultipartUpload) is the backstop.
//
// # Abandoned uploads
//
// A process killed while writing leaves its multipart uploads. [Sink]
// implements sink.Sweeper: [Sink.Abandoned] lists the incomplete uploads
// under a prefix (ListMultipartUploads; key relative to the sink's prefix,
// the upload ID, the Initiated time) and [Sink.Sweep] aborts one, with the
// checks and retries above; an upload already gone is not an error. A
// resuming export sweeps its own prefix this way. This also removes the
// one upload the writer cannot know: that of a CreateMultipartUpload whose
// answer was lost and which the SDK then retried. An object that fits in
// one part is a single PutObject and never leaves anything.
//
// IfNotExists is S3's conditional write: If-None-Match: * on PutObject and
// on CompleteMultipartUpload, which AWS S3 and versitygw v1.8.0 evaluate
// atomically (two writers racing for a key: exactly one wins), so the sink
// reports [Sink.AtomicIfNotExists]. A refused write fails Close with an
// error wrapping sink.ErrExist and aborts its upload.
//
// # Retries
//
// Transient failures — 5xx answers, throttling (503 SlowDown), connection
// resets and refusals, timeouts — are retried by the retryer of
// [NewRetryer]: the SDK's standard retryer with up to
// ClientOptions.MaxAttempts attempts per request (max_attempts; default
// [DefaultMaxAttempts], 10), "equal jitter" exponential backoff from 125–250
// ms up to 10–20 s, at least 35 s of waiting in all, and no client-wide
// retry quota. The SDK's default quota is one token bucket for the whole
// client, which a burst of failed part uploads empties (a 1.4 s outage was
// enough), after which every retry fails at once with "retry quota
// exceeded"; here each request has its own bound instead, and an outage of
// half a minute costs time, not the export. Parts are retried one by one.
// 4xx answers such as 403 and 404 are not retried. A client built
// elsewhere and given to [Open] keeps its own retryer for the data requests;
// the cleanup requests always use their own. When a publishing request
// succeeded on the store but its answer was lost, the SDK's retry finds the
// upload gone (NoSuchUpload) or, for a conditional write, the object there
// (412): the sink then compares the object's ETag with the one its parts
// (or bytes) give and reports success when they match.
//
// # Encryption and roles
//
// Options.KMSKeyID (RDS KmsKeyId) sends x-amz-server-side-encryption:
// aws:kms and x-amz-server-side-encryption-aws-kms-key-id with every
// PutObject and CreateMultipartUpload, so data files and metadata files
// alike are encrypted with the key; Options.SSE = SSES3 asks for AES256.
// ClientOptions.RoleARN (RDS IamRoleArn) makes the client sign with
// temporary credentials from STS AssumeRole, cached and renewed before they
// expire, in a session named after the export task ([SessionName]).
//
// # Checks and errors
//
// [Sink.Check] (sink.Checker) is the start-of-task check RDS makes: the
// bucket exists and the credentials may list it (HeadBucket), and it lies
// in the client's region when the store says where it is. Every error of a
// request is a [*BucketError] naming the bucket, key and S3 operation; its
// methods classify it as the RDS failure causes need (BucketNotFound,
// WrongRegion, AccessDenied with S3Action, KMSKeyNotAccessible,
// RoleNotAssumable), and each of those matches one of package sink's store
// failure sentinels with errors.Is (sink.ErrRoleNotAssumable,
// ErrKMSKeyUnusable, ErrWrongRegion, ErrNoSuchBucket, ErrAccessDenied, in
// that precedence: [BucketError.Failure]) and gives a *sink.OpError with
// errors.As (bucket, IAM action, store code), so callers need not import
// this package. The SDK's smithy.APIError stays reachable with errors.As.
// Missing objects wrap sink.ErrNotExist.
//
// # Keys
//
// Keys must pass sink.ValidateKey. The sink does not rewrite them: the
// replacement of \, `, " and space by _ that RDS applies to export paths
// (§5.4 of the reference) belongs to the exporter's path builder, and
// S3Prefix's refusal of ":" to its input validation.
package s3sink
