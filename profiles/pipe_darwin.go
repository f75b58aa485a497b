package profiles

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// cloexecPipe makes a pipe whose ends no child inherits. darwin has no pipe2: ForkLock,
// held as os.Pipe holds it, keeps a fork from starting between pipe and CloseOnExec.
func cloexecPipe(p []int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := unix.Pipe(p); err != nil {
		return err
	}
	unix.CloseOnExec(p[0])
	unix.CloseOnExec(p[1])
	return nil
}
