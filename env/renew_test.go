package env

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/av-cli/av/env/ecr"
)

func TestRenewAt(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		expires time.Time
		minTTL  time.Duration
		want    time.Time
	}{
		{"12h token, 15m margin", now.Add(12 * time.Hour), 15 * time.Minute, now.Add(11*time.Hour + 45*time.Minute)},
		{"short token: half-way", now.Add(10 * time.Minute), 15 * time.Minute, now.Add(5 * time.Minute)},
		{"3s token, 1s margin", now.Add(3 * time.Second), time.Second, now.Add(2 * time.Second)},
		{"expired: soon, not now", now.Add(-time.Minute), 15 * time.Minute, now.Add(time.Second)},
		{"no margin: a second", now.Add(time.Hour), 0, now.Add(time.Hour - time.Second)},
	}
	for _, tt := range tests {
		got := renewAt(now, tt.expires, tt.minTTL)
		if !got.Equal(tt.want) {
			t.Errorf("%s: renewAt = %s, want %s", tt.name, got.Sub(now), tt.want.Sub(now))
		}
		if tt.expires.After(now.Add(time.Second)) && !got.Before(tt.expires) {
			t.Errorf("%s: renewal at %s is not before the expiry", tt.name, got.Sub(now))
		}
	}
}

func TestRetryDelay(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, w := range want {
		if got := retryDelay(i + 1); got != w {
			t.Errorf("retryDelay(%d) = %s, want %s", i+1, got, w)
		}
	}
}

func auth(password string) string {
	return base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
}

// writtenFiles makes a run directory with the registry files for logins.
func writtenFiles(t *testing.T, logins ecr.Logins) Files {
	t.Helper()
	d, err := NewDir(privateTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shred() })
	home := t.TempDir()
	files, _, err := d.WriteRegistryFiles(FilesOptions{
		Logins:    logins,
		User:      readUser(t, home),
		ListStore: func(string) ([]string, error) { return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readAuths(t *testing.T, path string) map[string]string {
	t.Helper()
	var doc struct {
		Auths map[string]struct{ Auth string } `json:"auths"`
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for h, a := range doc.Auths {
		out[h] = a.Auth
	}
	return out
}

// TestFilesRenew: the files get the new token, whole (a new inode at the same path, mode
// 0600, no temporary file left), and keep what the command added to them.
func TestFilesRenew(t *testing.T) {
	files := writtenFiles(t, ecr.Logins{"ecr.example": auth("old")})
	docker := filepath.Join(files.DockerConfig, "config.json")
	// The command logged in to another registry itself.
	if err := os.WriteFile(docker, []byte(`{"auths": {"ecr.example": {"auth": "`+auth("old")+`"}, "other.example": {"auth": "`+auth("mine")+`"}}, "psFormat": "x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	inodes := map[string]uint64{}
	paths := []string{docker, files.AuthFile, files.HelmConfig}
	for _, p := range paths {
		inodes[p] = inode(t, p)
	}

	if err := files.Renew(context.Background(), ecr.Logins{"ecr.example": auth("new")}); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if got := readAuths(t, p)["ecr.example"]; got != auth("new") {
			t.Errorf("%s: ecr.example's auth is not the new token", filepath.Base(p))
		}
		if inode(t, p) == inodes[p] {
			t.Errorf("%s was rewritten in place, not replaced", filepath.Base(p))
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v", filepath.Base(p), st.Mode())
		}
	}
	if got := readAuths(t, docker)["other.example"]; got != auth("mine") {
		t.Errorf("the command's own login was lost")
	}
	if data, _ := os.ReadFile(docker); !strings.Contains(string(data), `"psFormat"`) {
		t.Errorf("the command's other settings were lost: %s", data)
	}
	for _, dir := range []string{files.DockerConfig, filepath.Dir(files.AuthFile)} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".new-") {
				t.Errorf("temporary file %s left in %s", e.Name(), dir)
			}
		}
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

// TestRenew: the loop renews before the expiry, reports a failure and tries again, and
// stops with its context.
func TestRenew(t *testing.T) {
	testOnlyRetryDelay = 10 * time.Millisecond
	defer func() { testOnlyRetryDelay = 0 }()
	files := writtenFiles(t, ecr.Logins{"ecr.example": auth("0")})
	var mu sync.Mutex
	calls := 0
	var warnings []string
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Renew(ctx, RenewOptions{
			Files:   files,
			Expires: time.Now().Add(1500 * time.Millisecond),
			MinTTL:  time.Second,
			Login: func(context.Context) (ecr.Logins, time.Time, error) {
				mu.Lock()
				defer mu.Unlock()
				calls++
				if calls == 1 {
					return nil, time.Time{}, errors.New("ECR is down")
				}
				return ecr.Logins{"ecr.example": auth("1")}, time.Now().Add(12 * time.Hour), nil
			},
			Warn: func(msg string) {
				mu.Lock()
				defer mu.Unlock()
				warnings = append(warnings, msg)
			},
		})
	}()
	// A safety net, not a timing assertion: the renewal is due in about a second.
	for deadline := time.Now().Add(time.Minute); readAuths(t, files.AuthFile)["ecr.example"] != auth("1"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("files not renewed after a minute")
		}
	}
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 1 || !strings.Contains(warnings[0], "renewing the registry login: ECR is down; retrying in 10ms") {
		t.Errorf("warnings = %q", warnings)
	}
	if calls != 2 {
		t.Errorf("%d logins, want a failed one and a good one", calls)
	}
}

// Renew reads back only what av could have written: a missing file is empty; a link the
// command put in its place is not followed, nor is a file larger than av writes read.
func TestReadRunFile(t *testing.T) {
	dir := t.TempDir()
	if data, err := readRunFile(filepath.Join(dir, "config.json")); data != nil || err != nil {
		t.Errorf("missing: %q, %v", data, err)
	}
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(`{"auths":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := readRunFile(secret); string(data) != `{"auths":{}}` || err != nil {
		t.Errorf("regular: %q, %v", data, err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(secret, link); err != nil {
		t.Fatal(err)
	}
	if data, err := readRunFile(link); data != nil || err == nil {
		t.Errorf("a link was followed: %q, %v", data, err)
	}
	large := filepath.Join(dir, "large.json")
	if err := os.WriteFile(large, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(large, maxRegistryFile+1); err != nil { // sparse
		t.Fatal(err)
	}
	if data, err := readRunFile(large); data != nil || err == nil || err.Error() != "larger than the 16 MiB av writes" {
		t.Errorf("large: %d bytes, %v", len(data), err)
	}
}

// A Renew started late renews when First says, as the run began, not at what it would
// compute when it starts: tokens with 12 hours left are renewed at once when First is now.
func TestRenewFirst(t *testing.T) {
	files := writtenFiles(t, ecr.Logins{"ecr.example": auth("0")})
	expires := time.Now().Add(12 * time.Hour)
	if got := FirstRenewal(expires, 15*time.Minute); got.Sub(expires) != -15*time.Minute {
		t.Errorf("FirstRenewal = %s before the expiry, want 15m", expires.Sub(got))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Renew(ctx, RenewOptions{
			Files: files, Expires: expires, MinTTL: 15 * time.Minute, First: time.Now(),
			Login: func(context.Context) (ecr.Logins, time.Time, error) {
				return ecr.Logins{"ecr.example": auth("1")}, time.Now().Add(12 * time.Hour), nil
			},
			Warn: func(msg string) { t.Error(msg) },
		})
	}()
	defer func() { cancel(); <-done }()
	// A safety net, not a timing assertion: without First the renewal is 11h45m away.
	for deadline := time.Now().Add(time.Minute); readAuths(t, files.AuthFile)["ecr.example"] != auth("1"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("files not renewed at First")
		}
	}
}
