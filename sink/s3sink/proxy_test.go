package s3sink_test

import (
	"testing"

	"github.com/snapexport/snapexport/internal/testenv"
)

// The fault-injecting proxy lives in internal/testenv, for the end-to-end
// tests too; these names keep the sink's tests short.
type (
	proxy    = testenv.S3Proxy
	recorded = testenv.S3Request
	fault    = testenv.S3Fault
)

func newProxy(t testing.TB, target string) *proxy { return testenv.NewS3Proxy(t, target) }

func firstTime() func(key string) bool { return testenv.FirstTime() }
