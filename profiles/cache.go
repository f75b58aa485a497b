package profiles

import (
	"context"
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

// ErrNotCached says the vault holds no live item for a CacheKey, or no session a profile
// needs, where only the cache was to be read (LookThenFetch then fetches it).
var ErrNotCached = errors.New("not cached")

// ReadCache returns the data of the item for k, decrypting it (one decrypt). Items whose
// expiry has passed are not read.
func (s *Section) ReadCache(k CacheKey) ([]byte, error) { return s.kr.readCache(k) }

func (kr *vaultKeyring) readCache(k CacheKey) ([]byte, error) {
	names, err := kr.cacheNames(k)
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
	item, err := kr.Get(best)
	switch {
	case errors.Is(err, keyring.ErrKeyNotFound):
		// Swept since it was listed.
		return nil, ErrNotCached
	case errors.Is(err, ErrDamagedItem):
		// av's own, and only a cache: it is minted again and replaced, rather than block
		// the profile until `av clear`. Removed now, so that a run that cannot mint does
		// not try it again.
		log.Printf("vault item %q is damaged: treated as missing, and removed", best)
		if rerr := kr.Remove(best); rerr != nil && !errors.Is(rerr, keyring.ErrKeyNotFound) {
			log.Printf("removing it: %v", rerr)
		}
		return nil, ErrNotCached
	case err != nil:
		return nil, err
	}
	return item.Data, nil
}

// WriteCache stores data as the item for k, good until expires (the latest expiry of what
// it holds: aws-vault sweeps it after that), and removes the item it replaces. The section
// must hold the lock exclusive.
func (s *Section) WriteCache(k CacheKey, data []byte, expires time.Time, label string) error {
	kr := s.kr
	old, err := kr.cacheNames(k)
	if err != nil {
		return err
	}
	m := k.metadata(expires)
	name := m.String()
	err = kr.Set(keyring.Item{
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
			if err := kr.Remove(n); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
				return err
			}
		}
	}
	return nil
}

// removeSessions removes every cached session named by key, whatever its expiry, and
// counts those with more than minTTL left: the ones a credentials lookup would have used.
func (kr *vaultKeyring) removeSessions(key vault.SessionMetadata, minTTL time.Duration) (live int, err error) {
	names, err := kr.names(key.StringForMatching())
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		if err := kr.Remove(name); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
			return live, err
		}
		if m, err := vault.NewSessionKeyFromString(name); err != nil || time.Until(m.Expiration) > minTTL {
			live++
		}
	}
	return live, nil
}

// cacheNames lists the names of the items for k, whatever their expiry.
func (kr *vaultKeyring) cacheNames(k CacheKey) ([]string, error) {
	m := k.metadata(time.Time{})
	return kr.names(m.StringForMatching())
}

// names lists the names of the vault's items that begin with prefix ("": every item). It
// reads no item: nothing is decrypted, and the file backend asks for no passphrase.
func (kr *vaultKeyring) names(prefix string) ([]string, error) {
	keys, err := kr.Keys()
	if err != nil {
		return nil, fmt.Errorf("listing the %s vault: %w", kr.v.backend, err)
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
func (v *Vault) Clear(ctx context.Context, cfg *Config, o ClearOptions) (Cleared, error) {
	var c Cleared
	s, err := v.Lock(ctx, Exclusive)
	if err != nil {
		return c, err
	}
	defer s.Unlock()
	keys, err := s.kr.names("")
	if err != nil {
		return c, err
	}
	return s.clear(keys, cfg, o)
}

// clear is Clear over the vault's item names keys, inside an exclusive section.
func (s *Section) clear(keys []string, cfg *Config, o ClearOptions) (Cleared, error) {
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
		if err := s.kr.Remove(n); err != nil && !errors.Is(err, keyring.ErrKeyNotFound) {
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
