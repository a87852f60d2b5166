package snapexport

import (
	"strconv"
	"strings"

	"github.com/snapexport/snapexport/internal/exportonly"
)

const identifierRules = "it must start with an ASCII letter, contain only ASCII letters, digits and hyphens, not end with a hyphen, not contain two consecutive hyphens, and be at most 60 characters long"

func validateIdentifier(id string) error {
	bad := func(why string) error {
		return newError(ErrInvalidParameterValue, nil, "invalid ExportTaskIdentifier %q: %s; %s", id, why, identifierRules)
	}
	switch {
	case id == "":
		return newError(ErrInvalidParameterValue, nil, "ExportTaskIdentifier is required; %s", identifierRules)
	case len(id) > MaxExportTaskIdentifierLength:
		return bad("it is " + itoa(len(id)) + " characters long")
	case !exportonly.IsLetter(id[0]):
		return bad("it does not start with a letter")
	case strings.HasSuffix(id, "-"):
		return bad("it ends with a hyphen")
	case strings.Contains(id, "--"):
		return bad("it contains two consecutive hyphens")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !exportonly.IsLetter(c) && !exportonly.IsDigit(c) && c != '-' {
			return bad("character " + exportonly.QuoteRune(id, i) + " is not allowed")
		}
	}
	return nil
}

func validatePrefix(p string) error {
	if strings.Contains(p, ":") {
		return newError(ErrInvalidParameterValue, nil, "invalid S3Prefix %q: a prefix must not contain a colon (:)", p)
	}
	if strings.HasPrefix(p, "/") {
		return newError(ErrInvalidParameterValue, nil, "invalid S3Prefix %q: a prefix is relative to the bucket; remove the leading /", p)
	}
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		if seg == "." || seg == ".." {
			return newError(ErrInvalidParameterValue, nil, "invalid S3Prefix %q: \".\" and \"..\" path segments are not allowed", p)
		}
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
