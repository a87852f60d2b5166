package s3sink

import (
	"fmt"
	"net/netip"
	"strings"
)

// ValidateBucketName checks name against S3's naming rules for general
// purpose buckets, so a mistyped name is refused at once with the rule it
// breaks, not later by the store as "no such bucket", a signing error or
// "no AWS region":
//
//   - 3 to 63 characters;
//   - only lowercase letters, digits, dots (.) and hyphens (-);
//   - beginning and ending with a letter or digit;
//   - no two adjacent dots;
//   - not an IPv4 address (192.168.5.4);
//   - not beginning with xn--, sthree- or amzn-s3-demo-, and not ending with
//     -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 (names S3 reserves).
//
// S3-compatible stores (MinIO, Ceph RGW, versitygw) apply the same rules.
// Buckets created in us-east-1 before March 2018 could break them; such a
// bucket cannot be used.
func ValidateBucketName(name string) error {
	bad := func(rule string) error {
		return fmt.Errorf("s3sink: invalid bucket name %q: %s (S3's bucket naming rules)", name, rule)
	}
	switch {
	case name == "":
		return bad("the name is empty")
	case len(name) < 3 || len(name) > 63:
		return bad(fmt.Sprintf("a bucket name has 3 to 63 characters, this one %d", len(name)))
	}
	for i, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			what := fmt.Sprintf("%q", r)
			if r >= 'A' && r <= 'Z' {
				what += " (uppercase)"
			}
			return bad(fmt.Sprintf("a bucket name has only lowercase letters, digits, dots and hyphens; %s at byte %d is none of them", what, i))
		}
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return bad("a bucket name begins and ends with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("a bucket name has no two adjacent dots")
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return bad("a bucket name is not formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad(fmt.Sprintf("names beginning with %q are reserved", p))
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad(fmt.Sprintf("names ending with %q are reserved", s))
		}
	}
	return nil
}
