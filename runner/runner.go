// Package runner runs the child and stands between it and whoever started av: exec,
// signals, process groups and exit status. It knows nothing of AWS.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals av passes on to the child. A named list: Go's runtime uses
// SIGURG for preemption, and SIGCHLD is av's own business.
var Forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT}

// Command is what to run.
type Command struct {
	Name string   // looked up in PATH unless it contains a slash
	Args []string // arguments after the name
	Env  []string
}

// Status is how the child ended.
type Status struct {
	Code   int            // exit code, when it exited
	Signal syscall.Signal // the signal that killed it, else 0
}

// ExecError is a child that could not be started, with the exit code a shell would give.
type ExecError struct {
	Code int // 127 not found, 126 found but cannot run
	Err  error
}

func (e *ExecError) Error() string { return e.Err.Error() }
func (e *ExecError) Unwrap() error { return e.Err }

// Supervisor owns av's signal handling from start-up to exit. Before the child runs, a
// signal cancels the context (av is minting, and must clean up and stop); while it runs,
// signals go to the child; afterwards they are held until cleanup is over.
type Supervisor struct {
	sigs   chan os.Signal
	cancel context.CancelFunc

	mu       sync.Mutex
	child    *os.Process
	group    bool // the child leads its own process group: signal the group
	terminal bool // av is in the terminal's foreground group, and so is the child
	done     bool
	early    syscall.Signal
}

// Supervise starts catching the forwarded signals. Call Stop when av is about to exit.
func Supervise(parent context.Context) (context.Context, *Supervisor) {
	ctx, cancel := context.WithCancel(parent)
	s := &Supervisor{sigs: make(chan os.Signal, 8), cancel: cancel}
	signal.Notify(s.sigs, Forwarded...)
	go s.loop()
	return ctx, s
}

// Stop stops catching signals.
func (s *Supervisor) Stop() {
	signal.Stop(s.sigs)
	s.cancel()
}

// Interrupted returns the signal that stopped av before the child started, or 0.
func (s *Supervisor) Interrupted() syscall.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.early
}

func (s *Supervisor) loop() {
	for sig := range s.sigs {
		s.mu.Lock()
		ssig := sig.(syscall.Signal)
		switch {
		case s.done:
			// Cleanup is running: it must finish, so the signal waits for nothing.
		case s.child == nil:
			if s.early == 0 {
				s.early = ssig
			}
			s.cancel()
		case s.terminal && ssig != unix.SIGTERM:
			// The terminal sent SIGINT/SIGQUIT/SIGHUP to its whole foreground group,
			// the child included: sending it again would deliver it twice.
		case s.group:
			_ = unix.Kill(-s.child.Pid, ssig)
		default:
			_ = s.child.Signal(ssig)
		}
		s.mu.Unlock()
	}
}

// Run starts the child with av's stdin, stdout and stderr, relays signals and waits.
// Without a terminal the child leads its own process group, so a signal to av reaches the
// child's children too (a CI cancel stops grandchildren). In a terminal's foreground the
// child stays in av's group, which keeps the terminal: editors, pagers and Ctrl-Z work.
func (s *Supervisor) Run(c Command) (Status, error) {
	path, err := lookPath(c.Name)
	if err != nil {
		return Status{}, err
	}
	cmd := exec.Command(path, c.Args...)
	cmd.Args[0] = c.Name
	cmd.Env = c.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	terminal := inTerminalForeground()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: !terminal}

	s.mu.Lock()
	if s.early != 0 {
		s.mu.Unlock()
		return Status{}, context.Canceled
	}
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return Status{}, startError(c.Name, err)
	}
	s.child, s.group, s.terminal = cmd.Process, !terminal, terminal
	s.mu.Unlock()

	werr := cmd.Wait()
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()

	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return Status{}, fmt.Errorf("waiting for %s: %w", c.Name, werr)
	}
	if ws.Signaled() {
		return Status{Signal: ws.Signal()}, nil
	}
	return Status{Code: ws.ExitStatus()}, nil
}

// lookPath resolves name against PATH (av never changes the child's PATH), with a
// shell's exit codes.
func lookPath(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return "", &ExecError{Code: 127, Err: fmt.Errorf("command not found: %s", name)}
	default:
		return "", &ExecError{Code: 126, Err: fmt.Errorf("cannot run %s: %v", name, unwrapAll(err))}
	}
}

func startError(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &ExecError{Code: 127, Err: fmt.Errorf("command not found: %s", name)}
	}
	return &ExecError{Code: 126, Err: fmt.Errorf("cannot run %s: %v", name, unwrapAll(err))}
}

func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// inTerminalForeground reports whether av runs in its controlling terminal's foreground
// process group, where the terminal itself delivers Ctrl-C to every member.
func inTerminalForeground() bool {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return false
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
