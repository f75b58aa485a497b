package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
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
