package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// VersityGWVersion is the S3 server the tests run against.
const VersityGWVersion = "v1.8.0"

// S3InstallHint says how to provide the S3 test server.
const S3InstallHint = "run `make test`, or `go install github.com/versity/versitygw/cmd/versitygw@" + VersityGWVersion +
	"` (the tests start it on 127.0.0.1 themselves), or point SNAPEXPORT_S3_ENDPOINT, SNAPEXPORT_S3_ACCESS_KEY and SNAPEXPORT_S3_SECRET_KEY at a running S3 server"

// S3Server is an S3-compatible server the tests may use: path-style
// addressing, plain HTTP on loopback, static credentials.
type S3Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	Region    string
	AccessKey string
	SecretKey string
}

// S3 returns the test S3 server.
//
// With SNAPEXPORT_S3_ENDPOINT (and SNAPEXPORT_S3_ACCESS_KEY,
// SNAPEXPORT_S3_SECRET_KEY, optionally SNAPEXPORT_S3_REGION, default
// us-east-1) set, that server is used. Otherwise the versitygw binary (on PATH
// or in $(go env GOPATH)/bin) is started once per test process on a free
// 127.0.0.1 port over a temporary directory. It is stopped, and the directory
// removed, by [RunWithS3] in the package's TestMain; should the process die
// first (a test timeout, a panic), the kernel kills the server with it
// (Linux parent-death signal). Without the binary the test is skipped, or
// fails under SNAPEXPORT_REQUIRE_INTEGRATION=1.
func S3(t testing.TB) S3Server {
	t.Helper()
	if ep := os.Getenv("SNAPEXPORT_S3_ENDPOINT"); ep != "" {
		srv := S3Server{
			Endpoint:  ep,
			Region:    getenv("SNAPEXPORT_S3_REGION", "us-east-1"),
			AccessKey: os.Getenv("SNAPEXPORT_S3_ACCESS_KEY"),
			SecretKey: os.Getenv("SNAPEXPORT_S3_SECRET_KEY"),
		}
		if srv.AccessKey == "" || srv.SecretKey == "" {
			Unavailable(t, "S3 server "+ep, "set SNAPEXPORT_S3_ACCESS_KEY and SNAPEXPORT_S3_SECRET_KEY too", errors.New("credentials missing"))
		}
		return srv
	}
	local.once.Do(startLocal)
	if local.err != nil {
		Unavailable(t, "versitygw (S3 test server)", S3InstallHint, local.err)
	}
	return local.srv
}

// RunWithS3 runs the tests of a package that uses [S3], then the [AtExit]
// functions, stops the server it may have started, and exits with the
// tests' status:
//
//	func TestMain(m *testing.M) { testenv.RunWithS3(m) }
func RunWithS3(m *testing.M) {
	code := m.Run()
	RunAtExit()
	StopS3()
	os.Exit(code)
}

// StopS3 stops the server [S3] started, if any, and removes its directory.
// Later calls to S3 skip or fail the test.
func StopS3() {
	local.once.Do(func() { local.err = errors.New("the S3 test server was stopped") })
	local.mu.Lock()
	defer local.mu.Unlock()
	if local.proc != nil {
		local.proc.stop()
		local.proc = nil
		local.err = errors.New("the S3 test server was stopped")
	}
	if local.dir != "" {
		_ = os.RemoveAll(local.dir)
		local.dir = ""
	}
}

// NewBucket creates an empty bucket with a fresh name starting
// "snapexport-test-" and returns its name. On a server given by
// SNAPEXPORT_S3_ENDPOINT the bucket, its objects and its incomplete uploads
// are deleted when the test ends; the local server's directory goes away with
// the process.
func (s S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	bucket := "snapexport-test-" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.CreateBucket(ctx, bucket); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if os.Getenv("SNAPEXPORT_S3_ENDPOINT") != "" {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := s.removeBucket(ctx, bucket); err != nil {
				t.Logf("testenv: removing bucket %q: %v", bucket, err)
			}
		})
	}
	return bucket
}

// CreateBucket creates a bucket.
func (s S3Server) CreateBucket(ctx context.Context, bucket string) error {
	if _, err := s.do(ctx, http.MethodPut, bucket, "", nil); err != nil {
		return fmt.Errorf("create bucket %q: %w", bucket, err)
	}
	return nil
}

// URL is the s3sink URL of bucket on this server.
func (s S3Server) URL(bucket string) string {
	return "s3://" + bucket + "?endpoint=" + url.QueryEscape(s.Endpoint) + "&use_path_style=true&region=" + url.QueryEscape(s.Region)
}

// local is the versitygw process of this test binary.
var local struct {
	once sync.Once
	mu   sync.Mutex
	proc *gwProcess
	dir  string
	srv  S3Server
	err  error
}

func findVersityGW() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("versitygw is neither on PATH nor in $(go env GOPATH)/bin")
}

// startLocal runs once per process (local.once).
func startLocal() {
	srv, p, dir, err := startServer()
	if err != nil {
		local.err = err
		return
	}
	local.mu.Lock()
	local.proc, local.dir, local.srv = p, dir, srv
	local.mu.Unlock()
}

// StartVersityGW starts a versitygw of its own on a free 127.0.0.1 port over
// a new temporary directory, for programs that are not tests (the
// benchmarks). stop kills it and removes the directory.
func StartVersityGW() (srv S3Server, stop func(), err error) {
	srv, p, dir, err := startServer()
	if err != nil {
		return S3Server{}, nil, err
	}
	return srv, func() {
		p.stop()
		_ = os.RemoveAll(dir)
	}, nil
}

func startServer() (S3Server, *gwProcess, string, error) {
	bin, err := findVersityGW()
	if err != nil {
		return S3Server{}, nil, "", err
	}
	dir, err := os.MkdirTemp("", "snapexport-versitygw-")
	if err != nil {
		return S3Server{}, nil, "", err
	}
	var key [12]byte
	_, _ = rand.Read(key[:])
	srv := S3Server{Region: "us-east-1", AccessKey: "snapexport" + hex.EncodeToString(key[:4]), SecretKey: hex.EncodeToString(key[:])}
	// A free port can be taken by someone else between the probe and the
	// server's listen: try a few.
	for attempt := 0; attempt < 5; attempt++ {
		var port int
		if port, err = freePort(); err != nil {
			break
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		srv.Endpoint = "http://" + addr
		var p *gwProcess
		if p, err = startVersityGW(bin, addr, dir, srv); err != nil {
			break
		}
		if err = p.waitListening(addr); err == nil {
			return srv, p, dir, nil
		}
		p.stop()
	}
	_ = os.RemoveAll(dir)
	return S3Server{}, nil, "", fmt.Errorf("starting %s: %w", bin, err)
}

// gwProcess is a running versitygw.
type gwProcess struct {
	cmd    *exec.Cmd
	stderr *stderrHead
	done   chan struct{} // closed when the process has exited
	err    error         // the exit status, set before done is closed
}

func startVersityGW(bin, addr, dir string, srv S3Server) (*gwProcess, error) {
	p := &gwProcess{stderr: &stderrHead{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "--access", srv.AccessKey, "--secret", srv.SecretKey,
		"--region", srv.Region, "--port", addr, "--quiet", "posix", dir)
	p.cmd.Stdout = io.Discard
	p.cmd.Stderr = p.stderr
	setParentDeathSignal(p.cmd)
	started := make(chan error, 1)
	go func() {
		// The parent-death signal fires when the thread that started the
		// child exits, not the process: this goroutine keeps its thread
		// for as long as the child runs.
		lockThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

func (p *gwProcess) stop() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// waitListening waits until addr accepts connections, or the process exits.
func (p *gwProcess) waitListening(addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("versitygw exited (%v): %s", p.err, p.stderr)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("versitygw did not listen on %s within 30s: %s", addr, p.stderr)
}

// stderrHead keeps the first KiB of the server's error output for messages.
type stderrHead struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *stderrHead) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if room := 1024 - s.buf.Len(); room > 0 {
		s.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (s *stderrHead) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.TrimSpace(s.buf.String())
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// do sends one signed request to the server: path-style bucket[/key],
// query (already encoded), body. S3 signs the path as sent, escaped once. It returns the response body, or an error
// for any status >= 300.
func (s S3Server) do(ctx context.Context, method, bucket, rawQuery string, body []byte) ([]byte, error) {
	u := strings.TrimSuffix(s.Endpoint, "/") + "/" + bucket
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).SignHTTP(ctx, creds, req, payloadHash, "s3", s.Region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

// removeBucket aborts the bucket's incomplete uploads, deletes its objects
// and then the bucket.
func (s S3Server) removeBucket(ctx context.Context, bucket string) error {
	for {
		out, err := s.do(ctx, http.MethodGet, bucket, "uploads=", nil)
		if err != nil {
			return err
		}
		var res struct {
			Uploads []struct {
				Key      string `xml:"Key"`
				UploadID string `xml:"UploadId"`
			} `xml:"Upload"`
		}
		if err := xml.Unmarshal(out, &res); err != nil {
			return err
		}
		if len(res.Uploads) == 0 {
			break
		}
		for _, up := range res.Uploads {
			if _, err := s.do(ctx, http.MethodDelete, bucket+"/"+escapeKey(up.Key), "uploadId="+url.QueryEscape(up.UploadID), nil); err != nil {
				return err
			}
		}
	}
	for {
		out, err := s.do(ctx, http.MethodGet, bucket, "list-type=2", nil)
		if err != nil {
			return err
		}
		var res struct {
			Contents []struct {
				Key string `xml:"Key"`
			} `xml:"Contents"`
		}
		if err := xml.Unmarshal(out, &res); err != nil {
			return err
		}
		if len(res.Contents) == 0 {
			break
		}
		for _, c := range res.Contents {
			if _, err := s.do(ctx, http.MethodDelete, bucket+"/"+escapeKey(c.Key), "", nil); err != nil {
				return err
			}
		}
	}
	_, err := s.do(ctx, http.MethodDelete, bucket, "", nil)
	return err
}

func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
