package env

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// TestCredentialStoreListerEndsWithTheRun: a credential helper that hangs, with a child of
// its own, ends when the run does (Ctrl-C, SIGTERM), both of them; one that answers but
// leaves a process holding its stdout is not waited for.
func TestCredentialStoreListerEndsWithTheRun(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	hang := "#!/bin/sh\necho $$ >> " + pids + "\nsleep 3600 &\necho $! >> " + pids + "\nwait\n"
	leaves := "#!/bin/sh\nsleep 3600 2>/dev/null &\necho $! >> " + pids + "\necho '{\"r.example\": \"u\"}'\n"
	for name, script := range map[string]string{"hang": hang, "leaves": leaves, "flood": "#!/bin/sh\nexec yes\n"} {
		if err := os.WriteFile(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Cleanup(func() {
		data, _ := os.ReadFile(pids)
		for _, p := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	if _, err := CredentialStoreLister(ctx)("hang"); !errors.Is(err, context.Canceled) {
		t.Errorf("a hung helper when the run ends: %v, want context.Canceled", err)
	}
	data, _ := os.ReadFile(pids)
	for _, p := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(p)
		for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil && !zombie(pid); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("pid %d of the hung helper still runs", pid)
				break
			}
		}
	}

	// A list without end is stopped, not read into memory.
	if _, err := CredentialStoreLister(context.Background())("flood"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a helper that prints without end: %v", err)
	}

	// Longer than go test waits, if it were waited for.
	if hosts, err := CredentialStoreLister(context.Background())("leaves"); err != nil || strings.Join(hosts, " ") != "r.example" {
		t.Errorf("a helper that leaves a process: %q, %v", hosts, err)
	}
}

// zombie reports whether pid has died and waits to be reaped.
func zombie(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// config.json, read once, is both docker's config and the last of containers/image's
// default auth files: its logins reach both.
func TestUserConfigDockerIsAnAuthFile(t *testing.T) {
	home := t.TempDir()
	os.Mkdir(filepath.Join(home, ".docker"), 0o700)
	config := `{"auths": {"ghcr.io": {"auth": "dTpw"}}}`
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(config), 0o600)
	u := FindUserConfig(func(k string) string { return map[string]string{"HOME": home}[k] })
	f, err := ReadUserConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Auth) != len(u.AuthFiles) || len(u.AuthFiles) == 0 || u.AuthFiles[len(u.AuthFiles)-1] != u.DockerConfigPath() {
		t.Fatalf("auth files %q, %d read", u.AuthFiles, len(f.Auth))
	}
	if string(f.Docker) != config || string(f.Auth[len(f.Auth)-1]) != config {
		t.Errorf("docker's config %q, the last auth file %q; want both %q", f.Docker, f.Auth[len(f.Auth)-1], config)
	}
	if f.Auth[0] != nil {
		t.Errorf("the missing containers auth file read as %q", f.Auth[0])
	}
}
