package profiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/99designs/aws-vault/v7/prompt"
	"github.com/99designs/aws-vault/v7/vault"
	"golang.org/x/sys/unix"
)

// ttyPromptMethod names av's MFA prompt in the profile's settings (mfaPromptMethod). It
// replaces aws-vault's "terminal" method, which reads in a raw mode of its own that
// nothing can interrupt: Ctrl-C there would leave av waiting for Enter.
const ttyPromptMethod = "av-terminal"

// ErrNeedsMFA says an MFA code was needed where av may not ask for one.
var ErrNeedsMFA = errors.New("an MFA code is needed and av does not prompt while the command runs")

// promptMethods guards every use of aws-vault's table of prompt methods (prompt.Methods),
// a global map that chain.mfa writes.
var promptMethods sync.Mutex

// mfa is aws-vault's NewMfa for pc, with av's prompt and mfa_process bound to this call:
// the end of c.ctx ends the prompt, and the mfa_process (run by helper.run, bounded by
// MFAProcessTimeout, killed with the run); with c.noPrompt a prompt is ErrNeedsMFA. aws-vault
// finds a prompt by name in a global table when the Mfa is made (never later), and the Mfa
// cannot be given a function otherwise: so the call's prompt is entered under a name of
// its own for that moment only. A code given (--mfa-token) is aws-vault's, as it is.
func (c *chain) mfa(pc *vault.ProfileConfig) vault.Mfa {
	ctx := c.ctx
	var ask func(serial string) (string, error)
	switch {
	case pc.MfaToken != "":
		return vault.NewMfa(pc)
	case pc.MfaProcess != "":
		h := helper{what: "mfa_process", profile: pc.ProfileName, process: pc.MfaProcess, bound: MFAProcessTimeout, noTerminal: c.noPrompt, awaiting: c.await}
		ask = func(string) (string, error) { return h.run(ctx) }
	case c.noPrompt:
		ask = func(string) (string, error) { return "", ErrNeedsMFA }
	case pc.MfaPromptMethod == ttyPromptMethod:
		ask = func(serial string) (string, error) {
			defer c.await("MFA code", pc.ProfileName)()
			return readFromTTY(ctx, fmt.Sprintf("Enter MFA code for %s: ", serial), echoOn)
		}
	default: // a prompt AWS_VAULT_PROMPT names (zenity, osascript, ...)
		promptMethods.Lock()
		method, ok := prompt.Methods[pc.MfaPromptMethod]
		promptMethods.Unlock()
		if !ok {
			promptMethods.Lock()
			defer promptMethods.Unlock()
			return vault.NewMfa(pc)
		}
		ask = func(serial string) (string, error) {
			defer c.await("MFA code", pc.ProfileName)()
			return method(serial)
		}
	}
	const name = "av-this-call"
	promptMethods.Lock()
	defer promptMethods.Unlock()
	prompt.Methods[name] = ask
	defer delete(prompt.Methods, name)
	this := *pc
	this.MfaProcess, this.MfaPromptMethod = "", name
	return vault.NewMfa(&this)
}

type echo bool

const (
	echoOn  echo = true
	echoOff echo = false
)

// ErrNoTTY says a prompt was needed and av has no terminal to ask on.
var ErrNoTTY = errors.New("no terminal to ask on")

// HaveTerminal reports whether av has a terminal to ask on (/dev/tty, as readFromTTY
// opens it): none in CI, nor under setsid.
func HaveTerminal() bool {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// readFromTTY prompts on the terminal (/dev/tty), never on stdout: stdout belongs to the
// child. The end of ctx (Ctrl-C: av's supervisor cancels it) ends the prompt at once, and
// the terminal's settings are put back exactly on every way out.
func readFromTTY(ctx context.Context, message string, e echo) (string, error) {
	// Opened by av, the terminal is non-blocking for Go's poller, so a read deadline can
	// interrupt the read. Fd would undo that: ioctls go through SyscallConn.
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", ErrNoTTY
	}
	defer tty.Close()
	if e == echoOff {
		restore, err := noEcho(tty)
		if err != nil {
			return "", fmt.Errorf("turning off the terminal's echo: %w", err)
		}
		defer restore()
	}
	fmt.Fprint(tty, message)
	stop := context.AfterFunc(ctx, func() { _ = tty.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := readLine(tty)
	if e == echoOff || ctx.Err() != nil {
		// Enter was not echoed, or Ctrl-C was: the next line starts on its own.
		fmt.Fprintln(tty)
	}
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err != nil {
		return "", err
	}
	return line, nil
}

// readLine reads one line in the terminal's canonical mode, without its line ending.
func readLine(r io.Reader) (string, error) {
	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := r.Read(buf)
		line = append(line, buf[:n]...)
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			return string(bytes.TrimRight(line[:i], "\r")), nil
		}
		if err == io.EOF && len(line) > 0 {
			return string(bytes.TrimRight(line, "\r")), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// noEcho turns the terminal's echo off, keeping line editing and Ctrl-C, as
// golang.org/x/term's ReadPassword does, and returns how to put it back.
func noEcho(tty *os.File) (restore func(), err error) {
	sc, err := tty.SyscallConn()
	if err != nil {
		return nil, err
	}
	var saved *unix.Termios
	var opErr error
	err = sc.Control(func(fd uintptr) {
		if saved, opErr = unix.IoctlGetTermios(int(fd), ioctlGetTermios); opErr != nil {
			return
		}
		t := *saved
		t.Lflag &^= unix.ECHO
		t.Lflag |= unix.ICANON | unix.ISIG
		t.Iflag |= unix.ICRNL
		opErr = unix.IoctlSetTermios(int(fd), ioctlSetTermios, &t)
	})
	if err == nil {
		err = opErr
	}
	if err != nil {
		return nil, err
	}
	return func() {
		_ = sc.Control(func(fd uintptr) { _ = unix.IoctlSetTermios(int(fd), ioctlSetTermios, saved) })
	}, nil
}
