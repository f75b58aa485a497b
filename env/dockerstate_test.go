package env

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeepCurrentContext: a `docker context use` inside the run is carried to the user's
// config.json, which keeps every other key, and stays a link if it was one; nothing is
// written when the command changed nothing.
func TestKeepCurrentContext(t *testing.T) {
	home := t.TempDir()
	dotfiles := filepath.Join(home, "dotfiles")
	os.MkdirAll(dotfiles, 0o700)
	userDir := filepath.Join(home, ".docker")
	os.MkdirAll(userDir, 0o700)
	real := filepath.Join(dotfiles, "docker-config.json")
	orig := `{"credsStore": "pass", "proxies": {"default": {"httpProxy": "http://p:3128"}}}`
	os.WriteFile(real, []byte(orig), 0o640) // group-shared, say
	os.Symlink(real, filepath.Join(userDir, "config.json"))
	user := UserFiles{UserConfig: UserConfig{DockerDir: userDir}, Docker: []byte(orig)}

	run := t.TempDir()
	f := Files{DockerConfig: run}
	write := func(s string) { os.WriteFile(filepath.Join(run, "config.json"), []byte(s), 0o600) }

	write(`{"auths": {"x": {"auth": "c2VjcmV0"}}}`) // the command changed no context
	if err := f.KeepCurrentContext(user); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(real); string(got) != orig {
		t.Errorf("the user's file was rewritten with no change: %s", got)
	}

	write(`{"auths": {"x": {"auth": "c2VjcmV0"}}, "currentContext": "elsewhere"}`)
	if err := f.KeepCurrentContext(user); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(real)
	for _, want := range []string{`"currentContext": "elsewhere"`, `"credsStore": "pass"`, `"httpProxy": "http://p:3128"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the user's file lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "auths") || strings.Contains(string(got), "c2VjcmV0") {
		t.Errorf("a login of the run's reached the user's file:\n%s", got)
	}
	if fi, err := os.Stat(real); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("the user's file lost its mode: %v, %v", fi.Mode(), err)
	}
	if fi, err := os.Lstat(filepath.Join(userDir, "config.json")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the user's config.json is no longer a link: %v", err)
	}
}
