// Command s3 benchmarks the upload throughput of sink/s3sink against the
// AWS SDK's transfer manager (feature/s3/transfermanager, which replaces
// the deprecated feature/s3/manager Uploader), run by hand (not by CI):
//
//	go run ./bench/s3 [-size 1GiB] [-runs 5] [-part 8MiB] [-concurrency 4]
//
// It starts versitygw on 127.0.0.1 over a temporary directory (or uses
// SNAPEXPORT_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY), then uploads the same
// bytes, each upload in a process of its own, runs interleaved:
//
//	transfermanager  transfermanager.Client.UploadObject from a bytes.Reader
//	                 over the whole object in memory; it copies each part
//	                 into a pooled part buffer, as s3sink does
//	s3sink         s3sink's writer fed from the same in-memory bytes, in
//	               256 KiB Writes, as a Parquet writer feeds it
//	s3sink-stream  the same writes, generated as they go: no copy of the
//	               object in memory, which is how an export runs
//
// with the same part size, part concurrency and client options. It prints
// the median time and throughput of each, the ratio to transfermanager, and the
// median peak RSS of each process (getrusage of the child). The objects'
// ETags must be equal: same bytes, same parts.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/snapexport/snapexport/internal/testenv"
	"github.com/snapexport/snapexport/sink/s3sink"
)

var (
	sizeFlag    = flag.String("size", "1GiB", "object size (bytes, or with KiB/MiB/GiB)")
	runs        = flag.Int("runs", 5, "runs of each variant")
	partFlag    = flag.String("part", "8MiB", "part size")
	concurrency = flag.Int("concurrency", s3sink.DefaultConcurrency, "part uploads at a time (transfermanager Options.Concurrency; s3sink buffers = this + 1, so that as many parts upload while one fills)")
	chunk       = flag.Int("chunk", 256<<10, "size of each Write to the s3sink writer")
	child       = flag.String("child", "", "internal: run one upload of this variant")
	endpoint    = flag.String("endpoint", "", "internal")
	bucket      = flag.String("bucket", "", "internal")
	key         = flag.String("key", "", "internal")
)

var variants = []string{"transfermanager", "s3sink", "s3sink-stream"}

type result struct {
	Variant string  `json:"variant"`
	Seconds float64 `json:"seconds"`
	ETag    string  `json:"etag"`
	MaxRSS  int64   `json:"-"` // KiB, from the parent's rusage of the child
}

func main() {
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	check(err)
	part, err := parseSize(*partFlag)
	check(err)
	if *child != "" {
		r, err := upload(*child, size, part)
		check(err)
		check(json.NewEncoder(os.Stdout).Encode(r))
		return
	}
	check(parent(size, part))
}

func parent(size, part int64) error {
	srv := testenv.S3Server{
		Endpoint:  os.Getenv("SNAPEXPORT_S3_ENDPOINT"),
		Region:    "us-east-1",
		AccessKey: os.Getenv("SNAPEXPORT_S3_ACCESS_KEY"),
		SecretKey: os.Getenv("SNAPEXPORT_S3_SECRET_KEY"),
	}
	if srv.Endpoint == "" {
		var stop func()
		var err error
		srv, stop, err = testenv.StartVersityGW()
		if err != nil {
			return fmt.Errorf("%w (%s)", err, testenv.S3InstallHint)
		}
		defer stop()
	}
	ctx := context.Background()
	b := fmt.Sprintf("snapexport-bench-%d", time.Now().UnixNano())
	if err := srv.CreateBucket(ctx, b); err != nil {
		return err
	}
	client := newClient(srv.Endpoint, srv.AccessKey, srv.SecretKey)
	fmt.Fprintf(os.Stderr, "bench: %s objects, part %s, concurrency %d, %d runs, server %s\n",
		human(size), human(part), *concurrency, *runs, srv.Endpoint)
	all := map[string][]result{}
	var etag string
	for run := 0; run < *runs; run++ {
		// Rotate the order so no variant always runs first (cold) or last.
		order := append(slices.Clone(variants[run%len(variants):]), variants[:run%len(variants)]...)
		for _, v := range order {
			k := fmt.Sprintf("%s-%d", v, run)
			cmd := exec.Command(os.Args[0], "-child", v, "-size", *sizeFlag, "-part", *partFlag,
				"-concurrency", strconv.Itoa(*concurrency), "-chunk", strconv.Itoa(*chunk),
				"-endpoint", srv.Endpoint, "-bucket", b, "-key", k)
			cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey)
			cmd.Stderr = os.Stderr
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("%s run %d: %w", v, run+1, err)
			}
			var r result
			if err := json.Unmarshal(out, &r); err != nil {
				return fmt.Errorf("%s run %d: %q: %w", v, run+1, out, err)
			}
			r.MaxRSS = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
			if etag == "" {
				etag = r.ETag
			} else if r.ETag != etag {
				return fmt.Errorf("%s run %d: ETag %s differs from %s: not the same bytes or parts", v, run+1, r.ETag, etag)
			}
			all[v] = append(all[v], r)
			fmt.Fprintf(os.Stderr, "bench: run %d %-15s %6.2fs %7.1f MiB/s  peak RSS %5d MiB\n",
				run+1, v, r.Seconds, float64(size)/(1<<20)/r.Seconds, r.MaxRSS>>10)
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b, Key: &k}); err != nil {
				return err
			}
		}
	}
	fmt.Printf("%-16s %10s %12s %14s %12s\n", "variant", "median s", "MiB/s", "vs transfermgr", "peak RSS")
	base := median(all[variants[0]], func(r result) float64 { return r.Seconds })
	for _, v := range variants {
		sec := median(all[v], func(r result) float64 { return r.Seconds })
		rss := median(all[v], func(r result) float64 { return float64(r.MaxRSS) })
		fmt.Printf("%-16s %10.2f %12.1f %13.2fx %8.0f MiB\n", v, sec, float64(size)/(1<<20)/sec, base/sec, rss/1024)
	}
	return nil
}

func median(rs []result, f func(result) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func newClient(endpoint, access, secret string) *s3.Client {
	c, err := s3sink.NewClient(context.Background(), &s3sink.ClientOptions{
		Region:       "us-east-1",
		Endpoint:     endpoint,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
	check(err)
	return c
}

// upload runs one variant in this process and times the upload alone.
func upload(variant string, size, part int64) (result, error) {
	ctx := context.Background()
	client := newClient(*endpoint, os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"))
	var data []byte
	if variant != "s3sink-stream" {
		data = make([]byte, size)
		gen(data, 0)
	}
	var start time.Time
	switch variant {
	case "transfermanager":
		tm := transfermanager.New(client, func(o *transfermanager.Options) {
			o.PartSizeBytes = part
			// As the old Uploader and s3sink: one PutObject below one
			// part, multipart from there, so the ETags compare.
			o.MultipartUploadThreshold = part
			o.Concurrency = *concurrency
		})
		start = time.Now()
		if _, err := tm.UploadObject(ctx, &transfermanager.UploadObjectInput{Bucket: bucket, Key: key, Body: bytes.NewReader(data)}); err != nil {
			return result{}, err
		}
	case "s3sink", "s3sink-stream":
		s, err := s3sink.Open(ctx, client, *bucket, &s3sink.Options{PartSize: part, Concurrency: *concurrency + 1})
		if err != nil {
			return result{}, err
		}
		start = time.Now()
		w, err := s.NewWriter(ctx, *key, nil)
		if err != nil {
			return result{}, err
		}
		buf := make([]byte, *chunk)
		for off := int64(0); off < size; off += int64(len(buf)) {
			p := buf[:min(int64(len(buf)), size-off)]
			if data != nil {
				p = data[off : off+int64(len(p))]
			} else {
				gen(p, off)
			}
			if _, err := w.Write(p); err != nil {
				return result{}, err
			}
		}
		if err := w.Close(); err != nil {
			return result{}, err
		}
	default:
		return result{}, errors.New("unknown variant " + variant)
	}
	sec := time.Since(start).Seconds()
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: key})
	if err != nil {
		return result{}, err
	}
	if aws.ToInt64(head.ContentLength) != size {
		return result{}, fmt.Errorf("object has %d bytes, want %d", aws.ToInt64(head.ContentLength), size)
	}
	return result{Variant: variant, Seconds: sec, ETag: aws.ToString(head.ETag)}, nil
}

// block is 1 MiB of random bytes; byte i of the object is block[i%1MiB],
// except the first 8 bytes of each MiB, which hold the MiB's index, so no
// two parts are alike. gen is a copy, cheap enough to stream.
var block = func() []byte {
	b := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b
}()

// gen fills p with the object's bytes from offset off.
func gen(p []byte, off int64) {
	for len(p) > 0 {
		in := off % int64(len(block))
		n := copy(p, block[in:])
		var idx [8]byte
		binary.LittleEndian.PutUint64(idx[:], uint64(off/int64(len(block))))
		for i := in; i < 8 && i-in < int64(n); i++ {
			p[i-in] = idx[i]
		}
		p, off = p[n:], off+int64(n)
	}
}

func parseSize(v string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		s string
		m int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if s, ok := strings.CutSuffix(v, u.s); ok {
			v, mult = s, u.m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n * mult, err
}

func human(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return strconv.FormatInt(n, 10)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
