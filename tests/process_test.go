// Script commands about the processes av leaves, or must not leave, on the machine: D-Bus
// daemons started for av, and what other processes can read of av.
package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["nodbusdaemon"] = cmdNoDBusDaemon
	scriptKeys = append(scriptKeys, "DBUS_SESSION_BUS_ADDRESS")
}

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
