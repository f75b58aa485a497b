package pbes2

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dvsekhvalnov/jose2go/kdf"
)

func TestDeriveIsJose2gos(t *testing.T) {
	salt := Salt([]byte("twelve bytes"))
	got, err := Derive("correct horse", salt, Rounds)
	if err != nil {
		t.Fatal(err)
	}
	want := kdf.DerivePBKDF2([]byte("correct horse"), salt, Rounds, 8*keySize, sha256.New)
	if string(got) != string(want) {
		t.Fatalf("Derive = %x, jose2go derives %x", got, want)
	}
}

func TestProfileGuesses(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want []string
	}{
		{[]string{"dev", "--", "make"}, "", []string{"dev", "default"}},
		{[]string{"--debug", "dev", "make", "images"}, "ops", []string{"dev", "make", "images", "ops"}},
		{[]string{"--region", "eu-west-1", "dev", "true"}, "", []string{"eu-west-1", "dev", "true", "default"}},
		{[]string{"-r", "public.ecr.aws", "--region", "eu-west-1", "dev", "--", "true"}, "", []string{"dev", "public.ecr.aws", "eu-west-1", "default"}},
		{[]string{"make", "-j4", "a", "b", "c"}, "ops", []string{"make", "a", "b", "ops"}},
		{[]string{"--", "true"}, "", []string{"default"}},
		{nil, "ops", []string{"ops"}},
	} {
		if got := profileGuesses(tc.args, tc.env); !slices.Equal(got, tc.want) {
			t.Errorf("profileGuesses(%q, %q) = %q, want %q", tc.args, tc.env, got, tc.want)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestNewestItem(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	item := func(typ, profile string, exp int64) string {
		return typ + "," + b64(profile) + "," + b64("id") + "," + strconv.FormatInt(exp, 10)
	}
	names := []string{
		"dev", // master credentials
		item("sts.GetSessionToken", "dev", 2_000_000),
		item("av.ecr", "dev", 999_999), // expired
		item("av.ecr", "dev", 1_500_000),
		item("av.ecr", "dev", 1_400_000),
		item("av.ecr", "ops", 1_900_000),
		item("av.ecr", "devops", 1_900_000),
	}
	if got, want := newestItem(names, "dev", now), item("av.ecr", "dev", 1_500_000); got != want {
		t.Errorf("newestItem(dev) = %q, want %q", got, want)
	}
	if got := newestItem(names, "prod", now); got != "" {
		t.Errorf("newestItem(prod) = %q, want none", got)
	}
	if got := newestItem(names, "dev", time.Unix(1_600_000, 0)); got != "" {
		t.Errorf("newestItem(dev) once all expired = %q, want none", got)
	}
}

// writeItem writes a file item whose header carries saltInput; only the header is read
// ahead of time.
func writeItem(t *testing.T, dir, name string, saltInput []byte) {
	t.Helper()
	header := `{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":"` + base64.RawURLEncoding.EncodeToString(saltInput) + `"}`
	jwe := base64.RawURLEncoding.EncodeToString([]byte(header)) + ".key.iv.ciphertext.tag"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(jwe), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPrefetch(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	exp := strconv.FormatInt(now.Add(time.Hour).Unix(), 10)
	devSalt, opsSalt, prodSalt := []byte("dev salt 123"), []byte("ops salt 123"), []byte("prd salt 123")
	writeItem(t, dir, "av.ecr,"+b64("dev")+","+b64("id")+","+exp, devSalt)
	writeItem(t, dir, "av.ecr,"+b64("ops")+","+b64("id")+","+exp, opsSalt)
	writeItem(t, dir, "av.ecr,"+b64("prod")+","+b64("id")+","+exp, prodSalt)

	p := newPrefetch()
	// One derivation, for the first guess that names a live item: dev's.
	p.run(dir, "correct horse", []string{"nothing", "dev", "ops", "prod"}, now)
	want, _ := Derive("correct horse", Salt(devSalt), Rounds)
	if got := p.Key("correct horse", Salt(devSalt), Rounds); string(got) != string(want) {
		t.Fatalf("the key derived ahead for dev's item = %x, want %x", got, want)
	}
	for name, key := range map[string][]byte{
		"a later guess":                  p.Key("correct horse", Salt(opsSalt), Rounds),
		"another passphrase":             p.Key("wrong horse", Salt(devSalt), Rounds),
		"another salt (a replaced item)": p.Key("correct horse", Salt([]byte("new salt 123")), Rounds),
		"other rounds":                   p.Key("correct horse", Salt(devSalt), Rounds+1),
	} {
		if key != nil {
			t.Errorf("%s: a key derived ahead was returned", name)
		}
	}
	if p.Used() != 1 {
		t.Errorf("Used() = %d, want 1", p.Used())
	}

	// A guess with no live item is passed over.
	p = newPrefetch()
	p.run(dir, "correct horse", []string{"nothing", "prod"}, now)
	if p.Key("correct horse", Salt(prodSalt), Rounds) == nil {
		t.Error("no key derived ahead for prod's item, the first guess with one")
	}
}

func TestPrefetchWithoutVault(t *testing.T) {
	p := newPrefetch()
	p.run(filepath.Join(t.TempDir(), "missing"), "pw", []string{"dev"}, time.Now())
	if p.Key("pw", Salt([]byte("dev salt 123")), Rounds) != nil || p.Used() != 0 {
		t.Error("a key was derived ahead with no vault directory")
	}
}

func TestFileVault(t *testing.T) {
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	dir, pass, ok := fileVault(env(map[string]string{"AWS_VAULT_BACKEND": "file", "AWS_VAULT_FILE_PASSPHRASE": "", "HOME": "/home/u"}))
	if !ok || dir != "/home/u/.awsvault/keys/" || pass != "" {
		t.Errorf("default directory, empty passphrase: got %q %q %v", dir, pass, ok)
	}
	dir, _, ok = fileVault(env(map[string]string{"AWS_VAULT_BACKEND": "file", "AWS_VAULT_FILE_PASSPHRASE": "pw", "AWS_VAULT_FILE_DIR": "/vault"}))
	if !ok || dir != "/vault" {
		t.Errorf("AWS_VAULT_FILE_DIR: got %q %v", dir, ok)
	}
	for name, m := range map[string]map[string]string{
		"no passphrase (av asks for it)": {"AWS_VAULT_BACKEND": "file", "HOME": "/home/u"},
		"another backend":                {"AWS_VAULT_BACKEND": "pass", "AWS_VAULT_FILE_PASSPHRASE": "pw"},
		"the default backend":            {"AWS_VAULT_FILE_PASSPHRASE": "pw"},
	} {
		if _, _, ok := fileVault(env(m)); ok {
			t.Errorf("%s: would derive ahead", name)
		}
	}
}
