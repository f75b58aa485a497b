package runner

import (
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// jobControl keeps av and its child one job for the shell that started av. When the
// child stops (Ctrl-Z, SIGSTOP, an editor's suspend), av stops itself too, so the shell
// regains the terminal and shows the job stopped; when the shell continues av (fg, bg),
// av continues the child if it is still stopped. It runs only when there is a terminal:
// in CI nobody would continue a stopped av.
//
// In session mode it also keeps the pty's window size in step with av's terminal, and
// puts that terminal back as it was while av is stopped.
type jobControl struct {
	sigs  chan os.Signal
	done  chan struct{}
	pid   int
	child child // how to ask whether the child is stopped: jobs_linux.go, jobs_darwin.go
	sess  *ptySession

	stopOnce sync.Once
}

// newJobControl starts catching the signals job control needs. It is made before the
// child starts: a child that stops at once must not stop before av listens for SIGCHLD.
func newJobControl(sess *ptySession) *jobControl {
	jc := &jobControl{sigs: make(chan os.Signal, 8), done: make(chan struct{}), child: noChild, sess: sess}
	watched := []os.Signal{unix.SIGCHLD, unix.SIGCONT}
	if sess != nil {
		// In raw mode the terminal never sends SIGTSTP to av: only kill(1) does.
		watched = append(watched, unix.SIGWINCH, unix.SIGTSTP)
	}
	notifyUnlessIgnored(jc.sigs, watched...)
	return jc
}

// watch starts acting on those signals for the child that has just started, on a
// goroutine that spawn starts (Supervisor.Go).
func (jc *jobControl) watch(pid int, spawn func(string, func())) {
	jc.pid = pid
	jc.child = openChild(pid)
	spawn("job control", jc.loop)
}

// stop ends the watch; when it returns, nothing touches the terminal any more. It runs
// once, on every way out of Run.
func (jc *jobControl) stop() {
	jc.stopOnce.Do(func() {
		signal.Stop(jc.sigs)
		close(jc.sigs)
		if jc.pid != 0 {
			<-jc.done
		}
		jc.child.close()
	})
}

func (jc *jobControl) loop() {
	defer close(jc.done)
	for sig := range jc.sigs {
		switch sig {
		case unix.SIGCHLD:
			if stopsig, ok := jc.stopped(); ok {
				jc.suspend(stopsig)
			}
		case unix.SIGTSTP:
			jc.suspend(unix.SIGSTOP)
		case unix.SIGCONT:
			if jc.sess != nil {
				jc.sess.resume()
			}
			// Only if still stopped: in shared mode the shell's SIGCONT reached the
			// child already, and an editor redraws on each one.
			if _, ok := jc.stopped(); ok {
				log.Printf("continued: continuing the command")
				target := jc.pid
				if jc.sess != nil {
					// suspendKey stopped the pty session's whole group (a pipeline, make's jobs).
					target = -jc.pid
				}
				_ = unix.Kill(target, unix.SIGCONT)
			}
		case unix.SIGWINCH:
			jc.sess.resize()
		}
	}
}

// suspend stops av as the child stopped, with the same signal so the shell reports the
// same thing ("Stopped", "Stopped (signal)"). A pty session stops with SIGSTOP: av
// catches SIGTSTP there, and puts its terminal back before stopping.
func (jc *jobControl) suspend(stopsig syscall.Signal) {
	if jc.sess != nil {
		jc.sess.pause()
		stopsig = unix.SIGSTOP
	}
	log.Printf("the command stopped: stopping av with %s", unix.SignalName(stopsig))
	_ = unix.Kill(unix.Getpid(), stopsig)
}

// stopped reports whether the child is stopped now, and by which signal, without
// reaping it: reaping is exec.Cmd.Wait's job.
func (jc *jobControl) stopped() (syscall.Signal, bool) {
	return jc.child.stopped()
}
