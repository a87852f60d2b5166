package writer

import (
	"bytes"
	"math"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"
	"github.com/parquet-go/parquet-go/format"
)

// Statistics are what readers skip data with, so a wrong bound is a wrong
// query answer. parquet-go computes them right for every column this package
// writes except two, which the types below fix by wrapping the library's
// own types and overriding only what is wrong:
//
//   - DECIMAL on FIXED_LEN_BYTE_ARRAY: parquet-go orders the bytes unsigned,
//     but the values are two's complement, so a negative decimal would become
//     the maximum. signedFixedType orders them signed, for the page bounds,
//     the row-group statistics and the column index.
//   - FLOAT and DOUBLE with NaN: parquet-go leaves NaN out of the bounds, as
//     the format asks, but DuckDB orders NaN above every number and skips row
//     groups by those bounds, so `x > 100` or `x = 'NaN'` miss the NaN rows.
//     floatType makes NaN the maximum of any page and row group holding one,
//     which is right for DuckDB and, NaN comparing false with everything, can
//     never make another reader skip data (most ignore such bounds).
//     It also writes a zero minimum as -0.0 and a zero maximum as +0.0, as
//     the format asks.
//   - STRING and BINARY: parquet-go copies the whole smallest and largest
//     value into every page header and the footer, a copy of each large
//     document, and cuts the column index's to 16 bytes in a way that can
//     leave the maximum below the values. boundedBytesType cuts the bounds
//     to statsBytesLimit bytes, keeping them true bounds, and indexes them as
//     they are.

// boundsBuffer is a column buffer whose pages report bounds computed by
// bounds instead of the library's. Every other method is the wrapped
// buffer's, including the unexported ones the library calls internally.
type boundsBuffer struct {
	parquet.ColumnBuffer
	bounds func(parquet.Page) (min, max parquet.Value, ok bool)
}

func (b *boundsBuffer) Page() parquet.Page {
	return &boundsPage{Page: b.basePage(), bounds: b.bounds}
}

// basePage is the wrapped buffer's page, except for a page of one byte
// array. parquet-go's byte-array buffer takes a single value for an
// unordered page and copies it into a scratch buffer, which it then keeps
// for the life of the file: for a value of 20 MB (alone in its page, as
// every value larger than a page is) that is 20 MB more at the moment the
// page is written, and 20 MB held per column afterwards. The page built here
// over the buffer's own bytes (ReadValuesAt does not copy) encodes the same.
func (b *boundsBuffer) basePage() parquet.Page {
	if b.ColumnBuffer.Len() == 1 && b.ColumnBuffer.Type().Kind() == parquet.ByteArray {
		var v [1]parquet.Value
		if n, _ := b.ColumnBuffer.ReadValuesAt(v[:], 0); n == 1 && !v[0].IsNull() {
			data := v[0].ByteArray()
			return b.ColumnBuffer.Type().NewPage(b.ColumnBuffer.Column(), 1,
				encoding.ByteArrayValues(data, []uint32{0, uint32(len(data))}))
		}
	}
	return b.ColumnBuffer.Page()
}

func (b *boundsBuffer) Clone() parquet.ColumnBuffer {
	return &boundsBuffer{ColumnBuffer: b.ColumnBuffer.Clone(), bounds: b.bounds}
}

// boundsPage computes its bounds once: parquet-go asks for them twice per
// page (page header and row-group statistics).
type boundsPage struct {
	parquet.Page
	bounds   func(parquet.Page) (min, max parquet.Value, ok bool)
	done, ok bool
	min, max parquet.Value
}

func (p *boundsPage) Bounds() (min, max parquet.Value, ok bool) {
	if !p.done {
		p.min, p.max, p.ok = p.bounds(p.Page)
		p.done = true
	}
	return p.min, p.max, p.ok
}

func (p *boundsPage) Slice(i, j int64) parquet.Page {
	return &boundsPage{Page: p.Page.Slice(i, j), bounds: p.bounds}
}

// signedFixedType is a FIXED_LEN_BYTE_ARRAY DECIMAL type (the wrapped
// parquet.Decimal type, which keeps its logical and converted type) ordered
// as signed big-endian integers.
type signedFixedType struct{ parquet.Type }

func (t signedFixedType) Compare(a, b parquet.Value) int {
	return compareSigned(a.ByteArray(), b.ByteArray())
}

func (t signedFixedType) NewColumnBuffer(columnIndex, numValues int) parquet.ColumnBuffer {
	return &boundsBuffer{ColumnBuffer: t.Type.NewColumnBuffer(columnIndex, numValues), bounds: signedFixedBounds}
}

func (t signedFixedType) NewColumnIndexer(int) parquet.ColumnIndexer {
	return &boundsIndexer{compare: compareSigned}
}

// compareSigned compares two equally long big-endian two's complement
// integers.
func compareSigned(a, b []byte) int {
	if len(a) == 0 || len(b) == 0 {
		return len(a) - len(b)
	}
	if a[0] != b[0] {
		if int8(a[0]) < int8(b[0]) {
			return -1
		}
		return 1
	}
	return bytes.Compare(a[1:], b[1:])
}

func signedFixedBounds(p parquet.Page) (min, max parquet.Value, ok bool) {
	values := p.Data()
	data, size := values.FixedLenByteArray()
	if size == 0 || len(data) < size {
		return min, max, false
	}
	lo, hi := data[:size], data[:size]
	for off := size; off+size <= len(data); off += size {
		v := data[off : off+size]
		if compareSigned(v, lo) < 0 {
			lo = v
		} else if compareSigned(v, hi) > 0 {
			hi = v
		}
	}
	col := p.Column()
	return parquet.FixedLenByteArrayValue(lo).Level(0, 0, col), parquet.FixedLenByteArrayValue(hi).Level(0, 0, col), true
}

// boundsIndexer builds the column index (per-page bounds) of a column from
// the page bounds as they are, ordered by compare. parquet-go's indexers
// would compare FIXED_LEN_BYTE_ARRAY unsigned, and cut byte arrays to 16
// bytes in a way that can make the maximum smaller than the values (a
// value of 0xFF bytes). Null pages get empty bounds, as the format
// requires.
type boundsIndexer struct {
	compare    func(a, b []byte) int
	nullPages  []bool
	nullCounts []int64
	mins, maxs [][]byte
}

func (x *boundsIndexer) Reset() {
	x.nullPages, x.nullCounts, x.mins, x.maxs = x.nullPages[:0], x.nullCounts[:0], x.mins[:0], x.maxs[:0]
}

func (x *boundsIndexer) IndexPage(numValues, numNulls int64, min, max parquet.Value) {
	null := numValues == numNulls || min.IsNull() || max.IsNull()
	x.nullPages = append(x.nullPages, null)
	x.nullCounts = append(x.nullCounts, numNulls)
	if null {
		x.mins, x.maxs = append(x.mins, []byte{}), append(x.maxs, []byte{})
		return
	}
	x.mins = append(x.mins, bytes.Clone(min.ByteArray()))
	x.maxs = append(x.maxs, bytes.Clone(max.ByteArray()))
}

func (x *boundsIndexer) ColumnIndex() format.ColumnIndex {
	asc, desc := true, true
	var prevMin, prevMax []byte
	for i, null := range x.nullPages {
		if null {
			continue
		}
		if prevMin != nil {
			cmin, cmax := x.compare(x.mins[i], prevMin), x.compare(x.maxs[i], prevMax)
			asc = asc && cmin >= 0 && cmax >= 0
			desc = desc && cmin <= 0 && cmax <= 0
		}
		prevMin, prevMax = x.mins[i], x.maxs[i]
	}
	order := format.Unordered
	switch {
	case asc:
		order = format.Ascending
	case desc:
		order = format.Descending
	}
	return format.ColumnIndex{
		NullPages:     append([]bool(nil), x.nullPages...),
		NullCounts:    append([]int64(nil), x.nullCounts...),
		MinValues:     append([][]byte(nil), x.mins...),
		MaxValues:     append([][]byte(nil), x.maxs...),
		BoundaryOrder: order,
	}
}

// boundedBytesType is a BYTE_ARRAY type (STRING or BINARY) whose page
// bounds are at most statsBytesLimit bytes long.
// text is set for STRING, whose bounds stay valid UTF-8.
type boundedBytesType struct {
	parquet.Type
	text bool
}

func (t boundedBytesType) NewColumnBuffer(columnIndex, numValues int) parquet.ColumnBuffer {
	bounds := truncatedBytesBounds
	if t.text {
		bounds = truncatedStringBounds
	}
	return &boundsBuffer{ColumnBuffer: t.Type.NewColumnBuffer(columnIndex, numValues), bounds: bounds}
}

func (t boundedBytesType) NewColumnIndexer(int) parquet.ColumnIndexer {
	return &boundsIndexer{compare: bytes.Compare}
}

func truncatedBytesBounds(p parquet.Page) (min, max parquet.Value, ok bool) {
	return truncatedBounds(p, false)
}

func truncatedStringBounds(p parquet.Page) (min, max parquet.Value, ok bool) {
	return truncatedBounds(p, true)
}

func truncatedBounds(p parquet.Page, text bool) (min, max parquet.Value, ok bool) {
	min, max, ok = p.Bounds()
	if !ok {
		return min, max, ok
	}
	min, max = truncateBounds(min, max, p.Column(), text)
	return min, max, ok
}

// truncateBounds cuts byte-array bounds to statsBytesLimit bytes, keeping
// them bounds.
func truncateBounds(min, max parquet.Value, col int, text bool) (parquet.Value, parquet.Value) {
	if b := min.ByteArray(); len(b) > statsBytesLimit {
		// Any prefix of the smallest value is a lower bound.
		min = parquet.ByteArrayValue(b[:cutAt(b, statsBytesLimit, text)]).Level(0, 0, col)
	}
	if b := max.ByteArray(); len(b) > statsBytesLimit {
		if up := roundUp(b[:cutAt(b, statsBytesLimit, text)], text); up != nil {
			max = parquet.ByteArrayValue(up).Level(0, 0, col)
		}
		// else: no short upper bound exists (all 0xFF); keep the exact one.
	}
	return min, max
}

// cutAt is the length of the longest prefix of b of at most n bytes; for
// text it does not split a UTF-8 sequence, so the bound stays valid UTF-8
// for readers that check.
func cutAt(b []byte, n int, text bool) int {
	if text {
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
	}
	return n
}

// roundUp returns the shortest string greater than every string that starts
// with prefix, or nil if there is none. For text it increments the last
// code point that can be incremented (UTF-8 order is code point order), so
// the result is valid UTF-8; for bytes, the last byte below 0xFF.
func roundUp(prefix []byte, text bool) []byte {
	if !text {
		for i := len(prefix) - 1; i >= 0; i-- {
			if prefix[i] != 0xFF {
				up := bytes.Clone(prefix[:i+1])
				up[i]++
				return up
			}
		}
		return nil
	}
	for end := len(prefix); end > 0; {
		r, size := utf8.DecodeLastRune(prefix[:end])
		start := end - size
		next := r + 1
		if next == 0xD800 { // skip the surrogate range, which UTF-8 cannot encode
			next = 0xE000
		}
		if !(r == utf8.RuneError && size == 1) && next <= utf8.MaxRune {
			return utf8.AppendRune(bytes.Clone(prefix[:start]), next)
		}
		end = start
	}
	return nil
}

// floatType is FLOAT or DOUBLE with NaN ordered above every number.
type floatType struct {
	parquet.Type
	bits int // 32 or 64
}

func (t floatType) Compare(a, b parquet.Value) int {
	var x, y float64
	if t.bits == 32 {
		x, y = float64(a.Float()), float64(b.Float())
	} else {
		x, y = a.Double(), b.Double()
	}
	return compareNaNLast(x, y)
}

func compareNaNLast(x, y float64) int {
	switch xn, yn := math.IsNaN(x), math.IsNaN(y); {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func (t floatType) NewColumnBuffer(columnIndex, numValues int) parquet.ColumnBuffer {
	bounds := float64Bounds
	if t.bits == 32 {
		bounds = float32Bounds
	}
	return &boundsBuffer{ColumnBuffer: t.Type.NewColumnBuffer(columnIndex, numValues), bounds: bounds}
}

func float64Bounds(p parquet.Page) (min, max parquet.Value, ok bool) {
	values := p.Data()
	lo, hi, ok := floatBounds(values.Double())
	col := p.Column()
	return parquet.DoubleValue(lo).Level(0, 0, col), parquet.DoubleValue(hi).Level(0, 0, col), ok
}

func float32Bounds(p parquet.Page) (min, max parquet.Value, ok bool) {
	values := p.Data()
	lo, hi, ok := floatBounds(values.Float())
	col := p.Column()
	return parquet.FloatValue(float32(lo)).Level(0, 0, col), parquet.FloatValue(float32(hi)).Level(0, 0, col), ok
}

// floatBounds is the smallest and largest of data, NaN above every number;
// a zero minimum is -0.0 and a zero maximum +0.0.
func floatBounds[F float32 | float64](data []F) (lo, hi float64, ok bool) {
	var b floatBounder
	for _, f := range data {
		b.add(float64(f))
	}
	return b.bounds()
}

// floatBoundsAt is floatBounds of the values of data at indexes (a page of
// dictionary indexes).
func floatBoundsAt[F float32 | float64](data []F, indexes []int32) (lo, hi float64, ok bool) {
	var b floatBounder
	for _, i := range indexes {
		b.add(float64(data[i]))
	}
	return b.bounds()
}

type floatBounder struct {
	lo, hi       float64
	nan, numbers bool
}

func (b *floatBounder) add(v float64) {
	switch {
	case v != v:
		b.nan = true
	case !b.numbers:
		b.lo, b.hi, b.numbers = v, v, true
	case v < b.lo:
		b.lo = v
	case v > b.hi:
		b.hi = v
	}
}

func (b *floatBounder) bounds() (lo, hi float64, ok bool) {
	if !b.nan && !b.numbers {
		return 0, 0, false
	}
	lo, hi = b.lo, b.hi
	switch {
	case !b.numbers:
		lo = math.NaN()
	case lo == 0:
		lo = math.Copysign(0, -1)
	}
	switch {
	case b.nan:
		hi = math.NaN()
	case hi == 0:
		hi = 0
	}
	return lo, hi, true
}
