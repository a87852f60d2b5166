package writer

import (
	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// fastSnappy is the SNAPPY codec of fixed-width columns, with
// klauspost/compress's standard-speed Snappy encoder. parquet-go's own codec
// calls klauspost's snappy.Encode, which is s2.EncodeSnappyBetter: on
// numbers it finds next to nothing more, at several times the CPU (on
// every column, it was the largest cost in a profile of a 10M-row MariaDB
// export). Both write the standard Snappy block format,
// which every Parquet reader decodes. Decoding is parquet-go's.
type fastSnappy struct{ snappy.Codec }

// Encode compresses src into dst's storage when it is large enough, as the
// codec interface asks.
func (fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst, src), nil
}

// betterSnappy is the SNAPPY codec of byte-array columns: on text,
// s2.EncodeSnappyBetter finds the matches s2.EncodeSnappy skips, and writes
// pages smaller than DuckDB's C++ Snappy, which s2.EncodeSnappy does not,
// for a small part of an export's time (figures in bench/RESULTS.md:
// sbtest1, the wide table).
type betterSnappy struct{ snappy.Codec }

func (betterSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappyBetter(dst, src), nil
}

var (
	snappyCodec     = &fastSnappy{}
	snappyTextCodec = &betterSnappy{}
)
