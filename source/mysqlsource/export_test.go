package mysqlsource

// Test helpers for the external end-to-end test (package mysqlsource_test).
var (
	TestURL      = testURL
	AdminDB      = adminDB
	UniqueName   = uniqueName
	CreateTable  = createTable
	MustExec     = mustExec
	CreateUser   = createUser
	QuoteIdent   = quoteIdent
	TestDatabase = testDatabase
	FillTable    = fillTable
)
