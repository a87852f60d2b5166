package layout

import (
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/internal/fault"
)

// MaxIdentifierLength is the longest identifier accepted (the root
// package documents why 60).
const MaxIdentifierLength = 60

const identifierRules = "it must start with an ASCII letter, contain only ASCII letters, digits and hyphens, not end with a hyphen, not contain two consecutive hyphens, and be at most 60 characters long"

// ValidateIdentifier checks an ExportTaskIdentifier against RDS's rules,
// which keep it a valid key segment and file name.
func ValidateIdentifier(id string) error {
	bad := func(why string) error {
		return fault.New(fault.InvalidParameterValue, nil, "invalid ExportTaskIdentifier %q: %s; %s", id, why, identifierRules)
	}
	switch {
	case id == "":
		return fault.New(fault.InvalidParameterValue, nil, "ExportTaskIdentifier is required; %s", identifierRules)
	case len(id) > MaxIdentifierLength:
		return bad("it is " + strconv.Itoa(len(id)) + " characters long")
	case !IsLetter(id[0]):
		return bad("it does not start with a letter")
	case strings.HasSuffix(id, "-"):
		return bad("it ends with a hyphen")
	case strings.Contains(id, "--"):
		return bad("it contains two consecutive hyphens")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !IsLetter(c) && !IsDigit(c) && c != '-' {
			return bad("character " + QuoteRune(id, i) + " is not allowed")
		}
	}
	return nil
}

// ValidatePrefix checks an S3Prefix.
func ValidatePrefix(p string) error {
	if strings.Contains(p, ":") {
		return fault.New(fault.InvalidParameterValue, nil, "invalid S3Prefix %q: a prefix must not contain a colon (:)", p)
	}
	if strings.HasPrefix(p, "/") {
		return fault.New(fault.InvalidParameterValue, nil, "invalid S3Prefix %q: a prefix is relative to the bucket; remove the leading /", p)
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return fault.New(fault.InvalidParameterValue, nil, "invalid S3Prefix %q: \".\" and \"..\" path segments are not allowed", p)
		}
	}
	return nil
}

// IsLetter and IsDigit are ASCII's classes, as RDS's rules use them.
func IsLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func IsDigit(c byte) bool  { return c >= '0' && c <= '9' }

// QuoteRune names the (possibly multi-byte) character starting at byte i.
func QuoteRune(s string, i int) string {
	r := []rune(s[i:])
	if len(r) == 0 {
		return "?"
	}
	return "'" + string(r[0]) + "'"
}
