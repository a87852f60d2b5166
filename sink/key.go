package sink

import (
	"fmt"
	"strings"
)

// ValidateKey checks that key is a clean relative "/"-separated path, the
// rule every driver applies (see [Sink.NewWriter]).
func ValidateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if strings.HasPrefix(key, "/") {
		return fmt.Errorf("%w %q: keys are relative, remove the leading /", ErrInvalidKey, key)
	}
	if strings.ContainsAny(key, "\\\x00") {
		return fmt.Errorf("%w %q: keys must not contain a backslash or NUL", ErrInvalidKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		switch seg {
		case "", ".", "..":
			return fmt.Errorf("%w %q: empty, \".\" and \"..\" path segments are not allowed", ErrInvalidKey, key)
		}
	}
	return nil
}
