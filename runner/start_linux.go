package runner

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// The command must not outlive av: if av dies (SIGKILL, a fatal signal, a crash of Go's
// runtime), nothing is left to stop the command, shred its files or report how it ended,
// and it would run on with the credentials. Linux has a parent-death signal for that.

// setParentDeathSignal has the kernel send SIGKILL to the command when av dies. SIGKILL,
// not SIGTERM: nobody is left to escalate after a grace period, and an interactive shell
// ignores SIGTERM. Its own children are not signalled; they keep the run directory
// (env.Dir.Lock) until they end. The kernel clears it when the command execs a set-user-ID
// program (sudo).
func setParentDeathSignal(a *syscall.SysProcAttr) {
	a.Pdeathsig = syscall.SIGKILL
}

// start starts cmd with the calling goroutine locked to its OS thread, and keeps it
// locked until release is called, after the command is reaped; release must be called by
// the same goroutine (Supervisor.Run does both). The parent-death signal is tied to the
// thread that forked, not to the process (golang/go#27505): Go ends an OS thread whose
// locked goroutine exits, and if that were the forking thread, the command would be
// killed while av still runs. Locked for the command's life, the thread cannot be taken
// by another goroutine that locks it and exits; unlocked at the end, it is not ended. The
// caller's own goroutine, not one started for it: a goroutine locked to a thread of its
// own is handed the processor by the scheduler at each of its turns, a thread switch each,
// about ten per run (issue 22).
func start(cmd *exec.Cmd) (release func(), err error) {
	runtime.LockOSThread()
	if err := cmd.Start(); err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return sync.OnceFunc(runtime.UnlockOSThread), nil
}
