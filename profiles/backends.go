package profiles

import (
	"cmp"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/99designs/keyring"
)

// BackendProblem is what stops a vault backend on this machine.
type BackendProblem int

const (
	BackendWorks       BackendProblem = iota // nothing known stops it
	BackendNoBus                             // it talks to a service on the D-Bus session bus, and no bus can be reached
	BackendNotServed                         // secret-service: the session bus is there, and no Secret Service answers on it
	BackendKeyctlScope                       // keyctl: keyring opens it only with a scope, and aws-vault v7 gives none
	BackendNoProgram                         // pass: the pass program is not installed
	BackendNoGPGKey                          // pass: its store has no .gpg-id (pass init was not run)
	BackendNoPrompter                        // secret-service: the vault's collection is missing, and no desktop session could show the prompt that creates it
	BackendFails                             // it does not open, for another reason
)

// BackendState is one vault backend of this platform and what stops it here, if anything.
type BackendState struct {
	Name    string
	Problem BackendProblem
	Dir     string // pass: the password store's directory
}

// errKeyctlScope is keyring's refusal of keyctl as aws-vault v7.2.0 opens it: with no
// scope (Config.KeyCtlScope), which keyring's opener rejects, reporting only that the
// backend is not available (99designs/aws-vault#890). av opens the vault as aws-vault
// does, so it cannot use keyctl either.
var errKeyctlScope = errors.New("keyring opens keyctl only with a keyring scope, and aws-vault v7.2.0 gives none (99designs/aws-vault#890)")

// errNoSecretService is keyring's failure to open a session with the Secret Service (no
// service answers on the bus), which it reports only as "not available".
var errNoSecretService = errors.New("no Secret Service answers on the D-Bus session bus")

// errNoPassProgram and errNoGPGKey are the pass backend's problems, found before keyring
// meets them: keyring reports the first as "not available", and the second only when an
// item is written (pass insert fails).
var (
	errNoPassProgram = errors.New("the pass program is not installed")
	errNoGPGKey      = errors.New("its password store has no gpg key (.gpg-id): `pass init` was not run")
)

// Backends lists the vault backends of this platform, in aws-vault's order of preference,
// each with what stops it here. It opens none of them, and reaches the D-Bus session bus
// only to see whether there is one.
func Backends(o VaultOptions) []BackendState {
	names := keyring.AvailableBackends()
	if runtime.GOOS == "linux" {
		// The bus backends are listed only when a bus answers.
		for _, b := range []keyring.BackendType{keyring.SecretServiceBackend, keyring.KWalletBackend} {
			if !slices.Contains(names, b) {
				names = append([]keyring.BackendType{b}, names...)
			}
		}
	}
	var states []BackendState
	for _, b := range names {
		s := BackendState{Name: string(b)}
		switch {
		case needsBus(s.Name) && !slices.Contains(keyring.AvailableBackends(), b):
			s.Problem = BackendNoBus
		case b == keyring.SecretServiceBackend && !secretServiceAnswers(o):
			s.Problem = BackendNotServed
		case b == keyring.SecretServiceBackend && checkCollection(o, haveDisplay()) != nil:
			s.Problem = BackendNoPrompter
		case b == keyring.KWalletBackend && !busServes("org.kde.kwalletd5"):
			s.Problem = BackendNotServed
		case b == keyring.KeyCtlBackend && !keyctlOpens():
			s.Problem = BackendKeyctlScope
		case b == keyring.PassBackend:
			s.Dir = passDir(o)
			if err := checkPass(o); errors.Is(err, errNoPassProgram) {
				s.Problem = BackendNoProgram
			} else if err != nil {
				s.Problem = BackendNoGPGKey
			}
		}
		states = append(states, s)
	}
	return states
}

// keyctlOpens reports whether keyring opens keyctl as aws-vault configures it. With
// keyring v1.2.2 it never does (errKeyctlScope); were that to change, opening it would
// make aws-vault's named keyring in the session keyring, as aws-vault's own start does.
func keyctlOpens() bool {
	_, err := keyring.Open(keyring.Config{ServiceName: "aws-vault", AllowedBackends: []keyring.BackendType{keyring.KeyCtlBackend}})
	return err == nil
}

// secretServiceAnswers reports whether a Secret Service answers on the session bus: keyring
// opens a session with it (no prompt, nothing unlocked).
func secretServiceAnswers(o VaultOptions) bool {
	_, err := keyring.Open(keyring.Config{
		ServiceName:             "aws-vault",
		LibSecretCollectionName: cmp.Or(o.SecretServiceCollection, "awsvault"),
		AllowedBackends:         []keyring.BackendType{keyring.SecretServiceBackend},
	})
	return err == nil
}

// passDir is the pass backend's store, found as keyring finds it.
func passDir(o VaultOptions) string {
	dir := o.PassDir
	if dir == "" {
		if d, ok := os.LookupEnv("PASSWORD_STORE_DIR"); ok {
			dir = d
		} else if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".password-store")
		}
	}
	if d, err := keyring.ExpandTilde(dir); err == nil {
		dir = d
	}
	return dir
}

// checkPass finds what would stop the pass backend: no pass program, or a store that pass
// cannot encrypt to (no .gpg-id in the store, nor in the prefix's directory).
func checkPass(o VaultOptions) error {
	cmd := o.PassCmd
	if cmd == "" {
		cmd = "pass"
	}
	if _, err := exec.LookPath(cmd); err != nil {
		return errNoPassProgram
	}
	dir := passDir(o)
	for _, d := range []string{filepath.Join(dir, o.PassPrefix), dir} {
		if st, err := os.Stat(filepath.Join(d, ".gpg-id")); err == nil && st.Mode().IsRegular() {
			return nil
		}
	}
	return errNoGPGKey
}

// Working names the backends in states that nothing stops.
func Working(states []BackendState) []string {
	var names []string
	for _, s := range states {
		if s.Problem == BackendWorks {
			names = append(names, s.Name)
		}
	}
	return names
}
