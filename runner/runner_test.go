package runner

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func run(t *testing.T, name string, args ...string) (Status, error) {
	t.Helper()
	_, sup := Supervise(context.Background(), Options{})
	defer sup.Stop()
	return sup.Run(Command{Name: name, Args: args, Env: os.Environ()})
}

func TestExitCodesPassThrough(t *testing.T) {
	for _, code := range []string{"0", "1", "2", "7", "255"} {
		st, err := run(t, "sh", "-c", "exit "+code)
		if err != nil || st.Signal != 0 || strconv.Itoa(st.Code) != code {
			t.Errorf("exit %s: got %+v, %v", code, st, err)
		}
	}
}

func TestDeathBySignalIsReported(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, syscall.SIGSEGV} {
		st, err := run(t, "sh", "-c", "kill -"+strconv.Itoa(int(sig))+" $$")
		if err != nil || st.Signal != sig {
			t.Errorf("kill -%d: got %+v, %v", sig, st, err)
		}
	}
}

func TestCommandsThatCannotRun(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script")
	os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644)
	for _, tt := range []struct {
		name string
		code int
	}{
		{"no-such-command-for-av-tests", 127},
		{filepath.Join(dir, "missing"), 127},
		{notExec, 126},
		{dir, 126},
	} {
		_, err := run(t, tt.name)
		var ee *ExecError
		if !errors.As(err, &ee) || ee.Code != tt.code {
			t.Errorf("%s: got %v, want exit code %d", tt.name, err, tt.code)
		}
	}
}

func TestSignalBeforeTheChildCancels(t *testing.T) {
	ctx, sup := Supervise(context.Background(), Options{})
	defer sup.Stop()
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	<-ctx.Done()
	if sup.Interrupted() != syscall.SIGTERM {
		t.Errorf("Interrupted() = %v, want SIGTERM", sup.Interrupted())
	}
	if _, err := sup.Run(Command{Name: "true", Env: os.Environ()}); err == nil {
		t.Error("a command started after av was told to stop")
	}
}

func TestSignalsAfterCloseAreDropped(t *testing.T) {
	ctx, sup := Supervise(context.Background(), Options{Catch: CatchSignals()})
	defer sup.Stop() // hand them back for the tests that follow
	if st, err := sup.Run(Command{Name: "true", Env: os.Environ()}); err != nil || st.Code != 0 {
		t.Fatalf("true: %+v, %v", st, err)
	}
	sup.Close()
	<-ctx.Done()
	// Were SIGTERM not still caught, it would end this test binary.
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	time.Sleep(50 * time.Millisecond)
	if sig := sup.Interrupted(); sig != 0 {
		t.Errorf("Interrupted() = %v after the child ended, want none", sig)
	}
}

func TestGraceKillsWhatIgnoresSIGTERM(t *testing.T) {
	_, sup := Supervise(context.Background(), Options{Grace: 50 * time.Millisecond})
	defer sup.Stop()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	go func() {
		// Safety net only: the child says when its trap is set.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(ready); err == nil {
				syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
		}
	}()
	st, err := sup.Run(Command{Name: "sh", Args: []string{"-c", `trap "" TERM; touch "$1"; while :; do sleep 0.05; done`, "sh", ready}, Env: os.Environ()})
	if err != nil || st.Signal != syscall.SIGKILL {
		t.Errorf("got %+v, %v; want a death by SIGKILL", st, err)
	}
}

func TestStoppedChildIsSeen(t *testing.T) {
	cmd := exec.Command("sh", "-c", "kill -STOP $$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	jc := &jobControl{pid: cmd.Process.Pid, child: openChild(cmd.Process.Pid)}
	defer jc.child.close()
	// Safety net only: the child stops itself at once.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if sig, ok := jc.stopped(); ok {
			if sig != syscall.SIGSTOP {
				t.Errorf("stopped by %v, want SIGSTOP", sig)
			}
			// Asking consumes nothing (WNOWAIT on Linux): asking again gives the same answer.
			if _, ok := jc.stopped(); !ok {
				t.Error("the stop report was consumed")
			}
			syscall.Kill(cmd.Process.Pid, syscall.SIGCONT)
			return
		}
	}
	t.Fatal("the stopped child was not seen")
}

// waitFor waits for the line the child writes to p, and returns it ("" if it never came).
// Safety net only: the child writes it at once.
func waitFor(p string) string {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if data, err := os.ReadFile(p); err == nil && len(data) > 0 && data[len(data)-1] == '\n' {
			return string(data[:len(data)-1])
		}
	}
	return ""
}

// A panic in a goroutine of av's (Go) while the command runs stops the command as SIGTERM
// would, and Run returns the panic once the command has ended.
func TestPanicInAGoroutineStopsTheCommand(t *testing.T) {
	_, sup := Supervise(context.Background(), Options{Grace: time.Minute})
	defer sup.Stop()
	pidFile := filepath.Join(t.TempDir(), "pid")
	sup.Go("a test goroutine", func() {
		if waitFor(pidFile) == "" {
			panic("the command never started")
		}
		panic("boom")
	})
	_, err := sup.Run(Command{Name: "sh", Args: []string{"-c", `echo $$ > "$1"; exec sleep 60`, "sh", pidFile}, Env: os.Environ()})
	var p *PanicError
	if !errors.As(err, &p) || p.Where != "a test goroutine" || p.Value != "boom" {
		t.Fatalf("Run returned %v, want the goroutine's panic", err)
	}
	if sup.Failure() != err {
		t.Errorf("Failure() = %v, want %v", sup.Failure(), err)
	}
}

// A panic on the goroutine running Run, the command started: Run kills the command and
// waits for it before the panic goes on, so the caller's deferred cleanup runs after it.
func TestPanicAfterStartKillsTheCommand(t *testing.T) {
	_, sup := Supervise(context.Background(), Options{})
	defer sup.Stop()
	pidFile := filepath.Join(t.TempDir(), "pid")
	var pid int
	testOnlyAfterStart = func() {
		pid, _ = strconv.Atoi(waitFor(pidFile))
		panic("boom")
	}
	defer func() { testOnlyAfterStart = nil }()
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic to go on", r)
			}
		}()
		sup.Run(Command{Name: "sh", Args: []string{"-c", `echo $$ > "$1"; exec sleep 60`, "sh", pidFile}, Env: os.Environ()})
	}()
	// Reaped, not only killed: the pid names no process.
	if pid == 0 {
		t.Fatal("the command never started")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the command (pid %d) is still there: %v", pid, err)
	}
}
