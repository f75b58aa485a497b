package profiles

import "golang.org/x/sys/unix"

// The termios ioctls have other names on Linux (ioctl_linux.go).
const (
	ioctlGetTermios = unix.TIOCGETA // tcgetattr
	ioctlSetTermios = unix.TIOCSETA // tcsetattr(TCSANOW)
)
