// Command codecs measures the compression codecs and levels a Parquet page
// can be written with, on pages like those of the benchmark tables
// (bench/pg, bench/mysql): bytes out and CPU time per codec and level, per
// column kind, as a Markdown table (bench/codecs/RESULTS.md holds a run).
// It is how writer's default GZIP implementation and level were chosen.
//
//	go run ./bench/codecs [-pages 16] [-min 300ms]
//
// Pages are PLAIN-encoded, PageBytes (256 KiB) of values each, as the
// writer hands them to the codec; one goroutine, so wall time is CPU time.
package main

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/snapexport/snapexport/internal/flate"
)

const pageBytes = 256 << 10

// column is a generator of the PLAIN bytes of one column's values.
type column struct {
	name string
	next func(i int, b []byte) []byte // appends value i, PLAIN-encoded
}

func plainBytes(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

var columns = []column{
	{"int32 key (pgbench aid)", func(i int, b []byte) []byte { return binary.LittleEndian.AppendUint32(b, uint32(i+1)) }},
	{"int32 random (abalance-like)", func(i int, b []byte) []byte {
		return binary.LittleEndian.AppendUint32(b, uint32(int32(mix(i)%20000)-10000))
	}},
	{"int64 timestamptz (µs, 1-minute steps)", func(i int, b []byte) []byte {
		return binary.LittleEndian.AppendUint64(b, uint64(946684800_000000+int64(i)*60_000000))
	}},
	{"timestamp as text (1-second steps)", func(i int, b []byte) []byte {
		t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		return plainBytes(b, t.Format("2006-01-02 15:04:05"))
	}},
	{"decimal(14,2) on INT64 (g × 1.25)", func(i int, b []byte) []byte {
		return binary.LittleEndian.AppendUint64(b, uint64(int64(i)*125))
	}},
	{"decimal as text (money-like)", func(i int, b []byte) []byte {
		return plainBytes(b, "$"+strconv.FormatFloat(float64(mix(i)%10_000_000)/100, 'f', 2, 64))
	}},
	{"double (g / 7)", func(i int, b []byte) []byte {
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(i)/7))
	}},
	{"text md5 hex + é (wide.t)", func(i int, b []byte) []byte {
		s := md5.Sum([]byte(strconv.Itoa(i)))
		return plainBytes(b, hex.EncodeToString(s[:])+" é")
	}},
	{"text random letters, 84 B", func(i int, b []byte) []byte {
		x := mix(i) | 1
		s := make([]byte, 84)
		for j := range s {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			s[j] = byte('a' + x%26)
		}
		return plainBytes(b, string(s))
	}},
	{"incompressible bytes", func(i int, b []byte) []byte {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for range 8 {
			b = binary.LittleEndian.AppendUint64(b, r.Uint64())
		}
		return b
	}},
}

func mix(i int) uint64 {
	h := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return h ^ h>>32
}

type codec struct {
	name   string
	encode func(dst, src []byte) []byte
}

// streamWriter is a GZIP encoder: compress/gzip's, klauspost's or
// internal/flate's.
type streamWriter interface {
	Reset(io.Writer)
	Write([]byte) (int, error)
	Close() error
}

func gzipCodec(name string, w streamWriter) codec {
	var buf bytes.Buffer
	return codec{name, func(dst, src []byte) []byte {
		buf.Reset()
		w.Reset(&buf)
		w.Write(src)
		w.Close()
		return append(dst[:0], buf.Bytes()...)
	}}
}

func gzipStd(level int) codec {
	w, _ := stdgzip.NewWriterLevel(nil, level)
	return gzipCodec(fmt.Sprintf("compress/gzip %d", level), w)
}

func gzipK(level int) codec {
	w, _ := kgzip.NewWriterLevel(nil, level)
	return gzipCodec(fmt.Sprintf("klauspost gzip %d", level), w)
}

func gzip3(level int) codec {
	w, _ := flate.NewGzipWriter(io.Discard, level)
	return gzipCodec(fmt.Sprintf("internal/flate gzip %d (3-byte matches)", level), w)
}

func zstdK(level zstd.EncoderLevel) codec {
	e, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1))
	return codec{"klauspost zstd " + level.String(), func(dst, src []byte) []byte { return e.EncodeAll(src, dst[:0]) }}
}

func main() {
	pages := flag.Int("pages", 16, "pages per column")
	minTime := flag.Duration("min", 300*time.Millisecond, "minimum measuring time per codec and column")
	flag.Parse()

	codecs := []codec{
		gzipStd(1), gzipStd(2), gzipStd(4), gzipStd(6), gzipStd(9),
		gzip3(2), gzip3(3), gzip3(4), gzip3(6),
		gzipK(1), gzipK(3), gzipK(5), gzipK(6), gzipK(7), gzipK(9),
		zstdK(zstd.SpeedFastest), zstdK(zstd.SpeedDefault), zstdK(zstd.SpeedBetterCompression),
		{"s2.EncodeSnappy", func(dst, src []byte) []byte { return s2.EncodeSnappy(dst[:cap(dst)], src) }},
		{"s2.EncodeSnappyBetter", func(dst, src []byte) []byte { return s2.EncodeSnappyBetter(dst[:cap(dst)], src) }},
	}

	fmt.Printf("Pages of %d KiB PLAIN values, %d per column; bytes out as %% of bytes in, and CPU ns per input byte (one goroutine).\n\n", pageBytes>>10, *pages)
	fmt.Printf("| codec |")
	for _, c := range columns {
		fmt.Printf(" %s |", c.name)
	}
	fmt.Printf(" worst expansion (bytes) |\n|---|")
	for range columns {
		fmt.Printf("---|")
	}
	fmt.Println("---|")

	data := make([][][]byte, len(columns))
	for k, col := range columns {
		i := 0
		for range *pages {
			var p []byte
			for len(p) < pageBytes {
				p = col.next(i, p)
				i++
			}
			data[k] = append(data[k], p)
		}
	}
	dst := make([]byte, 0, 2*pageBytes)
	for _, c := range codecs {
		fmt.Printf("| %s |", c.name)
		worst := math.MinInt
		for k := range columns {
			var in, out int
			start := time.Now()
			rounds := 0
			for time.Since(start) < *minTime || rounds == 0 {
				for _, p := range data[k] {
					dst = c.encode(dst, p)
					if rounds == 0 {
						in += len(p)
						out += len(dst)
						worst = max(worst, len(dst)-len(p))
					}
				}
				rounds++
			}
			ns := float64(time.Since(start).Nanoseconds()) / float64(rounds*in)
			fmt.Printf(" %.1f%% %.2f |", 100*float64(out)/float64(in), ns)
		}
		fmt.Printf(" %+d |\n", worst)
	}
	fmt.Fprintln(os.Stderr, "codecs: done")
}
