package snapexport_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPublicTypesAreOurOwn: no exported declaration of the package is, or
// has a field of, a type from an internal/ package, which callers can
// neither name nor read in go doc.
func TestPublicTypesAreOurOwn(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", nil, 0)
	require.NoError(t, err)
	for _, f := range pkgs["snapexport"].Files {
		internal := map[string]string{}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if !strings.Contains(path, "/internal/") {
				continue
			}
			name := path[strings.LastIndex(path, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			internal[name] = path
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if !ts.Name.IsExported() {
					continue
				}
				ast.Inspect(ts.Type, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.FuncLit:
						return false
					case *ast.Field:
						if len(n.Names) > 0 && !n.Names[0].IsExported() {
							return false // unexported fields are ours to choose
						}
					case *ast.SelectorExpr:
						if x, ok := n.X.(*ast.Ident); ok && internal[x.Name] != "" {
							t.Errorf("%s: exported type %s uses %s.%s from %s", fset.Position(n.Pos()), ts.Name.Name, x.Name, n.Sel.Name, internal[x.Name])
						}
					}
					return true
				})
			}
		}
	}
}

// TestGoDocShowsFields: what a caller gets is documented in the public
// package itself.
func TestGoDocShowsFields(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	for typ, fields := range map[string][]string{
		"ResumedFrom":  {"TaskStartTime", "Status", "FailureCause", "SnapshotTime", "SnapshotIdentity", "PartitionsKept", "SourceUnchanged", `json:"PartitionsKept"`},
		"Warnings":     {"SkippedTables", "SkippedObjectives", "General", `json:"skippedTables"`},
		"WarningEntry": {"Target", "Reason", "Detail"},
	} {
		out, err := exec.Command("go", "doc", "github.com/snapexport/snapexport", typ).CombinedOutput()
		require.NoError(t, err, string(out))
		assert.NotContains(t, string(out), "manifest.", typ)
		for _, f := range fields {
			assert.Contains(t, string(out), f, "go doc %s", typ)
		}
	}
}
