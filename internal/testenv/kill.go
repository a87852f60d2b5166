package testenv

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
	"time"
)

// KillReady is the line a child of [RunAndKill] prints once it has done
// what it must be killed in the middle of.
const KillReady = "snapexport-testenv: ready to be killed"

// RunAndKill runs the test binary again as a child that runs only the
// test named test, with env added to the environment (the child tells
// from it that it is the child), waits for the child to print KillReady on
// its own line, and kills it with SIGKILL, so that none of its deferred
// cleanup, context callbacks or aborts run: the state a kill -9 leaves.
// The test fails when the child ends before it is ready, or is not ready
// within a minute.
func RunAndKill(t testing.TB, test string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == KillReady {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			t.Fatal("testenv: the child ended before it was ready to be killed")
		}
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("testenv: the child was not ready to be killed within a minute")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// AwaitKill is the end of a child of [RunAndKill]: it prints KillReady and
// waits to be killed.
func AwaitKill() {
	os.Stdout.WriteString(KillReady + "\n")
	time.Sleep(10 * time.Minute) // killed long before
	os.Exit(1)
}
