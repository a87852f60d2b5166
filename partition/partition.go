// Package partition is the old name of package plan, kept so that programs
// that imported it still build.
//
// Deprecated: use package plan. "Partition" now means only a table's
// declarative partition; the planner's unit is a part (plan.Part).
package partition

import "github.com/snapexport/snapexport/plan"

// Deprecated: use plan.Part.
type Part = plan.Part

// Deprecated: use plan.Options.
type Options = plan.Options

// Plan is plan.Table.
//
// Deprecated: use plan.Table.
var Plan = plan.Table
