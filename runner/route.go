package runner

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// mode is how the child stands towards av's terminal. It is decided once, when the child
// starts, and says where each forwarded signal goes.
type mode int

const (
	// detached: av is not in a terminal's foreground (CI, make -j in the background). The
	// child leads its own process group, so a signal can reach its children too.
	detached mode = iota
	// foreground: av is in its terminal's foreground group and the child shares it, so
	// editors, pagers, `read` and Ctrl-Z work as without av.
	foreground
	// session: the child leads a new session on a pty that av relays (an interactive shell).
	session
)

func (m mode) String() string {
	switch m {
	case foreground:
		return "terminal foreground"
	case session:
		return "pty session"
	}
	return "own process group"
}

// action is what av does with a signal it caught while the child runs.
type action int

const (
	// skip: the terminal has already sent the same signal to the child's group, av's own
	// included; sending it again would deliver it twice.
	skip action = iota
	// toChild: the child alone; it shares av's process group, which av must not signal.
	toChild
	// toGroup: the child's whole process group, grandchildren included.
	toGroup
	// toForeground: the pty's foreground process group, as if typed on the terminal.
	toForeground
	// hangUp: what a closed terminal window does: SIGHUP and SIGCONT to the shell and
	// to the pty's foreground group. An interactive shell ignores SIGTERM, not SIGHUP.
	hangUp
)

// route says where a forwarded signal goes in each mode, and whether it starts the grace
// period after which av sends SIGKILL.
func route(m mode, sig syscall.Signal) (a action, escalate bool) {
	switch m {
	case foreground:
		if sig == unix.SIGTERM {
			// Only SIGTERM comes from someone other than the terminal (kill, a
			// supervisor): the terminal sends SIGINT, SIGQUIT and SIGHUP to the group.
			return toChild, true
		}
		return skip, false
	case session:
		// av's terminal is in raw mode: Ctrl-C and Ctrl-\ reach the pty as bytes, so
		// these signals came from kill(1) and are passed on as the keys would be.
		switch sig {
		case unix.SIGTERM, unix.SIGHUP:
			return hangUp, true
		}
		return toForeground, false
	}
	return toGroup, sig == unix.SIGTERM
}
