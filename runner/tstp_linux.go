package runner

import (
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// How a process handles SIGTSTP, from /proc/PID/status.
const (
	tstpDefault = iota
	tstpIgnored
	tstpCaught
)

// tstpHandling reads pid's SIGTSTP disposition (SigIgn, SigCgt).
func tstpHandling(pid int) int {
	st := procStatus(pid)
	switch {
	case sigBit(st["SigIgn"], unix.SIGTSTP):
		return tstpIgnored
	case sigBit(st["SigCgt"], unix.SIGTSTP):
		return tstpCaught
	}
	return tstpDefault
}

// tstpTaken waits until pid has taken the SIGTSTP pending for it (its handler runs), a
// quarter of a second at most, then grace more.
func tstpTaken(pid int, grace time.Duration) {
	for end := time.Now().Add(250 * time.Millisecond); time.Now().Before(end); {
		st := procStatus(pid)
		if st == nil || !sigBit(st["SigPnd"], unix.SIGTSTP) && !sigBit(st["ShdPnd"], unix.SIGTSTP) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(grace)
}

// procStatus reads /proc/PID/status as its fields; nil if the process is gone.
func procStatus(pid int) map[string]string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// sigBit reports whether a /proc signal mask (hex) holds sig.
func sigBit(mask string, sig unix.Signal) bool {
	m, err := strconv.ParseUint(mask, 16, 64)
	return err == nil && m&(1<<(uint(sig)-1)) != 0
}
