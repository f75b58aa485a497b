package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The parent-death signal is tied to the thread that forked (golang/go#27505): a command
// started from a goroutine whose OS thread then ends must not be killed while av runs.
func TestCommandOutlivesTheThreadThatStartedIt(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	cmd := exec.Command("sh", "-c", `while [ ! -e "$1" ]; do sleep 0.01; done`, "sh", gate)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	setParentDeathSignal(cmd.SysProcAttr)

	type started struct {
		release func()
		err     error
		tid     int
	}
	ch := make(chan started)
	var s started
	for s.tid == 0 {
		go func() {
			// A goroutine that exits locked ends its thread, unless that is the main
			// thread, which Go never ends: then try again on another.
			runtime.LockOSThread()
			if unix.Gettid() == unix.Getpid() {
				runtime.UnlockOSThread()
				ch <- started{}
				return
			}
			release, err := start(cmd)
			ch <- started{release, err, unix.Gettid()}
		}()
		s = <-ch
	}
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer s.release()
	// Safety net only: the thread ends as soon as its goroutine has.
	task := filepath.Join("/proc/self/task", strconv.Itoa(s.tid))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(task); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d did not end", s.tid)
		}
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the command ended with %v, want a clean exit: its parent-death signal came with its starter's thread", err)
	}
}
