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
