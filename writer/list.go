package writer

import (
	"fmt"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/typemap"
)

// A LIST column is the 3-level structure the format asks for, as
// parquet.List builds it:
//
//	optional group c (LIST) {
//	  repeated group list {
//	    optional <element> element;
//	  }
//	}
//
// Its one leaf has repetition level 1 and definition level 3: a NULL list
// is definition 0, an empty list 1, a NULL element 2 and a present element
// 3; the first element of a row has repetition 0, the others 1. Rows carry
// a list as one byte array of tagged elements (typemap.AppendListElement),
// which WriteRow checks and copies like any byte array and leafValues turns
// into the leaf's values when the batch goes to the column writer, so that
// the batch keeps one value per row and column.

// Definition levels of a LIST column's leaf.
const (
	listDefEmpty   = 1
	listDefNull    = 2
	listDefPresent = 3
)

// listNode is the OPTIONAL LIST of a List target, its element OPTIONAL and
// PLAIN like every other leaf.
func listNode(t typemap.Target) (parquet.Node, error) {
	et := t.ElemTarget()
	if et.Kind == typemap.List {
		return nil, fmt.Errorf("a list of lists is not supported")
	}
	elem, err := leafNode(et)
	if err != nil {
		return nil, fmt.Errorf("list element: %w", err)
	}
	return parquet.Optional(parquet.List(elem)), nil
}

// listElemSpec is how a LIST column's elements are checked.
func listElemSpec(i int, c Column) *colSpec {
	e := newColSpec(i, Column{Name: c.Name, Target: c.Target.ElemTarget()})
	return &e
}

// checkList checks a LIST value as WriteRow checks a flat value (every
// element of the element's physical type, text valid UTF-8, ranged integers
// in range) and returns its number of elements.
func (c *colSpec) checkList(b []byte) (int64, error) {
	e := c.elem
	var n int64
	err := typemap.DecodeList(b, e.target, func(v parquet.Value) error {
		n++
		if v.IsNull() {
			return nil
		}
		switch e.op {
		case opText:
			if !utf8.Valid(v.ByteArray()) {
				return fmt.Errorf("element %d: invalid UTF-8 %q", n, truncate(v.ByteArray(), 32))
			}
		case opInt32Range:
			if x := int64(v.Int32()); x < e.min || x > e.max {
				return fmt.Errorf("element %d: value %d out of range", n, x)
			}
		case opInt64Range:
			if x := v.Int64(); x < e.min || x > e.max {
				return fmt.Errorf("element %d: value %d out of range", n, x)
			}
		}
		return nil
	})
	return n, err
}

// leafValues returns the values column i's writer takes for a batch: the
// batch itself for a flat column, the leaf values with their levels for a
// LIST column. A LIST's elements alias the batch's arena.
func (f *FileWriter) leafValues(i int, batch []parquet.Value) []parquet.Value {
	c := &f.cols[i]
	if c.op != opList {
		return batch
	}
	out := f.listVals[:0]
	for _, v := range batch {
		if v.IsNull() {
			out = append(out, c.null) // definition 0: the list is NULL
			continue
		}
		b := v.ByteArray()
		if len(b) == 0 {
			out = append(out, parquet.NullValue().Level(0, listDefEmpty, i))
			continue
		}
		rep := 0
		// checkList accepted the value in WriteRow: it decodes.
		_ = typemap.DecodeList(b, c.elem.target, func(e parquet.Value) error {
			if e.IsNull() {
				out = append(out, parquet.NullValue().Level(rep, listDefNull, i))
			} else {
				out = append(out, e.Level(rep, listDefPresent, i))
			}
			rep = 1
			return nil
		})
	}
	f.listVals = out[:0]
	if cap(out) > 64<<10 {
		f.listVals = nil // a batch of huge lists: do not keep its memory
	}
	return out
}
