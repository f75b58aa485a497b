package profiles

// A file vault's passphrase and its own errors, as the user meets them: a new vault's
// passphrase asked for twice, and errors that name the vault, not the STS call they kept
// from being sent.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
)

// fileVaultName names a file vault in an error, "" for another backend.
func (v *Vault) fileVaultName() string {
	switch {
	case v.ambientCache:
		return "the job's credential cache " + v.fileDir
	case v.fileDir != "":
		return "the file vault " + v.fileDir
	case v.pendingDir != "":
		return "the file vault " + v.pendingDir
	}
	return ""
}

// NoPassphraseError says a file vault needs its passphrase, and there is no terminal to
// ask on and none in the environment.
type NoPassphraseError struct{ Vault string }

func (e *NoPassphraseError) Error() string {
	return fmt.Sprintf("%s needs its passphrase, and there is no terminal to ask on: set %s", cmp.Or(e.Vault, "the vault"), PassphraseVar)
}

// newFileVault reports whether v is a file vault with no item yet (its directory empty, or
// not made yet), and names its directory.
func (v *Vault) newFileVault() (string, bool) {
	switch {
	case v.ambientCache:
		return "", false // keyed by the job's secret: no passphrase is asked for
	case v.pendingDir != "":
		return v.pendingDir, true
	case v.fileDir == "":
		return "", false
	}
	names, err := readDirNames(v.fileDir)
	return v.fileDir, err == nil && len(names) == 0
}

// newFilePassphrase asks for a new file vault's passphrase twice, saying that the vault
// is new; ErrPassphraseMismatch if the two differ.
func newFilePassphrase(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv(PassphraseVar); p != "" {
		return p, nil
	}
	p, err := filePassphrase(ctx, fmt.Sprintf("Creating a new vault in %q (aws-vault's file backend).\nEnter passphrase for the new vault", dir))
	if err != nil {
		return "", err
	}
	again, err := readFromTTY(ctx, "Enter the same passphrase again: ", echoOff)
	if err != nil {
		return "", fmt.Errorf("reading the vault passphrase: %w", err)
	}
	if again != p {
		return "", ErrPassphraseMismatch
	}
	return p, nil
}

// vaultCause is err's cause when that is v's own (an item it could not read, a passphrase
// it could not have): the STS call around it was never sent, since its keys were what the
// vault could not give, and the SDK's "calling STS …: operation error STS: GetSessionToken,
// get identity: get credentials:" would blame AWS.
func vaultCause(err error, v *Vault) error {
	var item *ItemError
	var nopass *NoPassphraseError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &item):
		return item
	case errors.As(err, &nopass):
		return nopass
	case v.passphraseError() != nil && errors.Is(err, v.passphraseError()):
		return v.passphraseError()
	}
	return err
}
