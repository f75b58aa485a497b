package runner

import "golang.org/x/sys/unix"

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
type inputWait struct{ fds []unix.PollFd }

func newInputWait(fd, wake int) *inputWait {
	return &inputWait{fds: []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(wake), Events: unix.POLLIN}}}
}

// wait blocks until fd has input (or its end, or an error to read) or wake is written.
func (w *inputWait) wait() (input, woken bool, err error) {
	if _, err := unix.Poll(w.fds, -1); err != nil {
		return false, false, err
	}
	return w.fds[0].Revents != 0, w.fds[1].Revents != 0, nil
}
