package profiles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/99designs/aws-vault/v7/prompt"
	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
)

// PassphraseVar holds the file backend's passphrase. av reads it and never passes it on.
const PassphraseVar = "AWS_VAULT_FILE_PASSPHRASE"

// VaultOptions are aws-vault's keyring settings. Zero values mean aws-vault's defaults.
type VaultOptions struct {
	Backend                 string // AWS_VAULT_BACKEND
	FileDir                 string // AWS_VAULT_FILE_DIR
	PassDir                 string // AWS_VAULT_PASS_PASSWORD_STORE_DIR
	PassCmd                 string // AWS_VAULT_PASS_CMD
	PassPrefix              string // AWS_VAULT_PASS_PREFIX
	KeychainName            string // AWS_VAULT_KEYCHAIN_NAME
	SecretServiceCollection string // AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME
}

// VaultOptionsFromEnv reads the same environment variables aws-vault v7 reads.
func VaultOptionsFromEnv() VaultOptions {
	return VaultOptions{
		Backend:                 os.Getenv("AWS_VAULT_BACKEND"),
		FileDir:                 os.Getenv("AWS_VAULT_FILE_DIR"),
		PassDir:                 os.Getenv("AWS_VAULT_PASS_PASSWORD_STORE_DIR"),
		PassCmd:                 os.Getenv("AWS_VAULT_PASS_CMD"),
		PassPrefix:              os.Getenv("AWS_VAULT_PASS_PREFIX"),
		KeychainName:            os.Getenv("AWS_VAULT_KEYCHAIN_NAME"),
		SecretServiceCollection: os.Getenv("AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME"),
	}
}

// Vault is the keyring aws-vault uses: master credentials, cached sessions and SSO tokens.
type Vault struct {
	kr      keyring.Keyring
	backend string
}

// OpenVault opens the keyring with aws-vault v7's service name, backend order and settings,
// so credentials stored by `aws-vault add` are used as they are. The end of ctx ends the
// passphrase prompt, if the vault needs one.
func OpenVault(ctx context.Context, o VaultOptions) (*Vault, error) {
	cfg := keyring.Config{
		ServiceName:              "aws-vault",
		FilePasswordFunc:         func(message string) (string, error) { return filePassphrase(ctx, message) },
		LibSecretCollectionName:  orDefault(o.SecretServiceCollection, "awsvault"),
		KWalletAppID:             "aws-vault",
		KWalletFolder:            "aws-vault",
		KeychainTrustApplication: true,
		KeychainName:             orDefault(o.KeychainName, "aws-vault"),
		WinCredPrefix:            "aws-vault",
		FileDir:                  orDefault(o.FileDir, "~/.awsvault/keys/"),
		PassDir:                  o.PassDir,
		PassCmd:                  o.PassCmd,
		PassPrefix:               o.PassPrefix,
	}
	backend := o.Backend
	if backend == "" {
		// aws-vault's default: the first backend compiled in (secret-service on Linux).
		backend = string(keyring.AvailableBackends()[0])
	}
	known := false
	for _, b := range keyring.AvailableBackends() {
		known = known || string(b) == backend
	}
	if !known {
		return nil, fmt.Errorf("unknown vault backend %q in AWS_VAULT_BACKEND (have %s)", backend, backendNames())
	}
	cfg.AllowedBackends = []keyring.BackendType{keyring.BackendType(backend)}

	if backend == string(keyring.FileBackend) {
		// keyring's file backend creates its directory on first use; a run that finds no
		// vault must not leave one behind, so an absent directory is an empty vault.
		dir, err := keyring.ExpandTilde(cfg.FileDir)
		if err != nil {
			return nil, fmt.Errorf("finding the vault directory: %w", err)
		}
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return &Vault{kr: keyring.NewArrayKeyring(nil), backend: backend}, nil
		}
	}
	kr, err := keyring.Open(cfg)
	if err != nil {
		return nil, fmt.Errorf("opening the %s vault: %w", backend, err)
	}
	return &Vault{kr: &guardedKeyring{Keyring: kr, backend: backend}, backend: backend}, nil
}

// HasCredentials reports whether the vault holds master credentials for the profile.
func (v *Vault) HasCredentials(profile string) (bool, error) {
	ok, err := v.credentials().Has(profile)
	if err != nil {
		return false, fmt.Errorf("listing the %s vault: %w", v.backend, err)
	}
	return ok, nil
}

func (v *Vault) credentials() *vault.CredentialKeyring {
	return &vault.CredentialKeyring{Keyring: v.kr}
}

// guardedKeyring keeps the vault's contents out of error messages: a decrypt or parse
// error of an item may quote part of it.
type guardedKeyring struct {
	keyring.Keyring
	backend string
}

// ErrVaultLocked is returned when an item cannot be decrypted with the passphrase given.
var ErrVaultLocked = errors.New("cannot decrypt the vault: wrong passphrase or a damaged item")

func (g *guardedKeyring) Get(key string) (keyring.Item, error) {
	item, err := g.Keyring.Get(key)
	if err == nil || errors.Is(err, keyring.ErrKeyNotFound) {
		return item, err
	}
	if g.backend == string(keyring.FileBackend) {
		return item, ErrVaultLocked
	}
	return item, fmt.Errorf("reading the %s vault: %w", g.backend, err)
}

func filePassphrase(ctx context.Context, message string) (string, error) {
	if p, ok := os.LookupEnv(PassphraseVar); ok {
		return p, nil
	}
	p, err := readFromTTY(ctx, message+": ", echoOff)
	switch {
	case errors.Is(err, ErrNoTTY):
		return "", fmt.Errorf("the vault needs a passphrase and there is no terminal to ask on: set %s", PassphraseVar)
	case err != nil:
		return "", fmt.Errorf("reading the vault passphrase: %w", err)
	}
	return p, nil
}

// mfaPromptMethod is aws-vault's prompt driver: AWS_VAULT_PROMPT, else the terminal,
// where av's own prompt stands in for aws-vault's (see ttyPromptMethod).
func mfaPromptMethod() string {
	p := os.Getenv("AWS_VAULT_PROMPT")
	if _, ok := prompt.Methods[p]; ok && p != "terminal" {
		return p
	}
	return ttyPromptMethod
}

func backendNames() string {
	var names []string
	for _, b := range keyring.AvailableBackends() {
		names = append(names, string(b))
	}
	return strings.Join(names, ", ")
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
