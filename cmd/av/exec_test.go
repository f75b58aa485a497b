package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
)

func TestSplitArgs(t *testing.T) {
	profiles := map[string]bool{"dev": true, "prod": true}
	isProfile := func(s string) bool { return profiles[s] }
	tests := []struct {
		name       string
		args       []string
		envProfile string
		want       invocation
	}{
		{"explicit with --", []string{"dev", "--", "crane", "push"}, "", invocation{"dev", true, true, []string{"crane", "push"}}},
		{"explicit unknown profile with --", []string{"nosuch", "--", "true"}, "", invocation{"nosuch", true, true, []string{"true"}}},
		{"first word is a profile", []string{"prod", "make", "images"}, "", invocation{"prod", true, true, []string{"make", "images"}}},
		{"first word is a command", []string{"make", "images"}, "", invocation{"default", false, false, []string{"make", "images"}}},
		{"AWS_PROFILE when no profile named", []string{"make"}, "ci", invocation{"ci", false, true, []string{"make"}}},
		{"profile alone runs the shell", []string{"dev"}, "", invocation{"dev", true, true, []string{}}},
		{"profile and -- alone runs the shell", []string{"dev", "--"}, "", invocation{"dev", true, true, []string{}}},
		{"nothing at all", nil, "", invocation{"default", false, false, nil}},
		{"a later -- belongs to the command", []string{"make", "x", "--", "y"}, "", invocation{"default", false, false, []string{"make", "x", "--", "y"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitArgs(tt.args, isProfile, tt.envProfile)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestRegistries(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config")
	if err := os.WriteFile(cfgPath, []byte(`
[profile dev]
region = eu-west-1
av_registries = us-west-2, public.ecr.aws=ops

[profile noregion]

[profile badlist]
region = eu-west-1
av_registries = not-a-registry
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgPath)
	t.Setenv("AWS_VAULT_BACKEND", "file")
	t.Setenv("AWS_VAULT_FILE_DIR", filepath.Join(dir, "no-vault"))
	cfg, err := profiles.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	vault, err := profiles.OpenVault(context.Background(), profiles.VaultOptionsFromEnv())
	if err != nil {
		t.Fatal(err)
	}
	profile := func(name string) *profiles.Profile {
		p, err := profiles.Lookup(cfg, vault, name, profiles.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	got, err := registries(cfg, profile("dev"), []string{"123456789012.dkr.ecr.ap-south-1.amazonaws.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ecr.RegistrySpec{
		{Region: "eu-west-1", Profile: "dev"}, // the profile's own, first
		{Region: "us-west-2", Profile: "dev"}, // av_registries, with the run's profile
		{Host: ecr.PublicHost, Region: "us-east-1", Public: true, Profile: "ops"},
		{Host: "123456789012.dkr.ecr.ap-south-1.amazonaws.com", Region: "ap-south-1", Profile: "dev"}, // --registry, last
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("registries(dev) =\n%+v\nwant\n%+v", got, want)
	}

	for _, tc := range []struct {
		profile, flag, err string
	}{
		{"noregion", "", `profile "noregion": no region for the ECR token`},
		{"badlist", "", `profile "badlist": av_registries: registry "not-a-registry" is not an ECR registry host`},
		{"dev", "nonsense", `--registry: registry "nonsense" is not an ECR registry host`},
	} {
		var flags []string
		if tc.flag != "" {
			flags = []string{tc.flag}
		}
		_, err := registries(cfg, profile(tc.profile), flags)
		if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
			t.Errorf("registries(%s, %q) = %v, want %q…", tc.profile, tc.flag, err, tc.err)
		}
	}
	// The hint names the profile's section, AWS_REGION and --region.
	_, err = registries(cfg, profile("noregion"), nil)
	if want := "add `region = REGION` to [profile noregion] in " + cfg.Path + ", export AWS_REGION=REGION, or pass --region REGION"; hintOr(err, "") != want {
		t.Errorf("registries(noregion)'s hint = %q, want %q", hintOr(err, ""), want)
	}
	// With --registry alone, a profile with no region still logs in.
	if got, err := registries(cfg, profile("noregion"), []string{"us-east-2"}); err != nil || len(got) != 1 || got[0].Profile != "noregion" {
		t.Errorf("registries(noregion, us-east-2) = %+v, %v", got, err)
	}
}

// The words after av's flags reach the command byte for byte, and so does --runtime-dir
// (flag or AV_RUNTIME_DIR): Linux file names need not be UTF-8.
func TestWordsKeepTheirBytes(t *testing.T) {
	latin1 := "caf\xe9.txt"
	cli, ok := parseExecArgs(t, []string{"--runtime-dir", "/tmp/\xe9", "dev", "--", "cat", latin1})
	if !ok {
		t.Fatal("the command line did not parse")
	}
	if want := []string{"dev", "--", "cat", latin1}; !reflect.DeepEqual(cli.Exec.Args, want) {
		t.Errorf("words = %q, want %q", cli.Exec.Args, want)
	}
	if cli.Exec.RuntimeDir != "/tmp/\xe9" {
		t.Errorf("--runtime-dir = %q, want %q", cli.Exec.RuntimeDir, "/tmp/\xe9")
	}
	t.Setenv("AV_RUNTIME_DIR", "/tmp/\xe9\xe9")
	if cli, ok := parseExecArgs(t, []string{"true"}); !ok || cli.Exec.RuntimeDir != "/tmp/\xe9\xe9" {
		t.Errorf("AV_RUNTIME_DIR: --runtime-dir = %q (parsed: %v), want %q", cli.Exec.RuntimeDir, ok, "/tmp/\xe9\xe9")
	}
}
