package profiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The AWS config file is read as the user's other configs are: a regular file of at most
// 4 MiB, never waited on (a FIFO), never read whole if it is larger.

func loadConfigSafely(t *testing.T, path string) error {
	t.Helper()
	t.Setenv("AWS_CONFIG_FILE", path)
	done := make(chan error, 1)
	go func() {
		_, err := LoadConfig()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second): // a safety net, not a timing: it should not block at all
		if w, err := os.OpenFile(path, os.O_WRONLY|unix.O_NONBLOCK, 0); err == nil {
			w.Close() // lets a blocked open return
		}
		t.Fatalf("LoadConfig blocked on %s", path)
		return nil
	}
}

func TestLoadConfigRefusesFIFOs(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "config")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := loadConfigSafely(t, fifo); err == nil || !strings.Contains(err.Error(), fifo+" is not a regular file") {
		t.Errorf("LoadConfig of a FIFO = %v, want it refused as not a regular file", err)
	}
}

func TestLoadConfigRefusesDevices(t *testing.T) {
	link := filepath.Join(t.TempDir(), "config")
	os.Symlink("/dev/zero", link)
	if err := loadConfigSafely(t, link); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("LoadConfig of /dev/zero = %v, want it refused as not a regular file", err)
	}
}

func TestLoadConfigSizeCap(t *testing.T) {
	big := filepath.Join(t.TempDir(), "config")
	os.WriteFile(big, []byte("[profile dev]\nregion = eu-west-1\n"), 0o600)
	if err := os.Truncate(big, 1<<40); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := loadConfigSafely(t, big)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "is larger than 4 MiB") {
		t.Errorf("LoadConfig of a terabyte = %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("LoadConfig allocated %d MiB for a terabyte file", grew>>20)
	}

	// 4 MiB itself is fine, and parsed the same by aws-vault's reader and av's.
	body := "[profile dev]\nregion = eu-west-1\nendpoint_url = https://sts.example\n"
	ok := body + strings.Repeat("#", 4<<20-len(body)-1) + "\n"
	os.WriteFile(big, []byte(ok), 0o600)
	t.Setenv("AWS_CONFIG_FILE", big)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Has("dev") || readFileEndpoints(cfg, "dev").global != "https://sts.example" {
		t.Errorf("a 4 MiB config: profiles %v", cfg.Names())
	}
}

// The config file and the credentials file are found alike: the variable, else ~/.aws.
func TestAWSFilePaths(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("AWS_CONFIG_FILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	if p, err := ConfigPath(); p != "/home/u/.aws/config" || err != nil {
		t.Errorf("ConfigPath = %q, %v", p, err)
	}
	if p := SharedCredentialsFile(os.Getenv); p != "/home/u/.aws/credentials" {
		t.Errorf("SharedCredentialsFile = %q", p)
	}
	t.Setenv("AWS_CONFIG_FILE", "/etc/aws-config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/etc/aws-credentials")
	if p, err := ConfigPath(); p != "/etc/aws-config" || err != nil {
		t.Errorf("ConfigPath with AWS_CONFIG_FILE = %q, %v", p, err)
	}
	if p := SharedCredentialsFile(os.Getenv); p != "/etc/aws-credentials" {
		t.Errorf("SharedCredentialsFile with AWS_SHARED_CREDENTIALS_FILE = %q", p)
	}
	t.Setenv("HOME", "")
	t.Setenv("AWS_CONFIG_FILE", "")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "")
	if p, err := ConfigPath(); err == nil {
		t.Errorf("ConfigPath with no HOME = %q", p)
	}
	if p := SharedCredentialsFile(os.Getenv); p != "" {
		t.Errorf("SharedCredentialsFile with no HOME = %q", p)
	}
}

// A config file AWS_CONFIG_FILE names must be there: a typo, or a "~/…" nothing expanded,
// is an error naming the file, not an empty config. ~/.aws/config need not exist.
func TestLoadConfigMissingNamedFile(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, tc := range []struct {
		value string
		tilde bool
	}{{"/typo/config", false}, {"~/.aws/config", true}} {
		t.Setenv("AWS_CONFIG_FILE", tc.value)
		_, err := LoadConfig()
		var missing *MissingConfigError
		if !errors.As(err, &missing) || missing.Path != tc.value || missing.Tilde != tc.tilde {
			t.Errorf("LoadConfig with AWS_CONFIG_FILE=%s = %v, want a MissingConfigError (tilde %v)", tc.value, err, tc.tilde)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", "")
	if _, err := LoadConfig(); err != nil {
		t.Errorf("LoadConfig without ~/.aws/config = %v, want an empty config", err)
	}
}

// A config file that does not parse is named with the line the parser stopped at, never
// with the line's text.
func TestLoadConfigSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		line       int
	}{
		{"no delimiter", "[profile dev]\nregion = eu-west-1\n\nAKIASECRETLINE\n[profile b]\n", 4},
		{"unclosed section", "# c\n[profile dev]\nregion = x\n[profile SECRETLINE\nregion = y\n", 4},
		{"empty key", "[default]\n= SECRETLINE\n", 2},
		{"last line, no newline", "[default]\nregion = x\nSECRETLINE", 3},
		{"after a multi-line value", "[default]\nk = \"\"\"a\nb\n\"\"\"\nSECRETLINE\n", 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			os.WriteFile(path, []byte(tc.data), 0o600)
			t.Setenv("AWS_CONFIG_FILE", path)
			_, err := LoadConfig()
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tc.line || se.Path != path {
				t.Fatalf("LoadConfig = %#v, want a SyntaxError at line %d of %s", err, tc.line, path)
			}
			if want := fmt.Sprintf("the AWS config file %s cannot be parsed at line %d", path, tc.line); err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if strings.Contains(err.Error(), "SECRETLINE") {
				t.Errorf("the error quotes the line: %v", err)
			}
		})
	}
	if _, err := ReadStoredKeys([]byte("[dev]\naws_access_key_id = AKIA\nSECRETLINE\n")); err == nil || err.Error() != "cannot be parsed at line 3" {
		t.Errorf("ReadStoredKeys of a broken file = %v, want it named with line 3", err)
	}
}

// aws-vault's reader gets the whole config through its pipe, whether the pipe takes it at
// once or not (the rest written as it is read): a profile at the end of a config of
// several times the pipe's capacity is there.
func TestLoadVaultConfigWholeFile(t *testing.T) {
	for _, n := range []int{0, 1, 20, 20000} { // 20000 profiles: about 1 MiB
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "[profile p%d]\nregion = eu-west-1\n", i)
		}
		b.WriteString("[profile last]\nregion = us-east-2\n")
		f, err := loadVaultConfig([]byte(b.String()))
		if err != nil {
			t.Fatalf("%d profiles: %v", n, err)
		}
		s, ok := f.ProfileSection("last")
		if !ok || s.Region != "us-east-2" {
			t.Errorf("%d profiles (%d bytes): the last profile = %+v, %v", n, b.Len(), s, ok)
		}
		if got := len(f.ProfileNames()); got != n+1 {
			t.Errorf("%d profiles: aws-vault read %d", n, got)
		}
	}
	f, err := loadVaultConfig(nil)
	if err != nil || len(f.ProfileNames()) != 0 {
		t.Errorf("an empty config: %v, %v", f.ProfileNames(), err)
	}
}

// linksConfigs are configs where reading a section's keys could go wrong: a dotted
// section inheriting its parent's keys, keys in capitals, %(key)s references, quotes,
// continuation lines, a section or key given twice, [default] and [profile default].
var linksConfigs = []string{
	"[profile a]\nsource_profile = base\n[profile a.b]\nregion = eu-west-1\n[profile base]\n",
	"[profile a.b]\nSOURCE_PROFILE = base\nInclude_Profile = inc\n",
	"[profile a.b]\nname = base\nsource_profile = %(name)s\n",
	"[profile a.b]\nsource_profile = \"base\"\ninclude_profile = 'inc'\n",
	"[profile a.b]\nsource_profile = base\\\n  more\n",
	"[profile a.b]\nsource_profile = one\n[profile a.b]\nsource_profile = two\ninclude_profile = inc\n",
	"[profile a.b]\nsource_profile = one\nsource_profile = two\n",
	"[default]\nsource_profile = base\n[profile default]\ninclude_profile = inc\n[profile a.b]\n",
	"source_profile = top\n[profile a.b]\n[DEFAULT]\ninclude_profile = inc\n",
	"[Profile a.b]\nsource_profile = base\n[profile  a.b]\nsource_profile = spaced\n",
}

// sameLinks checks that Config.links, which reads av's own parse, gives what aws-vault's
// ProfileSection gives for the profile's source_profile and include_profile, and for
// whether it has a section.
func sameLinks(t *testing.T, cfg *Config, name string) {
	t.Helper()
	source, include, ok := cfg.links(name)
	s, want := cfg.file.ProfileSection(name)
	if source != s.SourceProfile || include != s.IncludeProfile || ok != want {
		t.Errorf("profile %q: links = %q, %q, %v; aws-vault's section: %q, %q, %v", name, source, include, ok, s.SourceProfile, s.IncludeProfile, want)
	}
}

func TestLinksAsAWSVault(t *testing.T) {
	for _, config := range linksConfigs {
		path := filepath.Join(t.TempDir(), "config")
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_CONFIG_FILE", path)
		cfg, err := LoadConfig()
		if err != nil {
			t.Fatalf("%q: %v", config, err)
		}
		if cfg.ini() == nil {
			t.Fatalf("%q: av's parse failed", config)
		}
		for _, name := range []string{"a", "a.b", "base", "default", "DEFAULT", "", "nothing", " a.b"} {
			sameLinks(t, cfg, name)
		}
	}
	// The section's parent holds the source for a dotted profile, as aws-vault reads it.
	path := filepath.Join(t.TempDir(), "config")
	os.WriteFile(path, []byte(linksConfigs[0]), 0o600)
	t.Setenv("AWS_CONFIG_FILE", path)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got := sourceOf(cfg, "a.b"); got != "base" {
		t.Errorf("sourceOf(a.b) = %q, want base, from [profile a]", got)
	}
}
