package runner

import "time"

// macOS has no /proc to read a process's SIGTSTP handling from: the command is stopped at
// once (suspendKey).
const (
	tstpDefault = iota
	tstpIgnored
	tstpCaught
)

func tstpHandling(int) int         { return tstpDefault }
func tstpTaken(int, time.Duration) {}
