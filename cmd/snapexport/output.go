package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmespath/go-jmespath"

	"github.com/snapexport/snapexport"
)

// Output follows the AWS CLI: --output json (the default), text (its
// tab-separated format) or table, and --query, a JMESPath expression applied
// to the result before it is printed. JMESPath is evaluated with
// github.com/jmespath/go-jmespath, the implementation AWS SDK for Go v1
// uses, so expressions behave as they do in the AWS CLI.

var outputFormats = []string{"json", "text", "table"}

type outputFlags struct {
	format, query string
	compiled      *jmespath.JMESPath
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.format, "output", "json", "output format: json, text (tab-separated, as the AWS CLI's) or table")
	fs.StringVar(&o.query, "query", "", "JMESPath expression applied to the result before it is printed, as the AWS CLI's --query")
}

// check validates the flags; the error names the value and the choices.
func (o *outputFlags) check() error {
	if !slices.Contains(outputFormats, o.format) {
		return fmt.Errorf("--output %q is not a format: give one of %s", o.format, strings.Join(outputFormats, ", "))
	}
	if o.query != "" {
		if o.format == "table" {
			return errors.New("--query works with --output json or text, not table")
		}
		c, err := jmespath.Compile(o.query)
		if err != nil {
			return fmt.Errorf("--query %q is not a JMESPath expression: %v", o.query, err)
		}
		o.compiled = c
	}
	return nil
}

// print writes v in the chosen format; table is the table form of v.
func (o *outputFlags) print(w io.Writer, v any, table func(io.Writer)) int {
	if o.format == "table" {
		table(w)
		return exitOK
	}
	doc, err := toDocument(v)
	if err != nil {
		fmt.Fprintln(w, "snapexport:", err)
		return exitFailed
	}
	if o.compiled != nil {
		if doc, err = o.compiled.Search(doc); err != nil {
			return exitFailed
		}
	}
	if o.format == "text" {
		var b bytes.Buffer
		formatText(&b, doc, "", nil)
		_, _ = w.Write(b.Bytes())
		return exitOK
	}
	if o.compiled == nil {
		// The fields in the order of the API's shapes, as the AWS CLI
		// prints them, not sorted as a decoded map would be.
		return printJSON(w, v)
	}
	if doc == nil {
		return exitOK // the AWS CLI prints nothing for a query that selects nothing
	}
	return printJSON(w, doc)
}

// timestampKeys are the fields the AWS CLI prints as timestamps.
var timestampKeys = map[string]bool{"SnapshotTime": true, "TaskStartTime": true, "TaskEndTime": true, "Time": true}

// toDocument turns v into the generic JSON document JMESPath and the text
// format walk, with timestamps as the AWS CLI prints them.
func toDocument(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	return fixTimestamps(doc), nil
}

func fixTimestamps(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && timestampKeys[k] {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					x[k] = awsTimestamp(t)
				}
				continue
			}
			x[k] = fixTimestamps(e)
		}
	case []any:
		for i := range x {
			x[i] = fixTimestamps(x[i])
		}
	}
	return v
}

// awsTimestamp prints t as the AWS CLI v2 prints the millisecond timestamps
// of the RDS API (cli_timestamp_format iso8601): UTC with a +00:00 offset,
// and the fraction only when there is one.
func awsTimestamp(t time.Time) string {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05-07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

// formatText writes doc in the AWS CLI's text format: the scalar values of
// an object on one tab-separated line, in key order, led by the name of the
// list or object holding it in capitals; nested objects and lists follow on
// lines of their own. The objects of one list share the columns of every
// scalar key any of them has, so a missing value prints None.
func formatText(w *bytes.Buffer, v any, ident string, scalarKeys []string) {
	switch x := v.(type) {
	case map[string]any:
		var scalars []string
		var nested []string
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if scalarKeys == nil {
			for _, k := range keys {
				if isScalar(x[k]) {
					scalars = append(scalars, textScalar(x[k]))
				}
			}
		} else {
			for _, k := range scalarKeys {
				scalars = append(scalars, textScalar(x[k]))
			}
		}
		for _, k := range keys {
			if !isScalar(x[k]) {
				nested = append(nested, k)
			}
		}
		if len(scalars) > 0 {
			if ident != "" {
				scalars = append([]string{strings.ToUpper(ident)}, scalars...)
			}
			w.WriteString(strings.Join(scalars, "\t") + "\n")
		}
		for _, k := range nested {
			formatText(w, x[k], k, nil)
		}
	case []any:
		if len(x) == 0 {
			return
		}
		if slices.ContainsFunc(x, func(e any) bool { _, ok := e.(map[string]any); return ok }) {
			keys := map[string]bool{}
			for _, e := range x {
				if m, ok := e.(map[string]any); ok {
					for k, val := range m {
						if isScalar(val) {
							keys[k] = true
						}
					}
				}
			}
			all := make([]string, 0, len(keys))
			for k := range keys {
				all = append(all, k)
			}
			sort.Strings(all)
			for _, e := range x {
				formatText(w, e, ident, all)
			}
			return
		}
		var scalars []string
		var rest []any
		for _, e := range x {
			if isScalar(e) {
				scalars = append(scalars, textScalar(e))
			} else {
				rest = append(rest, e)
			}
		}
		if len(scalars) > 0 {
			if ident != "" {
				for _, s := range scalars {
					w.WriteString(strings.ToUpper(ident) + "\t" + s + "\n")
				}
			} else {
				w.WriteString(strings.Join(scalars, "\t") + "\n")
			}
		}
		for _, e := range rest {
			formatText(w, e, ident, nil)
		}
	default:
		w.WriteString(textScalar(x) + "\n")
	}
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// textScalar prints a value as the AWS CLI's text format does (Python's
// str: True, False, None).
func textScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// serviceError prints err as the AWS CLI prints an error the service
// returned, "An error occurred (Code) when calling the Op operation:
// message", and returns the AWS CLI's exit code for it.
func serviceError(w io.Writer, op string, err error) int {
	code := "InternalFailure"
	msg := err.Error()
	var e *snapexport.Error
	if errors.As(err, &e) && e.Fault != nil {
		code = e.Fault.Error()
	}
	msg = strings.TrimPrefix(msg, "snapexport: ")
	fmt.Fprintf(w, "\nAn error occurred (%s) when calling the %s operation: %s\n", code, op, msg)
	return exitServiceError
}
