package flate

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
)

func inputs() map[string][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	seq := make([]byte, 0, 1<<18)
	for i := range 1 << 16 {
		seq = binary.LittleEndian.AppendUint32(seq, uint32(i))
	}
	noise := make([]byte, 100_000)
	for i := range noise {
		noise[i] = byte(r.Uint32())
	}
	text := bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog 0123456789 "), 2000)
	mixed := make([]byte, 0, 1<<18)
	for len(mixed) < 1<<18 {
		n := r.IntN(300)
		switch r.IntN(3) {
		case 0:
			mixed = append(mixed, noise[:n]...)
		case 1:
			mixed = append(mixed, text[r.IntN(1000):][:n]...)
		default:
			for range n / 3 {
				mixed = append(mixed, byte(r.IntN(4)), 'a', 'b')
			}
		}
	}
	// Matches then literals: a block that grew past minFlateBlockTokens on
	// matches, then ends on literals (blockFull).
	seqNoise := append(append([]byte(nil), seq[:1<<17]...), noise...)
	return map[string][]byte{
		"seq then noise": seqNoise, "empty": nil, "one": {7}, "three": {1, 2, 3}, "seq int32": seq, "noise": noise, "text": text, "mixed": mixed,
		"zeros": make([]byte, 100_000), "small": []byte("abcabcabcabd abc"),
	}
}

// TestGzipRoundTrip compresses every input at every level and reads it
// back with the standard library's gzip reader (which checks the CRC and
// size), in one write and in pieces, through Reset.
func TestGzipRoundTrip(t *testing.T) {
	for name, in := range inputs() {
		for _, level := range []int{1, 2, 4, 6, 9} {
			var buf bytes.Buffer
			w, err := NewGzipWriter(io.Discard, level)
			if err != nil {
				t.Fatal(err)
			}
			pieces := []int{len(in) + 1, 1000}
			if len(in) < 1000 {
				pieces = append(pieces, 7)
			}
			for _, piece := range pieces {
				buf.Reset()
				w.Reset(&buf)
				for rest := in; len(rest) > 0; {
					n := min(piece, len(rest))
					if _, err := w.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				r, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
				if err != nil {
					t.Fatalf("%s level %d: %v", name, level, err)
				}
				out, err := io.ReadAll(r)
				if err != nil || !bytes.Equal(out, in) {
					t.Fatalf("%s level %d pieces %d: round trip differs (%v)", name, level, piece, err)
				}
			}
			if name == "seq int32" && level >= 2 && buf.Len() > len(in)*40/100 {
				t.Errorf("sequential int32 at level %d: %d of %d bytes, want under 40%% (3-byte matches)", level, buf.Len(), len(in))
			}
			// Stored blocks: 5 bytes each of at most 16384 tokens, a final empty one, and the
			// GZIP header and trailer.
			if name == "noise" && buf.Len() > len(in)+(len(in)/16384+2)*5+18 {
				t.Errorf("noise at level %d: %d of %d bytes", level, buf.Len(), len(in))
			}
		}
	}
}

// TestLargeBlocksOfMatches checks blockFull's gain: a PLAIN page of
// 123,240 sequential int32 (one row group of pgbench_accounts' aid as
// DuckDB writes it, with its definition levels) comes out no larger than
// DuckDB's miniz writes it, 170,291 bytes (bench/RESULTS.md); with
// compress/flate's blocks of 1 << 14 tokens it is 170,522. And a block of
// matches followed by noise still compresses.
func TestLargeBlocksOfMatches(t *testing.T) {
	page := binary.LittleEndian.AppendUint32(nil, 5)
	page = append(page, 0, 0, 0, 0, 0)
	for i := range 123_240 {
		page = binary.LittleEndian.AppendUint32(page, uint32(300_001+i))
	}
	size := func(in []byte) int {
		var buf bytes.Buffer
		w, _ := NewGzipWriter(&buf, 2) // writer.DefaultGzipNumberLevel
		w.Write(in)
		w.Close()
		return buf.Len()
	}
	if n := size(page); n > 170_291 {
		t.Errorf("sequential int32 page: %d bytes, want at most 170291 (miniz's)", n)
	}
	in := inputs()["seq then noise"]
	if n, noise := size(in), 100_000; n >= len(in) || n > size(in[:len(in)-noise])+noise+100 {
		t.Errorf("sequential int32 then noise: %d bytes of %d", n, len(in))
	}
}

// FuzzGzip round-trips arbitrary input.
func FuzzGzip(f *testing.F) {
	for _, in := range inputs() {
		if len(in) < 4096 {
			f.Add(in, 6)
		}
	}
	f.Add([]byte("abcabcabcabd"), 2)
	f.Fuzz(func(t *testing.T, in []byte, level int) {
		level = 2 + (level%8+8)%8
		var buf bytes.Buffer
		w, _ := NewGzipWriter(&buf, level)
		w.Write(in)
		w.Close()
		r, err := gzip.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip differs (%v)", err)
		}
	})
}
