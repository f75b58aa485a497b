package profiles

import "golang.org/x/sys/unix"

// killTree kills pid. macOS has no cheap list of a process's children (Linux reads /proc),
// so a helper that shares av's process group is killed alone there; what it started holds
// av a second at most (helperWaitDelay).
func killTree(pid int) error {
	return unix.Kill(pid, unix.SIGKILL)
}

// orphanWatch does nothing on macOS, which has no child subreaper: what a helper killed by
// Ctrl-C leaves behind is adopted by launchd.
type orphanWatch struct{}

func adoptOrphans() *orphanWatch { return &orphanWatch{} }
func (*orphanWatch) end(bool)    {}
