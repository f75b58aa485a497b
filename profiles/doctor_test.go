package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// CheckVault (av doctor) looks at the vault without a prompt and without writing: a
// missing file vault stays missing, one without a passphrase at hand is listed but not
// decrypted, a wrong passphrase is told.
func TestCheckVaultFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")

	c := CheckVault(VaultOptions{Backend: "file", FileDir: dir})
	if c.Opens != VaultEmpty || c.Err != nil || c.Where != dir || !c.Chosen {
		t.Errorf("a missing vault: %+v, want no vault yet", c)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CheckVault created the vault directory: %v", err)
	}

	w := fileVault(t, dir, "")
	if err := w.credentials().Set("dev", awsCredentials()); err != nil {
		t.Fatal(err)
	}
	if err := w.writeCache(CacheKey{Kind: "ecr", Profile: "dev"}, []byte(`{"tokens":{}}`), time.Now().Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, filepath.Dir(dir))

	// No passphrase given: the names are listed, nothing decrypted, nobody asked.
	t.Setenv(PassphraseVar, "")
	c = CheckVault(VaultOptions{Backend: "file", FileDir: dir})
	if c.Opens != VaultNeedsPassphrase || c.Err != nil || !c.Listed || !slices.Equal(c.Profiles, []string{"dev"}) {
		t.Errorf("no passphrase: %+v, want needs-passphrase and profile dev listed", c)
	}

	c = CheckVault(VaultOptions{Backend: "file", FileDir: dir, FilePassphrase: "test-passphrase", HasFilePassphrase: true})
	if c.Opens != VaultOpen || c.Err != nil || !slices.Equal(c.Profiles, []string{"dev"}) {
		t.Errorf("the right passphrase: %+v, want it open", c)
	}

	c = CheckVault(VaultOptions{Backend: "file", FileDir: dir, FilePassphrase: "not-it", HasFilePassphrase: true})
	if c.Opens != VaultFails || !errors.Is(c.Err, ErrVaultLocked) {
		t.Errorf("a wrong passphrase: %+v (%v), want ErrVaultLocked", c, c.Err)
	}

	if after := dirState(t, filepath.Dir(dir)); !slices.Equal(before, after) {
		t.Errorf("CheckVault changed the vault: %q, then %q", before, after)
	}
}

func TestCheckVaultUnknownBackend(t *testing.T) {
	c := CheckVault(VaultOptions{Backend: "nosuch"})
	var be *BackendError
	if c.Opens != VaultFails || !errors.As(c.Err, &be) || len(c.Available) == 0 {
		t.Errorf("an unknown backend: %+v (%v), want a BackendError and the backends there are", c, c.Err)
	}
}

// dirState is every file under root with its size and modification time.
func dirState(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %v %d %v", p, info.Mode(), info.Size(), info.ModTime()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A file vault item that is not a regular file (a FIFO, a link to /dev/zero) is an error
// at once: reading it would wait forever for a writer, or never end.
func TestCheckVaultItemNotRegular(t *testing.T) {
	for name, mk := range map[string]func(path string) error{
		"fifo":     func(p string) error { return unix.Mkfifo(p, 0o600) },
		"dev-zero": func(p string) error { return os.Symlink("/dev/zero", p) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := mk(filepath.Join(dir, "dev")); err != nil {
				t.Fatal(err)
			}
			done := make(chan VaultCheck, 1)
			go func() {
				done <- CheckVault(VaultOptions{Backend: "file", FileDir: dir, FilePassphrase: "p", HasFilePassphrase: true})
			}()
			select {
			case c := <-done:
				if c.Opens != VaultFails || c.Err == nil {
					t.Errorf("%s as an item: %+v, want it refused", name, c)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("CheckVault still reading a %s item after 2 s", name)
			}
		})
	}
}
