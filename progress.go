package snapexport

import "time"

// Progress is one cumulative report of a task's progress.
type Progress struct {
	Status          Status
	PercentProgress int
	// Rows and Bytes exported so far (Bytes: Parquet bytes written).
	Rows  int64
	Bytes int64
	// TablesCompleted of TablesTotal are done.
	TablesCompleted int
	TablesTotal     int
	// Table is the target ("db.schema.table") the report is about, if any.
	Table string
	// Time is when the report was made.
	Time time.Time
}
