package runner

import (
	"os/exec"
	"syscall"
)

// macOS has no parent-death signal (start_linux.go): a command whose av was killed runs
// on. Its run directory is still not swept while it, or a process it started, lives
// (env.Dir.Lock).

func setParentDeathSignal(*syscall.SysProcAttr) {}

func start(cmd *exec.Cmd) (release func(), err error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return func() {}, nil
}
