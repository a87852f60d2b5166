package writer

import (
	"errors"
	"math/bits"
	"reflect"
	"sync"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/snapexport/snapexport/typemap"
)

// Dictionary encoding.
//
// A dictionary column chunk is a PLAIN dictionary page and RLE_DICTIONARY
// data pages (version 1), what parquet-mr, Spark, Arrow and DuckDB write and
// every reader reads. parquet-go writes them (parquet.RLEDictionary), and
// falls back to PLAIN for the rest of a column chunk when the dictionary
// outgrows parquet.DictionaryMaxBytes at a page boundary, keeping the pages
// already written dictionary-encoded (mixed chunks are valid Parquet).
//
// Two things are added here:
//
//   - The statistics corrections (stats.go) on the dictionary path.
//     parquet-go's dictionaries compute page bounds themselves, with the
//     library's own ordering (FIXED_LEN_BYTE_ARRAY unsigned, NaN left out,
//     byte arrays whole), and the column writer orders the row-group
//     statistics and builds the column index with the type of the
//     dictionary, which is the library's type, not the column's: every
//     correction would be lost. boundsDict wraps the library's dictionary
//     and computes the bounds of a page of indexes as the column's type
//     does; the indexed type parquet-go builds around it (unexported, the
//     one thing no wrapper can replace) is pointed at the column's type and
//     at boundsDict (rewrapIndexed), so that ordering, column index and the
//     PLAIN type a fallback switches to are the column's own.
//   - When the dictionary is given up (FileWriter.dictionaryPays and the
//     byte limit), so that unique keys and long texts pay for no
//     dictionary: see FileWriter.flushColumn.

// DefaultDictionaryBytes is the dictionary size past which a column chunk
// falls back to PLAIN: parquet-mr's 1 MiB dictionary page.
const DefaultDictionaryBytes = 1 << 20

// dictionaryKinds are the kinds written with a dictionary. BOOLEAN is not:
// PLAIN booleans are bits already.
func dictionaryKind(k typemap.Kind) bool {
	switch k {
	case typemap.Int16, typemap.Int32, typemap.Int64, typemap.Float, typemap.Double,
		typemap.String, typemap.Binary, typemap.TimestampMicros, typemap.TimestampMillis, typemap.Decimal:
		return true
	}
	return false
}

// dictColumn is what a FileWriter knows of one dictionary column: the
// dictionary parquet-go created through dictionaryType.NewDictionary.
type dictColumn struct {
	dict *boundsDict
}

// dictionaryType is a column's type (with its statistics corrections) as
// the node of a dictionary-encoded column: only NewDictionary differs.
type dictionaryType struct {
	parquet.Type
	col    *dictColumn
	bounds dictBoundsFunc // nil: the library dictionary's bounds are right
	limit  int64
}

// dictBoundsFunc computes the bounds of the values at indexes of dict.
type dictBoundsFunc func(dict parquet.Dictionary, indexes []int32, col int) (min, max parquet.Value)

func (t dictionaryType) NewDictionary(columnIndex, numValues int, data encoding.Values) parquet.Dictionary {
	d := &boundsDict{
		Dictionary: t.Type.NewDictionary(columnIndex, numValues, data),
		typ:        t.Type,
		bounds:     t.bounds,
		col:        columnIndex,
		limit:      t.limit,
	}
	t.col.dict = d
	return d
}

// withDictionary makes the OPTIONAL PLAIN leaf of a column (leafNode) a
// dictionary-encoded one, if the column's kind is written with a
// dictionary and the dictionary can keep the statistics corrections.
func withDictionary(node parquet.Node, t typemap.Target, col *dictColumn, limit int64) parquet.Node {
	if !dictionaryKind(t.Kind) || limit <= 0 || !indexedTypeRewrappable() {
		return node
	}
	dt := dictionaryType{Type: node.Type(), col: col, limit: limit}
	switch {
	case t.Kind == typemap.Float:
		dt.bounds = dictFloatBounds
	case t.Kind == typemap.Double:
		dt.bounds = dictDoubleBounds
	case t.Kind == typemap.String:
		dt.bounds = dictStringBounds
	case t.Kind == typemap.Binary:
		dt.bounds = dictBytesBounds
	case t.Kind == typemap.Decimal && t.DecimalPhysical() == typemap.PhysicalFixedLenByteArray:
		dt.bounds = dictSignedFixedBounds
	}
	return parquet.Optional(parquet.Encoded(parquet.Leaf(dt), &parquet.RLEDictionary))
}

// boundsDict is a parquet-go dictionary whose bounds are the column type's
// (see dictionaryType), and which reports itself full once the FileWriter
// gives it up, so that parquet-go falls back to PLAIN at the next page.
// Every other method, unexported ones included, is the library's.
type boundsDict struct {
	parquet.Dictionary
	typ     parquet.Type // the column's type, with its corrections
	bounds  dictBoundsFunc
	col     int
	limit   int64
	indexed parquet.Type
	full    bool // report a size above the limit (see abandon)
}

// Type is the indexed type of the column writer: parquet-go's, pointed at
// the column's type and at d.
func (d *boundsDict) Type() parquet.Type {
	if d.indexed == nil {
		it := d.Dictionary.Type()
		if err := rewrapIndexed(it, d.typ, d); err != nil {
			panic("writer: " + err.Error()) // indexedTypeRewrappable checked it
		}
		d.indexed = it
	}
	return d.indexed
}

func (d *boundsDict) Bounds(indexes []int32) (min, max parquet.Value) {
	if d.bounds == nil || len(indexes) == 0 {
		return d.Dictionary.Bounds(indexes)
	}
	return d.bounds(d.Dictionary, indexes, d.col)
}

// Size is the dictionary's size, or more than the limit while full is set:
// parquet-go falls back to PLAIN at a page whose dictionary is larger than
// parquet.DictionaryMaxBytes. full is set only for the one Flush that
// falls back (FileWriter.abandon): Size also goes into the writer's size
// estimate.
func (d *boundsDict) Size() int64 {
	s := d.Dictionary.Size()
	if d.full && s <= d.limit {
		return d.limit + 1
	}
	return s
}

func dictFloatBounds(dict parquet.Dictionary, indexes []int32, col int) (min, max parquet.Value) {
	values := dict.Page().Data()
	lo, hi, _ := floatBoundsAt(values.Float(), indexes)
	return parquet.FloatValue(float32(lo)).Level(0, 0, col), parquet.FloatValue(float32(hi)).Level(0, 0, col)
}

func dictDoubleBounds(dict parquet.Dictionary, indexes []int32, col int) (min, max parquet.Value) {
	values := dict.Page().Data()
	lo, hi, _ := floatBoundsAt(values.Double(), indexes)
	return parquet.DoubleValue(lo).Level(0, 0, col), parquet.DoubleValue(hi).Level(0, 0, col)
}

func dictSignedFixedBounds(dict parquet.Dictionary, indexes []int32, col int) (min, max parquet.Value) {
	values := dict.Page().Data()
	data, size := values.FixedLenByteArray()
	at := func(i int32) []byte { return data[int(i)*size : int(i+1)*size] }
	lo, hi := at(indexes[0]), at(indexes[0])
	for _, i := range indexes[1:] {
		v := at(i)
		if compareSigned(v, lo) < 0 {
			lo = v
		} else if compareSigned(v, hi) > 0 {
			hi = v
		}
	}
	return parquet.FixedLenByteArrayValue(lo).Level(0, 0, col), parquet.FixedLenByteArrayValue(hi).Level(0, 0, col)
}

func dictStringBounds(dict parquet.Dictionary, indexes []int32, col int) (min, max parquet.Value) {
	min, max = dict.Bounds(indexes) // byte order is right for byte arrays
	return truncateBounds(min, max, col, true)
}

func dictBytesBounds(dict parquet.Dictionary, indexes []int32, col int) (min, max parquet.Value) {
	min, max = dict.Bounds(indexes)
	return truncateBounds(min, max, col, false)
}

// rewrapIndexed points parquet-go's indexed type it (the *indexedType a
// dictionary's Type returns: struct{ Type; dict Dictionary }) at typ and
// dict. parquet-go has no constructor for it and its dictionaries build it
// around their own type; Dictionary's own documentation calls custom
// dictionaries a limitation "which may be lifted in future releases".
// The layout is checked, so a parquet-go release that changes it turns
// dictionaries off (indexedTypeRewrappable) instead of corrupting memory,
// and TestDictionaryEncodingUsed fails.
func rewrapIndexed(it, typ parquet.Type, dict parquet.Dictionary) error {
	v := reflect.ValueOf(it)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("parquet-go's indexed type is not a pointer to a struct")
	}
	s := v.Elem()
	typeField, ok1 := s.Type().FieldByName("Type")
	dictField, ok2 := s.Type().FieldByName("dict")
	if !ok1 || !ok2 || s.NumField() != 2 || !typeField.Anonymous ||
		typeField.Type != reflect.TypeFor[parquet.Type]() || dictField.Type != reflect.TypeFor[parquet.Dictionary]() {
		return errors.New("parquet-go's indexed type is not struct{ Type; dict Dictionary }")
	}
	s.FieldByIndex(typeField.Index).Set(reflect.ValueOf(&typ).Elem())
	f := s.FieldByIndex(dictField.Index)
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(&dict).Elem())
	return nil
}

// indexedTypeRewrappable reports whether rewrapIndexed works with this
// parquet-go: a probe on a throwaway dictionary.
var indexedTypeRewrappable = sync.OnceValue(func() bool {
	d := parquet.Int32Type.NewDictionary(0, 0, parquet.Int32Type.NewValues(nil, nil))
	return rewrapIndexed(d.Type(), parquet.Int32Type, d) == nil
})

// dictChunk is the state of a dictionary column's current column chunk,
// and what its file's earlier chunks of the column found.
type dictChunk struct {
	sampled bool // the chunk's first sampleValues values were looked at (rising)
	falling bool // a value of the sample was not above the one before
	// rose: the chunk gave its dictionary up because its sample rose; its
	// PLAIN values are still compared (countFalls), to see whether they
	// keep rising.
	rose bool
	// falls counts the values of a chunk that rose not above the one
	// before, up to runFalls; -1 once a long value ended the count.
	falls    int
	compared int // values countFalls was given in the chunk
	// noKeyTest: a chunk of the column in this file rose for its sample
	// and then fell runFalls times (values rising in runs longer than the
	// sample: dates, codes in order), so its chunks skip the rising test
	// and are judged by dictionaryPays alone.
	noKeyTest bool
	seen      bool // lastValue is set
	// lastValue is the sample's last value; last holds its bytes.
	lastValue parquet.Value
	last      []byte
	checked   bool  // the chunk's first values were judged (dictionaryPays)
	unpaid    bool  // the dictionary does not pay: abandon at the next batch
	plain     bool  // the dictionary is given up: the rest of the chunk is PLAIN
	vals      int64 // non-null values written in the chunk, until checked
	bytes     int64 // their PLAIN size

	// plainChunks is how many more chunks start PLAIN: a chunk whose
	// dictionary did not pay is followed by plainRetry - 1 PLAIN ones.
	plainChunks int
}

// sampleValues is the number of values after which a chunk whose values
// so far rose strictly (keys, serials, timestamps in insertion order)
// gives its dictionary up without waiting for dictionaryPays: that costs
// the indexes of judgeValues values, and such a column would repeat every
// value in its dictionary.
const sampleValues = 512

// judgeValues is the number of values after which a chunk's dictionary is
// judged if its values have not reached PageBytes PLAIN before: what a
// unique column pays for its test is the indexes of this many values.
const judgeValues = 16 << 10

// plainRetry is how often a column whose dictionary did not pay tries
// again: every plainRetry-th row group of its file.
const plainRetry = 8

// nextChunk is the state of the next chunk of a column, after this one.
func (st dictChunk) nextChunk() dictChunk {
	next := dictChunk{last: st.last[:0], noKeyTest: st.noKeyTest || st.rose && st.falls >= runFalls}
	switch {
	case st.plainChunks > 0:
		next.plainChunks = st.plainChunks - 1
	case st.checked && st.unpaid:
		next.plainChunks = plainRetry - 1
	}
	return next
}

// flushColumn hands one batch of column i's values to its column writer.
//
// A dictionary column chunk gives its dictionary up (abandon) and is PLAIN
// from then on:
//
//   - after its first sampleValues values, when each was above the one
//     before (keys, serials, timestamps in insertion order); its PLAIN
//     values are then still compared, and if they fall again and again
//     (runs of distinct values that repeat: dates, codes in order, which a
//     dictionary does pay for) the column's later chunks in the file skip
//     this test (noKeyTest);
//   - once its values reach Options.PageBytes PLAIN (its first page, in
//     parquet-mr's terms) or judgeValues, when the dictionary and the
//     indexes are no smaller than those values PLAIN (parquet-mr's rule,
//     dictionaryPays: unique keys, timestamps, free text); the column's
//     next plainRetry - 1 chunks in the file are then PLAIN from their
//     first batch, so a unique column pays for the test once every
//     plainRetry row groups;
//   - when the dictionary outgrows Options.DictionaryBytes, or a batch
//     brings more than that at once (a huge value, which then does not go
//     into the dictionary unless it is the first value of its batch).
//
// The dictionary is checked before every batch, so it outgrows its limit
// by one batch at most (arenaBytes, or one value handed over uncopied).
// Dictionary-encoded pages end where parquet-go ends them, at PageBytes of
// indexes and levels (about 9 bytes a value): fewer pages, each with its
// header, entries in the column and offset indexes, and GZIP framing.
func (f *FileWriter) flushColumn(i int, vals []parquet.Value) error {
	cw, d, st := f.cws[i], f.dicts[i].dict, &f.dictState[i]
	if d == nil || st.plain {
		if st.rose && st.falls >= 0 && st.falls < runFalls {
			f.countFalls(i, vals)
		}
		return f.writePlain(i, vals)
	}
	nonNull, raw := f.plainSize(i, vals)
	if !st.sampled && st.plainChunks == 0 && !st.noKeyTest {
		f.sample(i, vals)
		if st.vals+nonNull >= sampleValues {
			st.sampled = true
			st.unpaid, st.rose = !st.falling, !st.falling
		}
	}
	switch {
	case st.unpaid, st.plainChunks > 0,
		d.Dictionary.Size() > f.dictLimit, raw > f.dictLimit:
		var err error
		if vals, err = f.abandon(i, vals); err != nil {
			return err
		}
		return f.writePlain(i, vals)
	}
	if _, err := cw.WriteRowValues(vals); err != nil {
		return err
	}
	if !st.checked {
		st.vals += nonNull
		st.bytes += raw
		if st.bytes >= f.pageBytes || st.vals >= judgeValues {
			st.checked = true
			st.unpaid = st.unpaid || !f.dictionaryPays(i)
		}
	}
	return nil
}

// writePlain writes PLAIN values of column i, ending the page at
// PageBytes of byte arrays (see pageBuffer).
func (f *FileWriter) writePlain(i int, vals []parquet.Value) error {
	cw := f.cws[i]
	if _, err := cw.WriteRowValues(vals); err != nil {
		return err
	}
	n := f.textPage[i]
	for k := range vals {
		if vals[k].Kind() == parquet.ByteArray {
			n += int64(len(vals[k].ByteArray())) + 4
		}
	}
	f.textPage[i] = n
	if n < f.pageBytes {
		return nil
	}
	f.textPage[i] = 0
	return cw.Flush()
}

// abandon gives column i's dictionary up for the rest of the column chunk
// and returns the values of vals still to write. parquet-go falls back to
// PLAIN when it writes a page whose dictionary is over the limit, after
// writing that page with the dictionary, so the page must hold a value:
// the first of vals goes into it (the page buffer may be empty, parquet-go
// ending pages on its own too). That value enters the dictionary even if
// it is huge: at most one value per column chunk.
func (f *FileWriter) abandon(i int, vals []parquet.Value) ([]parquet.Value, error) {
	cw, d, st := f.cws[i], f.dicts[i].dict, &f.dictState[i]
	if _, err := cw.WriteRowValues(vals[:1]); err != nil {
		return nil, err
	}
	d.full = true
	err := cw.Flush()
	d.full = false
	st.plain = true // checked and unpaid stay: nextChunk reads them
	return vals[1:], err
}

// sample notes in column i's chunk state whether the non-null values of
// vals keep rising strictly after the chunk's earlier ones, in the order
// of the column's type (signed decimals, NaN above numbers).
func (f *FileWriter) sample(i int, vals []parquet.Value) {
	st, typ := &f.dictState[i], f.dicts[i].dict.typ
	for k := range vals {
		v := vals[k]
		if v.IsNull() || st.falling {
			continue
		}
		long := (v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray) && len(v.ByteArray()) > 256
		if long || st.seen && typ.Compare(st.lastValue, v) >= 0 {
			// Falling, or too long for a key: no copy of large values.
			st.falling = true
			continue
		}
		st.keep(v)
	}
}

// runFalls is how many times the values of a chunk that rose for its
// sample must fall for its column to be taken for runs of distinct values
// (noKeyTest): a key falls once at most, where a scan wraps around (a
// PostgreSQL synchronized scan starts where another one is).
const runFalls = 2

// countFalls counts in column i's chunk state how often the non-null
// values of vals are not above the value before, up to runFalls.
// It looks at fallsWindow values of a chunk at most: runs that repeat
// show within it, and a key's chunk costs no more comparisons.
func (f *FileWriter) countFalls(i int, vals []parquet.Value) {
	st, typ := &f.dictState[i], f.dicts[i].dict.typ
	if st.compared += len(vals); st.compared > fallsWindow {
		st.falls = -1
		return
	}
	for k := range vals {
		v := vals[k]
		var notAbove bool
		switch v.Kind() {
		case parquet.Int32, parquet.Int64: // signed in every type of theirs: no interface call
			notAbove = st.lastValue.Int64() >= v.Int64()
		case parquet.ByteArray, parquet.FixedLenByteArray:
			if len(v.ByteArray()) > 256 {
				st.falls = -1 // too long for a key or a code: stop, no copies of large values
				return
			}
			notAbove = typ.Compare(st.lastValue, v) >= 0
		default:
			if v.IsNull() {
				continue
			}
			notAbove = typ.Compare(st.lastValue, v) >= 0
		}
		if notAbove {
			if st.falls++; st.falls >= runFalls {
				return
			}
		}
		st.keep(v)
	}
}

// fallsWindow bounds the values countFalls looks at in a chunk.
const fallsWindow = 4 * judgeValues

// keep makes v the last value compared, copying its bytes: v lives in the
// batch's arena.
func (st *dictChunk) keep(v parquet.Value) {
	st.seen = true
	switch v.Kind() {
	case parquet.ByteArray:
		st.last = append(st.last[:0], v.ByteArray()...)
		v = parquet.ByteArrayValue(st.last)
	case parquet.FixedLenByteArray:
		st.last = append(st.last[:0], v.ByteArray()...)
		v = parquet.FixedLenByteArrayValue(st.last)
	}
	st.lastValue = v
}

// plainSize is the number of non-null values of vals and their PLAIN size.
func (f *FileWriter) plainSize(i int, vals []parquet.Value) (nonNull, size int64) {
	c := &f.cols[i]
	for k := range vals {
		if v := &vals[k]; !v.IsNull() {
			nonNull++
			if c.kind == parquet.ByteArray {
				size += int64(len(v.ByteArray()))
			}
		}
	}
	return nonNull, size + nonNull*c.width
}

// dictionaryPays is parquet-mr's test at the end of a column chunk's first
// page: the dictionary (PLAIN, as its page holds it) and the indexes of the
// values so far (bit-packed at the dictionary's bit width) must be smaller
// than those values PLAIN.
func (f *FileWriter) dictionaryPays(i int) bool {
	d, st := f.dicts[i].dict, &f.dictState[i]
	n := d.Len()
	dictBytes := d.Dictionary.Size()
	if f.cols[i].kind == parquet.ByteArray {
		dictBytes += 4 * int64(n)
	}
	indexBytes := st.vals * int64(bits.Len(uint(max(n-1, 0)))) / 8
	return dictBytes+indexBytes < st.bytes
}
