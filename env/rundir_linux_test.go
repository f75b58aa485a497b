package env

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
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

// TestLockDir: the vault's lock directory is the user's, and does not depend on the runtime
// directory: $XDG_RUNTIME_DIR/av when XDG_RUNTIME_DIR is private, on any filesystem (the
// lock holds no secret), else /dev/shm/av-UID.
func TestLockDir(t *testing.T) {
	xdg := t.TempDir()
	os.Chmod(xdg, 0o700)
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	if got, err := LockDir(); err != nil || got != filepath.Join(xdg, "av") {
		t.Errorf("LockDir() = %s, %v; want %s/av", got, err, xdg)
	}
	os.Chmod(xdg, 0o755)
	want := "/dev/shm/av-" + strconv.Itoa(os.Getuid())
	if got, err := LockDir(); err != nil || got != want {
		t.Errorf("LockDir() with a shared XDG_RUNTIME_DIR = %s, %v; want %s", got, err, want)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got, err := LockDir(); err != nil || got != want {
		t.Errorf("LockDir() without XDG_RUNTIME_DIR = %s, %v; want %s", got, err, want)
	}
}

// TestFSName: a runtime directory on disk is refused naming its filesystem as people know
// it, never as statfs's number alone.
func TestFSName(t *testing.T) {
	for magic, want := range map[int64]string{
		0xef53:     "ext4, on disk",
		0x58465342: "xfs, on disk",
		0x9123683e: "btrfs, on disk",
		0x794c7630: "overlay (a container's filesystem), on disk",
		0x6969:     "nfs, over the network",
		0x65735546: "fuse, wherever its program keeps the files",
		0x12345678: "filesystem type 0x12345678",
	} {
		if got := fsName(magic); got != want {
			t.Errorf("fsName(%#x) = %q, want %q", magic, got, want)
		}
	}
}
