package profiles

import (
	"context"
	"errors"
	"fmt"
	"github.com/av-cli/av/profiles/internal/pbes2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
	"github.com/aws/smithy-go"
)

// devProfile writes a config with one profile, dev, whose keys are in v, and looks it up.
// STS is a closed port: a test that reaches it fails.
func devProfile(t *testing.T, v *Vault, opts Options) *Profile {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(cfgPath, []byte("[profile dev]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgPath)
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	if err := v.credentials().Set("dev", awsCredentials()); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Lookup(cfg, v, "dev", opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func putSession(t *testing.T, v *Vault, profile string, exp time.Time) {
	t.Helper()
	sk := &vault.SessionKeyring{Keyring: v.kr}
	if err := sk.Set(vault.SessionMetadata{Type: "sts.GetSessionToken", ProfileName: profile}, stsCredentials(exp)); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsFromTheSessionCache(t *testing.T) {
	v := fileVault(t, t.TempDir(), t.TempDir())
	p := devProfile(t, v, Options{})
	putSession(t, v, "dev", time.Now().Add(time.Hour))

	s, err := p.Credentials(context.Background(), CredentialsOptions{})
	if err != nil {
		t.Fatalf("a cached session was not used (STS is unreachable): %v", err)
	}
	if s.Credentials.AccessKeyID != "ASIAEXAMPLE" || !s.Credentials.CanExpire {
		t.Fatalf("credentials = %s, want the cached session", s.Credentials.AccessKeyID)
	}
	// The same process asks again: the session is kept, the vault not read again.
	before := v.Decrypts()
	if _, err := p.Credentials(context.Background(), CredentialsOptions{}); err != nil || v.Decrypts() != before {
		t.Errorf("a second call read the vault again (%d decrypts, err %v)", v.Decrypts()-before, err)
	}
}

func TestCredentialsFetchOnAMiss(t *testing.T) {
	v := fileVault(t, t.TempDir(), t.TempDir())
	p := devProfile(t, v, Options{})
	// A session with less than AWS_MIN_TTL left is a miss: av goes to STS for a new one.
	putSession(t, v, "dev", time.Now().Add(time.Minute))
	_, err := p.Credentials(context.Background(), CredentialsOptions{})
	if err == nil || errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), `getting credentials for profile "dev"`) {
		t.Errorf("err = %v, want STS's failure", err)
	}
}

func TestMasterKeysAreNeverKept(t *testing.T) {
	v := fileVault(t, t.TempDir(), t.TempDir())
	p := devProfile(t, v, Options{NoSession: true})
	s, err := p.Credentials(context.Background(), CredentialsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Credentials.AccessKeyID != "AKIAEXAMPLE" || s.Credentials.CanExpire {
		t.Errorf("--no-session credentials = %+v, want the master keys", s.Credentials.AccessKeyID)
	}
	if p.last != nil {
		t.Error("the master keys were kept in the profile")
	}
}

func TestNewestSessions(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	name := func(typ, profile, detail string, exp int64) string {
		m := vault.SessionMetadata{Type: typ, ProfileName: profile, MfaSerial: detail, Expiration: time.Unix(exp, 0)}
		return m.String()
	}
	names := []string{
		name("sts.GetSessionToken", "dev", "", 1_000_500),
		name("sts.GetSessionToken", "dev", "", 1_003_600), // the newest of its type
		name("av.ecr", "dev", "id", 1_040_000),
		name("av.ecr", "dev", "id", 999_000), // expired
		name("sts.GetSessionToken", "ops", "", 1_003_600),
		"dev", // master keys: not a session
	}
	got := newestSessions(names, "dev", now)
	want := []string{name("av.ecr", "dev", "id", 1_040_000), name("sts.GetSessionToken", "dev", "", 1_003_600)}
	if !slices.Equal(got, want) {
		t.Errorf("newestSessions = %q, want %q", got, want)
	}
	if got := newestSessions(names, "nobody", now); len(got) != 0 {
		t.Errorf("newestSessions(nobody) = %q", got)
	}
}

func TestDeriveAhead(t *testing.T) {
	dir := t.TempDir()
	v := fileVault(t, dir, "")
	exp := time.Now().Add(time.Hour)
	if err := v.writeCache(CacheKey{Kind: "ecr", Profile: "dev", Detail: "id"}, []byte(`{}`), exp, "test"); err != nil {
		t.Fatal(err)
	}
	putSession(t, v, "dev", exp)
	putSession(t, v, "ops", exp)

	// A fresh vault of the same directory, as the next run opens it.
	w, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	usedBefore := w.KeysDerivedAhead()
	// Written by one av, the two items share their key (pbes2.Reuse): one derivation.
	if n := w.DeriveAhead([]string{"dev"}); n != 1 {
		t.Fatalf("DeriveAhead(dev) began %d derivations, want 1 (its token item and its session, written with one key)", n)
	}
	if _, err := w.readCache(CacheKey{Kind: "ecr", Profile: "dev", Detail: "id"}); err != nil {
		t.Fatal(err)
	}
	if _, err := (&vault.SessionKeyring{Keyring: w.kr}).Get(vault.SessionMetadata{Type: "sts.GetSessionToken", ProfileName: "dev"}); err != nil {
		t.Fatal(err)
	}
	if got := w.KeysDerivedAhead() - usedBefore; got != 2 {
		t.Errorf("%d of the 2 reads used a key derived ahead", got)
	}

	// Items of different salts (the session written by aws-vault, say): one derivation each.
	pbes2.Reuse.Forget()
	if err := v.writeCache(CacheKey{Kind: "ecr", Profile: "dev", Detail: "id"}, []byte(`{}`), exp.Add(time.Minute), "test"); err != nil {
		t.Fatal(err)
	}
	pbes2.Ahead.Reset()
	if n := w.DeriveAhead([]string{"dev"}); n != 2 {
		t.Fatalf("DeriveAhead(dev) began %d derivations for two items of different salts, want 2", n)
	}

	// Nothing without the passphrase at hand, nor for another backend.
	t.Setenv(PassphraseVar, "")
	os.Unsetenv(PassphraseVar)
	x, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := x.DeriveAhead([]string{"dev"}); n != 0 {
		t.Errorf("DeriveAhead began %d derivations with no passphrase at hand", n)
	}
	a := &Vault{store: keyring.NewArrayKeyring(nil)}
	if n := a.DeriveAhead([]string{"dev"}); n != 0 {
		t.Errorf("DeriveAhead began %d derivations for another backend", n)
	}
}

// TestSTSErrorsNameTheRegion: as ECR's errors do, so that a wrong region or endpoint is
// seen at once; a role's STS call goes to its own profile's region.
func TestSTSErrorsNameTheRegion(t *testing.T) {
	v := fileVault(t, t.TempDir(), t.TempDir())
	p := devProfile(t, v, Options{})
	_, err := p.Credentials(context.Background(), CredentialsOptions{})
	if err == nil || !strings.Contains(err.Error(), "calling STS in eu-west-1: ") {
		t.Errorf("err = %v, want it to name STS and eu-west-1", err)
	}

	p = devProfile(t, v, Options{Region: "ap-south-1"})
	_, err = p.Credentials(context.Background(), CredentialsOptions{})
	if err == nil || !strings.Contains(err.Error(), "calling STS in ap-south-1: ") {
		t.Errorf("with --region: err = %v, want it to name STS and ap-south-1", err)
	}
}

func TestRenewDropsTheCachedSession(t *testing.T) {
	v := fileVault(t, t.TempDir(), t.TempDir())
	p := devProfile(t, v, Options{})
	putSession(t, v, "dev", time.Now().Add(time.Hour))
	if _, err := p.Credentials(context.Background(), CredentialsOptions{}); err != nil {
		t.Fatal(err)
	}
	// The session was rejected elsewhere (ECR): it is dropped, and STS asked for a new one
	// (here a closed port), not the cached one served again.
	_, err := p.Credentials(context.Background(), CredentialsOptions{Renew: true})
	if err == nil || !strings.Contains(err.Error(), `getting credentials for profile "dev"`) {
		t.Fatalf("err = %v, want STS's failure", err)
	}
	sk := &vault.SessionKeyring{Keyring: v.kr}
	if has, err := sk.Has(vault.SessionMetadata{Type: "sts.GetSessionToken", ProfileName: "dev"}); err != nil || has {
		t.Errorf("the rejected session is still cached (%v)", err)
	}
	// The master keys stay.
	if ok, err := v.HasCredentials("dev"); err != nil || !ok {
		t.Errorf("the profile's keys went with its session (%v)", err)
	}
}

func TestRejected(t *testing.T) {
	for code, want := range map[string]bool{
		"InvalidClientTokenId":        true,
		"UnrecognizedClientException": true,
		"ExpiredToken":                true,
		"ExpiredTokenException":       true,
		"AccessDenied":                false,
		"InvalidParameterException":   false,
	} {
		err := fmt.Errorf("minting: %w", &smithy.GenericAPIError{Code: code})
		if got := Rejected(err); got != want {
			t.Errorf("Rejected(%s) = %v, want %v", code, got, want)
		}
	}
	if Rejected(errors.New("InvalidClientTokenId")) {
		t.Error("Rejected took a plain error's words for AWS's answer")
	}
}

// A session's SDK config, built when first asked for, is in the session's region and
// serves the session's credentials.
func TestSessionConfig(t *testing.T) {
	v := fileVault(t, t.TempDir(), t.TempDir())
	for _, tc := range []struct {
		opts   Options
		region string
	}{
		{Options{}, "eu-west-1"},
		{Options{Region: "ap-south-1"}, "ap-south-1"},
	} {
		p := devProfile(t, v, tc.opts)
		putSession(t, v, "dev", time.Now().Add(time.Hour))
		s, err := p.Credentials(context.Background(), CredentialsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Config(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Region != tc.region || c.Region != tc.region {
			t.Errorf("%+v: session in %q, its config in %q; want %q", tc.opts, s.Region, c.Region, tc.region)
		}
		creds, err := c.Credentials.Retrieve(context.Background())
		if err != nil || creds.AccessKeyID != s.Credentials.AccessKeyID {
			t.Errorf("%+v: the config serves %q (%v), want the session's %q", tc.opts, creds.AccessKeyID, err, s.Credentials.AccessKeyID)
		}
	}
}
