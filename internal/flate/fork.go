// Package flate is Go 1.26's compress/flate encoder with two changes:
//
//   - the compressor (levels 2 to 9) emits matches of 3 bytes, as zlib and
//     miniz do, where compress/flate's shortest is 4 (minMatchLength, hash3
//     and bulkHash3 in deflate.go; a 3-byte match is taken only within 4096
//     bytes, compress/flate's existing rule for its shortest matches, zlib's
//     TOO_FAR). Level 1 (deflatefast.go) is unchanged;
//   - a block of matches may hold up to 1 << 16 tokens instead of 1 << 14
//     (blockFull in deflate.go): fewer Huffman tables in a page that
//     compresses, while a block of literals still ends at 1 << 14 tokens,
//     so that it can be stored when it does not compress.
//
// Why: Parquet pages of sequential little-endian integers (keys, serials,
// timestamps) repeat 3 bytes at distance 4 and nothing longer: with 4-byte
// matches GZIP leaves most of them, with 3-byte matches it compresses them
// as DuckDB's GZIP does (figures in bench/codecs/RESULTS.md and
// bench/RESULTS.md). No maintained pure-Go DEFLATE encoder takes 3-byte
// matches. The output is standard DEFLATE, which every inflater reads; the
// tests round-trip it through compress/gzip's reader.
//
// Provenance: deflate.go, deflatefast.go, huffman_bit_writer.go,
// huffman_code.go and token.go are copied from Go 1.26's
// src/compress/flate (BSD licence, LICENSE, their headers kept), changed
// only as said: diff against $(go env GOROOT)/src/compress/flate shows the
// changes in deflate.go and none in the others. This file holds the two
// declarations they took from inflate.go, which is left out, and the GZIP
// framing (RFC 1952).
package flate

import (
	"encoding/binary"
	"hash/crc32"
	"io"
)

const maxNumLit = 286

// An InternalError reports an error in the flate code itself.
type InternalError string

func (e InternalError) Error() string { return "flate: internal error: " + string(e) }

// GzipWriter writes one GZIP member (RFC 1952: no name, no time, OS
// unknown) of DEFLATE data compressed by this package.
type GzipWriter struct {
	w     io.Writer
	z     *Writer
	crc   uint32
	size  uint32
	wrote bool
	err   error
}

// NewGzipWriter returns a GzipWriter at level (2 to 9 use 3-byte matches).
func NewGzipWriter(w io.Writer, level int) (*GzipWriter, error) {
	z, err := NewWriter(w, level)
	if err != nil {
		return nil, err
	}
	return &GzipWriter{w: w, z: z}, nil
}

// Reset discards the writer's state and makes it write to w.
func (g *GzipWriter) Reset(w io.Writer) {
	g.w, g.crc, g.size, g.wrote, g.err = w, 0, 0, false, nil
	g.z.Reset(w)
}

var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

func (g *GzipWriter) header() error {
	if !g.wrote {
		g.wrote = true
		_, g.err = g.w.Write(gzipHeader[:])
	}
	return g.err
}

func (g *GzipWriter) Write(p []byte) (int, error) {
	if err := g.header(); err != nil {
		return 0, err
	}
	g.crc = crc32.Update(g.crc, crc32.IEEETable, p)
	g.size += uint32(len(p))
	n, err := g.z.Write(p)
	g.err = err
	return n, err
}

// Close ends the DEFLATE stream and writes the trailer; it does not close
// the underlying writer.
func (g *GzipWriter) Close() error {
	if err := g.header(); err != nil {
		return err
	}
	if g.err = g.z.Close(); g.err != nil {
		return g.err
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[:4], g.crc)
	binary.LittleEndian.PutUint32(trailer[4:], g.size)
	_, g.err = g.w.Write(trailer[:])
	return g.err
}
