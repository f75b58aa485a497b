//go:build linux

package keyring

// Tests of av's patch to the file backend (PATCHES.md): Get reads an item's file only if it
// is a regular file of at most maxItemFile bytes. v1.2.2's os.ReadFile waited for ever on
// a FIFO and read a device such as /dev/zero until memory ran out.

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newTestFileKeyring(t *testing.T) *fileKeyring {
	t.Helper()
	return &fileKeyring{dir: t.TempDir(), passwordFunc: FixedStringPrompt("no more secrets")}
}

// itemFile is the file that holds key's item.
func itemFile(t *testing.T, k *fileKeyring, key string) string {
	t.Helper()
	name, err := k.filename(key)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func TestFileKeyringGetRefusesFIFO(t *testing.T) {
	k := newTestFileKeyring(t)
	name := itemFile(t, k, "fifo")
	if err := unix.Mkfifo(name, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := k.Get("fifo")
		done <- err
	}()
	// A bound on the wait, not a timed assertion: the patched Get does not wait at all.
	select {
	case err := <-done:
		if !errors.Is(err, ErrItemNotRegular) {
			t.Fatalf("Get of a FIFO: %v, want ErrItemNotRegular", err)
		}
	case <-time.After(time.Minute):
		// v1.2.2 waits in open(2) for a writer: be one, so its goroutine ends.
		if w, err := os.OpenFile(name, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("Get of a FIFO still waiting after a minute")
	}
}

func TestFileKeyringGetRefusesNonRegular(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, file string)
	}{
		// The patch follows symlinks, as v1.2.2 did (see TestFileKeyringGetFollowsSymlink),
		// and judges what the link leads to. /dev/null rather than /dev/zero: the same kind
		// of file, and v1.2.2's read of it ends, so this fails rather than eats memory if
		// the patch goes.
		{"symlink to /dev/null", func(t *testing.T, file string) {
			if err := os.Symlink("/dev/null", file); err != nil {
				t.Fatal(err)
			}
		}},
		{"character device", func(t *testing.T, file string) {
			// /dev/null's numbers: 1, 3.
			err := unix.Mknod(file, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3)))
			if errors.Is(err, unix.EPERM) {
				t.Skip("mknod is not permitted here (CAP_MKNOD): the symlink case covers devices")
			}
			if err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, file string) {
			if err := os.Mkdir(file, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestFileKeyring(t)
			tc.make(t, itemFile(t, k, "item"))
			if _, err := k.Get("item"); !errors.Is(err, ErrItemNotRegular) {
				t.Fatalf("Get: %v, want ErrItemNotRegular", err)
			}
		})
	}
}

func TestFileKeyringGetSizeCap(t *testing.T) {
	for _, tc := range []struct {
		size     int64
		tooLarge bool
	}{
		{maxItemFile, false},
		{maxItemFile + 1, true},
	} {
		k := newTestFileKeyring(t)
		f, err := os.Create(itemFile(t, k, "item"))
		if err != nil {
			t.Fatal(err)
		}
		// A sparse file: its size is all that counts.
		err = f.Truncate(tc.size)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Get("item")
		switch {
		case tc.tooLarge && !errors.Is(err, ErrItemTooLarge):
			t.Errorf("Get of %d bytes: %v, want ErrItemTooLarge", tc.size, err)
		case !tc.tooLarge && (err == nil || errors.Is(err, ErrItemTooLarge) || errors.Is(err, ErrItemNotRegular)):
			// read, then refused by the decoder: zeros are no item
			t.Errorf("Get of %d bytes: %v, want it read (and not decoded)", tc.size, err)
		}
	}
}

// TestFileKeyringGetFollowsSymlink: an item file that is a symlink to a regular file is
// read through it, as v1.2.2 read it.
func TestFileKeyringGetFollowsSymlink(t *testing.T) {
	k := newTestFileKeyring(t)
	want := Item{Key: "real", Data: []byte("llamas are great")}
	if err := k.Set(want); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(itemFile(t, k, "real")), itemFile(t, k, "link")); err != nil {
		t.Fatal(err)
	}
	got, err := k.Get("link")
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != want.Key || string(got.Data) != string(want.Data) {
		t.Fatalf("Get through a symlink: %q %q, want %q %q", got.Key, got.Data, want.Key, want.Data)
	}
}
