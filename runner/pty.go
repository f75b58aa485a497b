package runner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
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
type ptySession struct {
	master *os.File
	tty    *os.File // the child's side: av closes its own copy once the child runs

	// rawFD is av's stdin while it is a terminal in raw mode, else -1; found is that
	// terminal's state as av found it, put back exactly on every way out.
	rawFD int
	found *term.State

	stopInput  func()
	outputDone chan struct{}
	endOnce    sync.Once
}

// openPTY opens a pty sized like av's terminal, makes it cmd's stdio and controlling
// terminal, and puts av's own terminal in raw mode: every key, Ctrl-C and Ctrl-Z
// included, must reach the pty and the shell's own job control.
func openPTY(cmd *exec.Cmd) (*ptySession, error) {
	master, tty, err := openNonblocking()
	if err != nil {
		return nil, fmt.Errorf("opening a pty: %w", err)
	}
	p := &ptySession{master: master, tty: tty, rawFD: -1}
	p.resize()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// Setctty makes fd 0 (the pty) the controlling terminal of the new session.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}

	if term.IsTerminal(stdinFD) {
		found, err := term.MakeRaw(stdinFD)
		if err != nil {
			master.Close()
			tty.Close()
			return nil, fmt.Errorf("putting the terminal in raw mode: %w", err)
		}
		p.rawFD, p.found = stdinFD, found
	}
	return p, nil
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
func (p *ptySession) relay(spawn func(string, func())) {
	p.tty.Close()
	p.outputDone = make(chan struct{})
	spawn("the pty's output relay", func() {
		defer close(p.outputDone)
		// Ends with EIO once nothing holds the pty's other side.
		_, _ = io.Copy(os.Stdout, p.master)
	})
	p.stopInput = relayInput(stdinFD, p.master, p.rawFD < 0, spawn)
}

// pause gives av's terminal back as it was found, while av is stopped.
func (p *ptySession) pause() {
	if p.found != nil {
		_ = term.Restore(p.rawFD, p.found)
	}
}

// resume puts av's terminal in raw mode again, and catches up with a resize made while
// av was stopped. The state saved at the start stays the one end puts back.
func (p *ptySession) resume() {
	if p.found != nil {
		_, _ = term.MakeRaw(p.rawFD)
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

// relayInput copies fd to dst until stop is called. It polls rather than blocking in
// read, so that once the child is gone no read is left pending that would swallow the
// next key the user types for the shell av returns to. At the end of an input that is
// not a terminal it sends the pty's end-of-file character, as typing Ctrl-D would.
func relayInput(fd int, dst *os.File, eofIsCtrlD bool, spawn func(string, func())) (stop func()) {
	var wake [2]int
	if err := cloexecPipe(wake[:]); err != nil {
		return func() {}
	}
	spawn("the pty's input relay", func() {
		defer unix.Close(wake[0])
		buf := make([]byte, 32*1024)
		w := newInputWait(fd, wake[0])
		for {
			input, woken, err := w.wait()
			if err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				return
			}
			if woken {
				return
			}
			if !input {
				continue
			}
			n, err := unix.Read(fd, buf)
			switch {
			case n > 0:
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			default:
				if eofIsCtrlD {
					_, _ = dst.Write([]byte{ctrlD(dst)})
				}
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			_, _ = unix.Write(wake[1], []byte{0})
			unix.Close(wake[1])
		})
	}
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
