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
// holding its stdout holds av a second at most. aws-vault runs them with exec.Command and
// no context.
//
// A helper that may need the terminal (a prompt, gpg's pinentry) keeps it: where av is in
// the terminal's foreground, the helper stays in av's process group (and only it is
// killed); elsewhere it leads a group of its own, and the whole group is killed.
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
	out := &CappedWriter{Limit: maxHelperOutput, Over: cancel}
	cmd.Stdout = out
	if h.noTerminal {
		cmd.Stdin = nil // /dev/null
	}
	boundProcess(cmd, h.noTerminal)
	log.Printf("profile %q: running its %s", profile, what)
	err := cmd.Run()
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

// boundProcess makes cmd, made with exec.CommandContext, end as a helper must when its
// context ends: killed with what it started, and its output read a second at most after
// (a process it left behind that holds its stdout must not hold av). A helper that may
// need the terminal (a prompt, gpg's pinentry) keeps it: where av is in the terminal's
// foreground, it stays in av's process group (and only it is killed); elsewhere it leads
// a group of its own, and the whole group is killed. With noTerminal it gets a session of
// its own, with no controlling terminal.
func boundProcess(cmd *exec.Cmd, noTerminal bool) {
	cmd.WaitDelay = helperWaitDelay
	switch {
	case noTerminal:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	case !inTerminalForeground():
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	}
}

// inTerminalForeground reports whether av has a controlling terminal (/dev/tty, whatever
// its stdin is: `av dev -- cmd </dev/null` in a terminal still has one) whose foreground
// process group is av's: a helper that reads it (`read code </dev/tty`) must stay there.
func inTerminalForeground() bool {
	tty, err := os.OpenFile("/dev/tty", os.O_RDONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer tty.Close()
	sc, err := tty.SyscallConn()
	if err != nil {
		return false
	}
	pgrp, ioErr := 0, error(nil)
	if err := sc.Control(func(fd uintptr) { pgrp, ioErr = unix.IoctlGetInt(int(fd), unix.TIOCGPGRP) }); err != nil {
		return false
	}
	return ioErr == nil && pgrp == unix.Getpgrp()
}
