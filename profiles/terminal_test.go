package profiles

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/creack/pty"
)

// HaveTerminal answers in a process of its own: with a controlling terminal (a pty), and
// without one (setsid, as a CI job's steps run).
func TestHaveTerminal(t *testing.T) {
	if os.Getenv("AV_TEST_HAVE_TERMINAL") == "1" {
		if HaveTerminal() {
			os.Stdout.WriteString("terminal\n")
		} else {
			os.Stdout.WriteString("none\n")
		}
		os.Exit(0)
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHaveTerminal$")
		cmd.Env = append(os.Environ(), "AV_TEST_HAVE_TERMINAL=1")
		return cmd
	}

	cmd := child()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != "none" {
		t.Errorf("without a terminal: %q, %v; want none", out, err)
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty here: %v", err)
	}
	defer ptmx.Close()
	cmd = child()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	line, err := bufio.NewReader(ptmx).ReadString('\n')
	cmd.Wait()
	if strings.TrimSpace(line) != "terminal" {
		t.Errorf("on a pty: %q, %v; want terminal", line, err)
	}
}
