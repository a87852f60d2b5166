package engine

import (
	"context"
	"runtime"
	"runtime/debug"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/semaphore"
)

// Budget is a process's memory for parts: each running part holds a
// reservation of twice its row-group size (the buffered values and their
// encoded pages), and more from its first row of hugeRowBytes or more on
// (grow). A part whose reservation does not fit waits.
type Budget struct {
	limit int64
	sem   *semaphore.Weighted
}

// NewBudget is a budget of limit bytes.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, sem: semaphore.NewWeighted(limit)}
}

// hugeRowBytes is the row size from which a part reserves memory for the
// row itself (grow).
const hugeRowBytes = 4 << 20

// hugeRowCopies is how many times a huge row is in memory while it is
// written: the driver's value (pgx reads it into a buffer rounded up to a
// power of two; SQLite holds its own copy besides the Go string), and
// parquet-go's column buffer (rounded up to at most 1.5 times), encoded page
// and page with levels, which it also compresses into. The writer itself
// copies none (writer.FileWriter.WriteRow).
const hugeRowCopies = 6

// reservation is what one part holds of the budget.
type reservation struct {
	b       *Budget
	base    int64 // twice the row group, at most the whole budget
	held    int64 // base, or more from the first huge row on
	garbage int64 // what huge rows left since the last collection
}

// reserve waits until the part's base reservation fits. A reservation
// larger than the whole budget (RowGroupBytes set above it) takes the whole
// budget.
func (b *Budget) reserve(ctx context.Context, rowGroupBytes int64) (*reservation, error) {
	base := min(2*rowGroupBytes, b.limit)
	if err := b.sem.Acquire(ctx, base); err != nil {
		return nil, err
	}
	return &reservation{b: b, base: base, held: base}, nil
}

// grow makes the reservation cover a row of n bytes: the base plus
// hugeRowCopies times the row, at most the whole budget, so other parts
// wait before they start. The part keeps it to its end: a table with one
// huge row usually has more, and handing the memory back and forth between
// two parts that read huge rows would have each hold a row read from the
// driver while it waits, and parquet-go's pools a set of buffers per part.
// It gives back what it holds before it waits: a part that waits holds
// nothing, so two parts waiting for each other's memory cannot deadlock.
// While it waits, the row it has read and the rows its writer buffers are
// in memory uncounted: one driver value and less than a row group per
// waiting part.
func (r *reservation) grow(ctx context.Context, n int64) error {
	need := min(r.b.limit, r.base+hugeRowCopies*n)
	if need <= r.held {
		return nil
	}
	r.b.sem.Release(r.held)
	r.held = 0
	if !r.b.sem.TryAcquire(need) {
		if err := r.b.sem.Acquire(ctx, need); err != nil {
			return err
		}
		// The parts waited for freed their row groups: many small
		// buffers, whose pages a value of megabytes cannot reuse until
		// they go back to the system.
		debug.FreeOSMemory()
	}
	r.held = need
	return nil
}

// wrote accounts for a huge row of n bytes just written. Freeing costs
// tens of milliseconds with what it makes the next rows fault in again, so
// rows small beside the budget share one collection: once their garbage
// reaches half the budget (measurements: bench/MEMORY.md).
func (r *reservation) wrote(n int64) {
	if r.garbage += hugeRowCopies * n; r.garbage >= r.b.limit/2 {
		freeHugeRow()
		r.garbage = 0
	}
}

// release gives back the part's memory, after freeing what its huge rows
// left behind (the file's last row group is written when the part ends).
func (r *reservation) release() {
	if r.held > r.base {
		freeHugeRow()
	}
	r.b.sem.Release(r.held)
}

// freeHugeRow runs two collections after a huge row is written (or several
// that are small beside the budget), the second returning free pages to the
// system. parquet-go keeps the buffers that held the row (column buffer,
// page buffers) in sync.Pools, as pgx keeps its read buffer, and a pool
// frees them only at the second collection after they are put back; the
// driver's previous value is garbage too. Without them the next huge row is
// allocated beside them, and the memory a waiting part is given is still
// taken, in pages sized for huge values that small buffers do not reuse
// (bench/MEMORY.md).
func freeHugeRow() {
	runtime.GC()
	debug.FreeOSMemory()
}

// rowBytes is the size of a row's variable-length values.
func rowBytes(row []parquet.Value) int {
	n := 0
	for i := range row {
		if row[i].Kind() == parquet.ByteArray {
			n += len(row[i].ByteArray())
		}
	}
	return n
}
