package profiles

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// MFAProcessTimeout bounds an mfa_process: it may wait for a person (a code from a phone,
// a push to approve), so it gets the same bound as a wait for the vault's lock.
const MFAProcessTimeout = DefaultLockTimeout

// maxHelperOutput bounds what av reads of a helper's output: credentials, a code or a
// token are a few KiB; a helper that prints without end is stopped.
const maxHelperOutput = 1 << 20

// helperWaitDelay is how long a helper's output is read after it exited or was killed:
// a process it left behind that holds its stdout must not hold av.
const helperWaitDelay = time.Second

// HelperTimeoutError says a helper program of the profile's ran for its whole bound.
type HelperTimeoutError struct {
	What    string // "credential_process", "mfa_process", "web_identity_token_process"; "pass insert" for the vault's
	Profile string // "" for the vault's own helper (the pass backend's pass)
	Bound   time.Duration
}

func (e *HelperTimeoutError) Error() string {
	if e.Profile == "" {
		return fmt.Sprintf("the vault's %s did not finish within %s: av stopped it", e.What, e.Bound)
	}
	return fmt.Sprintf("profile %q: %s did not finish within %s: av stopped it", e.Profile, e.What, e.Bound)
}

// helper is one of the profile's helper programs (credential_process, mfa_process,
// web_identity_token_process), as run.
type helper struct {
	what, profile, process string
	bound                  time.Duration
	// noTerminal: the command has the terminal (a renewal, the credential endpoint). The
	// helper gets no stdin and no controlling terminal, so one that would prompt fails at
	// once, rather than read keys meant for the command.
	noTerminal bool
	// awaiting notes, in the fetch locks the call holds, that the fetch waits for the
	// helper, until the function it returns (chain.await); nil: nothing to note.
	awaiting func(what, profile string) (restore func())
}

// run runs the helper as aws-vault does (/bin/sh -c, av's environment, the terminal's stdin
// and stderr, its stdout read), but under the run's context: it ends with ctx (Ctrl-C,
// SIGTERM) or after its bound, killed with what it started, and a process it left behind
// holding its stdout holds av a second at most (boundProcess). aws-vault runs them with
// exec.Command and no context.
func (h helper) run(ctx context.Context) (string, error) {
	what, profile, bound := h.what, h.profile, h.bound
	if h.awaiting != nil {
		defer h.awaiting(what, profile)()
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", h.process)
	cmd.Env = os.Environ()
	cmd.Stdin, cmd.Stderr = os.Stdin, os.Stderr
	if h.noTerminal {
		cmd.Stdin = nil // /dev/null
	}
	out := &CappedWriter{Limit: maxHelperOutput, Over: cancel}
	cmd.Stdout = out
	ended := boundProcess(cmd, h.noTerminal)
	log.Printf("profile %q: running its %s", profile, what)
	err := cmd.Run()
	if ended() {
		// The key that killed it (Ctrl-C, Ctrl-\) reached av too: its run ends with it, a
		// moment later, as at av's own prompt, not with the helper's failure.
		select {
		case <-ctx.Done():
		case <-time.After(keyGrace):
		}
	}
	switch {
	case out.Exceeded:
		return "", fmt.Errorf("profile %q: its %s printed more than %d KiB: av stopped it", profile, what, maxHelperOutput>>10)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", &HelperTimeoutError{What: what, Profile: profile, Bound: bound}
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return "", fmt.Errorf("profile %q: running its %s: %w", profile, what, err)
	}
	return strings.TrimSpace(string(out.Bytes())), nil
}

// keyGrace bounds how long a helper killed by a terminal's key waits for av's own run to
// end with the same key.
const keyGrace = time.Second

// boundProcess makes cmd, made with exec.CommandContext, end as a helper must when its
// context ends: killed with what it started, and its output read a second at most after
// (a process it left behind that holds its stdout must not hold av). Call ended once cmd
// has ended; it reports whether the helper was killed by a key of av's terminal (SIGINT,
// SIGQUIT, in av's process group), which av got too.
//
// A helper that may need the terminal (a prompt, gpg's pinentry) keeps it: where av has a
// controlling terminal, the helper stays in av's process group, the shell's job, so that
// the keys reach av and the helper alike (Ctrl-C ends av's wait at once, whatever the
// helper does with it), and a helper that reads the terminal from the background stops
// with the job, and `fg` gives it the terminal. Its group is then not its own to kill: the
// helper is killed with its descendants (killTree), and if it was killed while av had the
// terminal's foreground, the terminal's settings are put back as they were (a prompt
// killed with its echo off). Without a terminal it leads a group of its own, and the group
// is killed. With noTerminal (the command has the terminal) it gets a session of its own,
// with no controlling terminal.
func boundProcess(cmd *exec.Cmd, noTerminal bool) (ended func() (keyed bool)) {
	cmd.WaitDelay = helperWaitDelay
	killGroup := func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	if noTerminal {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Cancel = killGroup
		return func() bool { return false }
	}
	tty, front := controllingTerminal()
	if tty == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = killGroup
		return func() bool { return false }
	}
	cmd.Cancel = func() error { return killTree(cmd.Process.Pid) }
	var found *term.State
	if front {
		found, _ = term.GetState(int(tty.Fd()))
	}
	// A helper killed by the key (Ctrl-C reaches its processes and av at once) leaves what
	// it started to be adopted, by av while the helper runs (adoptOrphans), so that av can
	// still find and kill them.
	orphans := adoptOrphans()
	return func() bool {
		defer tty.Close()
		ps := cmd.ProcessState
		var ws syscall.WaitStatus
		if ps != nil {
			ws, _ = ps.Sys().(syscall.WaitStatus)
		}
		// Killed (by the key, or by av at its bound or the run's end), not a plain failure:
		// an agent that a failing helper started is left alone, as aws-vault leaves it.
		orphans.end(ps != nil && ws.Signaled())
		if ps == nil {
			return false
		}
		if _, front := foreground(tty); found != nil && ws.Signaled() && front {
			_ = term.Restore(int(tty.Fd()), found)
		}
		return front && ws.Signaled() && (ws.Signal() == unix.SIGINT || ws.Signal() == unix.SIGQUIT)
	}
}

// controllingTerminal opens av's controlling terminal (/dev/tty, whatever its stdin is:
// `av dev -- cmd </dev/null` in a terminal still has one), and says whether av's process
// group is its foreground; nil without one.
func controllingTerminal() (tty *os.File, front bool) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	_, front = foreground(tty)
	return tty, front
}

// foreground reads the terminal's foreground process group, and whether it is av's.
func foreground(tty *os.File) (pgrp int, ours bool) {
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return pgrp, err == nil && pgrp == unix.Getpgrp()
}
