// Script commands for what needs a terminal or process groups: a script drives a real pty
// as a user at a keyboard would (pty), and checks that processes are gone (gone).
package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// setupTerminal gives each script a terminal, opened on first use and closed at its end.
func setupTerminal(e *testscript.Env) error {
	t := &terminal{}
	e.Values[terminalKey{}] = t
	e.Defer(t.close)
	return nil
}

// Safety nets only: a script waits for what it expects, and fails if it never comes.
const (
	expectLimit = 30 * time.Second
	waitLimit   = 60 * time.Second
)

type terminalKey struct{}

// terminal is a script's outer terminal: a pty whose master the script drives as a user's
// keyboard and screen would, and whose other side is the controlling terminal of the
// program `pty start` runs, in the terminal's foreground.
type terminal struct {
	mu      sync.Mutex
	master  *os.File
	tty     *os.File
	out     []byte // everything the terminal showed
	started int    // out[:started] was shown before the last pty start
	matched int    // out[:matched] was consumed by expect
	cmd     *exec.Cmd
	waited  bool
}

// pty SUBCOMMAND ARGS: drive the script's terminal.
//
//	pty start CMD [ARGS...]  run CMD as session leader with the terminal as controlling terminal
//	pty send TEXT            type TEXT (Go escapes: \r, \x03 for Ctrl-C, \x1a for Ctrl-Z)
//	pty sendline TEXT        type TEXT and Enter
//	pty expect REGEXP        wait until the output since the last match matches REGEXP
//	pty resize ROWS COLS     resize the terminal, as a user resizing the window
//	pty stty FILE            save `stty -g` of the terminal in FILE
//	pty signal SIG           send SIG (e.g. TERM) to the program
//	pty wait WANT            wait for the program to end, WANT as for `status`
//	[!] pty shown REGEXP     the terminal has shown REGEXP since the last start (after pty wait)
//
// The terminal opens at 24x80 on first use; OUTER_TTY is set to its name.
func cmdPTY(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: pty start|send|sendline|expect|resize|stty|signal|wait|shown ...")
	}
	t := ts.Value(terminalKey{}).(*terminal)
	t.open(ts)
	if neg && args[0] != "shown" {
		ts.Fatalf("unsupported: ! pty %s", args[0])
	}
	switch sub, rest := args[0], args[1:]; sub {
	case "start":
		t.start(ts, rest)
	case "send", "sendline":
		if len(rest) != 1 {
			ts.Fatalf("usage: pty %s TEXT", sub)
		}
		text, err := strconv.Unquote(`"` + strings.ReplaceAll(rest[0], `"`, `\"`) + `"`)
		ts.Check(err)
		if sub == "sendline" {
			text += "\r"
		}
		_, err = t.master.Write([]byte(text))
		ts.Check(err)
	case "expect":
		if len(rest) != 1 {
			ts.Fatalf("usage: pty expect REGEXP")
		}
		t.expect(ts, regexp.MustCompile(rest[0]))
	case "shown":
		re := regexp.MustCompile(rest[0])
		t.mu.Lock()
		found := re.Match(t.out[t.started:])
		t.mu.Unlock()
		if found == neg {
			ts.Fatalf("the terminal %s %q", map[bool]string{true: "showed", false: "did not show"}[found], rest[0])
		}
	case "resize":
		if len(rest) != 2 {
			ts.Fatalf("usage: pty resize ROWS COLS")
		}
		rows, err := strconv.Atoi(rest[0])
		ts.Check(err)
		cols, err := strconv.Atoi(rest[1])
		ts.Check(err)
		ts.Check(pty.Setsize(t.master, &pty.Winsize{Rows: uint16(rows), Cols: uint16(cols)}))
	case "stty":
		if len(rest) != 1 {
			ts.Fatalf("usage: pty stty FILE")
		}
		cmd := exec.Command("stty", "-g")
		cmd.Stdin = t.tty
		out, err := cmd.Output()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(rest[0]), out, 0o644))
	case "signal":
		if len(rest) != 1 || t.cmd == nil {
			ts.Fatalf("usage: pty signal SIG, after pty start")
		}
		sig := unix.SignalNum("SIG" + strings.TrimPrefix(rest[0], "SIG"))
		if sig == 0 {
			ts.Fatalf("unknown signal %s", rest[0])
		}
		ts.Check(t.cmd.Process.Signal(sig))
	case "wait":
		if len(rest) != 1 || t.cmd == nil {
			ts.Fatalf("usage: pty wait WANT, after pty start")
		}
		t.wait(ts, rest[0])
	default:
		ts.Fatalf("unknown pty subcommand %q", sub)
	}
}

func (t *terminal) open(ts *testscript.TestScript) {
	if t.master != nil {
		return
	}
	master, tty, err := pty.Open()
	ts.Check(err)
	ts.Check(pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}))
	t.master, t.tty = master, tty
	ts.Setenv("OUTER_TTY", tty.Name())
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			t.mu.Lock()
			t.out = append(t.out, buf[:n]...)
			t.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

func (t *terminal) start(ts *testscript.TestScript, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: pty start CMD [ARGS...]")
	}
	if t.cmd != nil && !t.waited {
		ts.Fatalf("pty start: the previous program is still running (pty wait for it)")
	}
	cmd := scriptCommand(ts, args)
	if ts.Getenv("TERM") == "" {
		cmd.Env = append(cmd.Env, "TERM=dumb")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = t.tty, t.tty, t.tty
	// As a terminal emulator starts a shell: a new session, this terminal its controlling
	// terminal, the program in its foreground process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	t.mu.Lock()
	t.started, t.matched = len(t.out), len(t.out)
	t.mu.Unlock()
	ts.Check(cmd.Start())
	t.cmd, t.waited = cmd, false
}

func (t *terminal) expect(ts *testscript.TestScript, re *regexp.Regexp) {
	for deadline := time.Now().Add(expectLimit); ; time.Sleep(10 * time.Millisecond) {
		t.mu.Lock()
		loc := re.FindIndex(t.out[t.matched:])
		if loc != nil {
			t.matched += loc[1]
		}
		seen := string(t.out[t.matched:])
		t.mu.Unlock()
		if loc != nil {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("the terminal did not show %q; since the last match it showed:\n%s", re, seen)
		}
	}
}

// wait waits for the program, then for everything it wrote to reach the output: a line
// written to the terminal after the program ended comes out after all it wrote.
func (t *terminal) wait(ts *testscript.TestScript, want string) {
	done := make(chan error, 1)
	go func() { done <- t.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(waitLimit):
		_ = unix.Kill(-t.cmd.Process.Pid, unix.SIGKILL)
		<-done
		ts.Fatalf("%s did not end within %v", t.cmd.Args[0], waitLimit)
	}
	t.waited = true
	mark := fmt.Sprintf("--- %s ended ---", t.cmd.Args[0])
	_, err := t.tty.Write([]byte("\r\n" + mark + "\r\n"))
	ts.Check(err)
	t.expect(ts, regexp.MustCompile(regexp.QuoteMeta(mark)))
	t.mu.Lock()
	ts.Logf("terminal:\n%s", bytes.ReplaceAll(t.out, []byte("\r"), nil))
	t.mu.Unlock()

	ws := t.cmd.ProcessState.Sys().(syscall.WaitStatus)
	got := strconv.Itoa(ws.ExitStatus())
	if ws.Signaled() {
		got = "killed:" + unixSignalName(ws.Signal())
	}
	if got != want {
		ts.Fatalf("%s ended with %s, want %s", t.cmd.Args[0], got, want)
	}
}

func (t *terminal) close() {
	if t.cmd != nil && !t.waited {
		_ = unix.Kill(-t.cmd.Process.Pid, unix.SIGKILL)
		_ = t.cmd.Wait()
	}
	if t.master != nil {
		t.master.Close()
		t.tty.Close()
	}
}

// gone FILE...: the processes whose pids the files hold have ended (or are zombies left
// for init to reap): nothing av started outlives it.
func cmdGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		badUsage(ts, "gone")
	}
	for _, f := range args {
		pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(f)))
		ts.Check(err)
		// A process killed a moment ago may still be on its way out.
		for deadline := time.Now().Add(10 * time.Second); !ended(pid); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				_ = unix.Kill(pid, unix.SIGKILL)
				ts.Fatalf("process %d (%s) is still running", pid, f)
			}
		}
	}
}

func ended(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	// pid (comm) STATE ...: comm may hold spaces and parentheses, so look after the last ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
