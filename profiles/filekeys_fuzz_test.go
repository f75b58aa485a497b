package profiles

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/keyring"
	"github.com/av-cli/av/profiles/internal/pbes2"
	"github.com/dvsekhvalnov/jose2go/base64url"
)

// FuzzFileItem decrypts arbitrary file items, as the vault reads them, with the passphrase of
// goldenItem. Whatever the file holds (a damaged item, a forged header), the read never
// panics, an error never holds the passphrase, and an item decrypts only to goldenItem's
// content: no change to the header, the wrapped key, the IV or the tag gets another content
// past the passphrase.
func FuzzFileItem(f *testing.F) {
	parts := strings.Split(goldenItem, ".")
	with := func(i int, part string) string {
		p := append([]string(nil), parts...)
		p[i] = part
		return strings.Join(p, ".")
	}
	for _, seed := range []string{
		goldenItem,
		with(1, parts[1][:10]),                        // a short one
		with(2, parts[2][:8]),                         // an IV of the wrong size
		with(4, ""),                                   // no tag
		strings.Join(parts[:3], "."),                  // a JWS's three parts
		goldenItem[:len(goldenItem)/2],                // truncated
		"eyJhbGciOiJub25lIn0.eyJLZXkiOiJnb2xkZW4ifQ.", // alg none
		"", "....", "not a JWE",
	} {
		f.Add(seed)
	}
	const passphrase = "correct horse"
	dir := f.TempDir()
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt(passphrase),
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, item string) {
		if tooSlow(item) {
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "golden"), []byte(item), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := kr.Get("golden")
		if err != nil {
			if strings.Contains(err.Error(), passphrase) {
				t.Fatalf("the error holds the passphrase: %v", err)
			}
			return
		}
		if string(got.Data) != "hello from jose2go" {
			t.Fatalf("a changed item decrypted to %q", got.Data)
		}
	})
}

// tooSlow reports items whose header asks for more rounds than a fuzz run can afford
// each time (up to pbes2.MaxRounds, seconds each): FuzzItemHeader and FuzzParams cover
// those headers.
func tooSlow(item string) bool {
	encoded, _, _ := strings.Cut(item, ".")
	raw, err := base64url.Decode(encoded)
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(raw, &h) != nil {
		return false
	}
	_, rounds, err := pbes2.Params(h)
	return err == nil && rounds > 4*pbes2.Rounds
}
