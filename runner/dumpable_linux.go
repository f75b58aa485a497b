package runner

import "golang.org/x/sys/unix"

// ProtectMemory makes av non-dumpable: /proc/PID/mem, environ and the rest of av's /proc
// become root's, ptrace (gdb -p) by another process of the same user is refused, and a
// crash writes no core file. av holds the vault passphrase, AWS keys and registry tokens.
//
// The flag is av's alone: execve resets it for an ordinary program, so the command is as
// dumpable and debuggable as it would be without av (tests/testdata/memory_private.txtar).
func ProtectMemory() {
	// Cannot fail for these arguments (prctl(2)).
	_ = unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}
