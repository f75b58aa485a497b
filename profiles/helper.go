package profiles

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
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
// holding its stdout holds av a second at most. aws-vault runs them with exec.Command and
// no context.
//
// A helper that may need the terminal (a prompt, gpg's pinentry) keeps it, as a shell
// gives its foreground job the terminal (see terminalHelper): where av is in its
// terminal's foreground, the helper leads a process group of its own, made the terminal's
// foreground, so that the whole group can be killed and the keys reach it alone; once it
// ends, av takes the terminal back. Where av has a terminal but is in the background, the
// helper stays in av's group, the shell's job, so that one that reads the terminal stops
// with the job and `fg` gives it the terminal (only the helper is killed then). Without a
// terminal it leads a group of its own.
func (h helper) run(ctx context.Context) (string, error) {
	what, profile, bound := h.what, h.profile, h.bound
	runCtx := ctx
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
	cmd.WaitDelay = helperWaitDelay
	killGroup := func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	var fg *terminalHelper
	switch tty, front := controllingTerminal(); {
	case h.noTerminal:
		cmd.Stdin = nil // /dev/null
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Cancel = killGroup
	case tty != nil && front:
		fg = newTerminalHelper(tty)
		defer fg.close()
		cmd.SysProcAttr = &syscall.SysProcAttr{Foreground: true, Ctty: fg.fd}
		cmd.Cancel = killGroup
	case tty != nil:
		tty.Close()
	default:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = killGroup
	}
	boundProcess(cmd, h.noTerminal)
	log.Printf("profile %q: running its %s", profile, what)
	err := cmd.Run()
	if fg != nil {
		if err := fg.end(cmd); err != nil {
			return "", err
		}
		if sig := fg.keyed(cmd); sig != 0 {
			// The terminal sent Ctrl-C (or Ctrl-\) to the helper's group alone: it is
			// av's too, as it would be at av's own prompt.
			return "", raiseOwn(runCtx, sig)
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

// boundProcess makes cmd, made with exec.CommandContext, end as a helper must when its
// context ends: killed with what it started, and its output read a second at most after
// (a process it left behind that holds its stdout must not hold av). For a helper that
// needs no terminal of av's to itself (the pass backend's gpg asks through gpg-agent's
// pinentry): where av has a terminal, it stays in av's process group, the shell's job
// (only it is killed); elsewhere it leads a group of its own, and the whole group is
// killed. With noTerminal it gets a session of its own, with no controlling terminal.
func boundProcess(cmd *exec.Cmd, noTerminal bool) {
	cmd.WaitDelay = helperWaitDelay
	tty, _ := controllingTerminal()
	if tty != nil {
		tty.Close()
	}
	switch {
	case noTerminal:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	case tty == nil:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
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
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return tty, err == nil && pgrp == unix.Getpgrp()
}

// terminalHelper is the terminal a helper is given as its foreground, and what av needs to
// take it back.
type terminalHelper struct {
	tty   *os.File
	fd    int
	found *term.State // the terminal's settings before the helper ran
}

func newTerminalHelper(tty *os.File) *terminalHelper {
	t := &terminalHelper{tty: tty, fd: int(tty.Fd())}
	t.found, _ = term.GetState(t.fd)
	return t
}

func (t *terminalHelper) close() { t.tty.Close() }

// end takes the terminal back once the helper has ended, as a shell does from its
// foreground job: what the helper left in its group is killed if it did not end well (a
// process that ignores SIGINT, a prompt's child), av's group is made the foreground again
// (SIGTTOU ignored meanwhile: av is in the background until then), and the terminal's
// settings are put back if the helper was killed (a prompt with its echo off).
func (t *terminalHelper) end(cmd *exec.Cmd) error {
	ps := cmd.ProcessState
	if ps == nil {
		return nil
	}
	ws, _ := ps.Sys().(syscall.WaitStatus)
	if !ps.Success() {
		_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
	}
	signal.Ignore(unix.SIGTTOU)
	err := unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, unix.Getpgrp())
	if ws.Signaled() && t.found != nil {
		_ = term.Restore(t.fd, t.found)
	}
	signal.Reset(unix.SIGTTOU)
	if err != nil {
		return fmt.Errorf("taking the terminal back from a helper: %w", err)
	}
	return nil
}

// keyed returns the signal that killed the helper if the terminal sends it from a key
// (SIGINT, SIGQUIT), else 0.
func (t *terminalHelper) keyed(cmd *exec.Cmd) syscall.Signal {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	if sig := ws.Signal(); sig == unix.SIGINT || sig == unix.SIGQUIT {
		return sig
	}
	return 0
}

// raiseOwn sends sig to av itself, as the key would have had av been in the foreground,
// and returns once ctx has ended with it (the run's supervisor catches it and ends ctx),
// or after a moment if nothing catches it.
func raiseOwn(ctx context.Context, sig syscall.Signal) error {
	_ = unix.Kill(unix.Getpid(), sig)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
		return fmt.Errorf("interrupted (%s)", unix.SignalName(sig))
	}
}
