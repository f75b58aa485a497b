package runner

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Linux lets av put a signal's kernel default back with a raw rt_sigaction, which
// darwin does not (see raise_darwin.go).

// defaultAction puts the kernel's default action for sig back, so that raising it kills
// av. It reports whether raising sig is worth trying.
//
// Go's runtime keeps its own handler for SIGSEGV, SIGBUS, SIGQUIT and others even after
// signal.Reset; put the kernel default back directly. An all-zero struct sigaction is
// SIG_DFL with no flags and an empty mask.
func defaultAction(sig syscall.Signal) bool {
	var sa [4]uint64
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	return true
}
