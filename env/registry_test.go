package env

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/av-cli/av/env/ecr"
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
