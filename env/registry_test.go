package env

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/av-cli/av/env/ecr"
	"golang.org/x/sys/unix"
)

func TestWriteRegistryFiles(t *testing.T) {
	base := privateTempDir(t)
	d, err := NewDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shred()
	auth := base64.StdEncoding.EncodeToString([]byte("AWS:secret"))
	home := t.TempDir() // no user configs at all
	opts := FilesOptions{
		Logins:    ecr.Logins{"127.0.0.1:5000": auth},
		User:      readUser(t, home),
		ListStore: func(string) ([]string, error) { return nil, nil },
	}
	files, _, err := d.WriteRegistryFiles(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(files.DockerConfig, "config.json"), files.AuthFile, files.HelmConfig} {
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 || !st.Mode().IsRegular() {
			t.Errorf("%s has mode %v, want a regular file 0600", p, st.Mode())
		}
		var doc struct {
			Auths map[string]struct{ Auth string } `json:"auths"`
		}
		data, _ := os.ReadFile(p)
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(doc.Auths) != 1 || doc.Auths["127.0.0.1:5000"].Auth != auth {
			t.Errorf("%s: auths = %+v", p, doc.Auths)
		}
	}
	// Written exclusively: a second write into the same directory must fail, not overwrite.
	if _, _, err := d.WriteRegistryFiles(opts); err == nil {
		t.Error("second WriteRegistryFiles succeeded; files must be created exclusively")
	}
}

// readUser reads the configs of a user whose HOME is home.
func readUser(t *testing.T, home string) UserFiles {
	t.Helper()
	u, err := ReadUserConfig(FindUserConfig(func(k string) string { return map[string]string{"HOME": home}[k] }))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// av's files are written whole, recorded as av's (Shred overwrites them), and never over
// what av writes at most: a new one exclusively, a renewed one beside the old and renamed
// over it, leaving nothing behind when it fails.
func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	w := newWritten()
	recorded := func(path string) bool {
		var st unix.Stat_t
		return unix.Stat(path, &st) == nil && w.recorded(path, &st)
	}
	names := func() []string {
		entries, _ := os.ReadDir(dir)
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}

	p := filepath.Join(dir, "config.json")
	if err := w.writeExclusive(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != "one" || !recorded(p) {
		t.Errorf("writeExclusive: %q, recorded %v", data, recorded(p))
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v, %v", st, err)
	}
	if err := w.writeExclusive(p, []byte("two")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("writeExclusive over a file: %v, want ErrExist", err)
	}
	var tooLarge *FileTooLargeError
	if err := w.writeExclusive(filepath.Join(dir, "large.json"), make([]byte, maxRegistryFile+1)); !errors.As(err, &tooLarge) {
		t.Errorf("writeExclusive of too much: %v", err)
	}

	if err := w.replaceFile(p, []byte("renewed")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != "renewed" || !recorded(p) {
		t.Errorf("replaceFile: %q, recorded %v", data, recorded(p))
	}
	if err := w.replaceFile(p, make([]byte, maxRegistryFile+1)); !errors.As(err, &tooLarge) {
		t.Errorf("replaceFile of too much: %v", err)
	}
	// A rename that fails (a directory in the file's place) leaves no temporary file.
	d := filepath.Join(dir, "helm-registry.json")
	os.Mkdir(d, 0o700)
	os.WriteFile(filepath.Join(d, "x"), nil, 0o600)
	if err := w.replaceFile(d, []byte("x")); err == nil {
		t.Error("replaceFile over a directory did not fail")
	}
	if got, want := names(), []string{"config.json", "helm-registry.json"}; !slices.Equal(got, want) {
		t.Errorf("left in the directory: %q, want %q", got, want)
	}
	if data, _ := os.ReadFile(p); string(data) != "renewed" {
		t.Errorf("a failed replaceFile changed the file: %q", data)
	}
}

// Logins kept only in ~/.dockercfg (the docker config of before config.json) are merged as
// the clients that still read it take them: into the containers auth file last, as
// containers/image reads it after its defaults unless REGISTRY_AUTH_FILE is set; into the
// docker config only when there is no config.json, as docker-py and older docker CLIs read
// it only then, and never in the way of the store docker would detect for that missing file.
func TestWriteRegistryFilesLegacyDockercfg(t *testing.T) {
	legacy := base64.StdEncoding.EncodeToString([]byte("me:legacy"))
	write := func(t *testing.T, env map[string]string, detected string) (docker, auth map[string]json.RawMessage, helpers map[string]string) {
		t.Helper()
		d, err := NewDir(privateTempDir(t))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Shred()
		u, err := ReadUserConfig(FindUserConfig(func(k string) string { return env[k] }))
		if err != nil {
			t.Fatal(err)
		}
		files, _, err := d.WriteRegistryFiles(FilesOptions{
			Logins:      ecr.Logins{"127.0.0.1:5000": base64.StdEncoding.EncodeToString([]byte("AWS:t"))},
			User:        u,
			ListStore:   func(string) ([]string, error) { return []string{"held.example"}, nil },
			DetectStore: func() string { return detected },
		})
		if err != nil {
			t.Fatal(err)
		}
		read := func(p string) (map[string]json.RawMessage, map[string]string) {
			var doc struct {
				Auths       map[string]json.RawMessage `json:"auths"`
				CredHelpers map[string]string          `json:"credHelpers"`
			}
			data, _ := os.ReadFile(p)
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			return doc.Auths, doc.CredHelpers
		}
		docker, helpers = read(filepath.Join(files.DockerConfig, "config.json"))
		auth, _ = read(files.AuthFile)
		return docker, auth, helpers
	}
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".dockercfg"), []byte(`{"old.example": {"auth": "`+legacy+`", "email": "me@example.com"}, "held.example": {"auth": "`+legacy+`"}}`), 0o600)
	env := map[string]string{"HOME": home}

	// No config.json: both files get the legacy logins.
	docker, auth, _ := write(t, env, "")
	if _, ok := docker["old.example"]; !ok {
		t.Errorf("docker config without config.json: auths = %v, want ~/.dockercfg's old.example", docker)
	}
	if _, ok := auth["old.example"]; !ok {
		t.Errorf("containers auth: auths = %v, want ~/.dockercfg's old.example", auth)
	}
	// With a store docker would detect for the missing config.json, it keeps the hosts it
	// holds: a helper is asked before auths.
	_, _, helpers := write(t, env, "pass")
	if helpers["held.example"] != "pass" {
		t.Errorf("credHelpers = %v, want held.example kept with the detected store", helpers)
	}

	// A config.json: the docker config is made from it alone, and its entries come before
	// ~/.dockercfg's in the containers file.
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	mine := base64.StdEncoding.EncodeToString([]byte("me:current"))
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths": {"old.example": {"auth": "`+mine+`"}}}`), 0o600)
	docker, auth, _ = write(t, env, "")
	authOf := func(raw json.RawMessage) string {
		var l struct{ Auth string }
		json.Unmarshal(raw, &l)
		return l.Auth
	}
	if len(docker) != 2 || authOf(docker["old.example"]) != mine {
		t.Errorf("docker config with config.json: auths = %s, want its own entries and av's only", docker)
	}
	if got := authOf(auth["old.example"]); got != mine {
		t.Errorf("containers auth: old.example = %s, want config.json's, which containers/image reads first", got)
	}

	// REGISTRY_AUTH_FILE set: containers/image reads that file alone, so ~/.dockercfg is not
	// read at all (a broken one does not matter).
	os.WriteFile(filepath.Join(home, ".dockercfg"), []byte(`{broken SECRET`), 0o600)
	env["REGISTRY_AUTH_FILE"] = filepath.Join(home, "auth.json")
	write(t, env, "")
	// Else a broken one is an error naming it and its line, never its text.
	delete(env, "REGISTRY_AUTH_FILE")
	_, err := ReadUserConfig(FindUserConfig(func(k string) string { return env[k] }))
	if err == nil || err.Error() != "your config "+filepath.Join(home, ".dockercfg")+": not valid JSON at line 1" {
		t.Errorf("a broken ~/.dockercfg: %v", err)
	}
}

// createExclusive makes a new mode-0600 file and nothing else: a file or a symbolic link
// (even one to nowhere) already at the path is refused, and not written through.
func TestCreateExclusive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	f, err := createExclusive(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("{}")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(path); err != nil || st.Mode() != 0o600 {
		t.Errorf("the new file: %v, %v; want a regular file of mode 0600", st.Mode(), err)
	}
	if _, err := createExclusive(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("over an existing file: %v, want it refused", err)
	}
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := createExclusive(link); err == nil {
		t.Errorf("a symbolic link to nowhere was written through")
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}

// The store docker would detect is looked up once for the run's files, though both the
// docker config and helm's (neither of the user's with any auth) ask for it.
func TestMakeSidesDetectsOnce(t *testing.T) {
	calls := 0
	detect := func() string { calls++; return "" }
	noList := func(string) ([]string, error) { t.Fatal("listed a store"); return nil, nil }
	if _, _, err := makeSides(UserFiles{}, noList, detect); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("the store was detected %d times, want once", calls)
	}
}
