package profiles

import "golang.org/x/sys/unix"

// The termios ioctls have other names on darwin (ioctl_darwin.go).
const (
	ioctlGetTermios = unix.TCGETS // tcgetattr
	ioctlSetTermios = unix.TCSETS // tcsetattr(TCSANOW)
)
