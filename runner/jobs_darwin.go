package runner

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// darwin has no pidfd, and x/sys/unix offers no waitid there, so av asks the kernel's
// process table instead (sysctl kern.proc.pid, as ps does) whether the child is stopped.
// It never calls wait4: even with WNOHANG it could reap a child that just exited, and
// exec.Cmd.Wait would then fail to report its status.

// child is the running child as the process table names it.
type child struct{ pid int }

// noChild is the handle before the child starts.
var noChild = child{}

func openChild(pid int) child { return child{pid: pid} }

func (c *child) close() {}

// sstop is p_stat for a stopped process (SSTOP in <sys/proc.h>); x/sys/unix does not
// define it.
const sstop = 4

// stopped reports whether the child is stopped now, and by which signal. xnu records the
// stop signal in p_xstat as it sets p_stat to SSTOP (kern_sig.c); if that does not hold a
// stop signal (a debugger's stop), SIGTSTP stands in for it.
//
// Once the child is reaped its pid may name another process: only one whose parent is av
// counts, and av starts no other child while this one runs.
func (c *child) stopped() (syscall.Signal, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", c.pid)
	if err != nil || int(kp.Proc.P_pid) != c.pid || int(kp.Eproc.Ppid) != os.Getpid() || kp.Proc.P_stat != sstop {
		return 0, false
	}
	switch sig := syscall.Signal(kp.Proc.P_xstat); sig {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return sig, true
	}
	return unix.SIGTSTP, true
}
