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

// TestListCredentialStoreEnviron: the credential store av asks for its registries is not
// the command, and inherits none of the secrets av's environment may hold (a CI job's
// keys, the vault passphrase). It answers here with the secrets it got, as host names.
func TestListCredentialStoreEnviron(t *testing.T) {
	dir := t.TempDir()
	helper := "#!/bin/sh\nprintf '{\"%s\": \"u\", \"%s\": \"u\", \"%s\": \"u\", \"HOME=%s\": \"u\"}' " +
		"\"${AWS_SECRET_ACCESS_KEY:-no-secret}\" \"${AWS_SESSION_TOKEN:-no-token}\" \"${AWS_VAULT_FILE_PASSPHRASE:-no-passphrase}\" \"$HOME\"\n"
	if err := os.WriteFile(filepath.Join(dir, "docker-credential-envtest"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("HOME", "/home/someone")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "job-secret")
	t.Setenv("AWS_SESSION_TOKEN", "job-token")
	t.Setenv("AWS_VAULT_FILE_PASSPHRASE", "vault-passphrase")
	hosts, err := ListCredentialStore("envtest")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"HOME=/home/someone", "no-passphrase", "no-secret", "no-token"}
	if strings.Join(hosts, " ") != strings.Join(want, " ") {
		t.Errorf("the helper saw %q, want %q: the secrets kept from it, the rest of the environment passed on", hosts, want)
	}
}
