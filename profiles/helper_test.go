package profiles

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunHelper: a helper's output, its failure, its bound and the run's end.
func TestRunHelper(t *testing.T) {
	ctx := context.Background()
	if out, err := (helper{what: "credential_process", profile: "p", process: "echo ' 123 '", bound: time.Minute}).run(ctx); err != nil || out != "123" {
		t.Errorf("an answer: %q, %v", out, err)
	}
	if _, err := (helper{what: "credential_process", profile: "p", process: "exit 3", bound: time.Minute}).run(ctx); err == nil {
		t.Error("a helper that failed gave no error")
	}
	if _, err := (helper{what: "credential_process", profile: "p", process: "yes", bound: time.Minute}).run(ctx); err == nil || !strings.Contains(err.Error(), "printed more than") {
		t.Errorf("a helper that prints without end: %v", err)
	}
	var te *HelperTimeoutError
	if _, err := (helper{what: "mfa_process", profile: "p", process: "sleep 30", bound: 100 * time.Millisecond}).run(ctx); !errors.As(err, &te) || te.What != "mfa_process" {
		t.Errorf("a hung helper: %v, want a HelperTimeoutError", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := (helper{what: "credential_process", profile: "p", process: "sleep 30", bound: time.Minute}).run(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("a helper when the run ends: %v, want context.Canceled", err)
	}
	// A process left behind holding stdout (for longer than go test waits): the answer,
	// without waiting for it.
	pidFile := filepath.Join(t.TempDir(), "left.pid")
	t.Cleanup(func() {
		if pid, err := os.ReadFile(pidFile); err == nil {
			exec.Command("kill", strings.TrimSpace(string(pid))).Run()
		}
	})
	if out, err := (helper{what: "credential_process", profile: "p", process: "sleep 3600 2>/dev/null & echo $! > " + pidFile + "; echo done", bound: time.Minute}).run(ctx); err != nil || out != "done" {
		t.Errorf("a helper that leaves a process: %q, %v", out, err)
	}
}
