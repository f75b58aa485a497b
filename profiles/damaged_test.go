package profiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A damaged item of av's own (registry tokens, a role session av cached) is a miss, to be
// replaced; a damaged aws-vault item is an error naming it; the wrong passphrase is told
// from a damaged item by the other items, which then fail too.

// damagedVault writes master keys for dev and one av item, damages the av item's file
// with damage, and opens the vault again (as the next run would: nothing decrypted yet).
func damagedVault(t *testing.T, damage func(data []byte) []byte) (v *Vault, dir, itemFile string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "keys")
	w := fileVault(t, dir, "")
	if err := w.credentials().Set("dev", awsCredentials()); err != nil {
		t.Fatal(err)
	}
	if err := w.writeCache(CacheKey{Kind: "ecr", Profile: "dev"}, []byte(`{"tokens":{}}`), time.Now().Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "av.ecr,*"))
	if len(matches) != 1 {
		t.Fatalf("av items: %q", matches)
	}
	itemFile = matches[0]
	if damage != nil {
		data, err := os.ReadFile(itemFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(itemFile, damage(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fileVault(t, dir, ""), dir, itemFile
}

var damages = map[string]func([]byte) []byte{
	"garbage":   func([]byte) []byte { return []byte("not a JWE at all") },
	"truncated": func(b []byte) []byte { return b[:len(b)/2] },
	"empty":     func([]byte) []byte { return nil },
	// A byte of the ciphertext (the fourth of the JWE's five parts) changed: the key
	// unwraps, the content does not authenticate.
	"ciphertext": func(b []byte) []byte {
		parts := strings.Split(string(b), ".")
		c := []byte(parts[3])
		if i := len(c) / 2; c[i] == 'A' {
			c[i] = 'B'
		} else {
			c[i] = 'A'
		}
		parts[3] = string(c)
		return []byte(strings.Join(parts, "."))
	},
}

func TestDamagedCacheItemIsAMiss(t *testing.T) {
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			v, _, itemFile := damagedVault(t, damage)
			_, err := v.readCache(CacheKey{Kind: "ecr", Profile: "dev"})
			if !errors.Is(err, ErrNotCached) {
				t.Fatalf("ReadCache of a damaged item = %v, want ErrNotCached", err)
			}
			if _, err := os.Stat(itemFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the damaged item is still there: %v", err)
			}
			// The master keys still read: the passphrase was right all along.
			if _, err := v.kr.Get("dev"); err != nil {
				t.Errorf("master keys: %v", err)
			}
		})
	}
}

func TestWrongPassphraseIsNotADamagedItem(t *testing.T) {
	_, dir, itemFile := damagedVault(t, nil)
	before, _ := os.ReadFile(itemFile)
	t.Setenv(PassphraseVar, "not-the-passphrase")
	v, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.readCache(CacheKey{Kind: "ecr", Profile: "dev"})
	var ie *ItemError
	if !errors.Is(err, ErrVaultLocked) || !errors.As(err, &ie) || !strings.HasPrefix(ie.Key, "av.ecr,") {
		t.Fatalf("ReadCache with the wrong passphrase = %v, want ErrVaultLocked naming the item", err)
	}
	if strings.Contains(err.Error(), "not-the-passphrase") {
		t.Errorf("the error quotes the passphrase: %v", err)
	}
	if after, _ := os.ReadFile(itemFile); string(after) != string(before) {
		t.Error("the item was changed")
	}
}

func TestDamagedMasterKeysNameTheItem(t *testing.T) {
	_, dir, _ := damagedVault(t, nil)
	if err := os.WriteFile(filepath.Join(dir, "dev"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := fileVault(t, dir, "")
	_, err := v.kr.Get("dev")
	var ie *ItemError
	if !errors.Is(err, ErrDamagedItem) || !errors.As(err, &ie) || ie.Key != "dev" || ie.Profile != "dev" {
		t.Fatalf("reading damaged master keys = %v, want ErrDamagedItem naming item dev", err)
	}
	if !strings.Contains(err.Error(), `item "dev" of the file vault `+dir+":") {
		t.Errorf("error %q does not name the item and the vault", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dev")); err != nil {
		t.Errorf("aws-vault's item was removed: %v", err)
	}

	// Alone in the vault, a damaged item cannot be told from the wrong passphrase.
	for _, f := range mustGlob(t, filepath.Join(dir, "av.*")) {
		os.Remove(f)
	}
	v = fileVault(t, dir, "")
	if _, err := v.kr.Get("dev"); !errors.Is(err, ErrVaultLocked) || !errors.As(err, &ie) || ie.Key != "dev" {
		t.Fatalf("reading the only item, damaged = %v, want ErrVaultLocked naming it", err)
	}
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
