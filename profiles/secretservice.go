package profiles

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/99designs/keyring"
)

// NoPrompterError says the Secret Service has no collection by the vault's name, and
// creating one needs the keyring's own prompt (the new collection's password), which only
// a desktop session can show. Without one, gnome-keyring's prompter (gcr-prompter) cannot
// open a display, the prompt ends dismissed, and keyring's write fails with `Object does
// not exist at path "/"`, after av add has asked for both keys. aws-vault add meets the
// same.
type NoPrompterError struct {
	Collection string   // AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME, else aws-vault's "awsvault"
	Existing   []string // the collections the Secret Service has
	// Display says a display was named (DISPLAY, WAYLAND_DISPLAY), and a write failed all
	// the same: the prompt was not shown there, or was dismissed.
	Display bool
}

func (e *NoPrompterError) Error() string {
	if e.Display {
		return fmt.Sprintf("the Secret Service has no collection %q for the vault, and the keyring's prompt that creates one was not shown, or was dismissed", e.Collection)
	}
	return fmt.Sprintf("the Secret Service has no collection %q for the vault, and creating one needs a desktop session to show the keyring's prompt (DISPLAY and WAYLAND_DISPLAY are unset)", e.Collection)
}

// haveDisplay reports whether a desktop session could show the keyring's prompt: the
// prompter is a graphical program.
func haveDisplay() bool { return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" }

// checkCollection finds whether the vault's Secret Service collection can be written:
// nil if it exists, or if it can be created (display: a desktop session could show the
// prompt), else a *NoPrompterError. Called only where a Secret Service answers; when its
// collections cannot be listed, it is nil, and keyring says what fails.
func checkCollection(o VaultOptions, display bool) error {
	names, err := secretServiceCollections()
	if err != nil {
		return nil
	}
	name := cmp.Or(o.SecretServiceCollection, "awsvault")
	if display || slices.Contains(names, name) {
		return nil
	}
	return &NoPrompterError{Collection: name, Existing: names}
}

// CanStore finds, before anything is asked for (av add's keys), what would stop a write
// that the backend's opening does not show: a Secret Service collection that cannot be
// created here (NoPrompterError). Other backends need nothing.
func (v *Vault) CanStore() error {
	if v.backend != string(keyring.SecretServiceBackend) {
		return nil
	}
	return checkCollection(v.opts, haveDisplay())
}

// whySetFailed is the reason a write to the backend failed, where keyring's is obscure:
// a Secret Service collection that could not be created (no prompt was shown, whatever
// the environment says of a display).
func (v *Vault) whySetFailed(err error) error {
	if err == nil || v.backend != string(keyring.SecretServiceBackend) {
		return err
	}
	var why *NoPrompterError
	if errors.As(checkCollection(v.opts, false), &why) {
		why.Display = haveDisplay()
		return why
	}
	return err
}
