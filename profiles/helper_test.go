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
	if out, err := runHelper(ctx, "credential_process", "p", "echo ' 123 '", time.Minute); err != nil || out != "123" {
		t.Errorf("an answer: %q, %v", out, err)
	}
	if _, err := runHelper(ctx, "credential_process", "p", "exit 3", time.Minute); err == nil {
		t.Error("a helper that failed gave no error")
	}
	if _, err := runHelper(ctx, "credential_process", "p", "yes", time.Minute); err == nil || !strings.Contains(err.Error(), "printed more than") {
		t.Errorf("a helper that prints without end: %v", err)
	}
	var te *HelperTimeoutError
	if _, err := runHelper(ctx, "mfa_process", "p", "sleep 30", 100*time.Millisecond); !errors.As(err, &te) || te.What != "mfa_process" {
		t.Errorf("a hung helper: %v, want a HelperTimeoutError", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := runHelper(cancelled, "credential_process", "p", "sleep 30", time.Minute); !errors.Is(err, context.Canceled) {
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
	if out, err := runHelper(ctx, "credential_process", "p", "sleep 3600 2>/dev/null & echo $! > "+pidFile+"; echo done", time.Minute); err != nil || out != "done" {
		t.Errorf("a helper that leaves a process: %q, %v", out, err)
	}
}
