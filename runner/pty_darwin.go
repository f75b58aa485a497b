package runner

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The pty relay's system calls that Linux and darwin spell differently: the termios
// ioctl, pipe2, and the wait for input, where darwin's poll(2) "does not support
// devices" (its man page, BUGS): it reports POLLNVAL for /dev/tty and /dev/null, so the
// wait uses select(2), which does.

// ioctlGetTermios reads a terminal's termios (tcgetattr).
const ioctlGetTermios = unix.TIOCGETA

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

// inputWait waits for input on fd, or for a byte on wake.
type inputWait struct{ fd, wake int }

func newInputWait(fd, wake int) *inputWait { return &inputWait{fd: fd, wake: wake} }

// wait blocks until fd has input (or its end, or an error to read) or wake is written.
// With watch false it does not look at fd, and returns after timeout at the latest.
// select's sets hold descriptors below FD_SETSIZE (1024) only; av's stdin and a pipe made
// early in its run are far below it, and one above ends the relay as a failed poll would.
func (w *inputWait) wait(watch bool, timeout time.Duration) (input, woken bool, err error) {
	if w.fd >= unix.FD_SETSIZE || w.wake >= unix.FD_SETSIZE {
		return false, false, unix.EINVAL
	}
	var r unix.FdSet
	var tv *unix.Timeval
	if watch {
		r.Set(w.fd)
	} else {
		t := unix.NsecToTimeval(timeout.Nanoseconds())
		tv = &t
	}
	r.Set(w.wake)
	if _, err := unix.Select(max(w.fd, w.wake)+1, &r, nil, nil, tv); err != nil {
		return false, false, err
	}
	return watch && r.IsSet(w.fd), r.IsSet(w.wake), nil
}
