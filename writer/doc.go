// Package writer writes the Parquet files of an export, on
// github.com/parquet-go/parquet-go: one [FileWriter] per file, and a
// [Roller] that cuts a stream of rows into files of a target size.
//
// Rows arrive as source.Rows.Row produces them, one parquet.Value per
// column, already converted to the column's physical type; the writer
// checks them, copies what it keeps and never boxes a value.
//
// # Files
//
// A file looks like the one RDS writes for the same table:
//
//   - columns in the table's order (parquet.Group would sort them by name),
//     every one OPTIONAL, whatever the source's NOT NULL says;
//   - the types of typemap.Kind: BOOLEAN; INT32 with INT(16) for Int16;
//     bare INT32 and INT64; FLOAT; DOUBLE; BYTE_ARRAY with STRING, or bare
//     for Binary; INT64 TIMESTAMP(isAdjustedToUTC=true, MICROS or MILLIS);
//     DECIMAL(p,s) on INT32 (p ≤ 9), INT64 (p ≤ 18) or
//     FIXED_LEN_BYTE_ARRAY(typemap.DecimalFixedLen(p)) (p ≤ 38);
//   - version 1 data pages, and only the encodings every reader reads
//     (Athena/Trino, Spark/parquet-mr, DuckDB, Arrow C++ and Rust, Redshift
//     Spectrum): PLAIN, RLE for definition levels, and dictionary encoding
//     (a PLAIN dictionary page, RLE_DICTIONARY data pages) for every kind
//     but BOOLEAN (see Dictionaries); no DELTA_* or BYTE_STREAM_SPLIT;
//   - GZIP by default ([Codec]), encoded, chosen by measurement
//     (bench/codecs/RESULTS.md, bench/RESULTS.md), with klauspost/compress
//     (parquet-go's GZIP) at level 3 for STRING and BINARY columns
//     ([DefaultGzipLevel]) and with internal/flate, compress/flate with
//     3-byte matches, at level 2 for the others ([DefaultGzipNumberLevel]:
//     sequential integers compress as zlib and DuckDB compress them, which
//     Go's own encoders do not); explicit levels 1-9 are compress/gzip's;
//     Snappy with klauspost/compress's s2, its standard encoder for
//     fixed-width columns and its better one for byte arrays; the file
//     extension follows the codec ([Codec.Extension]: ".gz.parquet",
//     ".snappy.parquet", ".zstd.parquet", ".parquet");
//   - created_by "snapexport version <v>" (the form parquet-mr parses; it
//     ignores byte-array statistics of files whose created_by it cannot),
//     and in the key-value metadata, under [MetadataKeyColumns], every
//     column's source type and exported type.
//
// # Statistics
//
// Readers skip row groups and pages on their min/max statistics, so a
// wrong bound is a wrong answer, not a slow one. parquet-go's are kept
// where they are right and replaced where they are not:
//
//   - DECIMAL on FIXED_LEN_BYTE_ARRAY is ordered as signed numbers
//     (parquet-go orders the bytes unsigned, making -1 the maximum);
//   - a FLOAT or DOUBLE row group or page holding NaN has NaN as its
//     maximum: DuckDB orders NaN above every number and would otherwise
//     skip it for `x > 100` or `x = 'NaN'` (DuckDB's own writer omits the
//     bounds of such row groups instead);
//   - STRING and BINARY bounds are cut to 64 bytes (a prefix for the
//     minimum, a prefix rounded up for the maximum, valid UTF-8 for STRING),
//     so large values are not copied into every page header and the footer,
//     and the column index gets the same bounds.
//
// Null counts are exact for every column, row group and page. Per-page
// bounds and null counts are in the column index, not in the page headers
// (as parquet-mr writes them since 1.12): readers skip pages on the column
// index, and the page headers would repeat the bounds once more per page.
//
// Each correction holds on both paths a column chunk can take, PLAIN and
// dictionary (dictionary.go: parquet-go's dictionaries would compute their
// own bounds), and across a chunk that falls back from one to the other.
//
// # Dictionaries
//
// A column chunk starts dictionary encoded and falls back to PLAIN for the
// rest of the chunk (the pages written stay as they are, which readers
// accept) when its first 512 values each rise above the one before (keys,
// serials, timestamps in insertion order), when after its first PageBytes
// of values or 16384 values the dictionary and the indexes would not be
// smaller than PLAIN (parquet-mr's test: other unique values, free text),
// or when the dictionary grows past Options.DictionaryBytes (1 MiB,
// parquet-mr's dictionary page size); Options.DictionaryBytes < 0 turns
// dictionaries off. A column whose dictionary did not pay the second test
// writes its next seven chunks in the file PLAIN from the start, then
// tries again; other chunks start with a dictionary. A column whose values
// rose for the first test and then fell twice or more in the same chunk
// (distinct values in runs longer than 512 that repeat: dates, codes in
// order; a key falls once at most, where a scan wraps around) is judged by
// the second test alone in its later chunks.
//
// # Memory
//
// Memory is bounded by bytes, not rows. A row group is written out when
// the uncompressed size of its values reaches Options.RowGroupBytes
// (32 MiB by default); until then its pages wait compressed in memory,
// each column holding at most one uncompressed page: about
// Options.PageBytes (256 KiB) of byte arrays, or up to 4 × PageBytes of
// parquet-go's buffer for fixed-width values and dictionary indexes (9 to
// 13 bytes a value: fewer, larger pages where they compress well) while
// all columns' buffers stay under RowGroupBytes / 4. A dictionary column chunk holds its
// dictionary instead of most of its pages: the dictionary holds distinct
// values of the row group, and is kept only while it and the pages of
// indexes stay smaller than the values PLAIN, or below DictionaryBytes (plus
// one batch) before that is known. A FileWriter holds about RowGroupBytes +
// max(columns × PageBytes, RowGroupBytes / 4), however many rows go
// through it;
// [FileWriter.BufferedBytes] stays below RowGroupBytes between calls. A
// single value larger than a page is not copied by the writer; parquet-go
// holds it three times while its page is written (column buffer, encoded
// page, page with levels), buffers it keeps in pools until the collector
// runs twice (see [FileWriter]). A value larger than DictionaryBytes that
// comes first in its batch goes into the dictionary (one copy, until the
// row group is written) before the chunk falls back to PLAIN.
//
// # Rolling
//
// A [Roller] opens file 0, 1, 2, … through the caller's open function when
// the first row of each arrives, and finishes a file when
// [FileWriter.EstimatedSize] reaches RollerOptions.TargetFileBytes (1 GiB
// by default), so files end a row or so past the target. Finishing a file
// is FileWriter.Close then the output's Close, which publishes it (see
// sink.Writer). A file that is given up ([Roller.Abort], a failure) is never
// closed: its output's Abort is called if it has one ([Aborter]), and
// otherwise the caller cancels the context its outputs were opened with.
//
// # Errors
//
// A value of the wrong physical type, a STRING that is not UTF-8, an
// INT(16) or INT32/INT64 DECIMAL out of its range, a FIXED_LEN_BYTE_ARRAY
// of the wrong length: all are converter bugs, which WriteRow refuses with
// an error naming the column, writing nothing of the row. An error from
// the output ends the file; every later call returns it.
package writer
