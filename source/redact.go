package source

import "strings"

// RedactError hides every non-empty secret in err's message (each becomes
// "xxxxx") while errors.Is and errors.As still reach err. Drivers pass the
// errors they return through it with the connection's password: a server
// or driver message that echoes a secret (a DSN, a statement) must not
// carry it out of the source. An error whose message holds no secret is
// returned as it is.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	redacted := msg
	for _, s := range secrets {
		if s != "" {
			redacted = strings.ReplaceAll(redacted, s, "xxxxx")
		}
	}
	if redacted == msg {
		return err
	}
	return &redactedError{err: err, msg: redacted}
}

type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
