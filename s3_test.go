package snapexport_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/testenv"
	_ "github.com/snapexport/snapexport/sink/s3sink"
)

// TestS3FailureCauses runs tasks against a real S3 server (versitygw) whose
// bucket is missing or whose credentials are wrong: each task FAILS with
// RDS's FailureCause text and the matching fault, and nothing is written.
func TestS3FailureCauses(t *testing.T) {
	srv := testenv.S3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	exp := newExporter(t)
	dbPath := demoDB(t, 1)
	start := func(id, dest string) snapexport.ExportTask {
		t.Helper()
		task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
			ExportTaskIdentifier: id, SourceArn: "sqlite://" + dbPath, S3BucketName: dest,
		})
		require.NoError(t, err)
		rec, err := task.Wait(context.Background())
		require.Error(t, err)
		assert.ErrorIs(t, err, snapexport.ErrInvalidS3Bucket)
		assert.ErrorIs(t, err, snapexport.ErrExportFailed)
		return rec
	}

	rec := start("s3-missing", srv.URL("no-such-bucket-here"))
	assert.Equal(t, snapexport.StatusFailed, rec.Status)
	assert.Equal(t, "The S3 bucket no-such-bucket-here isn't valid. Either it isn't located in the current AWS Region or it doesn't exist. Review your S3 bucket name and retry the export.", rec.FailureCause)

	bucket := srv.NewBucket(t)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
	rec = start("s3-denied", srv.URL(bucket))
	assert.Contains(t, rec.FailureCause, "S3 credential check failed. Check the permissions on your S3 bucket and IAM policy.")
	assert.Contains(t, rec.FailureCause, bucket)

	// With the right credentials the same bucket takes the export.
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	task, err := exp.StartExportTask(context.Background(), snapexport.StartExportTaskInput{
		ExportTaskIdentifier: "s3-ok", SourceArn: "sqlite://" + dbPath, S3BucketName: srv.URL(bucket), KmsKeyId: "alias/export",
	})
	require.NoError(t, err)
	rec = waitComplete(t, task)
	u, err := url.Parse(rec.S3Bucket)
	require.NoError(t, err)
	assert.Equal(t, bucket, u.Host, "the record names the bucket")
	assert.NotContains(t, rec.S3Bucket, srv.SecretKey)
}
