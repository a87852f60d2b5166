package main

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstartToAFile: run to a non-terminal, the output has no carriage
// returns and tells what was exported.
func TestQuickstartToAFile(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), t.TempDir(), &out))
	assert.NotContains(t, out.String(), "\r", "no in-place redraws in a file")
	assert.Contains(t, out.String(), "is COMPLETE")
	assert.Contains(t, out.String(), "skipped:  shop.main.odd_columns")
	assert.Contains(t, out.String(), "rows:     15000")
}

// TestExamplesUseOnlyThePublicAPI: a user copies an example out of the
// repository, where internal/ packages cannot be imported.
func TestExamplesUseOnlyThePublicAPI(t *testing.T) {
	files, err := filepath.Glob("../*/*.go")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			assert.False(t, strings.Contains(path, "/internal"), "%s imports %s", f, path)
		}
	}
}
