package env

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestUserConfigFIFO: a FIFO as ~/.docker/config.json (or a hung NFS or FUSE home) must
// not block av in open(2), where no signal can stop it: it is refused at once.
func TestUserConfigFIFO(t *testing.T) {
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, ".docker"), 0o700)
	fifo := filepath.Join(home, ".docker", "config.json")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadUserConfig(FindUserConfig(func(k string) string { return map[string]string{"HOME": home}[k] }))
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), fifo+": is not a regular file") {
			t.Errorf("ReadUserConfig with a FIFO = %v, want it refused as not a regular file", err)
		}
	case <-time.After(10 * time.Second): // a safety net, not a timing: it should not block at all
		w, _ := os.OpenFile(fifo, os.O_WRONLY, 0) // lets the blocked open return
		w.Close()
		<-done
		t.Fatal("ReadUserConfig blocked on a FIFO")
	}
}

// TestUserConfigTooLarge: a sparse terabyte is refused by its size, without reading it.
func TestUserConfigTooLarge(t *testing.T) {
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, ".docker"), 0o700)
	f := filepath.Join(home, ".docker", "config.json")
	os.WriteFile(f, nil, 0o600)
	if err := os.Truncate(f, 1<<40); err != nil {
		t.Fatal(err)
	}
	var err error
	if grew := heapGrowth(func() {
		_, err = ReadUserConfig(FindUserConfig(func(k string) string { return map[string]string{"HOME": home}[k] }))
	}); grew > 1<<20 {
		t.Errorf("reading a terabyte config allocated %d MiB", grew>>20)
	}
	if err == nil || !strings.Contains(err.Error(), "is larger than 4 MiB") {
		t.Errorf("ReadUserConfig of a terabyte = %v", err)
	}
}
