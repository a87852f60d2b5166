package testenv

import (
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// S3Proxy is an HTTP reverse proxy on 127.0.0.1 between the SDK and the test
// server. It records every request (operation and headers) and lets a test
// fail chosen ones: answer an error status instead of the server, reset the
// connection before forwarding, or forward and then reset, so the server
// acts but the client never hears.
type S3Proxy struct {
	t      testing.TB
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	reqs   []S3Request
	decide func(r S3Request) *S3Fault // nil: forward everything
}

// S3Request is one request seen by the proxy.
type S3Request struct {
	Op      string // S3 operation, see S3Op
	Key     string // object key, "" for bucket operations
	Query   url.Values
	Header  http.Header
	Seq     int      // 0-based index among all requests
	OpSeq   int      // 0-based index among requests of the same Op
	Faulted *S3Fault // what the proxy did instead of forwarding, if anything
	Status  int      // the status the server answered, 0 when not forwarded
}

// statusWriter notes the status the server answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// S3Fault is what the proxy does to a request.
type S3Fault struct {
	Status  int    // answer this status with an S3 error document of Code
	Code    string // S3 error code for Status
	Message string // error message, a default when ""
	Reset   bool   // close the client's connection with a TCP reset
	After   bool   // forward to the server first, then fault the answer
}

func (f *S3Fault) String() string {
	when := "instead of forwarding"
	if f.After {
		when = "after forwarding"
	}
	if f.Reset {
		return "reset " + when
	}
	return fmt.Sprintf("%d %s %s", f.Status, f.Code, when)
}

func NewS3Proxy(t testing.TB, target string) *S3Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &S3Proxy{t: t, rp: httputil.NewSingleHostReverseProxy(u)}
	// The request keeps the Host it was signed for (the proxy's): the
	// server checks the signature against the Host header it receives.
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // injected faults are expected
	p.srv = httptest.NewServer(p)              // listens on 127.0.0.1
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's endpoint.
func (p *S3Proxy) URL() string { return p.srv.URL }

// SetRule replaces the decision function, which is called for every
// request, concurrently, and may hold it (sleep, wait on a channel) to
// slow the store down. nil forwards everything.
func (p *S3Proxy) SetRule(f func(r S3Request) *S3Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decide = f
}

// Requests returns a copy of what was recorded.
func (p *S3Proxy) Requests() []S3Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]S3Request(nil), p.reqs...)
}

// Count counts the recorded requests of op.
func (p *S3Proxy) Count(op string) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

func (p *S3Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, key := S3Op(r)
	p.mu.Lock()
	rec := S3Request{Op: op, Key: key, Query: r.URL.Query(), Header: r.Header.Clone(), Seq: len(p.reqs)}
	for _, x := range p.reqs {
		if x.Op == op {
			rec.OpSeq++
		}
	}
	p.reqs = append(p.reqs, rec)
	decide := p.decide
	p.mu.Unlock()

	// Outside the lock: a rule may hold the request (and must be safe for
	// concurrent use).
	var f *S3Fault
	if decide != nil {
		f = decide(rec)
	}
	if f != nil {
		p.mu.Lock()
		p.reqs[rec.Seq].Faulted = f
		p.mu.Unlock()
	}

	switch {
	case f == nil:
		sw := &statusWriter{ResponseWriter: w}
		p.rp.ServeHTTP(sw, r)
		p.mu.Lock()
		p.reqs[rec.Seq].Status = sw.status
		p.mu.Unlock()
	case f.After:
		p.rp.ServeHTTP(httptest.NewRecorder(), r) // the server's answer is lost
		p.inject(w, r, f)
	default:
		p.inject(w, r, f)
	}
}

// FirstTime returns a function that reports true the first time it sees
// each key: "fail the first attempt of part 3".
func FirstTime() func(key string) bool {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(key string) bool {
		mu.Lock()
		defer mu.Unlock()
		if seen[key] {
			return false
		}
		seen[key] = true
		return true
	}
}

func (p *S3Proxy) inject(w http.ResponseWriter, r *http.Request, f *S3Fault) {
	if f.Reset {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			p.t.Errorf("proxy: hijack: %v", err)
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST, not FIN
		}
		conn.Close()
		return
	}
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(f.Status)
	msg := f.Message
	if msg == "" {
		msg = "injected by the test proxy"
	}
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message><RequestId>proxy</RequestId></Error>`, f.Code, html.EscapeString(msg))
	}
}

// S3Op names the S3 operation of a path-style request.
func S3Op(r *http.Request) (op, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	_, key, _ = strings.Cut(path, "/")
	q := r.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	switch {
	case r.Method == http.MethodHead && key == "":
		return "HeadBucket", key
	case r.Method == http.MethodHead:
		return "HeadObject", key
	case r.Method == http.MethodPut && key == "":
		return "CreateBucket", key
	case r.Method == http.MethodPut && has("partNumber"):
		return "UploadPart", key
	case r.Method == http.MethodPut:
		return "PutObject", key
	case r.Method == http.MethodPost && has("uploads"):
		return "CreateMultipartUpload", key
	case r.Method == http.MethodPost && has("uploadId"):
		return "CompleteMultipartUpload", key
	case r.Method == http.MethodDelete && has("uploadId"):
		return "AbortMultipartUpload", key
	case r.Method == http.MethodDelete:
		return "DeleteObject", key
	case r.Method == http.MethodGet && key == "" && has("uploads"):
		return "ListMultipartUploads", key
	case r.Method == http.MethodGet && key == "" && has("location"):
		return "GetBucketLocation", key
	case r.Method == http.MethodGet && key == "":
		return "ListObjectsV2", key
	case r.Method == http.MethodGet:
		return "GetObject", key
	}
	return r.Method, key
}

// ModifyResponse sets a function that may change the server's answers
// before the client gets them (httputil.ReverseProxy.ModifyResponse).
func (p *S3Proxy) ModifyResponse(f func(*http.Response) error) { p.rp.ModifyResponse = f }

// CloseClientConnections closes the connections clients hold to the
// proxy.
func (p *S3Proxy) CloseClientConnections() { p.srv.CloseClientConnections() }

// Outage is a rule for [S3Proxy.SetRule]: the store goes away for d (every
// connection is reset, the way a restarting store or a network cut looks)
// from the first attempt of the upload of part partNumber of any object.
func Outage(partNumber string, d time.Duration) func(S3Request) *S3Fault {
	var until atomic.Int64
	return func(r S3Request) *S3Fault {
		if r.Op == "UploadPart" && r.Query.Get("partNumber") == partNumber {
			until.CompareAndSwap(0, time.Now().Add(d).UnixNano())
		}
		if time.Now().UnixNano() < until.Load() {
			return &S3Fault{Reset: true}
		}
		return nil
	}
}
