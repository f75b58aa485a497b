package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
	"github.com/aws/smithy-go"
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
		sso      *profiles.SSOLoginError
		noToken  *profiles.NoWebIdentityTokenError
		item     *profiles.ItemError
		backend  *profiles.BackendError
		closed   *profiles.OpenError
		bug      *runner.PanicError
		slow     *profiles.TimeoutError
		noVault  *profiles.NoVaultError
		noID     *profiles.NoIdentityError
		noKeys   *profiles.NoKeysError
		noPrompt *profiles.NoPrompterError
		jobID    *profiles.JobIdentityError
		noConfig *profiles.MissingConfigError
		syntax   *profiles.SyntaxError
	)
	if errors.As(err, &already) {
		return err
	}
	if hint := helperHint(err) + runDirHint(err); hint != "" {
		return hinted{err, hint}
	}
	switch {
	case errors.As(err, &noConfig):
		return hinted{err, missingConfigHint(noConfig)}
	case errors.As(err, &syntax) && syntax.Path != "" && syntax.Line > 0:
		return hinted{err, fmt.Sprintf("fix line %d of %s (a section is `[profile NAME]`, a setting `key = value`); av does not print the line: it may hold a key", syntax.Line, syntax.Path)}
	case errors.As(err, &noVault):
		return hinted{err, noVaultHint(noVault.Vault, noVault.Profile, true)}
	case errors.As(err, &noID) && noID.NoVault != nil:
		return hinted{err, noVaultHint(noID.NoVault, noID.Profile, false)}
	case errors.As(err, &noID):
		return hinted{err, fmt.Sprintf("name the profile: `av PROFILE -- COMMAND`, add its keys with `av add %s`, or give the job an AWS identity", shellWord(noID.Profile))}
	case errors.As(err, &noPrompt):
		return hinted{err, noPrompterHint(noPrompt)}
	case errors.As(err, &noKeys):
		return hinted{err, noKeysHint(noKeys)}
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
	case errors.Is(err, profiles.ErrPassphraseMismatch):
		return hinted{err, "run av again, and type the same passphrase twice"}
	case errors.Is(err, profiles.ErrVaultLocked):
		return hinted{err, "check " + profiles.PassphraseVar + ", or the passphrase you typed"}
	case errors.Is(err, profiles.ErrNeedsMFA):
		return hinted{err, "set mfa_process in the profile, or run av again to type the code"}
	case errors.Is(err, profiles.ErrNoTTY):
		return hinted{err, "give the MFA code with --mfa-token, or set mfa_process in the profile"}
	case webIdentityRefused(err):
		return hinted{err, "the role's trust policy does not take this job's token: check that it trusts the job's identity provider, and its conditions on the token's sub and aud (on GitHub Actions, token.actions.githubusercontent.com:sub names the repository and branch)"}
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
	}
	return err
}

// helperHint is the fix for a helper that ran for its whole bound (the profile's, or the
// pass backend's pass and gpg); "" for another error.
func helperHint(err error) string {
	var helper *profiles.HelperTimeoutError
	switch {
	case !errors.As(err, &helper):
		return ""
	case helper.Profile == "":
		return "check pass and gpg (its agent, its pinentry); if they are only slow, give a run more with --aws-timeout (AV_AWS_TIMEOUT)"
	case helper.What == "mfa_process":
		return "check the profile's mfa_process; give the code with --mfa-token instead"
	}
	return fmt.Sprintf("check the profile's %s; if it is only slow, allow more with AV_AWS_TIMEOUT or --aws-timeout", helper.What)
}

// runDirHint is the fix for a run directory av cannot have: full, on disk, or not
// private; "" for another error.
func runDirHint(err error) string {
	var (
		full  *env.UnwritableDirError
		noDir *env.NoPrivateDirError
	)
	switch {
	case errors.As(err, &full):
		return "free some space on that filesystem, or name another directory with --runtime-dir (AV_RUNTIME_DIR)"
	case !errors.As(err, &noDir):
		return ""
	case noDir.NoMemoryFS:
		return runtimeDirHint(runtime.GOOS)
	case !noDir.Override && noDir.Alternative != "":
		return memoryDirHint(noDir.Alternative)
	case noDir.Override:
		return "AV_RUNTIME_DIR (or --runtime-dir) must name a directory only you can read, mode 0700"
	}
	return "set AV_RUNTIME_DIR (or --runtime-dir) to a directory only you can read, mode 0700; av will not write tokens to disk on its own"
}

// webIdentityRefused reports whether STS refused AssumeRoleWithWebIdentity with
// AccessDenied: the token is valid, but the role does not trust it.
func webIdentityRefused(err error) bool {
	var op *smithy.OperationError
	var api smithy.APIError
	return errors.As(err, &op) && op.Operation() == "AssumeRoleWithWebIdentity" && errors.As(err, &api) && api.ErrorCode() == "AccessDenied"
}

// noKeysHint is the fix for a profile not named that has no keys, where the vault holds
// other profiles' keys: its own keys, one of those profiles named, or the machine's own
// identity asked for.
func noKeysHint(e *profiles.NoKeysError) string {
	others := ""
	if len(e.Keyed) > 1 {
		others = " (the vault holds keys for " + safeList(e.Keyed) + ")"
	}
	return fmt.Sprintf("add its keys with `av add %s`, or name a profile: `av %s -- …`%s, or set AV_AMBIENT=1 to use this machine's own AWS identity",
		shellWord(e.Profile), shellWord(e.Keyed[0]), others)
}

// noPrompterHint is the fix for a Secret Service collection that cannot be created here: a
// collection that exists, the login keyring (which a login with pam_gnome_keyring, or
// gnome-keyring-daemon --unlock, creates and unlocks), or a desktop session.
func noPrompterHint(e *profiles.NoPrompterError) string {
	use := "`export AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME=login` (aws-vault reads it too)"
	if !slices.Contains(e.Existing, "login") {
		use = "unlock your login keyring (`gnome-keyring-daemon --unlock` reads its password on stdin), then " + use
	}
	return use + "; or add the keys from a desktop session, where the keyring can ask for the new collection's password"
}

// notFoundHint is the fix for a command not found where av took the first word for the
// command (it names no profile): a typo of a profile's name, when it is near one (profile),
// with the line that runs the rest with it; else how to name a profile.
func notFoundHint(command []string, profile string) string {
	if profile == "" {
		return fmt.Sprintf("if %q is a profile, write `av %s -- COMMAND`", command[0], shellWord(command[0]))
	}
	words := []string{"av", shellWord(profile)}
	for _, w := range command[1:] {
		words = append(words, shellWord(w))
	}
	return fmt.Sprintf("did you mean `%s`?", strings.Join(words, " "))
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

// missingConfigHint: a "~/…" that nothing expanded is written out in full (in a shell,
// with an .env file, in a CI job's variables alike); any other missing file is a typo, or a
// variable that should not be set.
func missingConfigHint(e *profiles.MissingConfigError) string {
	if !e.Tilde {
		return "correct AWS_CONFIG_FILE, or unset it to use ~/.aws/config"
	}
	full := "the full path"
	if rest, ok := strings.CutPrefix(os.Getenv("AWS_CONFIG_FILE"), "~/"); ok && os.Getenv("HOME") != "" {
		full = "the full path, AWS_CONFIG_FILE=" + shellWord(filepath.Join(os.Getenv("HOME"), rest))
	}
	return "write " + full + ": a shell expands ~ only at the start of an unquoted word, and an .env file or a CI variable never does"
}
