package snapexport

import (
	"encoding/json"
	"time"

	"github.com/snapexport/snapexport/internal/manifest"
)

// Status is an export task's status, with RDS's values.
type Status string

// Statuses and their transitions, as RDS has them:
//
//	STARTING → IN_PROGRESS → COMPLETE
//	STARTING | IN_PROGRESS → FAILED
//	STARTING | IN_PROGRESS → CANCELING → CANCELED
const (
	StatusStarting   Status = "STARTING"
	StatusInProgress Status = "IN_PROGRESS"
	StatusComplete   Status = "COMPLETE"
	StatusFailed     Status = "FAILED"
	StatusCanceling  Status = "CANCELING"
	StatusCanceled   Status = "CANCELED"
)

// Final reports whether no transition leaves s.
func (s Status) Final() bool {
	return s == StatusComplete || s == StatusFailed || s == StatusCanceled
}

// canMoveTo is the transition table of the status lifecycle.
func (s Status) canMoveTo(next Status) bool {
	switch s {
	case StatusStarting:
		return next == StatusInProgress || next == StatusFailed || next == StatusCanceling
	case StatusInProgress:
		return next == StatusComplete || next == StatusFailed || next == StatusCanceling
	case StatusCanceling:
		return next == StatusCanceled
	}
	return false
}

// SourceType values of ExportTask.SourceType.
const (
	SourceTypeSnapshot = "SNAPSHOT"
	SourceTypeCluster  = "CLUSTER"
)

// ExportTask is the record of an export task: every field of the RDS
// ExportTask object with the same names and JSON names, then what RDS lacks.
type ExportTask struct {
	ExportTaskIdentifier string     `json:"ExportTaskIdentifier"`
	SourceArn            string     `json:"SourceArn"`
	ExportOnly           []string   `json:"ExportOnly,omitempty"`
	SnapshotTime         *time.Time `json:"SnapshotTime,omitempty"`
	TaskStartTime        *time.Time `json:"TaskStartTime,omitempty"`
	TaskEndTime          *time.Time `json:"TaskEndTime,omitempty"`
	S3Bucket             string     `json:"S3Bucket"`
	S3Prefix             string     `json:"S3Prefix"`
	IamRoleArn           string     `json:"IamRoleArn,omitempty"`
	KmsKeyId             string     `json:"KmsKeyId,omitempty"`
	Status               Status     `json:"Status"`
	PercentProgress      int        `json:"PercentProgress"`
	// TotalExtractedDataInGB is whole GiB, as RDS reports it (small exports
	// show 0); TotalExtractedDataInBytes has the exact figure.
	TotalExtractedDataInGB int    `json:"TotalExtractedDataInGB"`
	FailureCause           string `json:"FailureCause,omitempty"`
	// WarningMessage is a JSON document in a string, as RDS has it: see
	// [Warnings].
	WarningMessage string `json:"WarningMessage,omitempty"`
	SourceType     string `json:"SourceType,omitempty"`

	// TotalExtractedDataInBytes is the exact size of the Parquet files
	// written.
	TotalExtractedDataInBytes int64 `json:"TotalExtractedDataInBytes"`
	// ExportedRows counts the rows written so far.
	ExportedRows int64 `json:"ExportedRows"`
	// Engine is the source's engine ("postgres", "mysql", "mariadb", "sqlite").
	Engine string `json:"Engine,omitempty"`
	// SnapshotIdentity identifies the point in time the data comes from
	// (PostgreSQL snapshot id and WAL LSN, MySQL binlog position or GTID set).
	SnapshotIdentity map[string]string `json:"SnapshotIdentity,omitempty"`
	// TablesTotal and TablesCompleted count the tables being exported.
	TablesTotal     int `json:"TablesTotal"`
	TablesCompleted int `json:"TablesCompleted"`
	// Tables is the per-table status, in the order tables were listed.
	Tables []TableStatus `json:"Tables,omitempty"`
	// ResumedFrom is set when this task continued an earlier, unfinished
	// run of the identifier. Its data then comes from two snapshots unless
	// ResumedFrom.SourceUnchanged.
	ResumedFrom *ResumedFrom `json:"ResumedFrom,omitempty"`
}

// ResumedFrom describes the run a resumed task continued. The data of a
// resumed task comes from two points in time unless SourceUnchanged; both
// snapshot identities are kept so nobody mistakes it for one snapshot.
type ResumedFrom struct {
	// TaskStartTime is when the earlier run started.
	TaskStartTime *time.Time `json:"TaskStartTime,omitempty"`
	// Status is the status the earlier run ended in: FAILED or CANCELED
	// (a run whose process died is FAILED).
	Status Status `json:"Status"`
	// FailureCause is the earlier run's FailureCause, if it failed.
	FailureCause string `json:"FailureCause,omitempty"`
	// SnapshotTime and SnapshotIdentity identify the earlier run's
	// snapshot, which the kept parts come from.
	SnapshotTime     *time.Time        `json:"SnapshotTime,omitempty"`
	SnapshotIdentity map[string]string `json:"SnapshotIdentity,omitempty"`
	// PartitionsKept counts the parts of the earlier run that were kept
	// rather than exported again.
	PartitionsKept int `json:"PartitionsKept"`
	// SourceUnchanged reports that the source's snapshot identity is the
	// same as the earlier run's: the data is then one point in time.
	SourceUnchanged bool `json:"SourceUnchanged"`
}

// toManifest and resumedFromManifest convert at the boundary of the
// export_info file, whose keys are camelCase as RDS's metadata files are.
func (r *ResumedFrom) toManifest() *manifest.ResumedFrom {
	if r == nil {
		return nil
	}
	return &manifest.ResumedFrom{TaskStartTime: r.TaskStartTime, Status: string(r.Status), FailureCause: r.FailureCause,
		SnapshotTime: r.SnapshotTime, SnapshotIdentity: r.SnapshotIdentity, PartitionsKept: r.PartitionsKept, SourceUnchanged: r.SourceUnchanged}
}

func resumedFromManifest(m *manifest.ResumedFrom) *ResumedFrom {
	if m == nil {
		return nil
	}
	return &ResumedFrom{TaskStartTime: m.TaskStartTime, Status: Status(m.Status), FailureCause: m.FailureCause,
		SnapshotTime: m.SnapshotTime, SnapshotIdentity: m.SnapshotIdentity, PartitionsKept: m.PartitionsKept, SourceUnchanged: m.SourceUnchanged}
}

// TableStatus is the progress of one table.
type TableStatus struct {
	Target string `json:"Target"`
	Status Status `json:"Status"`
	Rows   int64  `json:"Rows"`
	Bytes  int64  `json:"Bytes"`
	Files  int    `json:"Files"`
	// Partitions and CompletedPartitions count the table's parts (RDS's
	// word for them), not its table partitions.
	Partitions          int `json:"Partitions"`
	CompletedPartitions int `json:"CompletedPartitions"`
}

// Warnings is the document serialized into ExportTask.WarningMessage. Its
// JSON keys are RDS's own (camelCase, reference §8.2), so readers written
// for RDS's WarningMessage read ours.
type Warnings struct {
	// SkippedTables are tables that exist and were not exported: a column
	// name RDS would not export, no privilege (PERMISSIONS_DO_NOT_EXIST),
	// a temporary or unlogged table, ...
	SkippedTables []WarningEntry `json:"skippedTables"`
	// SkippedObjectives are ExportOnly entries that matched nothing
	// (NO_MATCHING_OBJECTS).
	SkippedObjectives []WarningEntry `json:"skippedObjectives"`
	// General are warnings about the task as a whole: a consistency
	// fallback, omitted columns, a type override that matched nothing, ...
	General []WarningEntry `json:"general"`
}

// WarningEntry is one entry of [Warnings].
type WarningEntry struct {
	// Target is what the warning is about: a table ("db.schema.table"), an
	// ExportOnly entry, a type override key; "" for the task as a whole.
	Target string `json:"target,omitempty"`
	// Reason is a code in capitals, such as NO_MATCHING_OBJECTS.
	Reason string `json:"reason"`
	// Detail says what happened and what to do.
	Detail string `json:"detail,omitempty"`
}

// ParseWarnings decodes ExportTask.WarningMessage; "" gives empty warnings.
func ParseWarnings(s string) (Warnings, error) {
	var w Warnings
	if s == "" {
		return w, nil
	}
	err := json.Unmarshal([]byte(s), &w)
	return w, err
}
