package snapexport

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRedactorKeepsTheError: a redacted *Error keeps its fault.
func TestRedactorKeepsTheError(t *testing.T) {
	r := newRedactor("postgres://u:abc123@h/db")
	err := r.Error(newError(ErrSourceNotFound, errors.New("no abc123"), "cannot open %q", "postgres://u:abc123@h/db"))
	assert.Equal(t, `snapexport: cannot open "postgres://u:xxxxx@h/db": no xxxxx`, err.Error())
	assert.ErrorIs(t, err, ErrSourceNotFound)
}
