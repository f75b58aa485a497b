package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/av-cli/av/profiles"
)

// The words for what a new user meets first: a vault backend that does not open here.

// backendHint says why the vault backend failed cannot be opened here, which backends do
// work on this machine, and how to pick one.
func backendHint(failed string, states []profiles.BackendState) string {
	why := fmt.Sprintf("AWS_VAULT_BACKEND=%s names no backend", shellWord(failed))
	for _, s := range states {
		if s.Name == failed {
			why = backendWhy(s)
		}
	}
	working := slices.DeleteFunc(profiles.Working(states), func(n string) bool { return n == failed })
	if len(working) == 0 {
		return why
	}
	pick := working[0]
	if slices.Contains(working, "file") {
		// Works everywhere, needs nothing else installed; encrypted with a passphrase.
		pick = "file"
	}
	return fmt.Sprintf("%s; the backends that work here: %s; pick one: `export AWS_VAULT_BACKEND=%s`",
		why, strings.Join(working, ", "), pick)
}

// backendWhy words what stops one backend.
func backendWhy(s profiles.BackendState) string {
	switch s.Problem {
	case profiles.BackendNoBus:
		return fmt.Sprintf("%s needs your desktop session's D-Bus bus (DBUS_SESSION_BUS_ADDRESS), and there is none here (av never starts one)", s.Name)
	case profiles.BackendNotServed:
		if s.Name == "kwallet" {
			return "kwallet: KWallet does not answer on your D-Bus session bus"
		}
		return "secret-service: no Secret Service answers on your D-Bus session bus (gnome-keyring-daemon or KeePassXC would serve one)"
	case profiles.BackendNoPrompter:
		return "secret-service: its collection for the vault does not exist, and creating it needs a desktop session to show the keyring's prompt (`export AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME=login` uses your login keyring)"
	case profiles.BackendKeyctlScope:
		return "keyctl, aws-vault's default backend without a desktop session, never opens with aws-vault v7.2.0's settings (99designs/aws-vault#890)"
	case profiles.BackendNoProgram:
		return "pass needs the pass program: install it (apt-get install pass)"
	case profiles.BackendNoGPGKey:
		return fmt.Sprintf("pass's store %s has no gpg key: run `pass init GPG-KEY-ID` once (gpg --list-secret-keys shows yours)", shellWord(s.Dir))
	}
	return fmt.Sprintf("%s does not open here", s.Name)
}

// noVaultHint is the fix when aws-vault's default backend did not open and the profile
// could not be had without a vault. named: the profile was named (else it was the default
// one, for which the job's own identity was tried and there was none).
func noVaultHint(closed *profiles.OpenError, profile string, named bool) string {
	ci := "In CI, set AV_AMBIENT=1 to use the job's own AWS identity instead"
	if !named {
		ci = "In CI, give the job an AWS identity (keys in the environment, a web identity, an instance role)"
	}
	return fmt.Sprintf("%s; then `av add %s`. %s", backendHint(closed.Backend, closed.States()), shellWord(profile), ci)
}

// memoryDirHint is the fix when the default directory for the run is refused and another
// private memory-backed one would do.
func memoryDirHint(alternative string) string {
	return fmt.Sprintf("%s is a private tmpfs directory here: `export AV_RUNTIME_DIR=%s` (or --runtime-dir); av will not write tokens to disk on its own", shellWord(alternative), shellWord(alternative))
}
