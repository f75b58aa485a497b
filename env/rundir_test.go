package env

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// privateTempDir returns a fresh 0700 directory on /dev/shm (tmpfs), removed after the test.
func privateTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "av-unit-")
	if err != nil {
		t.Skipf("no /dev/shm here: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestBaseOverride(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	root := privateTempDir(t)

	got, err := Base(filepath.Join(root, "made"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(got); err != nil || st.Mode().Perm() != 0o700 || !st.IsDir() {
		t.Fatalf("override not created as a 0700 directory: %v %v", st, err)
	}

	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if _, err := Base(open); err == nil || !strings.Contains(err.Error(), "mode 0755") {
		t.Errorf("Base(0755 dir) error = %v, want a mode complaint", err)
	}

	link := filepath.Join(root, "link")
	os.Symlink(got, link)
	if _, err := Base(link); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("Base(symlink) error = %v, want a symlink complaint", err)
	}
}

func TestShredZeroesAndRemoves(t *testing.T) {
	d, err := NewDir(privateTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("AWS:very-secret-token")
	p := filepath.Join(d.Path, "f")
	if err := d.own.writeExclusive(p, secret); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(d.Path, "sub"), 0o700)
	os.WriteFile(filepath.Join(d.Path, "sub", "g"), secret, 0o600)
	target := filepath.Join(t.TempDir(), "linked")
	os.WriteFile(target, []byte("keep me"), 0o600)
	os.Symlink(target, filepath.Join(d.Path, "link"))

	held, err := os.Open(p) // a reader that still has the file open
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	if err := d.Shred(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory still there: %v", err)
	}
	left := make([]byte, len(secret))
	if _, err := held.ReadAt(left, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(left, make([]byte, len(secret))) {
		t.Errorf("the file's contents were not overwritten: %q", left)
	}
	if data, err := os.ReadFile(target); err != nil || string(data) != "keep me" {
		t.Errorf("shred touched a link's target: %q, %v", data, err)
	}
}

func TestSweepTakesOnlyDeadRuns(t *testing.T) {
	base := privateTempDir(t)
	live, err := NewDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Shred()
	dead, err := NewDir(base)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dead.Path, "config.json"), []byte("secret"), 0o600)
	dead.lock.Close() // as if the run had been SIGKILLed: the kernel drops its lock
	// Half-made directories (NewDir renames them once locked): one left by a run killed
	// a while ago, and one a run may be making right now.
	halfOld, halfYoung := filepath.Join(base, newPrefix+"old"), filepath.Join(base, newPrefix+"young")
	os.Mkdir(halfOld, 0o700)
	os.Mkdir(halfYoung, 0o700)
	long := time.Now().Add(-2 * newGrace)
	os.Chtimes(halfOld, long, long)

	Sweep(base)

	if _, err := os.Stat(halfOld); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an old half-made directory survived the sweep: %v", err)
	}
	if _, err := os.Stat(halfYoung); err != nil {
		t.Errorf("a young half-made directory was swept: %v", err)
	}

	if _, err := os.Stat(dead.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead run's directory survived the sweep: %v", err)
	}
	if _, err := os.Stat(live.Path); err != nil {
		t.Errorf("live run's directory was swept: %v", err)
	}
}
