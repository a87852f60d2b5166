package snapexport

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
)

// DescribeExportTasksInput selects tasks, as RDS's DescribeExportTasks.
type DescribeExportTasksInput struct {
	ExportTaskIdentifier string
	SourceArn            string
	// Filters by name: export-task-identifier, s3-bucket, source-arn,
	// status (lowercase values: canceled, canceling, complete, failed,
	// in_progress, starting). A task matches when it matches every filter,
	// and a filter when the task's field equals one of its values.
	Filters []Filter
	// SourceType is SNAPSHOT or CLUSTER ("" for any).
	SourceType string
	// MaxRecords is 20 to 100; 0 means 100.
	MaxRecords int
	// Marker continues a previous listing.
	Marker string
}

// Filter is one describe filter.
type Filter struct {
	Name   string
	Values []string
}

// DescribeExportTasksOutput is a page of tasks.
type DescribeExportTasksOutput struct {
	ExportTasks []ExportTask `json:"ExportTasks"`
	// Marker is set when more tasks remain; pass it back to continue.
	Marker string `json:"Marker,omitempty"`
	// Warnings name records in the destination that were skipped because
	// they could not be read or are not export task records.
	Warnings []string `json:"Warnings,omitempty"`
}

var filterNames = []string{"export-task-identifier", "s3-bucket", "source-arn", "status"}

// DescribeExportTasks lists tasks, newest first, filtered and paginated
// as RDS does: this exporter's tasks, merged with those recorded in
// Config.Destination.
func (e *Exporter) DescribeExportTasks(ctx context.Context, in DescribeExportTasksInput) (*DescribeExportTasksOutput, error) {
	pageSize, err := checkDescribe(in)
	if err != nil {
		return nil, err
	}
	all, warnings, err := e.allRecords(ctx)
	if err != nil {
		return nil, err
	}
	var matched []ExportTask
	for _, t := range all {
		if matchTask(t, in) {
			matched = append(matched, t)
		}
	}
	if in.ExportTaskIdentifier != "" && len(matched) == 0 {
		// RDS answers a describe of one identifier it does not know with
		// the fault, not an empty list.
		return nil, newError(ErrExportTaskNotFound, nil, "the export task with the ID %s doesn't exist", in.ExportTaskIdentifier)
	}
	out, err := page(matched, in.Marker, pageSize)
	if err != nil {
		return nil, err
	}
	out.Warnings = warnings
	return out, nil
}

// checkDescribe refuses a malformed request and returns its page size.
func checkDescribe(in DescribeExportTasksInput) (int, error) {
	pageSize := in.MaxRecords
	if pageSize == 0 {
		pageSize = 100
	}
	if pageSize < 20 || pageSize > 100 {
		return 0, newError(ErrInvalidParameterValue, nil, "MaxRecords %d is out of range: give a value from 20 to 100", in.MaxRecords)
	}
	for _, f := range in.Filters {
		if !slices.Contains(filterNames, f.Name) {
			return 0, newError(ErrInvalidParameterValue, nil, "unknown filter name %q: supported names are %s", f.Name, strings.Join(filterNames, ", "))
		}
		if f.Name != "status" {
			continue
		}
		for _, v := range f.Values {
			if v != strings.ToLower(v) {
				return 0, newError(ErrInvalidParameterValue, nil, "status filter value %q must be lowercase (canceled, canceling, complete, failed, in_progress, starting)", v)
			}
		}
	}
	if in.SourceType != "" && in.SourceType != SourceTypeSnapshot && in.SourceType != SourceTypeCluster {
		return 0, newError(ErrInvalidParameterValue, nil, "SourceType %q is not SNAPSHOT or CLUSTER", in.SourceType)
	}
	return pageSize, nil
}

// allRecords are this exporter's tasks and those recorded in its
// destination, newest first; the identifier breaks ties so pages are
// stable.
func (e *Exporter) allRecords(ctx context.Context) ([]ExportTask, []string, error) {
	e.mu.Lock()
	all := make([]ExportTask, 0, len(e.order))
	local := map[string]bool{}
	for _, t := range e.order {
		all = append(all, t.Info())
		local[t.ID()] = true
	}
	e.mu.Unlock()
	var warnings []string
	if e.dest != nil {
		recs, w, err := e.dest.listRecords(ctx)
		if err != nil {
			return nil, nil, err
		}
		warnings = w
		for _, r := range recs {
			if !local[r.ExportTaskIdentifier] { // this process knows its own tasks best
				all = append(all, r)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b ExportTask) int {
		if c := b.TaskStartTime.Compare(*a.TaskStartTime); c != 0 {
			return c
		}
		return strings.Compare(a.ExportTaskIdentifier, b.ExportTaskIdentifier)
	})
	return all, warnings, nil
}

// page is the page of matched that marker starts.
func page(matched []ExportTask, marker string, pageSize int) (*DescribeExportTasksOutput, error) {
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, newError(ErrInvalidParameterValue, nil, "marker %q was not returned by DescribeExportTasks", marker)
		}
		start = slices.IndexFunc(matched, func(t ExportTask) bool { return t.ExportTaskIdentifier == string(raw) })
		if start < 0 {
			return nil, newError(ErrInvalidParameterValue, nil, "marker %q no longer matches a task; describe again without it", marker)
		}
	}
	end := min(start+pageSize, len(matched))
	out := &DescribeExportTasksOutput{ExportTasks: matched[start:end]}
	if out.ExportTasks == nil {
		out.ExportTasks = []ExportTask{}
	}
	if end < len(matched) {
		out.Marker = base64.RawURLEncoding.EncodeToString([]byte(matched[end].ExportTaskIdentifier))
	}
	return out, nil
}

func matchTask(t ExportTask, in DescribeExportTasksInput) bool {
	if in.ExportTaskIdentifier != "" && t.ExportTaskIdentifier != in.ExportTaskIdentifier {
		return false
	}
	if in.SourceArn != "" && t.SourceArn != in.SourceArn {
		return false
	}
	if in.SourceType != "" && t.SourceType != in.SourceType {
		return false
	}
	for _, f := range in.Filters {
		var field string
		switch f.Name {
		case "export-task-identifier":
			field = t.ExportTaskIdentifier
		case "s3-bucket":
			field = t.S3Bucket
			if slices.Contains(f.Values, strings.TrimPrefix(field, "s3://")) {
				continue // a bare bucket name matches its s3:// location
			}
		case "source-arn":
			field = t.SourceArn
		case "status":
			field = strings.ToLower(string(t.Status))
		}
		if !slices.Contains(f.Values, field) {
			return false
		}
	}
	return true
}
