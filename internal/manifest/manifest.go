// Package manifest defines the metadata files an export writes beside its
// data, in the shape RDS writes them (reference §6.3), so readers written
// for RDS exports read ours:
//
//   - export_info_<id>.json: the task record, rewritten at every status change;
//   - export_tables_info_<id>_from_<n>_to_<m>.json: per-table status, sizes
//     and type mappings, in slices of at most TablesPerFile tables.
package manifest

import (
	"encoding/json"
	"time"
)

// TablesPerFile is how many tables one export_tables_info file holds. RDS
// does not document its slicing; consumers concatenate the files'
// perTableStatus arrays, so any size works.
const TablesPerFile = 100

// ExportInfo is export_info_<id>.json.
type ExportInfo struct {
	ExportTaskIdentifier  string            `json:"exportTaskIdentifier"`
	SourceArn             string            `json:"sourceArn"`
	ExportOnly            []string          `json:"exportOnly"`
	SnapshotTime          *time.Time        `json:"snapshotTime,omitempty"`
	TaskStartTime         *time.Time        `json:"taskStartTime,omitempty"`
	TaskEndTime           *time.Time        `json:"taskEndTime,omitempty"`
	S3Bucket              string            `json:"s3Bucket"`
	S3Prefix              string            `json:"s3Prefix"`
	ExportedFilesPath     string            `json:"exportedFilesPath"`
	IamRoleArn            string            `json:"iamRoleArn,omitempty"`
	KmsKeyId              string            `json:"kmsKeyId,omitempty"`
	Status                string            `json:"status"`
	PercentProgress       int               `json:"percentProgress"`
	TotalExportedDataInGB float64           `json:"totalExportedDataInGB"`
	FailureCause          string            `json:"failureCause,omitempty"`
	WarningMessage        string            `json:"warningMessage,omitempty"`
	SourceType            string            `json:"sourceType,omitempty"`
	Engine                string            `json:"engine,omitempty"`
	SnapshotIdentity      map[string]string `json:"snapshotIdentity,omitempty"`
	// Consistency is how the parts' reads relate: "snapshot" (one for all)
	// or "none" (each part its own); "" in records of older versions.
	Consistency string `json:"consistency,omitempty"`
	ExportedBytes         int64             `json:"exportedBytes"`
	ExportedRows          int64             `json:"exportedRows"`
	TablesTotal           int               `json:"tablesTotal"`
	TablesCompleted       int               `json:"tablesCompleted"`
	// HeartbeatTime is when the running task last wrote the record; with
	// HeartbeatIntervalSeconds it tells a reader whether the process that
	// runs the task is still alive.
	HeartbeatTime            time.Time `json:"heartbeatTime"`
	HeartbeatIntervalSeconds float64   `json:"heartbeatIntervalSeconds"`
	// ResumedFrom is set on a task that continued an earlier, unfinished
	// run of the same identifier.
	ResumedFrom *ResumedFrom `json:"resumedFrom,omitempty"`
	// Generator names the program that wrote the record, so readers can
	// tell our records from foreign files of the same name.
	Generator string `json:"generator"`
	// Generation is the fencing generation of the run that wrote the
	// record, and RunID that run's identifier: each run of a task owns one
	// generation, claimed with a conditional create of its lease object,
	// and a run that finds a newer lease writes nothing more.
	Generation int    `json:"generation,omitempty"`
	RunID      string `json:"runId,omitempty"`
}

// GeneratorName is ExportInfo.Generator for records snapexport writes.
const GeneratorName = "snapexport"

// ResumedFrom describes the run a resumed task continued. The data of a
// resumed task comes from two points in time unless the source did not
// change; both identities are kept so nobody mistakes it for one snapshot.
type ResumedFrom struct {
	TaskStartTime    *time.Time        `json:"taskStartTime,omitempty"`
	Status           string            `json:"status"`
	FailureCause     string            `json:"failureCause,omitempty"`
	SnapshotTime     *time.Time        `json:"snapshotTime,omitempty"`
	SnapshotIdentity map[string]string `json:"snapshotIdentity,omitempty"`
	PartitionsKept   int               `json:"partitionsKept"`
	SourceUnchanged  bool              `json:"sourceUnchanged"`
}

// CancelRequest is the object another process writes next to a task's
// record to ask the running task to stop.
type CancelRequest struct {
	ExportTaskIdentifier string    `json:"exportTaskIdentifier"`
	RequestTime          time.Time `json:"requestTime"`
	// Completing is set when the running task itself took the slot before
	// writing its COMPLETE record: a cancel request and the completion are
	// created at the same key with a conditional create, so exactly one of
	// them wins and a cancel accepted never ends COMPLETE.
	Completing bool `json:"completing,omitempty"`
}

// TablesInfo is one export_tables_info file.
type TablesInfo struct {
	PerTableStatus []TableStatus `json:"perTableStatus"`
}

// TableStatus is one table's entry.
type TableStatus struct {
	Target string `json:"target"`
	// TableKey is database, schema and table joined by NUL bytes: unlike
	// Target, it tells apart tables whose names contain dots.
	TableKey        string           `json:"tableKey,omitempty"`
	Status          string           `json:"status"`
	SizeGB          float64          `json:"sizeGB"`
	TableStatistics *TableStatistics `json:"tableStatistics,omitempty"`
	SchemaMetadata  *SchemaMetadata  `json:"schemaMetadata,omitempty"`
	WarningMessage  string           `json:"warningMessage,omitempty"`
}

// TableStatistics holds counts RDS reports, plus exact ones it lacks.
type TableStatistics struct {
	PartitioningInfo PartitioningInfo `json:"partitioningInfo"`
	ExportedRows     int64            `json:"exportedRows"`
	ExportedBytes    int64            `json:"exportedBytes"`
	Files            []string         `json:"files,omitempty"`
	// Parts records how the table was split and which parts finished, so a
	// resumed task keeps finished parts and re-reads the same ranges.
	Parts []Part `json:"parts,omitempty"`
}

// Part is one planned part of a table.
type Part struct {
	Batch     int    `json:"batch"`
	Index     int    `json:"index"`
	Partition string `json:"partition,omitempty"`
	KeyColumn string `json:"keyColumn,omitempty"`
	Lower     *int64 `json:"lower,omitempty"`
	Upper     *int64 `json:"upper,omitempty"`
	// LowerBytes and UpperBytes bound a range over a key that is not an
	// integer (source.KeyRange). Pointers, so that the empty value survives
	// the JSON round trip apart from "unbounded".
	LowerBytes  *[]byte `json:"lowerBytes,omitempty"`
	UpperBytes  *[]byte `json:"upperBytes,omitempty"`
	IncludeNull bool    `json:"includeNull,omitempty"`
	BlockLower  *uint32 `json:"blockLower,omitempty"`
	BlockUpper  *uint32 `json:"blockUpper,omitempty"`
	RollBatches bool    `json:"rollBatches,omitempty"`
	Complete    bool    `json:"complete"`
	// Rows, Bytes and Files are what the part's published files hold: all
	// of the part when Complete, else the files a cancelled part had
	// finished (kept, as RDS keeps what a cancelled export wrote).
	Rows  int64    `json:"rows"`
	Bytes int64    `json:"bytes"`
	Files []string `json:"files,omitempty"`
	// Generation is the fencing generation of the run that wrote Files.
	Generation int `json:"generation,omitempty"`
}

// PartitioningInfo counts a table's partitions.
type PartitioningInfo struct {
	NumberOfPartitions          int `json:"numberOfPartitions"`
	NumberOfCompletedPartitions int `json:"numberOfCompletedPartitions"`
}

// SchemaMetadata lists how each column was mapped.
type SchemaMetadata struct {
	// TypeProfile is the type profile the columns were mapped with ("rds",
	// "typed", or "custom" for a caller's own mapper); RDS has no such field.
	TypeProfile          string        `json:"typeProfile,omitempty"`
	OriginalTypeMappings []TypeMapping `json:"originalTypeMappings"`
}

// TypeMapping is one column's mapping.
type TypeMapping struct {
	ColumnName                string `json:"columnName"`
	OriginalType              string `json:"originalType"`
	ExpectedExportedType      string `json:"expectedExportedType"`
	OriginalCharMaxLength     int    `json:"originalCharMaxLength"`
	OriginalNumPrecision      int    `json:"originalNumPrecision"`
	OriginalDateTimePrecision int    `json:"originalDateTimePrecision"`
}

// Warnings is the document RDS serializes into WarningMessage (§8.2).
type Warnings struct {
	SkippedTables     []Entry `json:"skippedTables"`
	SkippedObjectives []Entry `json:"skippedObjectives"`
	General           []Entry `json:"general"`
}

// Entry is one warning.
type Entry struct {
	Target string `json:"target,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// Empty reports whether there is nothing to warn about.
func (w Warnings) Empty() bool {
	return len(w.SkippedTables) == 0 && len(w.SkippedObjectives) == 0 && len(w.General) == 0
}

// String serializes the warnings for WarningMessage; "" when empty.
func (w Warnings) String() string {
	if w.Empty() {
		return ""
	}
	if w.SkippedTables == nil {
		w.SkippedTables = []Entry{}
	}
	if w.SkippedObjectives == nil {
		w.SkippedObjectives = []Entry{}
	}
	if w.General == nil {
		w.General = []Entry{}
	}
	b, _ := json.Marshal(w)
	return string(b)
}

// Slices splits n tables into the [from, to] ranges (1-based, inclusive) of
// the export_tables_info files.
func Slices(n int) [][2]int {
	var out [][2]int
	for from := 1; from <= n; from += TablesPerFile {
		out = append(out, [2]int{from, min(from+TablesPerFile-1, n)})
	}
	if n == 0 {
		out = append(out, [2]int{1, 0})
	}
	return out
}
