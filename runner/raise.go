package runner

import (
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Raise makes av die of sig, as its child did, so make and shell loops see a death by
// signal and stop. It returns only if av survived (the caller then exits 128+sig).
func Raise(sig syscall.Signal) {
	signal.Reset(sig)
	// The child already dumped core if it was going to; av's own core is noise.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	if !defaultAction(sig) {
		return
	}
	_ = unix.Kill(unix.Getpid(), sig)
	time.Sleep(500 * time.Millisecond)
}
