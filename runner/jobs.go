package runner

import (
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"unsafe"

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
	sigs   chan os.Signal
	done   chan struct{}
	pid    int
	pidfd  int // -1 if pidfd_open is not available: then the pid is used
	sess   *ptySession
	waitID int // unix.P_PIDFD or unix.P_PID

	stopOnce sync.Once
}

// newJobControl starts catching the signals job control needs. It is made before the
// child starts: a child that stops at once must not stop before av listens for SIGCHLD.
func newJobControl(sess *ptySession) *jobControl {
	jc := &jobControl{sigs: make(chan os.Signal, 8), done: make(chan struct{}), pidfd: -1, sess: sess}
	watched := []os.Signal{unix.SIGCHLD, unix.SIGCONT}
	if sess != nil {
		// In raw mode the terminal never sends SIGTSTP to av: only kill(1) does.
		watched = append(watched, unix.SIGWINCH, unix.SIGTSTP)
	}
	signal.Notify(jc.sigs, watched...)
	return jc
}

// watch starts acting on those signals for the child that has just started.
func (jc *jobControl) watch(pid int) {
	jc.pid, jc.waitID = pid, unix.P_PID
	// A pidfd cannot name another process once the child is reaped, as a pid could.
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		jc.pidfd, jc.waitID = fd, unix.P_PIDFD
	}
	go jc.loop()
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
		if jc.pidfd >= 0 {
			unix.Close(jc.pidfd)
		}
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
			// Only if still stopped: in foreground mode the shell's SIGCONT reached the
			// child already, and an editor redraws on each one.
			if _, ok := jc.stopped(); ok {
				log.Printf("continued: continuing the command")
				_ = unix.Kill(jc.pid, unix.SIGCONT)
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

// stopped reports whether the child is stopped now, and by which signal. WNOWAIT leaves
// the report in place and WEXITED is not asked for: reaping is exec.Cmd.Wait's job.
func (jc *jobControl) stopped() (syscall.Signal, bool) {
	id := jc.pid
	if jc.waitID == unix.P_PIDFD {
		id = jc.pidfd
	}
	var info unix.Siginfo
	if err := unix.Waitid(jc.waitID, id, &info, unix.WSTOPPED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		return 0, false
	}
	pid, status := sigchldFields(&info)
	if pid == 0 || info.Code != cldStopped {
		return 0, false // WNOHANG: nothing to report
	}
	return syscall.Signal(status), true
}

// cldStopped is si_code for a child stopped by a signal (CLD_STOPPED).
const cldStopped = 5

// sigchldFields reads si_pid and si_status from a siginfo_t filled by waitid. The union
// after si_signo, si_errno and si_code is aligned to a pointer: si_pid, si_uid, si_status.
func sigchldFields(info *unix.Siginfo) (pid, status int32) {
	const ptr = unsafe.Sizeof(uintptr(0))
	off := (3*4 + ptr - 1) &^ (ptr - 1)
	base := unsafe.Pointer(info)
	pid = *(*int32)(unsafe.Add(base, off))
	status = *(*int32)(unsafe.Add(base, off+8))
	return pid, status
}
