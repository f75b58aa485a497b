package runner

import (
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRoute(t *testing.T) {
	tests := []struct {
		mode     mode
		sig      syscall.Signal
		want     action
		escalate bool
	}{
		// No terminal: everything to the group, once; SIGTERM starts the grace period.
		{detached, unix.SIGINT, toGroup, false},
		{detached, unix.SIGTERM, toGroup, true},
		{detached, unix.SIGHUP, toGroup, false},
		{detached, unix.SIGQUIT, toGroup, false},
		// The terminal delivered INT, QUIT and HUP to the child itself.
		{shared, unix.SIGINT, skip, false},
		{shared, unix.SIGQUIT, skip, false},
		{shared, unix.SIGHUP, skip, false},
		{shared, unix.SIGTERM, toChild, true},
		// A pty: kill(1)'s INT and QUIT as keys would be; TERM and HUP hang up.
		{session, unix.SIGINT, toForeground, false},
		{session, unix.SIGQUIT, toForeground, false},
		{session, unix.SIGTERM, hangUp, true},
		{session, unix.SIGHUP, hangUp, true},
	}
	for _, tt := range tests {
		a, escalate := route(tt.mode, tt.sig)
		if a != tt.want || escalate != tt.escalate {
			t.Errorf("route(%v, %v) = %v, %v; want %v, %v", tt.mode, unix.SignalName(tt.sig), a, escalate, tt.want, tt.escalate)
		}
	}
}

func TestForwardedIsANamedList(t *testing.T) {
	for _, sig := range Forwarded {
		switch sig {
		case unix.SIGURG, unix.SIGCHLD, unix.SIGWINCH, unix.SIGCONT, unix.SIGTSTP:
			t.Errorf("%v must not be forwarded", sig)
		}
	}
}

func TestGroups(t *testing.T) {
	got := groups(42, 0, 42, 1, -3, 7)
	if len(got) != 2 || got[0] != 42 || got[1] != 7 {
		t.Errorf("groups = %v, want [42 7]: no duplicates, never 0, 1 (init) or negative", got)
	}
}

func TestWantPTY(t *testing.T) {
	for _, tc := range []struct {
		mode     PTYMode
		terminal bool
		want     bool
	}{
		{NoPTY, true, false},
		{NoPTY, false, false},
		{AlwaysPTY, false, true},
		{AlwaysPTY, true, true},
		{PTYIfTerminal, true, true},
		{PTYIfTerminal, false, false},
	} {
		if got := tc.mode.wantPTY(tc.terminal); got != tc.want {
			t.Errorf("mode %d, terminal %v: pty %v, want %v", tc.mode, tc.terminal, got, tc.want)
		}
	}
}
