package s3sink_test

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
	"testing"
)

// proxy is an HTTP reverse proxy on 127.0.0.1 between the SDK and the test
// server. It records every request (operation and headers) and lets a test
// fail chosen ones: answer an error status instead of the server, reset the
// connection before forwarding, or forward and then reset, so the server
// acts but the client never hears.
type proxy struct {
	t      testing.TB
	srv    *httptest.Server
	rp     *httputil.ReverseProxy
	mu     sync.Mutex
	reqs   []recorded
	decide func(r recorded) *fault // nil: forward everything
}

// recorded is one request seen by the proxy.
type recorded struct {
	Op      string // S3 operation, see s3Op
	Key     string // object key, "" for bucket operations
	Query   url.Values
	Header  http.Header
	Seq     int    // 0-based index among all requests
	OpSeq   int    // 0-based index among requests of the same Op
	Faulted *fault // what the proxy did instead of forwarding, if anything
	Status  int    // the status the server answered, 0 when not forwarded
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

// fault is what the proxy does to a request.
type fault struct {
	Status  int    // answer this status with an S3 error document of Code
	Code    string // S3 error code for Status
	Message string // error message, a default when ""
	Reset   bool   // close the client's connection with a TCP reset
	After   bool   // forward to the server first, then fault the answer
}

func (f *fault) String() string {
	when := "instead of forwarding"
	if f.After {
		when = "after forwarding"
	}
	if f.Reset {
		return "reset " + when
	}
	return fmt.Sprintf("%d %s %s", f.Status, f.Code, when)
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, rp: httputil.NewSingleHostReverseProxy(u)}
	// The request keeps the Host it was signed for (the proxy's): the
	// server checks the signature against the Host header it receives.
	p.rp.ErrorLog = log.New(io.Discard, "", 0) // injected faults are expected
	p.srv = httptest.NewServer(p)              // listens on 127.0.0.1
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's endpoint.
func (p *proxy) URL() string { return p.srv.URL }

// setRule replaces the decision function.
func (p *proxy) setRule(f func(r recorded) *fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decide = f
}

// requests returns a copy of what was recorded.
func (p *proxy) requests() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.reqs...)
}

// count counts the recorded requests of op.
func (p *proxy) count(op string) int {
	n := 0
	for _, r := range p.requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, key := s3Op(r)
	p.mu.Lock()
	rec := recorded{Op: op, Key: key, Query: r.URL.Query(), Header: r.Header.Clone(), Seq: len(p.reqs)}
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
	var f *fault
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

// firstTime returns a function that reports true the first time it sees
// each key: "fail the first attempt of part 3".
func firstTime() func(key string) bool {
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

func (p *proxy) inject(w http.ResponseWriter, r *http.Request, f *fault) {
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

// s3Op names the S3 operation of a path-style request.
func s3Op(r *http.Request) (op, key string) {
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
