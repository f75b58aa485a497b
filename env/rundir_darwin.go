package env

// macOS has no tmpfs or ramfs, and no /dev/shm: the only memory-backed filesystem is a
// RAM disk the user makes (hdiutil), which av cannot tell from a disk. Linux has a default
// (rundir_linux.go).

// defaultBase refuses: without a directory the user names, there is nowhere av may write
// tokens, and it never falls back to disk on its own.
func defaultBase(int) (string, error) {
	return "", &NoPrivateDirError{Reason: "macOS has no tmpfs", NoMemoryFS: true}
}
