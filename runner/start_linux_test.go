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

// The parent-death signal is tied to the thread that forked (golang/go#27505): Go ends
// the thread of a goroutine that exits locked to it, and a command whose forking thread
// ends is killed. start keeps its caller locked to the forking thread until release, so
// no goroutine that locks a thread and exits meanwhile can end that one.
func TestCommandOutlivesTheThreadThatStartedIt(t *testing.T) {
	gate := filepath.Join(t.TempDir(), "gate")
	cmd := exec.Command("sh", "-c", `while [ ! -e "$1" ]; do sleep 0.01; done`, "sh", gate)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	setParentDeathSignal(cmd.SysProcAttr)

	type started struct {
		err error
		tid int
	}
	ch, proceed, waited := make(chan started), make(chan struct{}), make(chan error)
	go func() {
		release, err := start(cmd)
		ch <- started{err, unix.Gettid()}
		if err != nil {
			return
		}
		defer release()
		<-proceed // parked, as Run is between its steps: its thread free, were it not locked
		waited <- cmd.Wait()
	}()
	s := <-ch
	if s.err != nil {
		t.Fatal(s.err)
	}
	// Goroutines that lock a thread and exit end their threads (not the main thread,
	// which Go never ends): none may be the starter's.
	ended := 0
	for i := 0; i < 200 && ended < 8; i++ {
		tid := make(chan int)
		go func() {
			runtime.LockOSThread()
			tid <- unix.Gettid()
		}()
		id := <-tid
		if id == s.tid {
			t.Fatalf("a goroutine ran on thread %d, the command's starter, while the command runs", id)
		}
		if id != unix.Getpid() {
			ended++
		}
	}
	if ended == 0 {
		t.Fatal("no thread ended: the test proves nothing")
	}
	close(proceed)
	task := filepath.Join("/proc/self/task", strconv.Itoa(s.tid))
	if _, err := os.Stat(task); err != nil {
		t.Fatalf("the starter's thread %d: %v", s.tid, err)
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("the command ended with %v, want a clean exit: its parent-death signal came with its starter's thread", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the command did not end") // a safety net only
	}
}
