//go:build !linux

package testenv

import "os/exec"

// setParentDeathSignal has no portable equivalent outside Linux: there the
// server is stopped only by RunWithS3.
func setParentDeathSignal(*exec.Cmd) {}

func lockThread() {}
