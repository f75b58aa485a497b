package profiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlaceLock is the rule for where a vault's lock lives, case by case.
func TestPlaceLock(t *testing.T) {
	userDir, fallback := t.TempDir(), t.TempDir()
	private := filepath.Join(t.TempDir(), "keys") // its parent is the user's, mode 0700 (TempDir)
	shared := t.TempDir()
	os.Chmod(shared, 0o777)
	t.Cleanup(func() { os.Chmod(shared, 0o700) })
	ok := func() (string, error) { return userDir, nil }
	taken := func() (string, error) { return "", errors.New("/dev/shm/av-UID is another user's") }
	for _, tc := range []struct {
		name    string
		places  LockPlaces
		fileDir string
		want    string // the directory the lock goes into; "" for an error
	}{
		{"a file vault: beside it", LockPlaces{UserDir: taken}, private, filepath.Dir(private)},
		{"another backend: the user's lock directory", LockPlaces{UserDir: ok}, "", userDir},
		{"a file vault whose parent others may write: the user's lock directory", LockPlaces{UserDir: ok}, filepath.Join(shared, "keys"), userDir},
		{"no user's lock directory: the fallback", LockPlaces{UserDir: taken, Fallback: func() (string, error) { return fallback, nil }}, "", fallback},
		{"no user's lock directory and no fallback", LockPlaces{UserDir: taken}, "", ""},
	} {
		got, err := placeLock(tc.places, tc.fileDir, "id")
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("%s: %s, want an error", tc.name, got)
		case tc.want != "" && (err != nil || filepath.Dir(got) != tc.want):
			t.Errorf("%s: %s, %v; want a lock in %s", tc.name, got, err, tc.want)
		}
	}
}

// TestOneLockWhateverPathNamesTheVault: a vault named through a symlink and through its
// real path has one lock (two would let two writers in, and make two STS calls).
func TestOneLockWhateverPathNamesTheVault(t *testing.T) {
	real := filepath.Join(t.TempDir(), "keys")
	if err := os.MkdirAll(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "keys")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	a, b := fileVault(t, real, t.TempDir()), fileVault(t, link, t.TempDir())
	if a.lock.path != b.lock.path || !strings.HasPrefix(a.lock.path, filepath.Dir(real)) {
		t.Fatalf("locks %s and %s, want one beside %s", a.lock.path, b.lock.path, real)
	}
	held, err := a.Lock(context.Background(), Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	if _, err := b.Lock(context.Background(), Shared); !isLockTimeout(err) {
		t.Errorf("the vault through its link was not locked: %v", err)
	}
}
