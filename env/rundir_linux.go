package env

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Linux has memory-backed filesystems to put the run directories on, told apart by their
// statfs magic numbers; macOS has none (rundir_darwin.go).

// Filesystem magic numbers from statfs(2).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// defaultBaseDir is $XDG_RUNTIME_DIR/av when XDG_RUNTIME_DIR is set, else
// /dev/shm/av-UID, checked as far as it can be without creating it. A set XDG_RUNTIME_DIR
// that is not a private tmpfs directory is refused, not passed over for /dev/shm: it says
// where the system keeps the user's runtime files, and one on disk is for the user to look
// at (AV_RUNTIME_DIR names another).
func defaultBaseDir(uid int) (string, BaseSource, error) {
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" {
		if err := checkPrivate(xdg, uid); err != nil {
			return "", BaseXDG, &NoPrivateDirError{Reason: fmt.Sprintf("XDG_RUNTIME_DIR %s: %v", xdg, err), Alternative: alternative(uid)}
		}
		if err := checkMemoryFS(xdg); err != nil {
			return "", BaseXDG, &NoPrivateDirError{Reason: fmt.Sprintf("XDG_RUNTIME_DIR %s: %v", xdg, err), Alternative: alternative(uid)}
		}
		return filepath.Join(xdg, "av"), BaseXDG, nil
	}
	if err := checkMemoryFS("/dev/shm"); err != nil {
		return "", BaseShm, &NoPrivateDirError{Reason: fmt.Sprintf("XDG_RUNTIME_DIR is not set and /dev/shm: %v", err), Alternative: alternative(uid)}
	}
	return filepath.Join("/dev/shm", "av-"+strconv.Itoa(uid)), BaseShm, nil
}

// userLockDir is $XDG_RUNTIME_DIR/av when XDG_RUNTIME_DIR is private (on any filesystem),
// else /dev/shm/av-UID: in the usual setups, the default base of the run directories.
func userLockDir(uid int) (string, error) {
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" && checkPrivate(xdg, uid) == nil {
		dir := filepath.Join(xdg, "av")
		if ensurePrivateDir(dir, uid) == nil {
			return dir, nil
		}
	}
	dir := filepath.Join("/dev/shm", "av-"+strconv.Itoa(uid))
	if err := ensurePrivateDir(dir, uid); err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	return dir, nil
}

// memoryFS reports whether dir is on tmpfs or ramfs.
func memoryFS(dir string) bool { return checkMemoryFS(dir) == nil }

// alternative names a private memory-backed directory for AV_RUNTIME_DIR when the default
// one is refused, for the hint: /dev/shm/av-UID if /dev/shm is tmpfs (and that directory,
// if it exists, is private), else systemd's /run/user/UID/av if that is private tmpfs;
// "" if neither.
func alternative(uid int) string {
	shm := filepath.Join("/dev/shm", "av-"+strconv.Itoa(uid))
	if checkMemoryFS("/dev/shm") == nil {
		if _, err := os.Lstat(shm); os.IsNotExist(err) || checkPrivate(shm, uid) == nil {
			return shm
		}
	}
	run := filepath.Join("/run/user", strconv.Itoa(uid))
	if checkPrivate(run, uid) == nil && checkMemoryFS(run) == nil {
		return filepath.Join(run, "av")
	}
	return ""
}

func checkMemoryFS(dir string) error {
	var fsst unix.Statfs_t
	if err := unix.Statfs(dir, &fsst); err != nil {
		return err
	}
	if fsst.Type != tmpfsMagic && fsst.Type != ramfsMagic {
		return fmt.Errorf("is not tmpfs or ramfs: it is %s", fsName(int64(fsst.Type)))
	}
	return nil
}

// zfsMagic is OpenZFS's statfs type, which the kernel's headers (and so x/sys/unix) lack.
const zfsMagic = 0x2fc12fc1

// fsNames are the filesystems a runtime directory is found on when it is not in memory,
// named as people know them: statfs(2) gives a number, and "0xef53" tells nobody that it
// is their ext4 disk. ext2, ext3 and ext4 share one number.
var fsNames = map[int64]string{
	unix.EXT4_SUPER_MAGIC:      "ext4, on disk",
	unix.XFS_SUPER_MAGIC:       "xfs, on disk",
	unix.BTRFS_SUPER_MAGIC:     "btrfs, on disk",
	zfsMagic:                   "zfs, on disk",
	unix.F2FS_SUPER_MAGIC:      "f2fs, on disk",
	unix.BCACHEFS_SUPER_MAGIC:  "bcachefs, on disk",
	unix.MSDOS_SUPER_MAGIC:     "vfat, on disk",
	unix.EXFAT_SUPER_MAGIC:     "exfat, on disk",
	unix.ECRYPTFS_SUPER_MAGIC:  "ecryptfs, on disk",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay (a container's filesystem), on disk",
	unix.NFS_SUPER_MAGIC:       "nfs, over the network",
	unix.CIFS_SUPER_MAGIC:      "cifs, over the network",
	unix.SMB2_SUPER_MAGIC:      "smb, over the network",
	unix.CEPH_SUPER_MAGIC:      "ceph, over the network",
	unix.V9FS_MAGIC:            "9p (a virtual machine's or WSL's share), on the host's disk",
	unix.FUSE_SUPER_MAGIC:      "fuse, wherever its program keeps the files",
}

// fsName names a statfs type for a person: "ext4, on disk"; a type it does not know by
// its number.
func fsName(magic int64) string {
	if name, ok := fsNames[magic]; ok {
		return name
	}
	return fmt.Sprintf("filesystem type 0x%x", magic)
}
