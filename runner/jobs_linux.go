package runner

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux can ask whether the child is stopped with waitid(WNOWAIT) on a pidfd, which
// neither reaps it nor names another process once it is reaped. darwin has neither
// (see jobs_darwin.go).

// child is the running child as waitid names it.
type child struct {
	pid    int
	pidfd  int // -1 if pidfd_open is not available: then the pid is used
	waitID int // unix.P_PIDFD or unix.P_PID
}

// noChild is the handle before the child starts.
var noChild = child{pidfd: -1}

func openChild(pid int) child {
	c := child{pid: pid, pidfd: -1, waitID: unix.P_PID}
	// A pidfd cannot name another process once the child is reaped, as a pid could.
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		c.pidfd, c.waitID = fd, unix.P_PIDFD
	}
	return c
}

func (c *child) close() {
	if c.pidfd >= 0 {
		unix.Close(c.pidfd)
	}
}

// stopped reports whether the child is stopped now, and by which signal. WNOWAIT leaves
// the report in place and WEXITED is not asked for: reaping is exec.Cmd.Wait's job.
func (c *child) stopped() (syscall.Signal, bool) {
	id := c.pid
	if c.waitID == unix.P_PIDFD {
		id = c.pidfd
	}
	var info unix.Siginfo
	if err := unix.Waitid(c.waitID, id, &info, unix.WSTOPPED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		return 0, false
	}
	pid, status := sigchldFields(&info)
	if pid == 0 || info.Code != cldStopped {
		return 0, false // WNOHANG: nothing to report
	}
	return syscall.Signal(status), true
}

// cldStopped is si_code for a child stopped by a signal (CLD_STOPPED).
const cldStopped = 5

// sigchldFields reads si_pid and si_status from a siginfo_t filled by waitid. The union
// after si_signo, si_errno and si_code is aligned to a pointer: si_pid, si_uid, si_status.
// x/sys/unix leaves the union opaque, hence the hand-computed offsets.
func sigchldFields(info *unix.Siginfo) (pid, status int32) {
	const ptr = unsafe.Sizeof(uintptr(0))
	off := (3*4 + ptr - 1) &^ (ptr - 1)
	base := unsafe.Pointer(info)
	pid = *(*int32)(unsafe.Add(base, off))
	status = *(*int32)(unsafe.Add(base, off+8))
	return pid, status
}
