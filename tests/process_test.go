// Script commands about the processes av leaves, or must not leave, on the machine: D-Bus
// daemons started for av, and what other processes can read of av.
package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/sys/unix"
)

// nodbusdaemon: no dbus-daemon runs with this script's environment (its $WORK), as one
// started for av would (dbus-launch hands the daemon its caller's environment). Any found
// is killed, so that a failing run leaves none behind either.
func cmdNoDBusDaemon(ts *testscript.TestScript, neg bool, args []string) {
	mark := []byte("WORK=" + ts.Getenv("WORK") + "\x00")
	var found []int
	for _, pid := range processes() {
		comm, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
		if err != nil || string(bytes.TrimSpace(comm)) != "dbus-daemon" {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err == nil && bytes.Contains(environ, mark) {
			found = append(found, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if (len(found) == 0) == neg {
		ts.Fatalf("dbus-daemon processes with this script's environment: %v", found)
	}
}

// userdir UID: make a directory of UID's own ($USERDIR) holding a copy of $HOME and of
// av (on PATH), and point HOME, PATH, TMPDIR and AV_RUNTIME_DIR (made UID's) there, for a
// script that runs av as an unprivileged user: root may read any process's memory, and
// $WORK sits in root's private temporary directory.
func cmdUserDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		badUsage(ts, "userdir")
	}
	id, err := strconv.Atoi(args[0])
	ts.Check(err)
	dir, err := os.MkdirTemp("", "av-e2e-user-")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(dir) })
	av, err := lookPathIn("av", ts.Getenv("PATH"))
	ts.Check(err)
	ts.Check(os.Mkdir(filepath.Join(dir, "bin"), 0o755))
	data, err := os.ReadFile(av)
	ts.Check(err)
	ts.Check(os.WriteFile(filepath.Join(dir, "bin", "av"), data, 0o755))
	ts.Check(os.CopyFS(filepath.Join(dir, "home"), os.DirFS(ts.Getenv("HOME"))))
	for _, root := range []string{dir, ts.Getenv("AV_RUNTIME_DIR")} {
		ts.Check(filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, id, id)
		}))
	}
	ts.Setenv("USERDIR", dir)
	ts.Setenv("HOME", filepath.Join(dir, "home"))
	ts.Setenv("TMPDIR", dir)
	ts.Setenv("PATH", filepath.Join(dir, "bin")+string(os.PathListSeparator)+ts.Getenv("PATH"))
}

// sigpid SIGNAL FILE: send SIGNAL (SIGABRT, …) to the process whose pid FILE holds.
func cmdSigPID(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "sigpid")
	}
	sig := unix.SignalNum(args[0])
	if sig == 0 {
		ts.Fatalf("unknown signal %s", args[0])
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[1])))
	ts.Check(err)
	ts.Check(unix.Kill(pid, sig))
}

// waitgone FILE: wait (up to a minute, a safety net) until the process whose pid FILE
// holds has ended. A Go program crashing with GOTRACEBACK=crash takes seconds: it has each
// thread print its stack first.
func cmdWaitGone(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		badUsage(ts, "waitgone")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[0])))
	ts.Check(err)
	for deadline := time.Now().Add(time.Minute); !ended(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			ts.Fatalf("process %d (%s) is still running after a minute", pid, args[0])
		}
	}
}

// processes lists the pids in /proc.
func processes() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}
