package runner

// ProtectMemory does nothing on macOS. macOS has no /proc, and its way into another
// process's memory, task_for_pid, is for root and debuggers the user has allowed. Its
// remaining means, ptrace(PT_DENY_ATTACH), would be untested here (nobody can run macOS
// on these machines), and whether the flag outlives exec, reaching the command, is not
// documented: av must not change what the command inherits.
func ProtectMemory() {}
