package profiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
)

func loadTestConfig(t *testing.T, content string) *Config {
	t.Helper()
	writeConfig(t, content)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// seed stores, with aws-vault's own types, what aws-vault and av leave in a vault for
// profile p: master keys (if keys), a GetSessionToken session and an av token item.
func seed(t *testing.T, v *Vault, p string, keys bool, exp time.Time) {
	t.Helper()
	if keys {
		if err := (&vault.CredentialKeyring{Keyring: v.store}).Set(p, awsCredentials()); err != nil {
			t.Fatal(err)
		}
	}
	if err := (&vault.SessionKeyring{Keyring: v.store}).Set(vault.SessionMetadata{Type: "sts.GetSessionToken", ProfileName: p}, stsCredentials(exp)); err != nil {
		t.Fatal(err)
	}
	if err := v.writeCache(CacheKey{Kind: "ecr", Profile: p, Detail: "id"}, []byte("t"), exp, "test"); err != nil {
		t.Fatal(err)
	}
}

func storeKeys(t *testing.T, v *Vault) []string {
	t.Helper()
	keys, err := v.store.Keys()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// TestAddIsAWSVaultAdd: the item Add writes is the one aws-vault add writes (name, label,
// JSON, read back by aws-vault's CredentialKeyring); replacing keys removes the profile's
// cached sessions and av's items, as aws-vault add does, and no other profile's.
func TestAddIsAWSVaultAdd(t *testing.T) {
	cfg := loadTestConfig(t, "[profile dev]\nregion = eu-west-1\n")
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	exp := time.Now().Add(time.Hour)
	seed(t, v, "dev", false, exp)
	seed(t, v, "prod", true, exp)

	a, err := v.Add(context.Background(), cfg, "dev", Keys{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if a != (Added{Removed: 2}) {
		t.Errorf("first Add = %+v, want the session and the token item removed", a)
	}
	item, err := v.store.Get("dev")
	if err != nil {
		t.Fatal(err)
	}
	if item.Label != "aws-vault (dev)" || !item.KeychainNotTrustApplication {
		t.Errorf("item = %+v, want aws-vault add's label and settings", item)
	}
	got, err := (&vault.CredentialKeyring{Keyring: v.store}).Get("dev")
	if err != nil || got.AccessKeyID != "AKIAAAAAAAAAAAAAAAAA" || got.SecretAccessKey != "s1" {
		t.Fatalf("aws-vault reads %+v, %v", got, err)
	}

	a, err = v.Add(context.Background(), cfg, "dev", Keys{AccessKeyID: "AKIABBBBBBBBBBBBBBBB", SecretAccessKey: "s2"})
	if err != nil || !a.Replaced {
		t.Fatalf("second Add = %+v, %v; want Replaced", a, err)
	}
	if got, _ := (&vault.CredentialKeyring{Keyring: v.store}).Get("dev"); got.SecretAccessKey != "s2" {
		t.Errorf("after replacing, the secret is %q", got.SecretAccessKey)
	}
	// prod's three items are untouched.
	n := 0
	for _, k := range storeKeys(t, v) {
		if k == "prod" {
			n++
		} else if m, err := vault.NewSessionKeyFromString(k); err == nil && m.ProfileName == "prod" {
			n++
		}
	}
	if n != 3 {
		t.Errorf("prod has %d items left, want 3: %q", n, storeKeys(t, v))
	}
}

func TestAddRefuses(t *testing.T) {
	cfg := loadTestConfig(t, "[profile base]\n[profile role]\nsource_profile = base\nrole_arn = arn:aws:iam::1:role/r\n")
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	k := Keys{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: "s"}
	var se *SourceProfileError
	if _, err := v.Add(context.Background(), cfg, "role", k); !errors.As(err, &se) || se.Source != "base" {
		t.Errorf("Add(role) = %v, want a SourceProfileError naming base", err)
	}
	for _, name := range []string{"", "a/b", "..", "-x", " a", "a ", "a\tb", "a\x1b[2J", "sts.GetSessionToken,ZGV2,,1700000000", "oidc:https://x"} {
		var ne *ProfileNameError
		if _, err := v.Add(context.Background(), cfg, name, k); !errors.As(err, &ne) {
			t.Errorf("Add(%q) = %v, want a ProfileNameError", name, err)
		}
	}
	// aws-vault stores a name with a space inside, as [profile my team] names it.
	if err := CheckProfileName("my team"); err != nil {
		t.Errorf("CheckProfileName(my team) = %v, want nil", err)
	}
	if _, err := v.Add(context.Background(), cfg, "dev", Keys{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA"}); err == nil {
		t.Error("Add with no secret key succeeded")
	}
	if keys := storeKeys(t, v); len(keys) != 0 {
		t.Errorf("refused adds wrote %q", keys)
	}
}

// TestUnlockRefusesAWrongPassphrase: a passphrase that decrypts none of the vault's items
// is refused before anything is written with it.
func TestUnlockRefusesAWrongPassphrase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	seed(t, fileVault(t, dir, ""), "dev", true, time.Now().Add(time.Hour))
	t.Setenv(PassphraseVar, "another-passphrase")
	v, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ReadyToWrite(context.Background()); !errors.Is(err, ErrVaultLocked) {
		t.Fatalf("Unlock with a wrong passphrase: %v, want ErrVaultLocked", err)
	}
	t.Setenv(PassphraseVar, "test-passphrase")
	v, _ = OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir})
	if err := v.ReadyToWrite(context.Background()); err != nil {
		t.Fatalf("Unlock with the right passphrase: %v", err)
	}
}

// TestCreateMakesTheVaultOnWrite: with Create, a file vault that does not exist is made by
// Add, not by opening or unlocking it; without Create it stays an empty vault.
func TestCreateMakesTheVaultOnWrite(t *testing.T) {
	cfg := loadTestConfig(t, "")
	dir := filepath.Join(t.TempDir(), "awsvault", "keys")
	t.Setenv(PassphraseVar, "test-passphrase")
	v, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir, Create: true, Lock: inDir(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.ReadyToWrite(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the vault directory exists before the write: %v", err)
	}
	if _, err := v.Add(context.Background(), cfg, "dev", Keys{AccessKeyID: "AKIAAAAAAAAAAAAAAAAA", SecretAccessKey: "s"}); err != nil {
		t.Fatal(err)
	}
	again, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := again.HasCredentials("dev"); !ok || err != nil {
		t.Fatalf("the new vault does not hold dev: %v, %v", ok, err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("vault directory: %v, %v; want mode 0700", st.Mode(), err)
	}
}

// TestList: config profiles first, then the vault's other names; each with its keys and
// cached items as their names tell, SSO logins by start URL; nothing is decrypted.
func TestList(t *testing.T) {
	cfg := loadTestConfig(t, `[profile dev]
[profile sso]
sso_start_url = https://example.awsapps.com/start
[profile idle]
`)
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	seed(t, v, "dev", true, exp)
	seed(t, v, "zeta", false, exp)
	if err := (&vault.CredentialKeyring{Keyring: v.store}).Set("alpha", awsCredentials()); err != nil {
		t.Fatal(err)
	}
	if err := v.store.Set(keyring.Item{Key: "oidc:https://example.awsapps.com/start", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	before := v.Decrypts()
	got, err := v.List(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v.Decrypts() != before {
		t.Errorf("List decrypted %d items", v.Decrypts()-before)
	}
	sess := CachedItem{Type: "sts.GetSessionToken", Expires: exp}
	tok := CachedItem{Type: "av.ecr", Kind: "ecr", Expires: exp}
	want := []StoredProfile{
		{Name: "dev", InConfig: true, HasKeys: true, Cached: []CachedItem{tok, sess}},
		{Name: "idle", InConfig: true},
		{Name: "sso", InConfig: true, Cached: []CachedItem{{Type: "oidc"}}},
		{Name: "alpha", HasKeys: true},
		{Name: "zeta", Cached: []CachedItem{tok, sess}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List =\n%+v\nwant\n%+v", got, want)
	}
}

// TestRemove: a profile's keys, sessions and av's items go, and no other profile's;
// SessionsOnly keeps the keys; a profile with nothing stored is an error with the closest
// name.
func TestRemove(t *testing.T) {
	cfg := loadTestConfig(t, "[profile dev]\n[profile prod]\n")
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	exp := time.Now().Add(time.Hour)
	seed(t, v, "dev", true, exp)
	seed(t, v, "prod", true, exp)

	r, err := v.Remove(context.Background(), cfg, "prod", RemoveOptions{SessionsOnly: true})
	if err != nil || r != (Removed{Sessions: 1, Items: 1}) {
		t.Fatalf("Remove(prod, sessions only) = %+v, %v", r, err)
	}
	if ok, _ := v.HasCredentials("prod"); !ok {
		t.Error("sessions only removed prod's keys")
	}
	r, err = v.Remove(context.Background(), cfg, "dev", RemoveOptions{})
	if err != nil || r != (Removed{Keys: true, Sessions: 1, Items: 1}) {
		t.Fatalf("Remove(dev) = %+v, %v", r, err)
	}
	if keys := storeKeys(t, v); !slices.Equal(keys, []string{"prod"}) {
		t.Errorf("left %q, want prod's keys alone", keys)
	}
	var none *NothingStoredError
	if _, err := v.Remove(context.Background(), cfg, "dev", RemoveOptions{}); !errors.As(err, &none) {
		t.Errorf("Remove(dev) again = %v, want NothingStoredError", err)
	}
	if _, err := v.Stored(cfg, "prd"); !errors.As(err, &none) || none.Suggestion != "prod" {
		t.Errorf("Stored(prd) = %v, want NothingStoredError suggesting prod", err)
	}
}
