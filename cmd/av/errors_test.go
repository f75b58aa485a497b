package main

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want runner.Status
	}{
		{"success", endedWith(runner.Status{}), runner.Status{}},
		{"the command's code passes through", endedWith(runner.Status{Code: 3}), runner.Status{Code: 3}},
		{"the command's signal passes through", endedWith(runner.Status{Signal: syscall.SIGTERM}), runner.Status{Signal: syscall.SIGTERM}},
		{"not found", &runner.ExecError{Code: 127, Err: errors.New("command not found: x")}, runner.Status{Code: 127}},
		{"cannot run", &runner.ExecError{Code: 126, Err: errors.New("cannot run x")}, runner.Status{Code: 126}},
		{"not found, with a hint", hinted{&runner.ExecError{Code: 127, Err: errors.New("x")}, "h"}, runner.Status{Code: 127}},
		{"av's own failure", errors.New("no credentials"), runner.Status{Code: 1}},
	} {
		if got := exitStatus(tc.err); got != tc.want {
			t.Errorf("%s: exitStatus = %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// The command's ending is no error of av's: nothing is printed for it.
	var out strings.Builder
	printError(&out, endedWith(runner.Status{Code: 3}))
	if out.Len() != 0 {
		t.Errorf("printError of the command's own status printed %q", out.String())
	}
}

func TestHints(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string // the whole output
	}{
		{&profiles.UnknownProfileError{Profile: "dve", ConfigPath: "/h/.aws/config", Suggestion: "dev"},
			"av: error: profile \"dve\" is not in /h/.aws/config nor in the vault\nav: hint: did you mean \"dev\"?\n"},
		{&profiles.UnknownProfileError{Profile: "nosuch", ConfigPath: "/h/.aws/config"},
			"av: error: profile \"nosuch\" is not in /h/.aws/config nor in the vault\nav: hint: define it in /h/.aws/config, or add its keys with `av add nosuch`\n"},
		{fmt.Errorf("registry ECR in eu-west-1 (profile %q): %w", "ops", &profiles.NoCredentialsError{Profile: "ops"}),
			"av: error: registry ECR in eu-west-1 (profile \"ops\"): no credentials for profile \"ops\" in the vault\nav: hint: add them with `av add ops`\n"},
		{fmt.Errorf("reading: %w", profiles.ErrVaultLocked),
			"av: error: reading: cannot decrypt the vault: wrong passphrase or a damaged item\nav: hint: check AWS_VAULT_FILE_PASSPHRASE, or the passphrase you typed\n"},
		{&profiles.LockTimeoutError{Waited: time.Second, Holders: []string{"pid 7 (av)"}},
			"av: error: the vault is locked by pid 7 (av): gave up after 1s\nav: hint: if that process is stuck, stop it; to wait longer, set AV_LOCK_TIMEOUT or --lock-timeout\n"},
		{&profiles.LockTimeoutError{Waited: time.Second, Holders: []string{"pid 7 (av)"}, Profile: "dev", Item: "session", Awaiting: "its MFA code"},
			"av: error: the session of profile \"dev\" is being fetched by pid 7 (av), waiting for its MFA code: gave up after 1s\nav: hint: if that process is stuck, stop it; to wait longer, set AV_LOCK_TIMEOUT or --lock-timeout\n"},
		{&profiles.LockTimeoutError{Waited: time.Second, Profile: "dev", Item: "registry tokens"},
			"av: error: the registry tokens of profile \"dev\" are being fetched by another process: gave up after 1s\nav: hint: if that process is stuck, stop it; to wait longer, set AV_LOCK_TIMEOUT or --lock-timeout\n"},
		{&profiles.ItemError{Key: "dev", Err: fmt.Errorf("writing to the pass vault: %w", &profiles.HelperTimeoutError{What: "pass insert", Bound: time.Second})},
			"av: error: vault item \"dev\": writing to the pass vault: the vault's pass insert did not finish within 1s: av stopped it\nav: hint: check pass and gpg (its agent, its pinentry); if they are only slow, give a run more with --aws-timeout (AV_AWS_TIMEOUT)\n"},
		{&env.NoPrivateDirError{Reason: "XDG_RUNTIME_DIR /x: is not tmpfs or ramfs"},
			"av: error: no private tmpfs directory for the registry files: XDG_RUNTIME_DIR /x: is not tmpfs or ramfs\nav: hint: set AV_RUNTIME_DIR (or --runtime-dir) to a directory only you can read, mode 0700; av will not write tokens to disk on its own\n"},
		{&env.NoPrivateDirError{Reason: "/d: has mode 0755, want 0700", Override: true},
			"av: error: no private tmpfs directory for the registry files: /d: has mode 0755, want 0700\nav: hint: AV_RUNTIME_DIR (or --runtime-dir) must name a directory only you can read, mode 0700\n"},
		{fmt.Errorf("renewing: %w", profiles.ErrNeedsMFA),
			"av: error: renewing: an MFA code is needed and av does not prompt while the command runs\nav: hint: set mfa_process in the profile, or run av again to type the code\n"},
		// A profile name's escape sequences never reach the terminal raw.
		{&profiles.NoCredentialsError{Profile: "dev\x1b[2J\x1b]0;pwned\a"},
			"av: error: no credentials for profile \"dev\\x1b[2J\\x1b]0;pwned\\a\" in the vault\nav: hint: add them with `av add \"dev\\x1b[2J\\x1b]0;pwned\\a\"`\n"},
		{&profiles.UnknownProfileError{Profile: "my prof$HOME", ConfigPath: "/h/.aws/config"},
			"av: error: profile \"my prof$HOME\" is not in /h/.aws/config nor in the vault\nav: hint: define it in /h/.aws/config, or add its keys with `av add 'my prof$HOME'`\n"},
		{&profiles.ItemError{Key: "dev", Profile: "dev", Err: profiles.ErrDamagedItem},
			"av: error: vault item \"dev\": damaged: it does not decrypt with the passphrase that decrypts the vault's other items\nav: hint: restore the item from a backup, or add the profile's keys again: `av add dev` replaces it\n"},
		{&profiles.ItemError{Key: "dev", Profile: "dev", Err: profiles.ErrNotRegular},
			"av: error: vault item \"dev\": not a regular file\nav: hint: restore the item from a backup, or add the profile's keys again: `av add dev` replaces it\n"},
		{&env.NoPrivateDirError{Reason: "XDG_RUNTIME_DIR /x: is not tmpfs or ramfs", Alternative: "/dev/shm/av-1000"},
			"av: error: no private tmpfs directory for the registry files: XDG_RUNTIME_DIR /x: is not tmpfs or ramfs\nav: hint: /dev/shm/av-1000 is a private tmpfs directory here: `export AV_RUNTIME_DIR=/dev/shm/av-1000` (or --runtime-dir); av will not write tokens to disk on its own\n"},
		// A backend that does not open: why, the backends that work here, how to pick one.
		{&profiles.OpenError{Backend: "keyctl", Err: errors.New("no scope"), Backends: []profiles.BackendState{
			{Name: "secret-service", Problem: profiles.BackendNoBus}, {Name: "keyctl", Problem: profiles.BackendKeyctlScope},
			{Name: "pass"}, {Name: "file"}}},
			"av: error: opening the keyctl vault: no scope\nav: hint: keyctl, aws-vault's default backend without a desktop session, never opens with aws-vault v7.2.0's settings (99designs/aws-vault#890); the backends that work here: pass, file; pick one: `export AWS_VAULT_BACKEND=file`\n"},
		{&profiles.BackendError{Backend: "secret-service", NeedsBus: true, Backends: []profiles.BackendState{
			{Name: "secret-service", Problem: profiles.BackendNoBus}, {Name: "pass", Problem: profiles.BackendNoProgram}, {Name: "file"}}},
			"av: error: vault backend \"secret-service\" in AWS_VAULT_BACKEND needs a D-Bus session bus, and none can be reached (have file)\nav: hint: secret-service needs your desktop session's D-Bus bus (DBUS_SESSION_BUS_ADDRESS), and there is none here (av never starts one); the backends that work here: file; pick one: `export AWS_VAULT_BACKEND=file`\n"},
		{&profiles.OpenError{Backend: "pass", Chosen: true, Err: errors.New("no key"), Backends: []profiles.BackendState{
			{Name: "pass", Problem: profiles.BackendNoGPGKey, Dir: "/h/my store"}, {Name: "file"}}},
			"av: error: opening the pass vault: no key\nav: hint: pass's store '/h/my store' has no gpg key: run `pass init GPG-KEY-ID` once (gpg --list-secret-keys shows yours); the backends that work here: file; pick one: `export AWS_VAULT_BACKEND=file`\n"},
		{&profiles.BackendError{Backend: "bogus\x1b[2J", Backends: []profiles.BackendState{{Name: "file"}}},
			"av: error: unknown vault backend \"bogus\\x1b[2J\" in AWS_VAULT_BACKEND (have file)\nav: hint: AWS_VAULT_BACKEND=\"bogus\\x1b[2J\" names no backend; the backends that work here: file; pick one: `export AWS_VAULT_BACKEND=file`\n"},
		// A laptop's default profile with no keys, in a vault that holds others'.
		{&profiles.NoKeysError{Profile: "default", ConfigPath: "/h/.aws/config", InConfig: true, Keyed: []string{"prod"}},
			"av: error: profile \"default\" has no credentials: no keys in the vault, and none in its section of /h/.aws/config\nav: hint: add its keys with `av add default`, or name a profile: `av prod -- …`, or set AV_AMBIENT=1 to use this machine's own AWS identity\n"},
		{&profiles.NoKeysError{Profile: "default", ConfigPath: "/h/.aws/config", Keyed: []string{"dev", "prod"}},
			"av: error: profile \"default\" has no credentials: no keys in the vault, and no section in /h/.aws/config\nav: hint: add its keys with `av add default`, or name a profile: `av dev -- …` (the vault holds keys for dev, prod), or set AV_AMBIENT=1 to use this machine's own AWS identity\n"},
		{errors.New("plain"), "av: error: plain\n"},
		{hinted{errors.New("already hinted"), "keep this"}, "av: error: already hinted\nav: hint: keep this\n"},
	} {
		var buf bytes.Buffer
		printError(&buf, tc.err)
		if buf.String() != tc.want {
			t.Errorf("printError(%v) =\n%s\nwant\n%s", tc.err, buf.String(), tc.want)
		}
	}
}

func TestRuntimeDirHint(t *testing.T) {
	mac := runtimeDirHint("darwin")
	for _, want := range []string{"hdiutil attach -nomount ram://", "diskutil erasevolume", "AV_RUNTIME_DIR", "--runtime-dir"} {
		if !strings.Contains(mac, want) {
			t.Errorf("the macOS hint %q does not show %q", mac, want)
		}
	}
	var buf bytes.Buffer
	printError(&buf, &env.NoPrivateDirError{Reason: "macOS has no tmpfs", NoMemoryFS: true})
	if !strings.Contains(buf.String(), "av: hint: "+runtimeDirHint(runtime.GOOS)) {
		t.Errorf("no platform hint for a platform without tmpfs: %s", buf.String())
	}
}

// A command not found that is near a profile's name is a typo of it, without `--`.
func TestNotFoundHint(t *testing.T) {
	for _, tc := range []struct {
		command []string
		profile string
		want    string
	}{
		{[]string{"prdo", "make", "images"}, "prod", "did you mean `av prod make images`?"},
		{[]string{"prdo", "sh", "-c", "echo $HOME"}, "prod", "did you mean `av prod sh -c 'echo $HOME'`?"},
		{[]string{"nosuch", "x"}, "", "if \"nosuch\" is a profile, write `av nosuch -- COMMAND`"},
	} {
		if got := notFoundHint(tc.command, tc.profile); got != tc.want {
			t.Errorf("notFoundHint(%q, %q) = %q, want %q", tc.command, tc.profile, got, tc.want)
		}
	}
}
