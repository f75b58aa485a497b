package runner

import (
	"time"

	"golang.org/x/sys/unix"
)

// The pty relay's system calls that Linux and darwin spell differently: the termios
// ioctl, pipe2 (darwin has none) and poll (darwin's does not support devices, see
// pty_darwin.go).

// ioctlGetTermios reads a terminal's termios (tcgetattr).
const ioctlGetTermios = unix.TCGETS

// cloexecPipe makes a pipe whose ends no child inherits.
func cloexecPipe(p []int) error {
	return unix.Pipe2(p, unix.O_CLOEXEC)
}

// inputWait waits for input on fd, or for a byte on wake.
type inputWait struct {
	fd  int32
	fds []unix.PollFd
}

func newInputWait(fd, wake int) *inputWait {
	return &inputWait{fd: int32(fd), fds: []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(wake), Events: unix.POLLIN}}}
}

// wait blocks until fd has input (or its end, or an error to read) or wake is written.
// With watch false it does not look at fd, and returns after timeout at the latest.
func (w *inputWait) wait(watch bool, timeout time.Duration) (input, woken bool, err error) {
	ms := -1
	w.fds[0].Fd = w.fd
	if !watch {
		w.fds[0].Fd, ms = -1, int(timeout.Milliseconds())
	}
	w.fds[0].Revents, w.fds[1].Revents = 0, 0
	if _, err := unix.Poll(w.fds, ms); err != nil {
		return false, false, err
	}
	return w.fds[0].Revents != 0, w.fds[1].Revents != 0, nil
}
