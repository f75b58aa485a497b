package pbes2

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dvsekhvalnov/jose2go/kdf"
	"golang.org/x/sys/unix"
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

// writeItem writes a file item whose header carries saltInput; only the header is read
// ahead of time.
func writeItem(t *testing.T, dir, name string, saltInput []byte) string {
	t.Helper()
	header := `{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":"` + base64.RawURLEncoding.EncodeToString(saltInput) + `"}`
	jwe := base64.RawURLEncoding.EncodeToString([]byte(header)) + ".key.iv.ciphertext.tag"
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(jwe), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPrefetch(t *testing.T) {
	dir := t.TempDir()
	devSalt, opsSalt, prodSalt := []byte("dev salt 123"), []byte("ops salt 123"), []byte("prd salt 123")
	dev := writeItem(t, dir, "dev", devSalt)
	ops := writeItem(t, dir, "ops", opsSalt)
	prod := writeItem(t, dir, "prod", prodSalt)
	junk := filepath.Join(dir, "junk")
	if err := os.WriteFile(junk, []byte("not a JWE"), 0o600); err != nil {
		t.Fatal(err)
	}

	p := &Prefetch{}
	// A missing or unreadable item is passed over, and at most MaxAhead are begun.
	if n := p.Start("correct horse", []string{filepath.Join(dir, "missing"), junk, dev, ops, prod}); n != MaxAhead {
		t.Fatalf("Start began %d derivations, want %d", n, MaxAhead)
	}
	for _, tc := range []struct {
		name string
		salt []byte
	}{{"dev", devSalt}, {"ops", opsSalt}} {
		want, _ := Derive("correct horse", Salt(tc.salt), Rounds)
		if got := p.Key("correct horse", Salt(tc.salt), Rounds); string(got) != string(want) {
			t.Errorf("the key derived ahead for %s's item = %x, want %x", tc.name, got, want)
		}
	}
	for name, key := range map[string][]byte{
		"past MaxAhead":                  p.Key("correct horse", Salt(prodSalt), Rounds),
		"another passphrase":             p.Key("wrong horse", Salt(devSalt), Rounds),
		"another salt (a replaced item)": p.Key("correct horse", Salt([]byte("new salt 123")), Rounds),
		"other rounds":                   p.Key("correct horse", Salt(devSalt), Rounds+1),
	} {
		if key != nil {
			t.Errorf("%s: a key derived ahead was returned", name)
		}
	}
	if p.Used() != 2 {
		t.Errorf("Used() = %d, want 2", p.Used())
	}
}

// An item that is a FIFO is left to the decrypt (which refuses it), never opened: opening
// a FIFO waits for a writer.
func TestPrefetchFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sts.GetSessionToken,ZGV2,,1")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() { done <- new(Prefetch).Start("p", []string{path}) }()
	select {
	case n := <-done:
		if n != 0 {
			t.Errorf("Start began %d derivations for a FIFO", n)
		}
	case <-time.After(2 * time.Second):
		w, _ := os.OpenFile(path, os.O_WRONLY, 0)
		w.Close()
		t.Fatal("Start waited on a FIFO")
	}
}
