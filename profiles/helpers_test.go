package profiles

import (
	"context"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
)

// readCache reads k in a shared Section of its own.
func (v *Vault) readCache(k CacheKey) ([]byte, error) {
	s, err := v.Lock(context.Background(), Shared)
	if err != nil {
		return nil, err
	}
	defer s.Unlock()
	return s.ReadCache(k)
}

// writeCache writes k in an exclusive Section of its own.
func (v *Vault) writeCache(k CacheKey, data []byte, expires time.Time, label string) error {
	s, err := v.Lock(context.Background(), Exclusive)
	if err != nil {
		return err
	}
	defer s.Unlock()
	return s.WriteCache(k, data, expires, label)
}

// credentials is the vault's master credentials, outside a Section.
func (v *Vault) credentials() *vault.CredentialKeyring { return v.kr.credentials() }

// unlocker turns Lock's Section into its Unlock, for tests that only hold and let go.
func unlocker(s *Section, err error) (func(), error) {
	if err != nil {
		return nil, err
	}
	return s.Unlock, nil
}

// inDir places a vault's lock in dir (or beside a file vault); "" means no lock.
func inDir(dir string) *LockPlaces {
	if dir == "" {
		return nil
	}
	return &LockPlaces{UserDir: func() (string, error) { return dir, nil }}
}
