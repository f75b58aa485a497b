package profiles

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
)

// CacheKey names one of av's own items in the vault (env keeps its registry tokens there).
//
// Its name in the keyring has the shape of aws-vault's session names
// (TYPE,base64(PROFILE),base64(DETAIL),EXPIRY), with TYPE "av.KIND". So aws-vault takes it
// for a session: `aws-vault list` shows it beside the profile's sessions, `aws-vault clear`,
// `add`, `remove --sessions-only` and `rotate` remove it with them, and it is swept once
// expired. Any other name would be listed by aws-vault as a profile's master credentials.
type CacheKey struct {
	Kind    string // what the item holds, e.g. "ecr"
	Profile string // the profile it belongs to
	Detail  string // what else tells items of one profile apart (e.g. an identity digest)
}

// cacheTypePrefix starts the session type of every av item.
const cacheTypePrefix = "av."

func (k CacheKey) metadata(expires time.Time) vault.SessionMetadata {
	return vault.SessionMetadata{
		Type:        cacheTypePrefix + k.Kind,
		ProfileName: k.Profile,
		MfaSerial:   k.Detail,
		Expiration:  expires,
	}
}

// ErrNotCached says the vault holds no live item for a CacheKey.
var ErrNotCached = errors.New("not cached")

// ReadCache returns the data of the item for k, decrypting it (one decrypt). Items whose
// expiry has passed are not read.
func (v *Vault) ReadCache(k CacheKey) ([]byte, error) {
	names, err := v.cacheNames(k)
	if err != nil {
		return nil, err
	}
	var best string
	var bestExp time.Time
	for _, n := range names {
		m, err := vault.NewSessionKeyFromString(n)
		if err != nil || !time.Now().Before(m.Expiration) {
			continue
		}
		if best == "" || m.Expiration.After(bestExp) {
			best, bestExp = n, m.Expiration
		}
	}
	if best == "" {
		return nil, ErrNotCached
	}
	item, err := v.kr.Get(best)
	switch {
	case errors.Is(err, keyring.ErrKeyNotFound):
		// Swept since it was listed.
		return nil, ErrNotCached
	case errors.Is(err, ErrDamagedItem):
		// av's own, and only a cache: it is minted again and replaced, rather than block
		// the profile until `av clear`. Removed now, so that a run that cannot mint does
		// not try it again.
		log.Printf("vault item %q is damaged: treated as missing, and removed", best)
		if rerr := v.kr.Remove(best); rerr != nil && !errors.Is(rerr, keyring.ErrKeyNotFound) {
			log.Printf("removing it: %v", rerr)
		}
		return nil, ErrNotCached
	case err != nil:
		return nil, err
	}
	return item.Data, nil
}

// WriteCache stores data as the item for k, good until expires (the latest expiry of what
// it holds: aws-vault sweeps it after that), and removes the item it replaces.
func (v *Vault) WriteCache(k CacheKey, data []byte, expires time.Time, label string) error {
	old, err := v.cacheNames(k)
	if err != nil {
		return err
	}
	m := k.metadata(expires)
	name := m.String()
	err = v.kr.Set(keyring.Item{
		Key:         name,
		Data:        data,
		Label:       fmt.Sprintf("%s for %s (expires %s)", label, k.Profile, expires.UTC().Format(time.RFC3339)),
		Description: "av " + k.Kind,
	})
	if err != nil {
		return err
	}
	for _, n := range old {
		if n != name {
			if err := v.kr.Remove(n); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
				return err
			}
		}
	}
	return nil
}

// removeSessions removes every cached session named by key, whatever its expiry, and
// counts those with more than minTTL left: the ones a credentials lookup would have used.
func (v *Vault) removeSessions(key vault.SessionMetadata, minTTL time.Duration) (live int, err error) {
	names, err := v.names(key.StringForMatching())
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		if err := v.kr.Remove(name); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
			return live, err
		}
		if m, err := vault.NewSessionKeyFromString(name); err != nil || time.Until(m.Expiration) > minTTL {
			live++
		}
	}
	return live, nil
}

// cacheNames lists the names of the items for k, whatever their expiry.
func (v *Vault) cacheNames(k CacheKey) ([]string, error) {
	m := k.metadata(time.Time{})
	return v.names(m.StringForMatching())
}

// names lists the names of the vault's items that begin with prefix ("": every item). It
// reads no item: nothing is decrypted, and the file backend asks for no passphrase.
func (v *Vault) names(prefix string) ([]string, error) {
	keys, err := v.kr.Keys()
	if err != nil {
		return nil, fmt.Errorf("listing the %s vault: %w", v.backend, err)
	}
	if prefix == "" {
		return keys, nil
	}
	var names []string
	for _, n := range keys {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names, nil
}

// ClearOptions say what `av clear` removes.
type ClearOptions struct {
	Profile  string // only this profile's items; "" for every profile
	Sessions bool   // also aws-vault's cached sessions and SSO tokens, as `aws-vault clear` does
}

// Cleared counts what Clear removed.
type Cleared struct {
	Items    int // av's own items (registry tokens and the credentials kept with them)
	Sessions int // aws-vault's sessions and SSO tokens
}

// Clear removes av's cached items, and with Sessions aws-vault's sessions and SSO tokens,
// holding the vault's lock exclusive.
func (v *Vault) Clear(cfg *Config, o ClearOptions) (Cleared, error) {
	var c Cleared
	unlock, err := v.Lock(v.ctx, Exclusive)
	if err != nil {
		return c, err
	}
	defer unlock()
	keys, err := v.names("")
	if err != nil {
		return c, err
	}
	return v.clear(keys, cfg, o)
}

// clear is Clear over the vault's item names keys, with the lock held.
func (v *Vault) clear(keys []string, cfg *Config, o ClearOptions) (Cleared, error) {
	var c Cleared
	var startURL string
	if o.Profile != "" && cfg.Has(o.Profile) {
		if pc, err := cfg.profileConfig(o.Profile, Options{}); err == nil {
			startURL = pc.SSOStartURL
		}
	}
	for _, n := range keys {
		own := false
		switch m, err := vault.NewSessionKeyFromString(n); {
		case err == nil:
			own = strings.HasPrefix(m.Type, cacheTypePrefix)
			if (!own && !o.Sessions) || (o.Profile != "" && m.ProfileName != o.Profile) {
				continue
			}
		case vault.IsOldSessionKey(n) && o.Sessions && o.Profile == "":
		case vault.IsOIDCTokenKey(n) && o.Sessions && (o.Profile == "" || n == "oidc:"+startURL):
		default:
			continue
		}
		if err := v.kr.Remove(n); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
			return c, err
		}
		if own {
			c.Items++
		} else {
			c.Sessions++
		}
	}
	return c, nil
}
