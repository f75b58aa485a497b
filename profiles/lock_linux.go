package profiles

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Linux lists every flock and its holder in /proc/locks and names processes in
// /proc/PID/comm; darwin has neither (lock_darwin.go).

// systemLockHolders returns the pids holding a flock on f's file, from /proc/locks; ok is
// false if f cannot even be stat'ed.
func systemLockHolders(f *os.File) (pids []int, ok bool) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, false
	}
	// /proc/locks names a file as MAJOR:MINOR:INODE, the device numbers in hex.
	id := fmt.Sprintf("%02x:%02x:%d", unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	if pl, err := os.Open("/proc/locks"); err == nil {
		s := bufio.NewScanner(pl)
		for s.Scan() {
			fields := strings.Fields(s.Text())
			// "1: FLOCK  ADVISORY  WRITE 1234 00:1a:5678 0 EOF"; waiters have "->" after the index.
			if len(fields) < 6 || fields[1] == "->" || fields[1] != "FLOCK" || fields[5] != id {
				continue
			}
			if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 && pid != os.Getpid() {
				pids = append(pids, pid)
			}
		}
		pl.Close()
	}
	return pids, true
}

// processName is pid's command name; ok is false if the system does not say.
func processName(pid int) (name string, ok bool) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(comm)), true
}
