package runner

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// darwin gives av no way to put a signal's kernel default back, as raise_linux.go does:
// Apple keeps only libc stable, not raw system calls, and x/sys/unix offers no sigaction
// there. signal.Reset is the best available: after it, Go's runtime handler itself ends
// av by SIGHUP, SIGINT or SIGTERM, and SIGKILL needs no handler to go.

// defaultAction reports whether raising sig is worth trying after signal.Reset. For the
// signals below, Go's runtime handler stays in place and would answer a kill by printing
// a goroutine dump and exiting 2 ("SIGQUIT: quit"): av exits 128+sig instead, the $? a
// death by sig gives, though not a death by signal. Other signals Go's handler may just
// drop; then Raise returns after its wait and av exits 128+sig too.
func defaultAction(sig syscall.Signal) bool {
	switch sig {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGEMT,
		unix.SIGFPE, unix.SIGBUS, unix.SIGSEGV, unix.SIGSYS:
		return false
	}
	return true
}
