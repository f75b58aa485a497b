package env

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// macOS has no tmpfs or ramfs, and no /dev/shm: the only memory-backed filesystem is a
// RAM disk the user makes (hdiutil), which av cannot tell from a disk. Linux has a default
// (rundir_linux.go).

// userLockDir is $TMPDIR/av-UID: macOS gives each user a private TMPDIR (under
// /var/folders); /tmp/av-UID without one, checked as private all the same.
func userLockDir(uid int) (string, error) {
	dir := filepath.Join(os.TempDir(), "av-"+strconv.Itoa(uid))
	if err := ensurePrivateDir(dir, uid); err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	return dir, nil
}

// defaultBaseDir refuses: without a directory the user names, there is nowhere av may
// write tokens, and it never falls back to disk on its own.
func defaultBaseDir(int) (string, BaseSource, error) {
	return "", BaseNone, &NoPrivateDirError{Reason: "macOS has no tmpfs", NoMemoryFS: true}
}

// memoryFS is false: macOS cannot tell a RAM disk from a disk.
func memoryFS(string) bool { return false }
