package profiles

import (
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// FuzzLoadConfig reads arbitrary bytes as ~/.aws/config (or no file at all) and does with
// them what a run does: list the profiles, look each up as `av NAME` would (its section, its
// source_profile chain, its endpoints and av_ settings). Whatever the bytes, nothing panics,
// no file appears, an error never quotes a line of the file (it may hold keys), and every
// name av lists is a profile it finds.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []struct {
		config string
		name   string
	}{
		{"", "default"},
		{"[default]\nregion = eu-west-1\n", "default"},
		{"[profile dev]\nregion = eu-west-1\nav_registries = us-west-2, public.ecr.aws=ops\n\n[profile ops]\nregion = us-east-1\n", "dev"},
		{"[profile base]\nregion = eu-west-1\nmfa_serial = arn:aws:iam::111111111111:mfa/me\n\n[profile admin]\nsource_profile = base\nrole_arn = arn:aws:iam::222222222222:role/admin\nduration_seconds = 3600\n", "admin"},
		{"[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\n[profile sso]\nsso_session = corp\nsso_account_id = 333333333333\nsso_role_name = Dev\n", "sso"},
		{"[profile vpc]\nendpoint_url = https://global.example\nservices = vpc-endpoints\n\n[services vpc-endpoints]\nsts =\n  endpoint_url = https://sts.vpc.example\necr =\n  endpoint_url = https://ecr.vpc.example\n", "vpc"},
		{"[profile a]\ninclude_profile = b\n[profile b]\nregion = us-east-2\nsession_tags = k1=v1,k2=v2\ntransitive_session_tags = k1\n", "a"},
		{"[profile x\naws_secret_access_key = hunter2hunter2\n", "x"},
		{"[profile p]\ncredential_process = /bin/echo {}\nav_registries =\n  eu-west-1\n  us-east-1\n", "p"},
		{"[profile me.dev]\nregion = eu-west-1\n[profile me]\nregion = us-west-2\n", "me.dev"},
		{"[profile default]\nregion = eu-west-1\n[default]\nregion = us-east-1\n", "default"},
	} {
		f.Add([]byte(seed.config), seed.name, true)
	}
	for _, seed := range linksConfigs {
		f.Add([]byte(seed), "a.b", true)
	}
	f.Add([]byte(nil), "dev", false)
	// A loop through source_profile would recurse until the stack ran out: fail fast.
	debug.SetMaxStack(64 << 20)
	log.SetOutput(io.Discard) // aws-vault's log lines
	f.Fuzz(func(t *testing.T, config []byte, name string, present bool) {
		home := t.TempDir()
		t.Setenv("HOME", home)
		path := filepath.Join(home, ".aws", "config")
		t.Setenv("AWS_CONFIG_FILE", "")
		if present {
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, config, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		before := tree(t, home)
		defer func() {
			if after := tree(t, home); !slices.Equal(before, after) {
				t.Fatalf("files before: %q, after: %q", before, after)
			}
		}()

		cfg, err := LoadConfig()
		if err != nil {
			noLineOf(t, config, err)
			return
		}
		names := cfg.Names()
		for _, n := range append(names[:min(len(names), 16)], name) {
			if slices.Contains(names, n) && n != "default" && !cfg.Has(n) {
				t.Fatalf("profile %q is listed, but Has(%q) is false", n, n)
			}
			sameLinks(t, cfg, n)
			if _, err := cfg.profileConfig(n, Options{}); err != nil {
				noLineOf(t, config, err)
			}
			_ = readFileEndpoints(cfg, n)
			_ = cfg.AVSetting(n, "av_registries")
		}
	})
}

// tree lists the paths under dir.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		paths = append(paths, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// noLineOf fails if err quotes a line of the config file (12 characters or more).
func noLineOf(t *testing.T, config []byte, err error) {
	t.Helper()
	for _, line := range strings.Split(string(config), "\n") {
		if line = strings.TrimSpace(line); len(line) >= 12 && strings.Contains(err.Error(), line) {
			t.Fatalf("error %q quotes the line %q of the config file", err, line)
		}
	}
}
