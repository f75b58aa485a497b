package env

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// macOS has no default (rundir_darwin.go): not even a private XDG_RUNTIME_DIR will do.

func TestBaseRefusesWithoutOverride(t *testing.T) {
	xdg := t.TempDir()
	os.Chmod(xdg, 0o700)
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	_, err := Base("")
	var np *NoPrivateDirError
	if !errors.As(err, &np) || !np.NoMemoryFS {
		t.Fatalf("Base(\"\") = %v, want a NoPrivateDirError with NoMemoryFS", err)
	}
	if _, err := os.Stat(filepath.Join(xdg, "av")); err == nil {
		t.Error("Base created a directory on disk")
	}
}
