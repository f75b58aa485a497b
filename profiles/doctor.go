package profiles

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"

	"github.com/99designs/keyring"
)

// VaultOpens says how far the vault could be opened without asking anybody anything.
type VaultOpens string

const (
	VaultOpen            VaultOpens = "yes"              // opened (and, for a file vault, an item decrypted)
	VaultEmpty           VaultOpens = "no-vault"         // a file vault whose directory is not there yet
	VaultNeedsPassphrase VaultOpens = "needs-passphrase" // a file vault, and no passphrase in the environment
	VaultCannotStore     VaultOpens = "cannot-store"     // it opens, and a write would fail: Err says why (NoPrompterError)
	VaultFails           VaultOpens = "no"               // it cannot be opened: Err says why
)

// VaultCheck is the vault as av would open it, looked at without a prompt and without
// writing to it (av doctor).
type VaultCheck struct {
	Backend string `json:"backend"`
	// Chosen says AWS_VAULT_BACKEND named it; otherwise it is aws-vault's default, the
	// first backend available.
	Chosen bool `json:"chosen"`
	// Available are the backends that can be had here, in aws-vault's order.
	Available []string `json:"available"`
	// Working are the backends that open here (Working(Backends)): keyctl, say, is
	// available on Linux but never opens with aws-vault v7.2.0's settings.
	Working []string   `json:"working"`
	Where   string     `json:"where,omitempty"` // a file vault's directory
	Opens   VaultOpens `json:"opens"`
	Err     error      `json:"-"`
	// Profiles are the profiles with master keys in the vault, when their names can be
	// listed without a prompt (file, pass and keyctl backends); Listed says they were.
	Profiles []string `json:"profiles"`
	Listed   bool     `json:"listed"`
}

// CheckVault looks at the vault OpenVault would open from o. It never prompts: a file
// vault with no passphrase in o is listed (item names are file names) but not decrypted,
// and the Secret Service and KWallet are opened but not listed (listing a locked
// collection asks to unlock it). Nothing is written and no lock taken, but keyctl's
// opening makes its "aws-vault" keyring in the session keyring if it is missing, as every
// run does.
func CheckVault(o VaultOptions) VaultCheck {
	c := VaultCheck{Backend: o.Backend, Chosen: o.Backend != "", Profiles: []string{}}
	for _, b := range keyring.AvailableBackends() {
		c.Available = append(c.Available, string(b))
	}
	states := Backends(o) // probes each backend: once
	c.Working = Working(states)
	if c.Backend == "" && len(c.Available) > 0 {
		c.Backend = c.Available[0]
	}
	if !slices.Contains(c.Available, c.Backend) {
		c.Opens, c.Err = VaultFails, backendError(c.Backend, states)
		return c
	}
	file := c.Backend == string(keyring.FileBackend)
	if file {
		dir, err := fileVaultDir(o)
		if err != nil {
			c.Opens, c.Err = VaultFails, err
			return c
		}
		c.Where = dir
		if _, err := os.Stat(c.Where); errors.Is(err, fs.ErrNotExist) {
			// keyring would create it on first use: an empty vault, left as it is.
			c.Opens, c.Listed = VaultEmpty, true
			return c
		}
	}
	o.Lock = nil // a look, not a run: no lock file
	v, err := OpenVault(context.Background(), o)
	if err != nil {
		c.Opens, c.Err = VaultFails, err
		return c
	}
	if needsBus(c.Backend) {
		c.Opens = VaultOpen
		if err := v.CanStore(); err != nil {
			c.Opens, c.Err = VaultCannotStore, err
		}
		return c
	}
	keys, err := v.store.Keys()
	if err != nil {
		c.Opens, c.Err = VaultFails, fmt.Errorf("listing the %s vault: %w", c.Backend, err)
		return c
	}
	c.Profiles, c.Listed = masterItems(keys), true
	c.Opens = VaultOpen
	if !file {
		return c
	}
	if !o.HasFilePassphrase {
		c.Opens = VaultNeedsPassphrase
		return c
	}
	if len(keys) > 0 {
		// The passphrase is right if an item decrypts: a master item first, as
		// passphraseRight tries them.
		first := keys[max(0, slices.IndexFunc(keys, isMasterItem))]
		if _, err := v.get(context.Background(), first); err != nil {
			c.Opens, c.Err = VaultFails, err
		}
	}
	return c
}

// masterItems are the names of the profiles whose master keys the items are.
func masterItems(keys []string) []string {
	out := []string{}
	for _, k := range keys {
		if isMasterItem(k) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
