package profiles

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxTree bounds the processes killTree walks: a helper is a handful of processes.
const maxTree = 1024

// killTree kills pid and its descendants, for a helper that shares av's process group and
// so cannot be killed by its own. Each process is stopped before its children are listed,
// so none forks behind the walk, and none is reaped (its pid reused) before the kill: a
// stopped parent does not wait. Descendants that left (a daemon's double fork) are not
// found, as they would not be in the group either.
func killTree(pid int) error {
	var all []int
	seen := map[int]bool{}
	queue := []int{pid}
	for len(queue) > 0 && len(all) < maxTree {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		_ = unix.Kill(p, unix.SIGSTOP)
		waitStopped(p)
		all = append(all, p)
		queue = append(queue, children(p)...)
	}
	for _, p := range all {
		_ = unix.Kill(p, unix.SIGKILL)
	}
	return nil
}

// waitStopped waits, a few milliseconds at most, until pid has stopped (or is gone): kill
// returns before the signal is acted on, and a fork under way would finish behind the
// listing of its children.
func waitStopped(pid int) {
	for range 50 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		// The state follows the command name's closing parenthesis.
		if i := strings.LastIndexByte(string(b), ')'); i < 0 || i+2 >= len(b) || strings.ContainsRune("TtZX", rune(b[i+2])) {
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// children lists pid's children, from each of its threads' /proc children file.
func children(pid int) []int {
	tasks, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil && c > 1 {
				out = append(out, c)
			}
		}
	}
	return out
}

// adopted is av as the child subreaper of the helpers that share its process group: a
// helper's process that outlives it (its parent died of the Ctrl-C that reached them all)
// is adopted by av, not by init, so av can still find it and kill it.
var adopted struct {
	sync.Mutex
	helpers int // helpers running with av as their subreaper
}

// orphanWatch is one helper's window of adoption.
type orphanWatch struct {
	before map[int]bool // av's children when the helper started
}

// adoptOrphans makes av the subreaper of what the helper about to start leaves behind.
func adoptOrphans() *orphanWatch {
	adopted.Lock()
	defer adopted.Unlock()
	if adopted.helpers == 0 {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	adopted.helpers++
	w := &orphanWatch{before: map[int]bool{}}
	for _, c := range children(os.Getpid()) {
		w.before[c] = true
	}
	return w
}

// end closes the window once the helper is reaped: if it was killed, the processes av
// adopted meanwhile that are still in av's session (not an agent that left it, setsid) are
// killed with their descendants, and reaped. Otherwise what the helper started (an agent
// it launched) runs on; if it ends while av runs, it stays a zombie until av ends.
func (w *orphanWatch) end(killed bool) {
	adopted.Lock()
	defer adopted.Unlock()
	if killed {
		sid, _ := unix.Getsid(0)
		for _, c := range children(os.Getpid()) {
			if s, err := unix.Getsid(c); w.before[c] || err != nil || s != sid {
				continue
			}
			_ = killTree(c)
			go func() {
				var ws unix.WaitStatus
				_, _ = unix.Wait4(c, &ws, 0, nil)
			}()
		}
	}
	adopted.helpers--
	if adopted.helpers == 0 {
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
	}
}
