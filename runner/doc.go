// Package runner runs the child and stands between it and whoever started av: exec, pty,
// signals, process groups, job control, terminal restore and exit status. It knows
// nothing of AWS.
//
// # Where the command stands
//
// av stays the command's parent (no exec of its own): it has files to shred once the
// command ends. It behaves as a shell does with a job, in one of three modes (mode in
// route.go), decided once, when the command starts:
//
//   - detached, when av has no controlling terminal (CI, a service, setsid): the command
//     leads a process group of its own (Setpgid), so a signal av passes on reaches
//     whatever the command started too, and a CI cancel stops grandchildren.
//   - shared, when av has a controlling terminal, in its foreground or in the background
//     (`av dev -- cat &`): the command stays in av's group, the shell's job, as
//     aws-vault exec's command does; so editors, pagers, read, Ctrl-Z, fg and bg work as
//     without av. A command in a group of its own would never be the terminal's
//     foreground: started with `&`, it stopped to read the terminal and `fg` could not
//     give it the terminal back. av never signals that group: it is not av's alone.
//   - session, with a pty (Command.PTY: the interactive shell, --pty): the command leads
//     a new session with the pty as its controlling terminal (Setsid, Setctty), and av
//     relays between the pty and its own stdin and stdout.
//
// Outside a pty, the command gets av's stdin, stdout and stderr as *os.File, not as
// readers and writers: exec then hands the descriptors over as they are, and Wait waits
// for no pipe, so a grandchild that keeps stdout open (`cmd &`) cannot hold av. av waits
// for the command alone. A command that is not found is ExecError 127, one that cannot
// run 126, as a shell gives them.
//
// # Signals
//
// Forwarded is a named list, SIGINT, SIGTERM, SIGHUP and SIGQUIT: signal.Notify with no
// list would also catch Go's preemption signal (SIGURG) and SIGCHLD, which are not the
// command's business. CatchSignals starts catching them while kong parses the command
// line (asking Go's runtime costs a round trip to its signal thread, about 0.3 ms, a
// tenth of a warm run). The Supervisor then owns them from start-up to exit:
//
//   - before the command starts (av prompts or mints), a signal cancels the run's
//     context: av cleans up, then dies of that signal (Supervisor.Interrupted, Raise);
//   - while it runs, route says where the signal goes (below);
//   - once it has ended, a signal is dropped, so that the cleanup finishes and av exits
//     with the command's status. Close keeps them caught until the process ends: handing
//     them back would cost the same round trip, and let a late signal end av with another
//     status than the command's.
//
// route, per mode: detached, every forwarded signal goes to the command's group, once.
// Shared, only SIGTERM is passed on, to the command alone: SIGINT, SIGQUIT and SIGHUP
// come from the terminal (Ctrl-C, Ctrl-\, a hang-up) or from the shell (kill %1, its own
// hang-up), which have already sent them to the whole job, the command included, and sending
// them again would deliver them twice; so kill -INT aimed at av's pid alone does not
// reach the command. In a pty session, av's terminal is raw and Ctrl-C reaches the pty as
// a byte, so a SIGINT or SIGQUIT av gets came from kill(1), and goes to the pty's
// foreground group, as the key would; SIGTERM and SIGHUP hang the pty up, as closing a
// terminal window does: SIGHUP and SIGCONT to the shell's group and the pty's foreground
// group (an interactive shell ignores SIGTERM, not SIGHUP; a stopped job must wake up to
// die). TestRoute has the table.
//
// # The grace period
//
// The first SIGTERM passed on (in a session, SIGHUP too) starts Options.Grace
// (DefaultGrace, 5 s: long enough for a build tool to stop its workers, shorter than CI
// runners wait for av); if the command is still there at its end, av sends SIGKILL: to
// the command's group when detached, to the command alone in a terminal's foreground
// (the group is not av's to kill), and in a session to the shell's group and the pty's
// foreground group, as it was at the hang-up and as it is now. Zero means never. The
// timer stops when the command ends; members of its group that outlive it are not waited
// for.
//
// # Job control
//
// Unless detached, av and the command stay one job for the shell that started av
// (jobControl). Shared, Ctrl-Z stops the whole group, av with it, and a command that reads
// the terminal from the background stops the group with SIGTTIN, as it would alone; the
// shell's fg and bg continue the group. When the command stops alone (SIGSTOP, or it
// suspended only itself), av stops itself with the same signal, so the shell gets the
// terminal back and reports the job as it would; when the shell continues av, av
// continues the command if it is still stopped (an editor redraws on every SIGCONT).
// Whether it is stopped is asked without reaping it, which is exec.Cmd.Wait's job:
// waitid(WNOWAIT) on a pidfd on Linux, the process table (sysctl kern.proc.pid) on macOS,
// never wait4. jobControl catches its signals before the command starts, so one that stops
// at once is not missed. Detached, av does not stop with the command: nobody would
// continue it.
//
// In a session, av's terminal is raw, and its keys relayed, only while av's job has the
// terminal's foreground (ptySession.claim): a background job that changed the terminal or
// read it would be stopped (SIGTTOU, SIGTTIN), and would take keys meant for the shell in
// front. Started with `&` or continued with `bg`, the command runs on, on its pty, and av
// takes the terminal when the shell continues it in front (SIGCONT), or, since zsh's fg of
// a running job sends no SIGCONT, when the input relay next looks (foregroundPoll, 100
// ms). av catches SIGTSTP (its raw terminal sends none: only kill(1) does), puts its
// terminal back while it is stopped, and takes raw mode and the window size again when
// continued in front; SIGWINCH copies the window size to the pty. Ctrl-Z is a key for the
// pty. A shell inside does its own job control with it; a command alone on the pty is
// its session's leader, whose parent (av) is in another session, so its group is
// orphaned and the kernel drops the key's SIGTSTP: av stops that group with SIGSTOP when
// it relays the pty's suspend key (ptySession.suspendKey), and job control then stops av.
//
// A command in av's group killed by a signal gets the terminal's settings put back as it
// found them, as bash does, so a killed editor does not leave it raw (only from the
// foreground: changing the terminal from the background would stop av with SIGTTOU).
//
// # The pty
//
// openPTY opens the pty with creack/pty and makes its master non-blocking, so that a read
// deadline can end the relay; every ioctl on it goes through SyscallConn, never Fd, which
// would make it blocking again. av's stdin and stdout are used as descriptor numbers for
// the same reason: their non-blocking flag is shared with the shell that started av. av's
// terminal is put in raw mode while av's job is in front (above), so that every key, Ctrl-C and Ctrl-Z included, reaches the
// pty and the shell's own job control, and the state av found is put back exactly on every
// way out (ptySession.end). The input relay polls rather than blocks in read, so that no
// read is left pending to swallow the next key the user types for the shell av returns
// to; on darwin it waits with select(2), since darwin's poll(2) does not support devices.
// An input that is not a terminal (--pty < file) is relayed as it is, and its end is the
// pty's end-of-file character, as typing Ctrl-D would be. Once the command has ended, its
// output is drained for at most drainLimit (250 ms): only a job the shell left behind
// (nohup) still holds the pty then.
//
// # Dying as the command died
//
// The command's status passes through unchanged. A command killed by signal N makes av
// die of N too, after its cleanup (Raise), so make and shell loops stop as without av. av
// drops its core-size limit first (the command dumped core already, if it was going to).
// On Linux a raw rt_sigaction puts the kernel's default action back, since Go's runtime
// keeps its own handler for SIGSEGV, SIGBUS, SIGQUIT and others even after signal.Reset.
// darwin keeps only libc stable, not raw system calls: there signal.Reset is all there is,
// and for the signals whose handler Go keeps (it would print a goroutine dump and exit 2)
// av exits 128+N instead, the status a death by N gives, though not a death by signal. If
// av survives its own signal, main exits 128+N as well.
//
// # When av dies or fails
//
// A command must not outlive av: nobody would be left to stop it, shred its files or say
// how it ended, and it would run on with the credentials. On Linux the kernel sends it
// SIGKILL when av dies (a parent-death signal; SIGKILL, not SIGTERM: nobody is left to
// escalate, and an interactive shell ignores SIGTERM). That signal is tied to the thread
// that forked, not to the process (golang/go#27505), so start forks from a goroutine
// locked to its thread and keeps that thread until the command is reaped;
// TestCommandOutlivesTheThreadThatStartedIt shows it. The kernel clears the signal when
// the command runs a set-user-ID program (sudo); the command's own children get nothing.
// macOS has no such signal: there the command runs on. Either way no sweep takes the run
// directory from under them: they inherit its lock (env.Dir.Lock).
//
// A panic in one of av's goroutines (Supervisor.Go: the relays, job control, the token
// renewal) must neither leave the command running under a broken av nor end av on the
// spot with its files left behind: it becomes the run's failure (PanicError). Before the
// command starts, that cancels the run's context; while it runs, the command is stopped
// as SIGTERM to av would stop it, SIGKILL after the grace period. A panic on Run's own
// path kills the command and waits for it before panicking on, so the caller's cleanup
// runs after the command, not under it.
//
// ProtectMemory, first thing in main, makes av non-dumpable on Linux: another process of
// the user cannot read its /proc/PID/mem or attach to it, and a crash writes no core. The
// flag is av's alone: execve resets it for an ordinary program, so the command is as
// debuggable as without av. macOS gets nothing of the kind (dumpable_darwin.go says why).
package runner
