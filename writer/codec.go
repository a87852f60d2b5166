package writer

import (
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/compress/gzip"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/snapexport/snapexport/internal/flate"
)

// Codec is the compression of a file's pages. The zero value is Gzip, what
// RDS writes.
type Codec int

const (
	Gzip Codec = iota
	Snappy
	Zstd
	Uncompressed
)

var codecNames = [...]string{Gzip: "gzip", Snappy: "snappy", Zstd: "zstd", Uncompressed: "none"}

var codecExtensions = [...]string{
	Gzip: ".gz.parquet", Snappy: ".snappy.parquet", Zstd: ".zstd.parquet", Uncompressed: ".parquet",
}

// ParseCodec is the inverse of [Codec.String]; it also accepts
// "uncompressed" for [Uncompressed], and any letter case.
func ParseCodec(s string) (Codec, error) {
	if strings.EqualFold(s, "uncompressed") {
		return Uncompressed, nil
	}
	for c, name := range codecNames {
		if strings.EqualFold(s, name) {
			return Codec(c), nil
		}
	}
	return 0, fmt.Errorf("writer: unknown codec %q (want gzip, snappy, zstd or none)", s)
}

// String returns "gzip", "snappy", "zstd" or "none".
func (c Codec) String() string {
	if c.valid() {
		return codecNames[c]
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// Extension is the file name suffix for the codec, Spark's convention:
// ".gz.parquet", ".snappy.parquet", ".zstd.parquet", or ".parquet" for
// uncompressed files.
func (c Codec) Extension() string {
	if c.valid() {
		return codecExtensions[c]
	}
	return ".parquet"
}

func (c Codec) valid() bool { return c >= 0 && int(c) < len(codecNames) }

// codecs caches the parquet-go codecs by codec and level: each keeps pools
// of compressors, which files writing at the same time share.
var codecs sync.Map // codecKey -> compress.Codec

type codecKey struct {
	codec Codec
	level int
}

// DefaultGzipLevel is the GZIP level of level 0 for columns of byte
// arrays (STRING, BINARY), with klauspost/compress's encoder (parquet-go's
// GZIP codec): of the encoders and levels measured on the benchmark tables'
// text (bench/codecs/RESULTS.md, bench/RESULTS.md) it writes the smallest
// pages for its time. Its levels up to 6 leave sequential integers almost
// uncompressed, which is why numbers get internal/flate
// (DefaultGzipNumberLevel).
const DefaultGzipLevel = 3

// DefaultGzipNumberLevel is the GZIP level of level 0 for the other
// columns (integers, timestamps, decimals, floats, booleans), with
// internal/flate's 3-byte matches: sequential little-endian integers repeat
// 3 bytes and nothing longer, which Go's encoders (4-byte matches at least)
// miss and zlib and DuckDB's miniz take; the level is the cheapest with
// them (bench/codecs/RESULTS.md).
const DefaultGzipNumberLevel = 2

// columnCodec is the codec of one column of physical kind k when it
// differs from the file's (parquetCodec): GZIP's default level picks the
// encoder by kind (DefaultGzipNumberLevel), and so does Snappy
// (betterSnappy for byte arrays).
func (c Codec) columnCodec(level int, k parquet.Kind) compress.Codec {
	switch {
	case c == Snappy && k == parquet.ByteArray:
		return snappyTextCodec
	case c != Gzip || level != 0 || k == parquet.ByteArray:
		return nil
	}
	key := codecKey{c, -DefaultGzipNumberLevel} // negative: internal/flate
	if v, ok := codecs.Load(key); ok {
		return v.(compress.Codec)
	}
	v, _ := codecs.LoadOrStore(key, flateGzipCodec(DefaultGzipNumberLevel))
	return v.(compress.Codec)
}

// CheckLevel reports whether level is a valid compression level of c: 0
// (the codec's default), GZIP 1..9, ZSTD 1..22; Snappy and none have no
// levels.
func (c Codec) CheckLevel(level int) error {
	_, err := c.parquetCodec(level)
	return err
}

// parquetCodec resolves a codec and level (0: the codec's default) to
// parquet-go's codec.
func (c Codec) parquetCodec(level int) (compress.Codec, error) {
	switch c {
	case Gzip:
		if level != 0 && (level < stdgzip.BestSpeed || level > stdgzip.BestCompression) {
			return nil, fmt.Errorf("writer: gzip level %d is outside %d..%d", level, stdgzip.BestSpeed, stdgzip.BestCompression)
		}
	case Zstd:
		if level < 0 || level > 22 {
			return nil, fmt.Errorf("writer: zstd level %d is outside 1..22", level)
		}
		if level == 0 {
			return &parquet.Zstd, nil
		}
	case Snappy, Uncompressed:
		if level != 0 {
			return nil, fmt.Errorf("writer: codec %s has no levels (level %d)", c, level)
		}
		if c == Snappy {
			return snappyCodec, nil
		}
		return &parquet.Uncompressed, nil
	default:
		return nil, fmt.Errorf("writer: unknown codec %d", int(c))
	}
	key := codecKey{c, level}
	if v, ok := codecs.Load(key); ok {
		return v.(compress.Codec), nil
	}
	var codec compress.Codec
	switch {
	case c == Gzip && level == 0:
		codec = &gzip.Codec{Level: DefaultGzipLevel}
	case c == Gzip:
		codec = stdGzipCodec(level)
	default:
		codec = &zstd.Codec{Level: kzstd.EncoderLevelFromZstd(level)}
	}
	v, _ := codecs.LoadOrStore(key, codec)
	return v.(compress.Codec), nil
}

// gzipCodec is the GZIP codec with an encoder of this package's choosing:
// the standard library's compress/gzip (explicit levels) or
// internal/flate's, with 3-byte matches (DefaultGzipNumberLevel).
// Decoding, the codec's name and id are parquet-go's.
type gzipCodec struct {
	gzip.Codec
	newWriter func(io.Writer) (compress.Writer, error)
	w         compress.Compressor
}

func stdGzipCodec(level int) *gzipCodec {
	return &gzipCodec{newWriter: func(w io.Writer) (compress.Writer, error) { return stdgzip.NewWriterLevel(w, level) }}
}

func flateGzipCodec(level int) *gzipCodec {
	return &gzipCodec{newWriter: func(w io.Writer) (compress.Writer, error) { return flate.NewGzipWriter(w, level) }}
}

func (c *gzipCodec) Encode(dst, src []byte) ([]byte, error) {
	return c.w.Encode(dst, src, c.newWriter)
}
