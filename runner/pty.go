package runner

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// drainLimit bounds how long av keeps copying the pty's output once the child has ended.
// Normally the pty reports its end at once; only a job the shell left behind (nohup)
// still holds it, and its output is not worth keeping av, and the user, waiting.
const drainLimit = 250 * time.Millisecond

// ptySession is the pty a session-mode child runs on, and av's side of the relay: av's
// stdin to the pty, the pty to av's stdout, and the window size.
//
// av's own terminal is raw, and its keys are relayed, only while av's job has the
// terminal's foreground: a job in the background that changed the terminal, or read it,
// would be stopped (SIGTTOU, SIGTTIN), and would take keys meant for the shell in front.
// Started with `&`, or continued with `bg`, av leaves the terminal alone and the command
// runs on, on its own pty; claim takes the terminal once the job is in front again, when
// the shell continues it (`fg` sends SIGCONT) and, since zsh's `fg` of a running job
// sends none, on the input relay's next look (foregroundPoll).
type ptySession struct {
	master *os.File
	tty    *os.File // the child's side: av closes its own copy once the child runs

	// found is av's stdin's state as av found it, if stdin is a terminal, put back exactly
	// on every way out; raw says av's terminal is raw now.
	found *term.State
	mu    sync.Mutex
	raw   bool

	stopInput  func()
	pokeInput  func()
	outputDone chan struct{}
	endOnce    sync.Once
}

// foregroundPoll is how often the input relay looks whether av's job has come to the
// terminal's foreground, while it is in the background.
const foregroundPoll = 100 * time.Millisecond

// openPTY opens a pty sized like av's terminal, makes it cmd's stdio and controlling
// terminal, and, if av's job has the terminal's foreground, puts av's own terminal in raw
// mode: every key, Ctrl-C and Ctrl-Z included, must reach the pty and the shell's own job
// control.
func openPTY(cmd *exec.Cmd) (*ptySession, error) {
	master, tty, err := openNonblocking()
	if err != nil {
		return nil, fmt.Errorf("opening a pty: %w", err)
	}
	p := &ptySession{master: master, tty: tty}
	p.resize()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// Setctty makes fd 0 (the pty) the controlling terminal of the new session.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}

	if term.IsTerminal(stdinFD) {
		fail := func(err error) (*ptySession, error) {
			master.Close()
			tty.Close()
			return nil, fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
		found, err := term.GetState(stdinFD)
		if err != nil {
			return fail(err)
		}
		p.found = found
		if inForeground(stdinFD) {
			if _, err := term.MakeRaw(stdinFD); err != nil {
				return fail(err)
			}
			p.raw = true
		}
	}
	return p, nil
}

// inForeground reports whether av's process group is the foreground group of the terminal
// fd, or fd is not av's controlling terminal (then changing it stops nobody).
func inForeground(fd int) bool {
	pg, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err != nil || pg == unix.Getpgrp()
}

// claim puts av's terminal in raw mode if av's job has its foreground, and reports whether
// av may relay its keys now: always without a terminal. A job put in the background
// while raw (kill -STOP, then bg) finds the shell's own settings on the terminal: raw is
// then only forgotten.
func (p *ptySession) claim() bool {
	if p.found == nil {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !inForeground(stdinFD) {
		p.raw = false
		return false
	}
	if !p.raw {
		if _, err := term.MakeRaw(stdinFD); err != nil {
			return false
		}
		p.raw = true
	}
	return true
}

// stdinFD and stdoutFD are used as numbers: os.Stdin.Fd() would switch a non-blocking
// stdin to blocking, and that flag is shared with the shell that started av.
const stdinFD, stdoutFD = 0, 1

// openNonblocking opens a pty whose master is non-blocking, so that reading it can be
// given a deadline. creack/pty leaves its master blocking (it calls Fd), and so must
// every ioctl on the master here: through SyscallConn, never Fd.
func openNonblocking() (master, tty *os.File, err error) {
	m, tty, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	defer m.Close()
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		tty.Close()
		return nil, nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		tty.Close()
		return nil, nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), tty, nil
}

// control runs an ioctl on f without making it blocking.
func control(f *os.File, op func(fd int) error) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	if err := sc.Control(func(fd uintptr) { opErr = op(int(fd)) }); err != nil {
		return err
	}
	return opErr
}

// resize copies av's window size to the pty; the kernel then sends SIGWINCH to the pty's
// foreground group.
func (p *ptySession) resize() {
	for _, fd := range []int{stdinFD, stdoutFD} {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			_ = control(p.master, func(m int) error { return unix.IoctlSetWinsize(m, unix.TIOCSWINSZ, ws) })
			return
		}
	}
}

// relay starts copying both ways, on goroutines that spawn starts (Supervisor.Go); the
// child has started and holds the pty's other side.
func (p *ptySession) relay(pid int, spawn func(string, func())) {
	p.tty.Close()
	p.outputDone = make(chan struct{})
	spawn("the pty's output relay", func() {
		defer close(p.outputDone)
		// Ends with EIO once nothing holds the pty's other side.
		_, _ = io.Copy(os.Stdout, p.master)
	})
	typed := func(keys []byte) { p.suspendKey(pid, keys) }
	p.stopInput, p.pokeInput = relayInput(stdinFD, p.master, p.found == nil, p.claim, typed, spawn)
}

// caughtGrace is how long a command that catches SIGTSTP has, once its handler has the
// signal, before av stops it.
const caughtGrace = 50 * time.Millisecond

// suspendKey stops the command when the keys just relayed hold the pty's suspend key
// (VSUSP, normally Ctrl-Z) and the command itself is the pty's foreground (no shell inside
// does job control). The key's SIGTSTP does not stop it: it leads the pty's session, and
// its parent, av, is in another one, so its process group is orphaned, and Linux and
// POSIX drop a stop signal's default action there. av stops the group with SIGSTOP, as
// the key would have stopped it elsewhere; job control then stops av, and the shell that
// started av shows the job stopped, as without av. A command that ignores SIGTSTP is left
// alone, as without av. One that catches it (an editor putting the terminal back) gets the
// key's SIGTSTP and runs its handler, whose own stop is then dropped: av stops it once the
// handler has taken the signal, and a moment more (caughtGrace). (Linux tells these apart
// from /proc; elsewhere av stops the command at once.)
func (p *ptySession) suspendKey(pid int, keys []byte) {
	var susp byte
	_ = control(p.master, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
		if err == nil && t.Lflag&unix.ISIG != 0 {
			susp = t.Cc[unix.VSUSP]
		}
		return err
	})
	if susp == 0 || !slices.Contains(keys, susp) || foregroundGroup(p.master, pid) != pid {
		return
	}
	switch tstpHandling(pid) {
	case tstpIgnored:
		return // as without av: the key does nothing to it
	case tstpCaught:
		// Its handler runs (an editor puts the terminal back), and its own stop is then
		// dropped: av stops it once the handler has had the signal, and a moment more.
		tstpTaken(pid, caughtGrace)
	}
	log.Printf("the suspend key, with the command alone on its pty: stopping it")
	_ = unix.Kill(-pid, unix.SIGSTOP)
}

// pause gives av's terminal back as it was found, while av is stopped.
func (p *ptySession) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.raw {
		p.raw = false
		if inForeground(stdinFD) {
			_ = term.Restore(stdinFD, p.found)
		}
	}
}

// resume takes the terminal again if av's job is continued in its foreground, and catches
// up with a resize made while av was stopped. The state saved at the start stays the one
// end puts back.
func (p *ptySession) resume() {
	// Whatever av last set, the shell that continues it may have put its own settings on
	// the terminal when av stopped (bash does, for a job stopped by kill -STOP): raw mode is
	// set again, which costs nothing if it is still on.
	p.mu.Lock()
	p.raw = false
	p.mu.Unlock()
	p.claim()
	if p.pokeInput != nil {
		p.pokeInput()
	}
	p.resize()
}

// end stops the relay, lets the child's last output through, and puts av's terminal back
// exactly as it was. It runs once, on every way out of Run.
func (p *ptySession) end() {
	p.endOnce.Do(func() {
		if p.stopInput != nil {
			p.stopInput()
		}
		if p.outputDone != nil {
			select {
			case <-p.outputDone:
			case <-time.After(drainLimit):
				if p.master.SetReadDeadline(time.Now()) == nil {
					<-p.outputDone
				}
			}
		}
		p.master.Close()
		p.tty.Close()
		p.pause()
	})
}

// relayInput copies fd to dst until stop is called, while active says it may (claim), and
// shows typed what it copied.
// It polls rather than blocking in read, so that once the child is gone no read is left
// pending that would swallow the next key the user types for the shell av returns to;
// while not active it does not look at fd at all, and asks active again when poked or
// after foregroundPoll. At the end of an input that is not a terminal it sends the pty's
// end-of-file character, as typing Ctrl-D would.
func relayInput(fd int, dst *os.File, eofIsCtrlD bool, active func() bool, typed func([]byte), spawn func(string, func())) (stop, poke func()) {
	var wake [2]int
	if err := cloexecPipe(wake[:]); err != nil {
		return func() {}, func() {}
	}
	var stopping atomic.Bool
	spawn("the pty's input relay", func() {
		defer unix.Close(wake[0])
		buf := make([]byte, 32*1024)
		w := newInputWait(fd, wake[0])
		for {
			on := active()
			input, woken, err := w.wait(on, foregroundPoll)
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return
			}
			if woken {
				_, _ = unix.Read(wake[0], buf)
				if stopping.Load() {
					return
				}
				continue
			}
			// Looked at again: the wait may have begun while av's job was in front, and a read
			// from the background would stop av (SIGTTIN) and take a key meant for the shell.
			if !input || !on || !active() {
				continue
			}
			n, err := unix.Read(fd, buf)
			switch {
			case n > 0:
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
				if typed != nil {
					typed(buf[:n])
				}
			case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EIO) && !active():
				// EIO: a read from the background with SIGTTIN ignored; the job was
				// put there between the look and the read.
			default:
				if eofIsCtrlD {
					_, _ = dst.Write([]byte{ctrlD(dst)})
				}
				return
			}
		}
	})
	var once sync.Once
	var mu sync.Mutex
	closed := false
	stop = func() {
		once.Do(func() {
			stopping.Store(true)
			mu.Lock()
			defer mu.Unlock()
			_, _ = unix.Write(wake[1], []byte{0})
			unix.Close(wake[1])
			closed = true
		})
	}
	poke = func() {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			_, _ = unix.Write(wake[1], []byte{1})
		}
	}
	return stop, poke
}

// ctrlD is the pty's end-of-file character (VEOF, normally Ctrl-D).
func ctrlD(master *os.File) byte {
	eof := byte(4)
	_ = control(master, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
		if err == nil && t.Cc[unix.VEOF] != 0 {
			eof = t.Cc[unix.VEOF]
		}
		return err
	})
	return eof
}

// foregroundGroup is the pty's foreground process group (where the terminal would send
// Ctrl-C), else the shell's own group.
func foregroundGroup(master *os.File, shell int) int {
	pg := 0
	if master != nil {
		_ = control(master, func(fd int) (err error) {
			pg, err = unix.IoctlGetInt(fd, unix.TIOCGPGRP)
			return err
		})
	}
	if pg > 0 {
		return pg
	}
	return shell
}
