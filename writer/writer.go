package writer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/snapexport/snapexport/typemap"
)

// Defaults of [Options] and [RollerOptions].
const (
	DefaultRowGroupBytes   = 32 << 20
	DefaultPageBytes       = 256 << 10
	DefaultTargetFileBytes = 1 << 30
)

// MetadataKeyColumns is the key-value metadata entry that records, for every
// column in file order, its source type and its Parquet type, as a JSON
// array of objects with the field names RDS uses in export_tables_info:
//
//	[{"columnName":"id","originalType":"integer","expectedExportedType":"int32"}, …]
const MetadataKeyColumns = "snapexport.columns"

// Column is one column of the files written: its name, its Parquet target
// and the engine's type name it came from.
type Column struct {
	Name string
	// Target is the column's Parquet type. Kind Omit is refused: omitted
	// columns are left out of the column list.
	Target typemap.Target
	// SourceType is the engine's type name, recorded in the file's
	// key-value metadata (see MetadataKeyColumns).
	SourceType string
}

// Options tune a file. The zero value is valid: GZIP, 32 MiB row groups.
type Options struct {
	// Codec compresses the pages; the zero value is Gzip.
	Codec Codec
	// Level is the codec's compression level, 0 for its default: Gzip 1..9
	// (compress/gzip's levels, for every column; the default is
	// klauspost/compress's DefaultGzipLevel for STRING and BINARY columns
	// and internal/flate's DefaultGzipNumberLevel for the others), Zstd 1..22
	// (default 3, mapped to the nearest of the encoder's four levels).
	// Snappy and Uncompressed have none. bench/codecs/RESULTS.md has the
	// measured size and time of each.
	Level int
	// RowGroupBytes ends a row group when the uncompressed size of its
	// values reaches it; 0 means DefaultRowGroupBytes. It bounds the memory
	// a FileWriter holds (see FileWriter).
	RowGroupBytes int64
	// PageBytes is the uncompressed size at which a column's page of
	// PLAIN byte arrays is encoded and compressed (pages of other values
	// and of dictionary indexes at 4 × PageBytes of parquet-go's buffer,
	// 9 to 13 bytes a value); 0 means DefaultPageBytes.
	PageBytes int
	// DictionaryBytes is the dictionary size past which a column chunk
	// falls back to PLAIN; 0 means DefaultDictionaryBytes (1 MiB), and a
	// negative value writes every column PLAIN. See the package
	// documentation for which columns get a dictionary.
	DictionaryBytes int64
	// CreatedBy is the footer's created_by; "" means
	// "snapexport version <module version>".
	CreatedBy string
	// Metadata is added to the footer's key-value metadata. It may not use
	// MetadataKeyColumns.
	Metadata map[string]string
}

// FileWriter writes one Parquet file. Every column is OPTIONAL, dictionary
// or PLAIN encoded (see the package documentation), in the order given;
// data pages are version 1, the format every reader supports. It is not
// safe for concurrent use.
//
// Memory is bounded by the options, not the number of rows: a row group is
// written out as soon as the uncompressed size of its values reaches
// RowGroupBytes. Until then its pages are kept compressed in memory, and
// each column holds at most one uncompressed page (PageBytes of byte
// arrays, up to 4 × PageBytes of buffer for other values while all of them
// stay under RowGroupBytes / 4, see pageBuffer), so a FileWriter holds
// about RowGroupBytes + max(columns × PageBytes, RowGroupBytes / 4) at
// most, plus
// a batch of a few thousand values. A value larger than a page is written
// alone in its page: while that page is written, the library holds it three
// times (its column buffer, rounded up to a pool bucket of at most 1.5 times
// the value, the encoded page, and the page with its levels, into which it
// also compresses), and keeps these buffers in its pools for the next
// value. The caller's bytes are not copied (see WriteRow).
type FileWriter struct {
	out  countingWriter
	pw   *parquet.GenericWriter[any]
	cws  []*parquet.ColumnWriter
	cols []colSpec

	// Dictionary columns (dicts[i].dict != nil): the state of their
	// current column chunk and page (see flushColumn).
	dicts     []dictColumn
	dictState []dictChunk
	dictLimit int64
	pageBytes int64
	// textPage is the PLAIN byte-array bytes in each column's current page:
	// such pages end at pageBytes (flushColumn), the others where
	// parquet-go ends them, at pageBuffer.
	textPage []int64

	// Rows are gathered in batches, one slice of values per column, and
	// handed to the column writers a batch at a time: per-row calls into
	// parquet-go cost more than the rows themselves. Byte arrays are copied
	// into arena, because the caller's may be overwritten after WriteRow.
	// batch is column-major: column i's values are
	// batch[i*batchCap : i*batchCap+batchRows].
	batch     []parquet.Value
	batchRows int
	batchCap  int
	arena     []byte
	listVals  []parquet.Value // a LIST column's batch as leaf values (see leafValues)

	rows        int64
	rgBytes     int64 // uncompressed bytes of the current row group, batch included
	rgLimit     int64
	batchBytes  int64 // uncompressed bytes of the current batch
	sizeAtBatch int64 // parquet-go's estimate of the file size after the last batch

	// Row groups written so far: their uncompressed bytes (as rgBytes
	// counts them) and what they took in the file, the compression ratio
	// EstimatedSize applies to the current row group.
	flushedRaw, flushedOut, flushedSize int64

	err    error // sticky: the file is unusable after a failed write
	closed bool
}

// pageBuffer is the size of parquet-go's page buffer of each column, at
// which pages of fixed-width values and of dictionary indexes end (about 9
// to 13 bytes a value with its row index and level); pages of PLAIN byte
// arrays end at PageBytes of values (writePlain). It is pageFactor ×
// PageBytes (at the default PageBytes, 1 MiB, parquet-mr's page size) as
// long as the buffers of all columns stay under a quarter of RowGroupBytes,
// less in wide tables, PageBytes at least. Few, large pages pay off where a
// page compresses well: each page has a header, column and offset index
// entries and GZIP framing, and starts compressing afresh (bench/RESULTS.md:
// pgbench_accounts' aid and one-value columns). Pages of text would hold
// more memory for little gain.
func pageBuffer(pageBytes, rowGroupBytes int64, columns int) int {
	return int(max(pageBytes, min(pageFactor*pageBytes, rowGroupBytes/int64(4*columns))))
}

const pageFactor = 4

// arenaBytes is the byte-array volume after which a batch is handed over
// early, so that a batch of large values does not hold much memory. A
// single value at least this large is not copied at all (see WriteRow).
const arenaBytes = 256 << 10

// batchValues bounds a batch by number of values, so wide tables use
// shorter batches.
const batchValues = 4 << 10

// op says how WriteRow checks and copies a column's values.
type op uint8

const (
	opBoolean    op = iota
	opInt32         // INT32
	opInt32Range    // INT32 within min..max: INT(16), DECIMAL on INT32
	opInt64         // INT64
	opInt64Range    // INT64 within min..max: DECIMAL on INT64
	opFloat         // FLOAT
	opDouble        // DOUBLE
	opBytes         // BYTE_ARRAY, copied
	opText          // BYTE_ARRAY that must be UTF-8, copied
	opFixed         // FIXED_LEN_BYTE_ARRAY of fixedLen bytes, copied
	opList          // a LIST value (typemap.AppendListElement), checked and copied
)

type colSpec struct {
	name     string
	target   typemap.Target
	kind     parquet.Kind
	op       op
	fixedLen int
	min, max int64
	width    int64         // plain-encoded bytes of a non-null value (+4 length for byte arrays)
	null     parquet.Value // the NULL of this column, levels set
	elem     *colSpec      // a LIST's element (see list.go)
}

// NewFileWriter starts a file written to w. It writes nothing to w until the
// first row group is complete (or Close). It does not close w.
func NewFileWriter(w io.Writer, cols []Column, opts Options) (*FileWriter, error) {
	if len(cols) == 0 {
		return nil, errors.New("writer: no columns")
	}
	if len(cols) > parquet.MaxColumnIndex+1 {
		return nil, fmt.Errorf("writer: %d columns, at most %d are supported", len(cols), parquet.MaxColumnIndex+1)
	}
	codec, err := opts.Codec.parquetCodec(opts.Level)
	if err != nil {
		return nil, err
	}
	if opts.RowGroupBytes < 0 || opts.PageBytes < 0 {
		return nil, fmt.Errorf("writer: negative size in options (RowGroupBytes %d, PageBytes %d)", opts.RowGroupBytes, opts.PageBytes)
	}
	if _, ok := opts.Metadata[MetadataKeyColumns]; ok {
		return nil, fmt.Errorf("writer: metadata key %q is reserved", MetadataKeyColumns)
	}

	f := &FileWriter{
		out:       countingWriter{w: w},
		cols:      make([]colSpec, len(cols)),
		rgLimit:   cmpOr(opts.RowGroupBytes, DefaultRowGroupBytes),
		dicts:     make([]dictColumn, len(cols)),
		dictState: make([]dictChunk, len(cols)),
		dictLimit: cmpOr(opts.DictionaryBytes, DefaultDictionaryBytes),
		pageBytes: int64(cmpOr(opts.PageBytes, DefaultPageBytes)),
		textPage:  make([]int64, len(cols)),
	}
	names := make([]string, len(cols))
	nodes := make([]parquet.Node, len(cols))
	seen := make(map[string]bool, len(cols))
	type columnMeta struct {
		ColumnName           string `json:"columnName"`
		OriginalType         string `json:"originalType"`
		ExpectedExportedType string `json:"expectedExportedType"`
	}
	meta := make([]columnMeta, len(cols))
	for i, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("writer: column %d has no name", i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("writer: column %q appears twice", c.Name)
		}
		seen[c.Name] = true
		node, err := leafNode(c.Target)
		if err != nil {
			return nil, fmt.Errorf("writer: column %q: %w", c.Name, err)
		}
		node = withDictionary(node, c.Target, &f.dicts[i], f.dictLimit)
		if cc := opts.Codec.columnCodec(opts.Level, physicalKind(c.Target)); cc != nil {
			node = parquet.Compressed(node, cc)
		}
		names[i], nodes[i] = c.Name, node
		f.cols[i] = newColSpec(i, c)
		meta[i] = columnMeta{c.Name, c.SourceType, c.Target.ExpectedExportedType()}
	}
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("writer: column metadata: %w", err)
	}

	options := []parquet.WriterOption{
		parquet.NewSchema(schemaName, newOrderedGroup(names, nodes)),
		parquet.Compression(codec),
		parquet.PageBufferSize(pageBuffer(f.pageBytes, f.rgLimit, len(cols))),
		parquet.DataPageVersion(1),
		parquet.DictionaryMaxBytes(max(f.dictLimit, 1)),
		createdByOption(cmpOr(opts.CreatedBy, defaultCreatedBy())),
		parquet.KeyValueMetadata(MetadataKeyColumns, string(metaJSON)),
	}
	for k, v := range opts.Metadata {
		options = append(options, parquet.KeyValueMetadata(k, v))
	}
	// Per-page bounds and null counts go into the column index, where
	// readers look for them; parquet-mr (1.12 on) also leaves them out of
	// the page headers, which would repeat up to 2 × 64 bytes of bounds in
	// every page of every column. (parquet.DataPageStatistics(false) is
	// ORed with the default, true, so it cannot turn them off.)
	for _, name := range names {
		options = append(options, parquet.SkipPageStatistics(name))
	}
	// NewGenericWriter panics on an invalid configuration: validated here.
	if _, err := parquet.NewWriterConfig(options...); err != nil {
		return nil, fmt.Errorf("writer: %w", err)
	}
	// GenericWriter[any] is parquet.Writer's replacement for a schema known
	// at run time. Rows never go through it: batches go to its column
	// writers (flushBatch).
	f.pw = parquet.NewGenericWriter[any](&f.out, options...)
	f.cws = f.pw.ColumnWriters()
	if len(f.cws) != len(cols) {
		return nil, fmt.Errorf("writer: schema has %d leaf columns for %d columns", len(f.cws), len(cols))
	}

	f.batchCap = min(max(batchValues/len(cols), 8), 1024)
	f.batch = make([]parquet.Value, f.batchCap*len(cols))
	return f, nil
}

func newColSpec(i int, c Column) colSpec {
	s := colSpec{
		name:   c.Name,
		target: c.Target,
		kind:   physicalKind(c.Target),
		null:   parquet.NullValue().Level(0, 0, i),
	}
	switch s.kind {
	case parquet.Boolean:
		s.op, s.width = opBoolean, 1
	case parquet.Int32:
		s.op, s.width = opInt32, 4
	case parquet.Int64:
		s.op, s.width = opInt64, 8
	case parquet.Float:
		s.op, s.width = opFloat, 4
	case parquet.Double:
		s.op, s.width = opDouble, 8
	case parquet.ByteArray:
		s.op, s.width = opBytes, 4
		switch c.Target.Kind {
		case typemap.String, typemap.JSON, typemap.Enum:
			s.op = opText
		case typemap.List:
			s.op, s.elem = opList, listElemSpec(i, c)
		}
	case parquet.FixedLenByteArray:
		s.fixedLen = c.Target.FixedLen()
		s.op, s.width = opFixed, int64(s.fixedLen)
	}
	switch {
	case c.Target.Kind == typemap.Int16:
		s.op, s.min, s.max = opInt32Range, -1<<15, 1<<15-1
	case c.Target.Kind == typemap.Decimal && s.kind == parquet.Int32:
		s.op, s.max = opInt32Range, pow10(c.Target.Precision)-1
		s.min = -s.max
	case c.Target.Kind == typemap.Decimal && s.kind == parquet.Int64:
		s.op, s.max = opInt64Range, pow10(c.Target.Precision)-1
		s.min = -s.max
	}
	return s
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// WriteRow writes one row: one value per column, in column order, as
// source.Rows.Row produces them. A NULL is parquet.NullValue(); any other
// value must have the physical type of its column (parquet.Int32Value for
// INT32, ...), its levels and column index are set here. A STRING must be
// valid UTF-8, an INT(16) or a DECIMAL on INT32/INT64 within its range, a
// FIXED_LEN_BYTE_ARRAY exactly as long as the column: anything else is a
// converter bug, which WriteRow refuses with an error naming the column,
// writing nothing of that row (the FileWriter stays usable). Byte arrays may
// alias the caller's buffers: WriteRow copies them before it returns, and a
// value of 256 KiB or more it hands to the library's column buffers before
// it returns instead of copying it.
//
// An error writing to the output ends the file: every later call returns it.
func (f *FileWriter) WriteRow(row []parquet.Value) error {
	if f.err != nil {
		return f.err
	}
	if len(row) != len(f.cols) {
		return fmt.Errorf("writer: row has %d values for %d columns", len(row), len(f.cols))
	}
	mark := len(f.arena)
	var size int64
	direct := false     // a value of the row aliases the caller's bytes
	slot := f.batchRows // index of this row's value of column i in batch
	for i := range row {
		// Values are read through their accessors and rebuilt rather than
		// copied whole: the accessors' loads match the stores that built the
		// value, a whole-value copy does not and stalls.
		v, c := &row[i], &f.cols[i]
		var nv parquet.Value
		if v.IsNull() {
			nv = c.null
			size++
		} else {
			if v.Kind() != c.kind {
				return f.reject(i, mark, fmt.Sprintf("%s value", v.Kind()))
			}
			switch c.op {
			case opBoolean:
				nv = parquet.BooleanValue(v.Boolean())
			case opInt32:
				nv = parquet.Int32Value(v.Int32())
			case opInt32Range:
				x := v.Int32()
				if int64(x) < c.min || int64(x) > c.max {
					return f.reject(i, mark, fmt.Sprintf("value %d out of range", x))
				}
				nv = parquet.Int32Value(x)
			case opInt64:
				nv = parquet.Int64Value(v.Int64())
			case opInt64Range:
				x := v.Int64()
				if x < c.min || x > c.max {
					return f.reject(i, mark, fmt.Sprintf("value %d out of range", x))
				}
				nv = parquet.Int64Value(x)
			case opFloat:
				nv = parquet.FloatValue(v.Float())
			case opDouble:
				nv = parquet.DoubleValue(v.Double())
			case opBytes, opText, opList:
				b := v.ByteArray()
				if c.op == opText && !utf8.Valid(b) {
					return f.reject(i, mark, fmt.Sprintf("invalid UTF-8 %q", truncate(b, 32)))
				}
				if c.op == opList {
					n, err := c.checkList(b)
					if err != nil {
						return f.reject(i, mark, err.Error())
					}
					size += 2 * n // each element's levels
				}
				if len(b) >= arenaBytes {
					// Not copied: the batch is handed to the column writers
					// before WriteRow returns, while the caller's bytes are
					// still valid. A copy would be one more of a value of
					// any size in memory, and garbage after.
					nv = parquet.ByteArrayValue(b)
					direct = true
				} else {
					start := len(f.arena)
					f.arena = append(f.arena, b...)
					nv = parquet.ByteArrayValue(f.arena[start:len(f.arena):len(f.arena)])
				}
				size += int64(len(b))
			case opFixed:
				b := v.ByteArray()
				if len(b) != c.fixedLen {
					return f.reject(i, mark, fmt.Sprintf("%d-byte value", len(b)))
				}
				start := len(f.arena)
				f.arena = append(f.arena, b...)
				nv = parquet.FixedLenByteArrayValue(f.arena[start:len(f.arena):len(f.arena)])
			}
			// Only the definition level matters to the column writers: the
			// column is known, and flat columns have no repetition.
			nv.SetDefinitionLevel(1)
			size += c.width + 1 // + its definition level, about a byte before encoding
		}
		f.batch[slot] = nv
		slot += f.batchCap
	}
	f.batchRows++
	f.rows++
	f.rgBytes += size
	f.batchBytes += size
	if f.batchRows >= f.batchCap || len(f.arena) >= arenaBytes || direct {
		if err := f.flushBatch(); err != nil {
			return err
		}
	}
	if f.rgBytes >= f.rgLimit {
		return f.flushRowGroup()
	}
	return nil
}

// reject drops the values of the current row appended so far and reports
// the bad value of column i.
func (f *FileWriter) reject(i, mark int, what string) error {
	f.arena = f.arena[:mark] // the slots of the row are simply reused
	c := &f.cols[i]
	return fmt.Errorf("writer: column %q (%s, %s): %s in row %d of the file", c.name, c.target, c.kind, what, f.rows+1)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// flushBatch hands the batch to parquet-go's column writers, which encode
// and compress every page that fills up.
func (f *FileWriter) flushBatch() error {
	if f.batchRows == 0 {
		return nil
	}
	for i := range f.cws {
		start := i * f.batchCap
		if err := f.flushColumn(i, f.leafValues(i, f.batch[start:start+f.batchRows])); err != nil {
			return f.fail(fmt.Errorf("writer: column %q: %w", f.cols[i].name, err))
		}
	}
	f.batchRows = 0
	f.batchBytes = 0
	if cap(f.arena) > 4*arenaBytes {
		f.arena = nil // a batch of huge values: do not keep its memory
	} else {
		f.arena = f.arena[:0]
	}
	f.sizeAtBatch = f.pw.Size()
	return nil
}

func (f *FileWriter) flushRowGroup() error {
	if err := f.flushBatch(); err != nil {
		return err
	}
	if err := f.pw.Flush(); err != nil {
		return f.fail(fmt.Errorf("writer: write row group: %w", err))
	}
	for i := range f.dictState {
		f.dictState[i] = f.dictState[i].nextChunk()
	}
	clear(f.textPage)
	size := f.pw.Size()
	f.flushedRaw += f.rgBytes
	f.flushedOut += size - f.flushedSize
	f.flushedSize = size
	f.rgBytes = 0
	f.sizeAtBatch = size
	return nil
}

func (f *FileWriter) fail(err error) error {
	f.err = err
	return err
}

// Rows is the number of rows written so far.
func (f *FileWriter) Rows() int64 { return f.rows }

// BufferedBytes is the uncompressed size of the values of the current row
// group, which is in memory: it stays below RowGroupBytes between calls.
func (f *FileWriter) BufferedBytes() int64 { return f.rgBytes }

// WrittenBytes is the number of bytes written to the output so far; after
// Close, the size of the file.
func (f *FileWriter) WrittenBytes() int64 { return f.out.n }

// EstimatedSize is about the size the file would have if it were closed
// now, without the footer: what is written, plus the current row group at
// the compression ratio of the row groups before it. In the first row
// group it counts the compressed pages and the values not yet compressed
// at their uncompressed size, so it errs high. [Roller] rolls files on it.
func (f *FileWriter) EstimatedSize() int64 {
	if f.flushedRaw == 0 {
		return f.sizeAtBatch + f.batchBytes
	}
	return f.flushedSize + f.rgBytes*f.flushedOut/f.flushedRaw
}

// Close writes the last row group and the footer. It does not close the
// output. A file closed without rows is a valid Parquet file with no row
// groups.
func (f *FileWriter) Close() error {
	if f.closed {
		return errClosed
	}
	if err := f.err; err != nil {
		f.abort()
		return err
	}
	if err := f.flushBatch(); err != nil {
		f.abort()
		return err
	}
	f.closed = true
	if err := f.pw.Close(); err != nil {
		f.err = fmt.Errorf("writer: close: %w", err)
		return f.err
	}
	f.err = errClosed
	return nil
}

// Abort gives up the file without writing anything more to the output; the
// caller discards what was written. It releases the buffered pages.
func (f *FileWriter) Abort() {
	if !f.closed {
		f.abort()
	}
}

func (f *FileWriter) abort() {
	f.closed = true
	f.err = errClosed
	f.pw.Reset(io.Discard) // returns the page buffers to their pool
	clear(f.batch)
	f.arena = nil
}

var errClosed = errors.New("writer: file is closed")

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// createdByOption sets the footer's created_by verbatim (parquet.CreatedBy
// imposes its own formatting of the build).
type createdByOption string

func (c createdByOption) ConfigureWriter(config *parquet.WriterConfig) {
	config.CreatedBy = string(c)
}

// defaultCreatedBy is "snapexport version <v>", the "<application> version
// <version>" form parquet-mr parses: parquet-mr ignores the statistics of
// byte-array columns in files whose created_by it cannot parse.
var defaultCreatedBy = sync.OnceValue(func() string {
	const module = "github.com/snapexport/snapexport"
	version := ""
	if info, ok := debug.ReadBuildInfo(); ok {
		if info.Main.Path == module {
			version = info.Main.Version
		}
		for _, dep := range info.Deps {
			if dep.Path == module {
				version = dep.Version
			}
		}
	}
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	return "snapexport version " + version
})

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
