package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// Forwarded are the signals av passes on to the child, unless av inherited one as ignored
// (notifyUnlessIgnored). A named list: Go's runtime uses SIGURG for preemption, and SIGCHLD
// is av's own business.
var Forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT}

// DefaultGrace is how long a child has to exit after SIGTERM before av kills it: long
// enough for a build tool to stop its workers, shorter than CI runners wait for av.
const DefaultGrace = 5 * time.Second

// Options shape how av supervises the child.
type Options struct {
	// Grace is how long the child has to exit after av forwards SIGTERM to it (or hangs
	// up its pty) before av sends SIGKILL to what is left of it. Zero: never.
	Grace time.Duration
	// Catch is the signals caught since CatchSignals; nil: Supervise starts catching them.
	Catch *Catch
}

// Catch is the forwarded signals being caught from early on. Asking Go's runtime to catch
// a signal is a round trip to its signal thread, about 0.3 ms for the list here: a whole
// tenth of a warm run. CatchSignals does it while av parses its command line.
type Catch struct {
	sigs  chan os.Signal
	ready chan struct{} // closed once every forwarded signal is caught
}

// CatchSignals starts catching the forwarded signals. Those that arrive before Supervise
// wait for it, which takes them for signals before the child (it stops av).
func CatchSignals() *Catch {
	c := &Catch{sigs: make(chan os.Signal, 8), ready: make(chan struct{})}
	go func() {
		sigs := Forwarded
		if signal.Ignored(unix.SIGINT) {
			// A shell starts a background job with SIGINT and SIGQUIT ignored, together.
			// Go's runtime takes SIGQUIT over even when it was ignored (signal.Ignored
			// cannot tell), so SIGINT tells for both: SIGQUIT is ignored again, for av and
			// across exec for the command.
			signal.Ignore(unix.SIGQUIT)
			sigs = slices.DeleteFunc(slices.Clone(sigs), func(s os.Signal) bool { return s == unix.SIGQUIT })
		}
		notifyUnlessIgnored(c.sigs, sigs...)
		close(c.ready)
	}()
	return c
}

// Stop stops catching, for a run that supervises no child.
func (c *Catch) Stop() {
	if c == nil {
		return
	}
	<-c.ready
	signal.Stop(c.sigs)
}

// Command is what to run.
type Command struct {
	Name string   // looked up in PATH unless it contains a slash
	Args []string // arguments after the name
	Env  []string
	// ExtraFiles are handed to the command from descriptor 3 on, and so to the processes it
	// starts unless they close them (the run directory's lock: see env.Dir.Lock).
	ExtraFiles []*os.File
	// PTY says whether the child runs on a new pseudo-terminal as its session leader, with
	// av relaying between that pty and its own stdin and stdout: what an interactive shell
	// needs.
	PTY PTYMode
}

// PTYMode says when a child gets a pty of its own.
type PTYMode int

const (
	// NoPTY: the child shares av's stdin, stdout and stderr.
	NoPTY PTYMode = iota
	// AlwaysPTY: a pty even when av's stdin is no terminal (--pty).
	AlwaysPTY
	// PTYIfTerminal: a pty when av's stdin is a terminal (the interactive shell); with
	// input from a pipe or a file the child reads that, as `sh < script` would.
	PTYIfTerminal
)

// wantPTY decides the mode for a stdin that is, or is not, a terminal.
func (m PTYMode) wantPTY(stdinIsTerminal bool) bool {
	return m == AlwaysPTY || (m == PTYIfTerminal && stdinIsTerminal)
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

// PanicError is a panic in av, turned into av's failure: a bug.
type PanicError struct {
	Where string // what was running ("the token renewal"); "" for av's main path
	Value any    // what was passed to panic
	Stack []byte // the panicking goroutine's stack
}

func (e *PanicError) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("internal error: %v", e.Value)
	}
	return fmt.Sprintf("internal error in %s: %v", e.Where, e.Value)
}

// Supervisor owns av's signal handling from start-up to exit. Before the child runs, a
// signal cancels the context (av is minting or prompting, and must clean up and stop);
// while it runs, signals go to the child as route says; afterwards they are held until
// cleanup is over.
type Supervisor struct {
	opts   Options
	sigs   chan os.Signal
	cancel context.CancelFunc

	mu      sync.Mutex
	job     *job // the running child
	done    bool // the child has ended
	early   syscall.Signal
	failure error // a panic in one of av's goroutines (Go): the run ends with it
}

// job is the running child and what it takes to signal it.
type job struct {
	mode  mode
	pid   int      // also the child's process group, except in shared mode
	pty   *os.File // session mode: the pty's master, to find its foreground group
	fg    int      // session mode: the pty's foreground group when av hung up
	grace *time.Timer
}

// Supervise takes over the forwarded signals (caught by opts.Catch, or from now). Call
// Close as av exits, or Stop to hand the signals back and go on.
func Supervise(parent context.Context, opts Options) (context.Context, *Supervisor) {
	c := opts.Catch
	if c == nil {
		c = CatchSignals()
	}
	<-c.ready
	ctx, cancel := context.WithCancel(parent)
	s := &Supervisor{opts: opts, sigs: c.sigs, cancel: cancel}
	s.Go("the signal relay", s.loop)
	return ctx, s
}

// Go runs fn on a goroutine of its own. A panic in it must not leave the command running
// with credentials under a broken av, nor kill av on the spot, its files left behind: it
// becomes the run's failure (Failure). Before the command starts, that cancels the
// context; while it runs, the command is stopped as SIGTERM to av would stop it (SIGKILL
// after the grace period) and Run returns the failure once the command has ended.
func (s *Supervisor) Go(where string, fn func()) {
	go func() {
		defer s.recoverPanic(where)
		fn()
	}()
}

// recoverPanic, deferred, turns a panic into the run's failure.
func (s *Supervisor) recoverPanic(where string) {
	r := recover()
	if r == nil {
		return
	}
	err := &PanicError{Where: where, Value: r, Stack: debug.Stack()}
	log.Printf("%v\n%s", err, err.Stack)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		s.failure = err
	}
	switch {
	case s.done:
	case s.job == nil:
		s.cancel()
	default:
		log.Printf("stopping the command")
		s.forward(s.job, unix.SIGTERM)
	}
}

// Failure is the panic that ended the run (Go), or nil.
func (s *Supervisor) Failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure
}

// Stop stops catching signals.
func (s *Supervisor) Stop() {
	signal.Stop(s.sigs)
	s.cancel()
}

// Close ends supervision as av exits. The signals stay caught, and are dropped, until the
// process ends: handing them back (Stop) costs a round trip to Go's signal thread each,
// about 0.3 ms in all, and would let a signal in that last moment end av with a status
// other than the child's.
func (s *Supervisor) Close() {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
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
		s.handle(sig.(syscall.Signal))
	}
}

func (s *Supervisor) handle(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.done:
		// Cleanup is running: it must finish, so the signal waits for nothing.
	case s.job == nil:
		if s.early == 0 {
			s.early = sig
		}
		s.cancel()
	default:
		s.forward(s.job, sig)
	}
}

// forward passes sig on as route says, and starts the grace period if it is a request
// to terminate. Called with s.mu held.
func (s *Supervisor) forward(j *job, sig syscall.Signal) {
	a, escalate := route(j.mode, sig)
	name := unix.SignalName(sig)
	switch a {
	case skip:
		log.Printf("%s: the terminal delivered it to the command already", name)
	case toChild:
		log.Printf("%s: forwarded to the command", name)
		_ = unix.Kill(j.pid, sig)
	case toGroup:
		log.Printf("%s: forwarded to the command's process group", name)
		_ = unix.Kill(-j.pid, sig)
	case toForeground:
		log.Printf("%s: forwarded to the pty's foreground process group", name)
		_ = unix.Kill(-foregroundGroup(j.pty, j.pid), sig)
	case hangUp:
		log.Printf("%s: hanging up the pty", name)
		if j.fg == 0 {
			j.fg = foregroundGroup(j.pty, j.pid)
		}
		for _, pg := range groups(j.pid, j.fg) {
			_ = unix.Kill(-pg, unix.SIGHUP)
			_ = unix.Kill(-pg, unix.SIGCONT) // a stopped job must wake up to die
		}
	}
	if escalate && s.opts.Grace > 0 && j.grace == nil {
		j.grace = time.AfterFunc(s.opts.Grace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.job == j && !s.done {
				log.Printf("the command outlived the %v grace period: SIGKILL", s.opts.Grace)
				j.kill()
			}
		})
	}
}

// kill sends SIGKILL to the child and, where av may, to its process group.
func (j *job) kill() {
	switch j.mode {
	case shared:
		// The child shares av's group: the group is not av's to kill.
		_ = unix.Kill(j.pid, unix.SIGKILL)
	case session:
		for _, pg := range groups(j.pid, j.fg, foregroundGroup(j.pty, j.pid)) {
			_ = unix.Kill(-pg, unix.SIGKILL)
		}
	default:
		_ = unix.Kill(-j.pid, unix.SIGKILL)
	}
}

// groups lists the distinct, valid process groups among pgs.
func groups(pgs ...int) []int {
	var out []int
	seen := map[int]bool{}
	for _, pg := range pgs {
		if pg > 1 && !seen[pg] {
			seen[pg] = true
			out = append(out, pg)
		}
	}
	return out
}

// Run starts the child, relays signals (and, with PTY, the terminal) and waits.
//
// Without a controlling terminal the child leads its own process group, so a signal to av
// reaches the child's children too (a CI cancel stops grandchildren). With one, the child
// stays in av's group, the shell's job, in the foreground or not: editors, pagers, Ctrl-Z,
// fg and bg work. With PTY the child leads a session on a new pty, and av's terminal is
// raw while av's job has the terminal's foreground.
func (s *Supervisor) Run(c Command) (Status, error) {
	path, err := lookPath(c.Name)
	if err != nil {
		return Status{}, err
	}
	cmd := exec.Command(path, c.Args...)
	cmd.Args[0] = c.Name
	cmd.Env = c.Env
	// *os.File, not io.Reader/Writer: exec then hands the descriptors over as they are and
	// Wait does not wait for pipes, so a grandchild that keeps stdout open cannot hold av.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr

	j := &job{mode: detached}
	var sess *ptySession
	var found *term.State // shared mode: av's terminal as the child found it
	withTerminal, _ := terminal()
	switch {
	case c.PTY.wantPTY(term.IsTerminal(stdinFD)):
		j.mode = session
		if sess, err = openPTY(cmd); err != nil {
			return Status{}, err
		}
		defer sess.end()
		j.pty = sess.master
	case withTerminal:
		// In the background too (`av dev -- cat &`): a command in a process group of its
		// own would never be the terminal's foreground, and `fg` could not give it the
		// terminal it stopped to read.
		j.mode = shared
		found, _ = term.GetState(stdinFD)
	default:
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setParentDeathSignal(cmd.SysProcAttr)
	cmd.ExtraFiles = c.ExtraFiles

	var jc *jobControl
	if j.mode != detached {
		jc = newJobControl(sess)
		defer jc.stop()
	}

	s.mu.Lock()
	if s.early != 0 || s.failure != nil {
		s.mu.Unlock()
		return Status{}, context.Canceled
	}
	release, err := start(cmd)
	if err != nil {
		s.mu.Unlock()
		return Status{}, startError(c.Name, err)
	}
	j.pid = cmd.Process.Pid
	s.job = j
	s.mu.Unlock()
	log.Printf("started %s (pid %d, %s)", c.Name, j.pid, j.mode)

	waited := false
	defer func() {
		// A panic on this goroutine while the command runs: kill it, and wait for it, so
		// that the caller's cleanup (shredding its files) runs after it, not under it.
		if r := recover(); r != nil {
			if !waited {
				s.mu.Lock()
				j.kill()
				s.mu.Unlock()
				_ = cmd.Wait()
				release()
			}
			panic(r)
		}
	}()
	if testOnlyAfterStart != nil {
		testOnlyAfterStart()
	}

	if sess != nil {
		sess.relay(j.pid, s.Go)
	}
	if jc != nil {
		jc.watch(j.pid, s.Go)
	}

	werr := cmd.Wait()
	waited = true
	release()
	if jc != nil {
		jc.stop()
	}
	s.mu.Lock()
	s.done = true
	if j.grace != nil {
		j.grace.Stop()
	}
	failure := s.failure
	s.mu.Unlock()
	if sess != nil {
		sess.end()
	}
	if failure != nil {
		return Status{}, failure
	}

	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return Status{}, fmt.Errorf("waiting for %s: %w", c.Name, werr)
	}
	if ws.Signaled() {
		if _, front := terminal(); found != nil && front {
			// As bash does for a foreground job killed by a signal: a killed editor
			// must not leave the terminal raw. (From the background, changing the
			// terminal would stop av with SIGTTOU.)
			_ = term.Restore(stdinFD, found)
		}
		return Status{Signal: ws.Signal()}, nil
	}
	return Status{Code: ws.ExitStatus()}, nil
}

// testOnlyAfterStart, if set (by runner's tests), runs in Run right after the command
// has started: a panic there is a panic on av's main path with the command running.
var testOnlyAfterStart func()

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

// terminal reports whether av has a controlling terminal, and whether it runs in that
// terminal's foreground process group, where the terminal itself delivers Ctrl-C to every
// member.
func terminal() (has, front bool) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return false, false
	}
	defer tty.Close()
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return true, err == nil && pgrp == unix.Getpgrp()
}
