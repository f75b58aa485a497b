package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// ended is how the command ended (or, for Ctrl-C at av's own prompts, how av is to end),
// returned as the error of a command's Run when it is not a plain success: main exits with
// it, and prints no error line for it.
type ended struct{ status runner.Status }

func (e ended) Error() string { return fmt.Sprintf("the command ended with %+v", e.status) }

// endedWith is the error for status: nil for a plain success.
func endedWith(status runner.Status) error {
	if status == (runner.Status{}) {
		return nil
	}
	return ended{status}
}

// exitStatus is how av ends: the command's own status, or, for av's own failures, 126 or
// 127 as a shell gives them (the command cannot be run, or was not found), else 1.
func exitStatus(err error) runner.Status {
	var end ended
	switch {
	case err == nil:
		return runner.Status{}
	case errors.As(err, &end):
		return end.status
	}
	var ee *runner.ExecError
	if errors.As(err, &ee) {
		return runner.Status{Code: ee.Code}
	}
	return runner.Status{Code: 1}
}

// printError prints err as av's one error line, and the fix when there is a concrete one.
func printError(w io.Writer, err error) {
	if errors.As(err, new(quiet)) || errors.As(err, new(ended)) {
		return // the command has said why, or ended as it did
	}
	err = withHint(err)
	fmt.Fprintf(w, "av: error: %v\n", err)
	var h hinted
	if errors.As(err, &h) && h.hint != "" {
		fmt.Fprintf(w, "av: hint: %s\n", h.hint)
	}
}

// quiet is a failure the command has reported itself (av doctor's findings): av exits 1
// and prints no error line.
type quiet struct{ err error }

func (q quiet) Error() string { return q.err.Error() }

// hinted is an error with a concrete fix for the user.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

// withHint words the fix for the errors the packages return that a user can fix: the
// packages carry the facts, the flag and variable names are av's command line's.
func withHint(err error) error {
	var (
		already  hinted
		unknown  *profiles.UnknownProfileError
		nocreds  *profiles.NoCredentialsError
		lockWait *profiles.LockTimeoutError
		noDir    *env.NoPrivateDirError
		sso      *profiles.SSOLoginError
		noToken  *profiles.NoWebIdentityTokenError
		item     *profiles.ItemError
		backend  *profiles.BackendError
		closed   *profiles.OpenError
		bug      *runner.PanicError
		slow     *profiles.TimeoutError
		full     *env.UnwritableDirError
		noVault  *profiles.NoVaultError
		noID     *profiles.NoIdentityError
		jobID    *profiles.JobIdentityError
		helper   *profiles.HelperTimeoutError
	)
	switch {
	case errors.As(err, &already):
		return err
	case errors.As(err, &noVault):
		return hinted{err, noVaultHint(noVault.Vault, noVault.Profile, true)}
	case errors.As(err, &noID) && noID.NoVault != nil:
		return hinted{err, noVaultHint(noID.NoVault, noID.Profile, false)}
	case errors.As(err, &noID):
		return hinted{err, fmt.Sprintf("name the profile: `av PROFILE -- COMMAND`, add its keys with `av add %s`, or give the job an AWS identity", shellWord(noID.Profile))}
	case errors.As(err, &helper) && helper.Profile == "":
		return hinted{err, "check pass and gpg (its agent, its pinentry); if they are only slow, allow more with AV_AWS_TIMEOUT or --aws-timeout"}
	case errors.As(err, &helper) && helper.What == "mfa_process":
		return hinted{err, "check the profile's mfa_process; give the code with --mfa-token instead"}
	case errors.As(err, &helper):
		return hinted{err, fmt.Sprintf("check the profile's %s; if it is only slow, allow more with AV_AWS_TIMEOUT or --aws-timeout", helper.What)}
	case errors.As(err, &jobID):
		return hinted{err, "name the run's profile (`av PROFILE -- COMMAND`), or set AV_AMBIENT=1 to use the job's identity for every profile"}
	case errors.As(err, &unknown) && unknown.Suggestion != "":
		return hinted{err, fmt.Sprintf("did you mean %q?", unknown.Suggestion)}
	case errors.As(err, &unknown):
		return hinted{err, fmt.Sprintf("define it in %s, or add its keys with `av add %s`", shellWord(unknown.ConfigPath), shellWord(unknown.Profile))}
	case errors.As(err, &nocreds):
		return hinted{err, fmt.Sprintf("add them with `av add %s`", shellWord(nocreds.Profile))}
	case (errors.Is(err, profiles.ErrDamagedItem) || errors.Is(err, profiles.ErrNotRegular) || errors.Is(err, profiles.ErrTooLarge)) && errors.As(err, &item) && item.Profile != "":
		return hinted{err, fmt.Sprintf("restore the item from a backup, or add the profile's keys again: `av add %s` replaces it", shellWord(item.Profile))}
	case errors.Is(err, profiles.ErrVaultLocked):
		return hinted{err, "check " + profiles.PassphraseVar + ", or the passphrase you typed"}
	case errors.Is(err, profiles.ErrNeedsMFA):
		return hinted{err, "set mfa_process in the profile, or run av again to type the code"}
	case errors.Is(err, profiles.ErrNoTTY):
		return hinted{err, "give the MFA code with --mfa-token, or set mfa_process in the profile"}
	case errors.As(err, &noToken):
		return hinted{err, "on GitHub Actions, give the job `permissions: id-token: write`; elsewhere set AWS_WEB_IDENTITY_TOKEN_FILE"}
	case errors.As(err, &sso):
		return hinted{err, fmt.Sprintf("log in once on a terminal (`av %s -- true`); in CI, use the job's own AWS identity (AV_AMBIENT=1, or --role-arn)", sso.Profile)}
	case errors.As(err, &lockWait):
		return hinted{err, "if that process is stuck, stop it; to wait longer, set AV_LOCK_TIMEOUT or --lock-timeout"}
	case errors.As(err, &slow):
		return hinted{err, "check the network and the endpoint settings (AWS_ENDPOINT_URL…); if it is only slow, allow more with AV_AWS_TIMEOUT or --aws-timeout"}
	case errors.As(err, &bug):
		return hinted{err, "this is a bug in av: av stopped the command, if it had started, and removed the run's files; --debug shows where it happened"}
	case errors.As(err, &backend):
		return hinted{err, backendHint(backend.Backend, backend.Backends)}
	case errors.As(err, &closed):
		return hinted{err, backendHint(closed.Backend, closed.States())}
	case errors.As(err, &full):
		return hinted{err, "free some space on that filesystem, or name another directory with --runtime-dir (AV_RUNTIME_DIR)"}
	case errors.As(err, &noDir) && noDir.NoMemoryFS:
		return hinted{err, runtimeDirHint(runtime.GOOS)}
	case errors.As(err, &noDir) && !noDir.Override && noDir.Alternative != "":
		return hinted{err, memoryDirHint(noDir.Alternative)}
	case errors.As(err, &noDir) && noDir.Override:
		return hinted{err, "AV_RUNTIME_DIR (or --runtime-dir) must name a directory only you can read, mode 0700"}
	case errors.As(err, &noDir):
		return hinted{err, "set AV_RUNTIME_DIR (or --runtime-dir) to a directory only you can read, mode 0700; av will not write tokens to disk on its own"}
	}
	return err
}

// runtimeDirHint shows how to give av a memory-backed directory where the system has
// none: on macOS, a RAM disk.
func runtimeDirHint(goos string) string {
	if goos == "darwin" {
		return "make a RAM disk and name it: " +
			"diskutil erasevolume APFS avram $(hdiutil attach -nomount ram://65536) && " +
			"export AV_RUNTIME_DIR=/Volumes/avram/av (or --runtime-dir); av will not write tokens to disk on its own"
	}
	return "set AV_RUNTIME_DIR (or --runtime-dir) to a directory only you can read, mode 0700, on a memory-backed filesystem"
}
