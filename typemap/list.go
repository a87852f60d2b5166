package typemap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/parquet-go/parquet-go"
)

// A List column's value travels from the source driver to the writer as one
// BYTE_ARRAY value holding every element, so that source.Rows keeps its
// contract of one value per column: NULL for a NULL list, an empty byte
// array for an empty list. Each element is a tag byte, 0 for a NULL element
// and 1 for a value, followed by the value in the element target's physical
// type: BOOLEAN one byte, INT32 and FLOAT 4 bytes and INT64 and DOUBLE 8
// bytes little-endian, FIXED_LEN_BYTE_ARRAY its bytes, BYTE_ARRAY a uvarint
// length and its bytes. [AppendListElement] writes one element,
// [DecodeList] reads them back.

// AppendListElement appends one element of a List value to dst. v is
// parquet.NullValue() or a value of elem's physical type.
func AppendListElement(dst []byte, elem Target, v parquet.Value) []byte {
	if v.IsNull() {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	switch elem.Physical() {
	case PhysicalBoolean:
		if v.Boolean() {
			return append(dst, 1)
		}
		return append(dst, 0)
	case PhysicalInt32:
		return binary.LittleEndian.AppendUint32(dst, uint32(v.Int32()))
	case PhysicalInt64:
		return binary.LittleEndian.AppendUint64(dst, uint64(v.Int64()))
	case PhysicalFloat:
		return binary.LittleEndian.AppendUint32(dst, math.Float32bits(v.Float()))
	case PhysicalDouble:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v.Double()))
	case PhysicalFixedLenByteArray:
		return append(dst, v.ByteArray()...)
	default:
		b := v.ByteArray()
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		return append(dst, b...)
	}
}

var errShortList = errors.New("typemap: list value is cut short")

// DecodeList calls fn with each element of the List value b, in order: a
// NULL element is parquet.NullValue(). Byte-array elements alias b.
func DecodeList(b []byte, elem Target, fn func(parquet.Value) error) error {
	phys := elem.Physical()
	fixed := elem.FixedLen()
	for len(b) > 0 {
		tag := b[0]
		b = b[1:]
		if tag == 0 {
			if err := fn(parquet.NullValue()); err != nil {
				return err
			}
			continue
		}
		if tag != 1 {
			return fmt.Errorf("typemap: list element tag %d", tag)
		}
		var (
			v parquet.Value
			n int
		)
		switch phys {
		case PhysicalBoolean:
			if n = 1; len(b) >= n {
				v = parquet.BooleanValue(b[0] != 0)
			}
		case PhysicalInt32:
			if n = 4; len(b) >= n {
				v = parquet.Int32Value(int32(binary.LittleEndian.Uint32(b)))
			}
		case PhysicalInt64:
			if n = 8; len(b) >= n {
				v = parquet.Int64Value(int64(binary.LittleEndian.Uint64(b)))
			}
		case PhysicalFloat:
			if n = 4; len(b) >= n {
				v = parquet.FloatValue(math.Float32frombits(binary.LittleEndian.Uint32(b)))
			}
		case PhysicalDouble:
			if n = 8; len(b) >= n {
				v = parquet.DoubleValue(math.Float64frombits(binary.LittleEndian.Uint64(b)))
			}
		case PhysicalFixedLenByteArray:
			if n = fixed; len(b) >= n {
				v = parquet.FixedLenByteArrayValue(b[:n:n])
			}
		case PhysicalByteArray:
			l, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < l {
				return errShortList
			}
			b = b[w:]
			n = int(l)
			v = parquet.ByteArrayValue(b[:n:n])
		default:
			return fmt.Errorf("typemap: list of %s", elem)
		}
		if len(b) < n {
			return errShortList
		}
		b = b[n:]
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
