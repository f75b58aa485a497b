package env

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Linux's defaults: XDG_RUNTIME_DIR only on tmpfs, else /dev/shm (rundir_linux.go).

func TestBaseRefusesDiskXDGRuntimeDir(t *testing.T) {
	disk, err := os.MkdirTemp(".", "xdg-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(disk)
	if err := checkMemoryFS(disk); err == nil {
		t.Skip("the test directory is on tmpfs here")
	}
	t.Setenv("XDG_RUNTIME_DIR", disk)
	_, err = Base("")
	var np *NoPrivateDirError
	if !errors.As(err, &np) || np.Override || np.NoMemoryFS || !strings.Contains(np.Reason, "is not tmpfs or ramfs") {
		t.Fatalf("Base with XDG_RUNTIME_DIR on disk = %#v, want NoPrivateDirError saying it is not tmpfs", err)
	}
	if _, err := os.Stat(filepath.Join(disk, "av")); err == nil {
		t.Error("Base created a directory on disk")
	}
}

func TestBaseDefaultsToDevShm(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	if err := checkMemoryFS("/dev/shm"); err != nil {
		t.Skipf("/dev/shm is not tmpfs here: %v", err)
	}
	got, err := Base("")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "/dev/shm/av-") {
		t.Errorf("Base() = %s, want /dev/shm/av-UID", got)
	}
}
