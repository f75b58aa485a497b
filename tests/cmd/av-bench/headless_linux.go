package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes the bench the parent of every process its runs leave behind.
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_CHILD_SUBREAPER: %w", err)
	}
	return nil
}

func stopSubreaper() {
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
}

// reapOrphans kills and reaps the bench's children that it did not start: called between
// runs, when none of its own is running, these are what the last run left behind (the
// bench is their subreaper). Each is named by its pid, from /proc: SIGTERM, then SIGKILL if
// it has not exited within 2 s. A reaped process's own children are reparented to the
// bench in turn: it looks again until it finds none (at most 10 times).
func reapOrphans() ([]orphan, error) {
	var out []orphan
	for round := 0; round < 10; round++ {
		pids, err := children(os.Getpid())
		if err != nil || len(pids) == 0 {
			return out, err
		}
		for _, pid := range pids {
			o, err := reap(pid)
			if err != nil {
				return out, err
			}
			out = append(out, o)
		}
	}
	return out, fmt.Errorf("runs keep leaving processes behind: %d reaped", len(out))
}

// reap ends the bench's child pid and collects its CPU.
func reap(pid int) (orphan, error) {
	o := orphan{pid: pid, name: comm(pid)}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	deadline, killed := time.Now().Add(2*time.Second), false
	for {
		got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, &ru)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return o, fmt.Errorf("reaping %s (pid %d): %w", o.name, pid, err)
		}
		if got == pid {
			break
		}
		if time.Now().After(deadline) {
			if killed {
				return o, fmt.Errorf("%s (pid %d) did not exit after SIGKILL", o.name, pid)
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline, killed = time.Now().Add(2*time.Second), true
		}
		time.Sleep(time.Millisecond)
	}
	o.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return o, nil
}

// children lists the processes whose parent is ppid.
func children(ppid int) ([]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	var out []int
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …: comm may hold spaces and parentheses.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 2 {
			continue
		}
		if p, err := strconv.Atoi(f[1]); err == nil && p == ppid {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			out = append(out, pid)
		}
	}
	return out, nil
}

func comm(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(data))
}
