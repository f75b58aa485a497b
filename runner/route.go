package runner

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// mode is how the child stands towards av's terminal. It is decided once, when the child
// starts, and says where each forwarded signal goes.
type mode int

const (
	// detached: av has no controlling terminal (CI, a service, setsid). The child leads
	// its own process group, so a signal can reach its children too.
	detached mode = iota
	// shared: av has a controlling terminal, and the child shares av's process group,
	// which is the shell's job: whether the job is in the terminal's foreground or in the
	// background (`&`), editors, pagers, `read`, Ctrl-Z, `fg` and `bg` work as without av.
	shared
	// session: the child leads a new session on a pty that av relays (an interactive shell).
	session
)

func (m mode) String() string {
	switch m {
	case shared:
		return "av's process group"
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
	case shared:
		if sig == unix.SIGTERM {
			// Only SIGTERM comes from someone other than the terminal (kill, a
			// supervisor): the terminal sends SIGINT, SIGQUIT and SIGHUP to the
			// foreground group, and a shell's kill %job and hang-up to the job's group.
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
