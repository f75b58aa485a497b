package runner

import (
	"os/signal"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Raise makes av die of sig, as its child did, so make and shell loops see a death by
// signal and stop. It returns only if av survived (the caller then exits 128+sig).
func Raise(sig syscall.Signal) {
	signal.Reset(sig)
	// The child already dumped core if it was going to; av's own core is noise.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	// Go's runtime keeps its own handler for SIGSEGV, SIGBUS, SIGQUIT and others even after
	// signal.Reset; put the kernel default back directly. An all-zero struct sigaction is
	// SIG_DFL with no flags and an empty mask.
	var sa [4]uint64
	_, _, _ = unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	_ = unix.Kill(unix.Getpid(), sig)
	time.Sleep(500 * time.Millisecond)
}
