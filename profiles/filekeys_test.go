package profiles

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/99designs/keyring"
)

// goldenItem was written by jose2go v1.5.0's own PBES2-HS256+A128KW, as aws-vault writes
// items, with the passphrase "correct horse".
const goldenItem = "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJjcmVhdGVkIjoiZ29sZGVuIiwiZW5jIjoiQTI1NkdDTSIsInAyYyI6ODE5MiwicDJzIjoiZGdrY0E1U3pBMWJCcmpfUSJ9.efuGcqqdpkP83x0houJpYYGZMZN2l94Xbzvq-nEPJ18hEZ6GnOo1gA.hLb7Gb9uBHECYH09.VAQhMqpbvGIv-Dk8ZPv0oDo3q3X1kXGUWIFQuvZlowlxjtRJrniwAbhljUq9kA7wMpkEG0AAJ-Elq8d383Ff1un5mMElsVhJwyr7R1MkzcpM8gcRCiBsXTWaRQ0pxu6csNZTQJJbpZ7QlvuCg1SdWCor0u76DeRtq-wC3eEvAxTu8KZ-dC8ZShV1pDiTtVQC2zjt0g.iiTaCK-naXyfUVrYFPij0Q"

func openFileKeyring(t *testing.T, dir, passphrase string) keyring.Keyring {
	t.Helper()
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt(passphrase),
	})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestFileItemKeysReadJose2gosItems(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "golden"), []byte(goldenItem), 0o600); err != nil {
		t.Fatal(err)
	}
	item, err := openFileKeyring(t, dir, "correct horse").Get("golden")
	if err != nil {
		t.Fatalf("reading an item jose2go wrote: %v", err)
	}
	if string(item.Data) != "hello from jose2go" {
		t.Errorf("item data = %q", item.Data)
	}
	if _, err := openFileKeyring(t, dir, "wrong horse").Get("golden"); err == nil {
		t.Error("the item decrypted with a wrong passphrase")
	}
}

func TestFileItemKeysRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := keyring.Item{Key: "av.ecr,ZGV2,,1", Data: []byte(`{"secret":"value"}`)}
	if err := openFileKeyring(t, dir, "correct horse").Set(want); err != nil {
		t.Fatal(err)
	}
	got, err := openFileKeyring(t, dir, "correct horse").Get(want.Key)
	if err != nil || string(got.Data) != string(want.Data) {
		t.Fatalf("Get = %q, %v; want %q", got.Data, err, want.Data)
	}
	if _, err := openFileKeyring(t, dir, "wrong horse").Get(want.Key); err == nil {
		t.Error("the item decrypted with a wrong passphrase")
	}
}
