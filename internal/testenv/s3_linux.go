package testenv

import (
	"os/exec"
	"runtime"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the child when the thread that
// started it exits, so a test binary that dies without running its TestMain
// epilogue (a timeout, a panic) takes the server with it.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// lockThread pins the calling goroutine to its thread for good: the
// parent-death signal is tied to that thread.
func lockThread() { runtime.LockOSThread() }
