package profiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// Keys are a profile's long-term AWS keys, the master credentials `aws-vault add` stores.
type Keys struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Added says what Add did besides storing the keys.
type Added struct {
	Replaced bool // the profile had keys in the vault, which the new ones replace
	// Removed counts the profile's cached items that were removed, as `aws-vault add`
	// removes them: its sessions, and av's items (registry tokens, role sessions), all
	// obtained with the keys replaced.
	Removed int
}

// SourceProfileError says a profile takes its credentials from another one: keys stored
// under its own name would never be used (`aws-vault add` refuses them too).
type SourceProfileError struct{ Profile, Source string }

func (e *SourceProfileError) Error() string {
	return fmt.Sprintf("profile %q takes its credentials from source_profile %q: keys stored for it would not be used", e.Profile, e.Source)
}

// ProfileNameError says a name cannot be a vault item of master credentials.
type ProfileNameError struct{ Profile, Reason string }

func (e *ProfileNameError) Error() string {
	return fmt.Sprintf("profile name %q cannot be stored in the vault: %s", e.Profile, e.Reason)
}

// CheckProfileName refuses names that aws-vault would not take back as a profile's keys:
// a name shaped like a session or SSO item is listed as one; a slash or a dot name is a
// path in the pass backend's store; control characters would drive a terminal; a space at
// either end could be no config file's section (its reader trims them). A space inside is
// fine: `[profile my team]` is a profile, and aws-vault stores its keys as "my team".
func CheckProfileName(name string) error {
	bad := func(reason string) error { return &ProfileNameError{Profile: name, Reason: reason} }
	switch {
	case name == "":
		return bad("it is empty")
	case strings.ContainsFunc(name, unicode.IsControl):
		return bad("it holds a control character")
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return bad("it starts or ends with a space")
	case strings.Contains(name, "/") || name == "." || name == "..":
		return bad("it is a path")
	case strings.HasPrefix(name, "-"):
		return bad("it starts with a dash")
	case vault.IsSessionKey(name) || vault.IsOIDCTokenKey(name):
		return bad("it has the shape of a cached session's name")
	}
	return nil
}

// Add stores a profile's keys in the vault as `aws-vault add` does (the same item name,
// label and JSON, through aws-vault's CredentialKeyring), replacing keys it had, and then
// removes the profile's cached sessions and av's items, as `aws-vault add` does: they were
// obtained with the old keys. It holds the vault's lock exclusive throughout; call
// ReadyToWrite first, so that the passphrase is not asked for while the lock is held.
func (v *Vault) Add(ctx context.Context, cfg *Config, profile string, k Keys) (Added, error) {
	var a Added
	if err := CheckProfileName(profile); err != nil {
		return a, err
	}
	if s, ok := cfg.file.ProfileSection(profile); ok && s.SourceProfile != "" {
		return a, &SourceProfileError{Profile: profile, Source: s.SourceProfile}
	}
	if k.AccessKeyID == "" || k.SecretAccessKey == "" {
		return a, errors.New("an access key id and a secret access key are both needed")
	}
	if v.pendingDir != "" {
		if err := v.createFileVault(); err != nil {
			return a, err
		}
	}
	s, err := v.Lock(ctx, Exclusive)
	if err != nil {
		return a, err
	}
	defer s.Unlock()
	if a.Replaced, err = s.kr.hasCredentials(profile); err != nil {
		return a, err
	}
	creds := aws.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	if err := s.kr.credentials().Set(profile, creds); err != nil {
		return a, err
	}
	// aws-vault add's own step (SessionKeyring.RemoveForProfile): every session-shaped
	// item of the profile, av's included.
	n, err := (&vault.SessionKeyring{Keyring: s.kr}).RemoveForProfile(profile)
	a.Removed = n
	if err != nil {
		return a, fmt.Errorf("the keys are stored; removing the profile's cached sessions: %w", err)
	}
	return a, nil
}

// ReadyToWrite makes the vault ready for a write: the file backend's passphrase is asked for
// now, if it is not at hand, and checked against an item already stored, so that a
// mistyped passphrase is refused (ErrVaultLocked) rather than used to encrypt a new item
// that no other item shares. For a vault with no items yet the passphrase is asked for
// twice. Other backends need nothing.
func (v *Vault) ReadyToWrite(ctx context.Context) error {
	if v.backend != string(keyring.FileBackend) {
		return nil
	}
	kr := v.view(ctx)
	keys, err := kr.names("")
	if err != nil {
		return err
	}
	if _, atHand := v.passphraseAtHand(); !atHand {
		// Twice for a vault with no item yet (filePassphrase).
		if _, err := v.filePassphrase(fmt.Sprintf("Enter passphrase to unlock %q", cmp.Or(v.pendingDir, v.fileDir))); err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	// One item, master keys first (rewritten least often): get tells a damaged item from
	// a wrong passphrase by trying others.
	slices.SortStableFunc(keys, func(a, b string) int { return boolRank(!isMasterItem(a)) - boolRank(!isMasterItem(b)) })
	_, err = kr.Get(keys[0])
	switch {
	case err == nil, errors.Is(err, ErrDamagedItem), errors.Is(err, keyring.ErrKeyNotFound):
		return nil
	}
	return err
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ErrPassphraseMismatch says the passphrase for a new vault was typed differently twice.
var ErrPassphraseMismatch = errors.New("the two passphrases for the new vault differ: nothing was stored")

// createFileVault makes the directory of a file vault that did not exist (VaultOptions.Create)
// and opens the vault there, keeping the passphrase already asked for.
func (v *Vault) createFileVault() error {
	if err := os.MkdirAll(v.pendingDir, 0o700); err != nil {
		return fmt.Errorf("creating the vault directory: %w", err)
	}
	o := v.opts
	o.Backend = v.backend // as chosen when it was first opened
	return v.open(o)
}

// CachedItem is one item the vault keeps for a profile besides its keys, known by its name
// alone: listing the vault decrypts nothing.
type CachedItem struct {
	// Type is the item's session type as aws-vault names it: sts.GetSessionToken,
	// sts.AssumeRole, sso.GetRoleCredentials, …, av's "av.KIND", or "oidc" for an SSO login.
	Type string
	// Kind is, for an item of av's own (CacheKey), its kind ("ecr", "sts.AssumeRole");
	// empty for aws-vault's.
	Kind string
	// Expires is when it expires: for av's registry tokens, when the last token it holds
	// does. Zero for an SSO login, whose expiry is inside the item.
	Expires time.Time
}

// StoredProfile is what the config file and the vault hold for one profile name.
type StoredProfile struct {
	Name     string
	InConfig bool // it has a section in the config file
	HasKeys  bool // the vault holds its master credentials
	Cached   []CachedItem
}

// List is every profile of the config file and of the vault, with what the vault holds
// for it: config profiles first (sorted), then the names only the vault knows (sorted). It
// reads the vault's list of item names, never an item, so it decrypts nothing and never
// asks for the file backend's passphrase.
func (v *Vault) List(cfg *Config) ([]StoredProfile, error) {
	keys, err := v.kr.names("")
	if err != nil {
		return nil, err
	}
	byName := map[string]*StoredProfile{}
	var names []string
	get := func(name string) *StoredProfile {
		p, ok := byName[name]
		if !ok {
			p = &StoredProfile{Name: name, InConfig: cfg.Has(name)}
			byName[name] = p
			names = append(names, name)
		}
		return p
	}
	for _, n := range cfg.Names() {
		get(n)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch m, err := vault.NewSessionKeyFromString(k); {
		case err == nil:
			item := CachedItem{Type: m.Type, Expires: m.Expiration}
			if kind, own := strings.CutPrefix(m.Type, cacheTypePrefix); own {
				item.Kind = kind
			}
			p := get(m.ProfileName)
			p.Cached = append(p.Cached, item)
		case vault.IsOldSessionKey(k):
			// aws-vault v4's names: aws-vault removes them on its next write.
		case vault.IsOIDCTokenKey(k):
			// An SSO login belongs to every profile with its start URL.
			url := strings.TrimPrefix(k, "oidc:")
			for _, n := range cfg.Names() {
				if s, _ := cfg.file.ProfileSection(n); s.SSOStartURL == url || cfg.ssoSessionURL(s.SSOSession) == url {
					get(n).Cached = append(get(n).Cached, CachedItem{Type: "oidc"})
				}
			}
		default:
			get(k).HasKeys = true
		}
	}
	sort.Strings(names[len(cfg.Names()):]) // the names only the vault knows
	out := make([]StoredProfile, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out, nil
}

// ssoSessionURL is the start URL of an [sso-session NAME] section, or "".
func (c *Config) ssoSessionURL(name string) string {
	if name == "" {
		return ""
	}
	s, ok := c.file.SSOSessionSection(name)
	if !ok {
		return ""
	}
	return s.SSOStartURL
}

// Removed counts what Remove took out of the vault.
type Removed struct {
	Keys     bool // the profile's master credentials
	Sessions int  // aws-vault's cached sessions and SSO logins
	Items    int  // av's own items (registry tokens, role sessions)
}

// RemoveOptions say what Remove takes out.
type RemoveOptions struct {
	// SessionsOnly keeps the keys: only the cached items go, as `av clear PROFILE
	// --sessions` removes them.
	SessionsOnly bool
}

// NothingStoredError says the vault holds nothing Remove could remove for a profile.
type NothingStoredError struct {
	Profile    string
	Suggestion string // the closest name the vault holds keys for, if any
}

func (e *NothingStoredError) Error() string {
	return fmt.Sprintf("the vault holds nothing for profile %q", e.Profile)
}

// Remove takes a profile out of the vault: its keys, its cached sessions (aws-vault's,
// and the SSO login of its start URL, as `aws-vault clear` removes them) and av's items,
// so that neither aws-vault nor av can use the profile afterwards. `aws-vault remove`
// removes the keys alone and leaves the sessions, which aws-vault exec goes on using until
// they expire. With SessionsOnly the keys stay. It holds the vault's lock exclusive.
func (v *Vault) Remove(ctx context.Context, cfg *Config, profile string, o RemoveOptions) (Removed, error) {
	var r Removed
	s, err := v.Lock(ctx, Exclusive)
	if err != nil {
		return r, err
	}
	defer s.Unlock()
	keys, err := s.kr.names("")
	if err != nil {
		return r, err
	}
	hasKeys := slices.Contains(keys, profile) && isMasterItem(profile)
	c, err := s.clear(keys, cfg, ClearOptions{Profile: profile, Sessions: true})
	r.Sessions, r.Items = c.Sessions, c.Items
	if err != nil {
		return r, err
	}
	if hasKeys && !o.SessionsOnly {
		if err := s.kr.credentials().Remove(profile); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
			return r, err
		}
		r.Keys = true
	}
	if r == (Removed{}) && !(hasKeys && o.SessionsOnly) {
		var known []string
		for _, k := range keys {
			if isMasterItem(k) {
				known = append(known, k)
			}
		}
		return r, &NothingStoredError{Profile: profile, Suggestion: closest(profile, known)}
	}
	return r, nil
}

// AskSecret asks on the terminal (/dev/tty) with echo off, and returns the line typed.
// It returns ErrNoTTY when av has no terminal. The end of ctx ends the prompt.
func AskSecret(ctx context.Context, message string) (string, error) {
	return readFromTTY(ctx, message, echoOff)
}

// Ask asks on the terminal (/dev/tty), echoing what is typed.
func Ask(ctx context.Context, message string) (string, error) {
	return readFromTTY(ctx, message, echoOn)
}

// Stored is what the config file and the vault hold for one profile, or a
// *NothingStoredError if the vault holds nothing for it.
func (v *Vault) Stored(cfg *Config, profile string) (StoredProfile, error) {
	all, err := v.List(cfg)
	if err != nil {
		return StoredProfile{}, err
	}
	var known []string
	for _, p := range all {
		if p.Name == profile && (p.HasKeys || len(p.Cached) > 0) {
			return p, nil
		}
		if p.HasKeys {
			known = append(known, p.Name)
		}
	}
	return StoredProfile{}, &NothingStoredError{Profile: profile, Suggestion: closest(profile, known)}
}

// KeyedProfiles lists, sorted, the profiles the vault holds master keys for. It reads the
// vault's list of item names, never an item: nothing is decrypted.
func (v *Vault) KeyedProfiles() ([]string, error) {
	keys, err := v.kr.names("")
	if err != nil {
		return nil, err
	}
	return masterItems(keys), nil
}

// Backend names the vault's backend (file, pass, secret-service, keyctl, …).
func (v *Vault) Backend() string { return v.backend }
