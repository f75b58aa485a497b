package env

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestRegistryHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
		{"https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"},
		{"http://127.0.0.1:5000", "127.0.0.1:5000"},
		{"127.0.0.1:5000/v2/", "127.0.0.1:5000"},
		{"https://123456789012.DKR.ECR.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}, // keyed in lower case, as Logins are
		{"http://[::1]:5000/", "[::1]:5000"},
	}
	for _, tt := range tests {
		got, err := registryHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("registryHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "https://", "https:///path", "https://user@host", "https://host?x=1", "https://host\x00", "https://host:port", "https://host name", "https://\"host\""} {
		if got, err := registryHost(bad); err == nil {
			t.Errorf("registryHost(%q) = %q, want an error", bad, got)
		}
	}
}

func TestValidAuth(t *testing.T) {
	good := base64.StdEncoding.EncodeToString([]byte("AWS:pw"))
	if !validAuth(good) {
		t.Errorf("validAuth(base64 AWS:pw) = false")
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("nocolon")), base64.StdEncoding.EncodeToString([]byte("AWS:"))} {
		if validAuth(bad) {
			t.Errorf("validAuth(%q) = true", bad)
		}
	}
}

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
		Logins:    Logins{"127.0.0.1:5000": auth},
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
