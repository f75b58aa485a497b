package profiles

import (
	"os"

	"golang.org/x/sys/unix"
)

// darwin has no /proc: nothing there lists a flock's holders, and process names come
// from the process table (sysctl kern.proc.pid, as ps does). Linux reads /proc
// (lock_linux.go).

// systemLockHolders cannot name a flock's holders on darwin: lockHolders falls back to
// the pid the exclusive holder wrote into the file.
func systemLockHolders(*os.File) (pids []int, ok bool) {
	return nil, true
}

// processName is pid's command name (at most 16 bytes); ok is false if the system does not
// say.
func processName(pid int) (name string, ok bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || int(kp.Proc.P_pid) != pid {
		return "", false
	}
	return unix.ByteSliceToString(kp.Proc.P_comm[:]), true
}
