package profiles

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// ReadCapped takes only a regular file within its limit, never waits on a FIFO, and with
// NoFollow refuses a symbolic link, whatever it points at.
func TestReadCapped(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	link := func(name, target string) string {
		p := filepath.Join(dir, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small", "12345")
	large := write("large", "123456")
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	toSmall := link("to-small", small)
	toFIFO := link("to-fifo", fifo)

	for _, tc := range []struct {
		name     string
		path     string
		noFollow bool
		want     string
		err      error // errors.Is; nil: no error
		anyErr   bool  // an error of the system's (ELOOP)
	}{
		{name: "a regular file at the limit", path: small, want: "12345"},
		{name: "over the limit", path: large, err: ErrTooLarge},
		{name: "missing", path: filepath.Join(dir, "none"), err: fs.ErrNotExist},
		{name: "a FIFO", path: fifo, err: ErrNotRegular},
		{name: "a directory", path: dir, err: ErrNotRegular},
		{name: "a device", path: "/dev/zero", err: ErrNotRegular},
		{name: "a link, followed", path: toSmall, want: "12345"},
		{name: "a link to a FIFO, followed", path: toFIFO, err: ErrNotRegular},
		{name: "a regular file, NoFollow", path: small, noFollow: true, want: "12345"},
		{name: "a link, NoFollow", path: toSmall, noFollow: true, anyErr: true},
		{name: "a link to a FIFO, NoFollow", path: toFIFO, noFollow: true, anyErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := ReadCapped(tc.path, ReadOptions{Limit: 5, NoFollow: tc.noFollow})
			switch {
			case tc.anyErr:
				if err == nil || data != nil {
					t.Errorf("ReadCapped = %q, %v; want an error", data, err)
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) || data != nil {
					t.Errorf("ReadCapped = %q, %v; want %v", data, err, tc.err)
				}
			case err != nil || string(data) != tc.want:
				t.Errorf("ReadCapped = %q, %v; want %q", data, err, tc.want)
			}
		})
	}
	if _, err := ReadCapped(toSmall, ReadOptions{Limit: 5, NoFollow: true}); !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Errorf("NoFollow on a link: %v, want ELOOP", err)
	}
}
