package testenv

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunAtExit(t *testing.T) {
	var order []int
	AtExit(func() { order = append(order, 1) })
	AtExit(func() { order = append(order, 2) })
	RunAtExit()
	RunAtExit() // each function runs once
	assert.Equal(t, []int{2, 1}, order)
}
