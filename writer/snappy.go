package writer

import (
	"github.com/klauspost/compress/s2"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// fastSnappy is the SNAPPY codec with klauspost/compress's standard-speed
// Snappy encoder. parquet-go's own codec calls klauspost's snappy.Encode,
// which is s2.EncodeSnappyBetter: profiled on a 10M-row MariaDB export
// (bench/mysql BenchmarkExport) that encoder alone took half of the
// process's CPU. s2.EncodeSnappy writes the same standard Snappy block
// format (every Parquet reader decodes it), a few percent larger, in much
// less time: the trade Snappy is chosen for. Decoding is unchanged.
type fastSnappy struct{ snappy.Codec }

// Encode compresses src into dst's storage when it is large enough, as the
// codec interface asks.
func (fastSnappy) Encode(dst, src []byte) ([]byte, error) {
	return s2.EncodeSnappy(dst, src), nil
}

var snappyCodec = &fastSnappy{}
