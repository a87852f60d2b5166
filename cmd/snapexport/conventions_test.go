package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/snapexport/snapexport"
	"github.com/snapexport/snapexport/internal/demodb"
)

// TestValuesAreRefusedNotReplaced: every option value the command cannot use
// is refused with exit 2 and a message naming the value and what is
// allowed; none silently becomes a default.
func TestValuesAreRefusedNotReplaced(t *testing.T) {
	start := []string{"start-export-task", "--export-task-identifier", "x", "--source-arn", "sqlite:///nonexistent.db", "--s3-bucket-name", "file:///nonexistent-dir"}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{append(start, "--output", "yaml"), []string{`"yaml"`, "json, text, table"}},
		{append(start, "--output", "xml"), []string{`"xml"`}},
		{append(start, "--progress", "fancy"), []string{`"fancy"`, "auto, bar, lines, none"}},
		{append(start, "--memory-limit", "-1"), []string{"--memory-limit -1", "16 MiB", "1 TiB"}},
		{append(start, "--memory-limit", "0"), []string{"--memory-limit 0"}},
		{append(start, "--memory-limit", "1"), []string{"--memory-limit 1 "}},
		{append(start, "--memory-limit", "100000000000000000"), []string{"--memory-limit 100000000000000000"}},
		{append(start, "--target-file-bytes", "-5"), []string{"--target-file-bytes -5"}},
		{append(start, "--target-file-bytes", "1000"), []string{"--target-file-bytes 1000", "1 MiB"}},
		{append(start, "--max-value-bytes", "-1"), []string{"--max-value-bytes -1"}},
		{append(start, "--max-value-bytes", "0"), []string{"--max-value-bytes 0"}},
		{append(start, "--heartbeat-interval", "-1s"), []string{"--heartbeat-interval -1s", "100ms"}},
		{append(start, "--heartbeat-interval", "0s"), []string{"--heartbeat-interval 0s"}},
		{append(start, "--concurrency", "-2"), []string{"--concurrency -2"}},
		{append(start, "--kms-key-id", "alias/k"), []string{`--kms-key-id "alias/k"`, "file://"}},
		{[]string{"start-export-task", "--export-task-identifier", "x", "--source-arn", "sqlite:///a.db", "--s3-bucket-name", "mem://m", "--kms-key-id", "k"}, []string{"mem://"}},
		{[]string{"describe-export-tasks", "--s3-bucket-name", "file:///nonexistent-dir", "--filters", "Name=status,Values=exploded"}, []string{`"exploded"`, "canceled, canceling, complete, failed, in_progress, starting"}},
		{[]string{"describe-export-tasks", "--s3-bucket-name", "file:///nonexistent-dir", "--filters", "Name=colour,Values=red"}, []string{`"colour"`}},
		{[]string{"describe-export-tasks", "--s3-bucket-name", "file:///nonexistent-dir", "--output", "yaml"}, []string{`"yaml"`}},
		{[]string{"describe-export-tasks", "--s3-bucket-name", "file:///nonexistent-dir", "--query", "ExportTasks[?"}, []string{"JMESPath"}},
		{[]string{"describe-export-tasks", "--s3-bucket-name", "file:///nonexistent-dir", "--page-size", "5"}, []string{"--page-size 5"}},
		{[]string{"describe-export-tasks", "--s3-bucket-name", "file:///nonexistent-dir", "--starting-token", "garbage!"}, []string{`"garbage!"`}},
		{[]string{"cancel-export-task", "--export-task-identifier", "x", "--s3-bucket-name", "file:///nonexistent-dir", "--output", "xml"}, []string{`"xml"`}},
	} {
		code, stdout, stderr := runCLI(context.Background(), c.args...)
		assert.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		assert.Empty(t, stdout, "%v", c.args)
		for _, w := range c.want {
			assert.Contains(t, stderr, w, "%v", c.args)
		}
	}
	_, err := os.Stat("/nonexistent-dir")
	assert.True(t, os.IsNotExist(err), "a refused command writes nothing")
}

// TestExportOnlyMatchingNothingFailsInTheCLI: nothing matched ends FAILED
// (exit 1) naming the entries; a partial match completes and shows its
// warnings in --output table too.
func TestExportOnlyMatchingNothingFailsInTheCLI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shop.db")
	require.NoError(t, demodb.Create(context.Background(), db, 1))
	dest := "file://" + t.TempDir()
	code, stdout, stderr := runCLI(context.Background(), "start-export-task", "--export-task-identifier", "none", "--source-arn", "sqlite://"+db,
		"--s3-bucket-name", dest, "--export-only", "shop.nosuch", "nodb", "--progress", "none")
	assert.Equal(t, exitFailed, code, stderr)
	assert.Contains(t, stdout, "NO_MATCHING_OBJECTS")
	assert.Contains(t, stderr, `"shop.nosuch", "nodb"`)

	code, stdout, stderr = runCLI(context.Background(), "start-export-task", "--export-task-identifier", "some", "--source-arn", "sqlite://"+db,
		"--s3-bucket-name", dest, "--export-only", "shop.orders", "shop.nosuch", "--progress", "none", "--output", "table",
		"--type-override", "shop.main.orders.nocolumn=string")
	assert.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "COMPLETE")
	assert.Regexp(t, `(?m)^WARNING\s+shop\.nosuch\s+NO_MATCHING_OBJECTS`, stdout, "partial matches show in the table")
	assert.Regexp(t, `(?m)^WARNING\s+shop\.main\.orders\.nocolumn\s+UNUSED_TYPE_OVERRIDE`, stdout)

	code, stdout, stderr = runCLI(context.Background(), "start-export-task", "--export-task-identifier", "strict", "--source-arn", "sqlite://"+db,
		"--s3-bucket-name", dest, "--export-only", "shop.orders", "--progress", "none", "--strict",
		"--type-override", "shop.main.orders.nocolumn=string")
	assert.Equal(t, exitFailed, code, stderr)
	assert.Contains(t, stderr, "UNUSED_TYPE_OVERRIDE")
}

// TestAWSCLIConventions: the describe, cancel and start conventions users
// script against.
func TestAWSCLIConventions(t *testing.T) {
	db := filepath.Join(t.TempDir(), "shop.db")
	require.NoError(t, demodb.Create(context.Background(), db, 1))
	dir := t.TempDir()
	dest := "file://" + dir
	for i := 0; i < 25; i++ {
		code, _, stderr := runCLI(context.Background(), "start-export-task", "--export-task-identifier", fmt.Sprintf("conv-%02d", i),
			"--source-arn", "sqlite://"+db, "--s3-bucket-name", dest, "--export-only", "shop.customers", "--progress", "none")
		require.Equal(t, exitOK, code, stderr)
	}

	// Unknown identifier: the AWS CLI's error line and exit code.
	code, stdout, stderr := runCLI(context.Background(), "describe-export-tasks", "--s3-bucket-name", dest, "--export-task-identifier", "nosuch")
	assert.Equal(t, exitServiceError, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "An error occurred (ExportTaskNotFound) when calling the DescribeExportTasks operation: ")
	code, _, stderr = runCLI(context.Background(), "cancel-export-task", "--s3-bucket-name", dest, "--export-task-identifier", "nosuch")
	assert.Equal(t, exitServiceError, code)
	assert.Contains(t, stderr, "An error occurred (ExportTaskNotFound) when calling the CancelExportTask operation: ")
	code, _, stderr = runCLI(context.Background(), "cancel-export-task", "--s3-bucket-name", dest, "--export-task-identifier", "conv-00")
	assert.Equal(t, exitServiceError, code)
	assert.Contains(t, stderr, "(InvalidExportTaskStateFault)")

	// --max-items / --starting-token / --page-size walk every task once.
	var seen []string
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		args := []string{"describe-export-tasks", "--s3-bucket-name", dest, "--max-items", "7", "--page-size", "20"}
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		code, stdout, stderr := runCLI(context.Background(), args...)
		require.Equal(t, exitOK, code, stderr)
		var out struct {
			ExportTasks []snapexport.ExportTask
			NextToken   string
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
		assert.LessOrEqual(t, len(out.ExportTasks), 7)
		for _, e := range out.ExportTasks {
			seen = append(seen, e.ExportTaskIdentifier)
		}
		if out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	assert.Len(t, seen, 25)
	unique := map[string]bool{}
	for _, s := range seen {
		unique[s] = true
	}
	assert.Len(t, unique, 25, "no task twice: %v", seen)

	// Timestamps with milliseconds as the AWS CLI prints them.
	code, stdout, _ = runCLI(context.Background(), "describe-export-tasks", "--s3-bucket-name", dest, "--export-task-identifier", "conv-03")
	require.Equal(t, exitOK, code)
	stamp := regexp.MustCompile(`"TaskStartTime": "(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}000)?\+00:00)"`)
	assert.Regexp(t, stamp, stdout)

	// --query (JMESPath) and --output text.
	code, stdout, stderr = runCLI(context.Background(), "describe-export-tasks", "--s3-bucket-name", dest, "--query", "ExportTasks[?ExportTaskIdentifier=='conv-04'].Status | [0]")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "\"COMPLETE\"\n", stdout)
	code, stdout, stderr = runCLI(context.Background(), "describe-export-tasks", "--s3-bucket-name", dest, "--output", "text",
		"--query", "ExportTasks[?ExportTaskIdentifier=='conv-04'].[ExportTaskIdentifier,Status,ExportedRows]")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "conv-04\tCOMPLETE\t2000\n", stdout)
	code, stdout, _ = runCLI(context.Background(), "describe-export-tasks", "--s3-bucket-name", dest, "--output", "text", "--export-task-identifier", "conv-05")
	require.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	assert.True(t, strings.HasPrefix(lines[0], "EXPORTTASKS\t"), stdout)
	assert.Contains(t, lines[0], "\tconv-05\t")
	assert.Contains(t, stdout, "\nEXPORTONLY\tshop.customers\n")

	// --generate-cli-skeleton and --cli-input-json.
	code, stdout, _ = runCLI(context.Background(), "start-export-task", "--generate-cli-skeleton")
	require.Equal(t, exitOK, code)
	var skel map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &skel), stdout)
	for _, k := range []string{"ExportTaskIdentifier", "SourceArn", "S3BucketName", "IamRoleArn", "KmsKeyId", "S3Prefix", "ExportOnly"} {
		assert.Contains(t, skel, k)
	}
	input := filepath.Join(t.TempDir(), "in.json")
	require.NoError(t, os.WriteFile(input, []byte(fmt.Sprintf(`{"ExportTaskIdentifier":"from-json","SourceArn":"sqlite://%s","S3BucketName":%q,"ExportOnly":["shop.orders"]}`, db, dest)), 0o600))
	code, stdout, stderr = runCLI(context.Background(), "start-export-task", "--cli-input-json", "file://"+input, "--progress", "none", "--query", "[ExportTaskIdentifier,ExportOnly[0]]", "--output", "text")
	require.Equal(t, exitOK, code, stderr)
	assert.Equal(t, "from-json\tshop.orders\n", stdout)
	code, _, stderr = runCLI(context.Background(), "start-export-task", "--cli-input-json", `{"ExportTaskIdentifer":"typo"}`)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "ExportTaskIdentifer")

	// --version, and every --help on stdout with exit 0.
	code, stdout, _ = runCLI(context.Background(), "--version")
	assert.Equal(t, exitOK, code)
	assert.Regexp(t, `^snapexport/\S+ go/\S+ \w+/\w+\n$`, stdout)
	for _, args := range [][]string{{"--help"}, {"help"}, {"start-export-task", "--help"}, {"describe-export-tasks", "--help"}, {"cancel-export-task", "-h"}} {
		code, stdout, stderr := runCLI(context.Background(), args...)
		assert.Equal(t, exitOK, code, "%v", args)
		assert.Contains(t, stdout, "usage", "%v", args)
		assert.Empty(t, stderr, "%v", args)
	}
	_, stdout, _ = runCLI(context.Background(), "start-export-task", "--help")
	assert.Contains(t, stdout, "(default "+bytesText(snapexport.DefaultMemoryLimit)+")", "the real default of --memory-limit")
	assert.Contains(t, stdout, "(default 128 MiB)")
}
