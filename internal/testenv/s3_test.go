package testenv

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The server's life is tested in a child process (this test binary run
// again), so the parent's own state is left alone and "the process died"
// can really happen.
const childEnv = "SNAPEXPORT_TESTENV_S3_CHILD"

// TestS3Child is the child (the helper-process pattern of os/exec's own
// tests): it starts the server, uses it, prints the endpoint, then ends the
// way the parent asked. Run directly it does nothing; its checks are
// TestS3ServerLifecycle's.
func TestS3Child(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		return
	}
	srv := S3(t)
	bucket := srv.NewBucket(t)
	ctx := t.Context()
	if _, err := srv.do(ctx, http.MethodPut, bucket+"/dir/obj%20x", "", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := srv.do(ctx, http.MethodGet, bucket+"/dir/obj%20x", "", nil)
	if err != nil || string(got) != "hello" {
		t.Fatalf("GET = %q, %v", got, err)
	}
	os.Stdout.WriteString("ENDPOINT " + srv.Endpoint + "\nDIR " + local.dir + "\n")
	switch mode {
	case "stop":
		StopS3()
	case "die":
		os.Exit(3) // no cleanup: the parent-death signal must take the server down
	}
}

func TestS3ServerLifecycle(t *testing.T) {
	if os.Getenv("SNAPEXPORT_S3_ENDPOINT") != "" {
		t.Skip("SNAPEXPORT_S3_ENDPOINT is set: no local server to manage")
	}
	if _, err := findVersityGW(); err != nil {
		Unavailable(t, "versitygw (S3 test server)", S3InstallHint, err)
	}
	for _, mode := range []string{"stop", "die"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestS3Child$", "-test.v")
			cmd.Env = append(os.Environ(), childEnv+"="+mode)
			out, _ := cmd.CombinedOutput()
			endpoint, dir := "", ""
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), "ENDPOINT "); ok {
					endpoint = rest
				}
				if rest, ok := strings.CutPrefix(sc.Text(), "DIR "); ok {
					dir = rest
				}
			}
			if mode == "die" && strings.HasPrefix(filepath.Base(dir), "snapexport-versitygw-") {
				// A dying process cannot remove its server's directory.
				defer os.RemoveAll(dir)
			}
			if endpoint == "" {
				t.Fatalf("child did not reach its end:\n%s", out)
			}
			if !strings.HasPrefix(endpoint, "http://127.0.0.1:") {
				t.Errorf("endpoint %q is not on 127.0.0.1", endpoint)
			}
			if _, err := os.Stat(dir); mode == "stop" && !os.IsNotExist(err) {
				t.Errorf("StopS3 left the server's directory %q (%v)", dir, err)
			}
			addr := strings.TrimPrefix(endpoint, "http://")
			// The kernel delivers the parent-death signal asynchronously:
			// wait for the port to close rather than expecting it at once.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			for {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					break
				}
				c.Close()
				select {
				case <-ctx.Done():
					t.Fatalf("server at %s still accepts connections after the child (%s) ended", addr, mode)
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}
}

func TestS3URL(t *testing.T) {
	s := S3Server{Endpoint: "http://127.0.0.1:7070", Region: "us-east-1"}
	want := "s3://b?endpoint=http%3A%2F%2F127.0.0.1%3A7070&use_path_style=true&region=us-east-1"
	if got := s.URL("b"); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}
