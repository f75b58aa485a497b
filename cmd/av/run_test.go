package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// fakeMinter mints a token for each spec, or fails with err; it counts its calls.
type fakeMinter struct {
	err   error
	calls atomic.Int32 // mints run in parallel
}

func (m *fakeMinter) Mint(_ context.Context, cfg aws.Config, spec ecr.RegistrySpec) (ecr.Registry, error) {
	m.calls.Add(1)
	if m.err != nil {
		return ecr.Registry{}, m.err
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIAVAULTDEV" {
		return ecr.Registry{}, errors.New("minted with other credentials than the profile's")
	}
	return ecr.Registry{Host: "123456789012.dkr.ecr." + spec.Region + ".amazonaws.com", Auth: "QVdTOnRva2Vu", Expires: time.Now().Add(12 * time.Hour)}, nil
}

// fakeSupervisor runs nothing: it records the command and checks what it would see.
type fakeSupervisor struct {
	t       *testing.T
	ran     *runner.Command
	status  runner.Status
	sawAuth string // DOCKER_CONFIG/config.json as the command would read it
}

func (s *fakeSupervisor) Run(c runner.Command) (runner.Status, error) {
	s.ran = &c
	for _, kv := range c.Env {
		if dir, ok := strings.CutPrefix(kv, "DOCKER_CONFIG="); ok {
			data, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				s.t.Errorf("the command's DOCKER_CONFIG: %v", err)
			}
			s.sawAuth = string(data)
		}
	}
	return s.status, nil
}

func (s *fakeSupervisor) Go(_ string, fn func()) { go fn() }

// runSetup is a laptop: a config file with profile dev, a file vault holding dev's keys, a
// private runtime directory. It returns the run's flags (an ExecCmd without words) and that
// directory.
func runSetup(t *testing.T) (*ExecCmd, string) {
	t.Helper()
	setupLogging(false)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv(env.MarkerVar, "")
	os.Unsetenv(env.MarkerVar)
	cfgPath := filepath.Join(home, "config")
	if err := os.WriteFile(cfgPath, []byte("[profile dev]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgPath)
	t.Setenv("AWS_VAULT_BACKEND", "file")
	t.Setenv("AWS_VAULT_FILE_DIR", filepath.Join(home, "keys"))
	t.Setenv(profiles.PassphraseVar, "test-passphrase")
	v, err := profiles.OpenVault(context.Background(), profiles.VaultOptions{Backend: "file", FileDir: filepath.Join(home, "keys"), FilePassphrase: "test-passphrase", HasFilePassphrase: true, Create: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := profiles.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Add(context.Background(), cfg, "dev", profiles.Keys{AccessKeyID: "AKIAVAULTDEV", SecretAccessKey: "s"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(profiles.PassphraseVar, "test-passphrase") // OpenVault took it out
	rt, err := os.MkdirTemp("/dev/shm", "av-unit-")
	if err != nil {
		t.Skip("no /dev/shm here")
	}
	t.Cleanup(func() { os.RemoveAll(rt) })
	os.Chmod(rt, 0o700)
	ecsOff := false
	return &ExecCmd{NoSession: true, vaultFlags: vaultFlags{runtimeDirFlag: runtimeDirFlag{RuntimeDir: rt}, LockTimeout: time.Minute},
		MinTTL: 15 * time.Minute, AWSTimeout: time.Minute, ECSServer: &ecsOff}, rt
}

// TestRunPhases runs av's whole flow in-process, with the vault, the files and the
// directory for real, ECR and the command faked: the command sees a DOCKER_CONFIG with the
// minted login and the profile's keys, its status comes back, and the run directory is gone.
func TestRunPhases(t *testing.T) {
	e, rt := runSetup(t)
	minter := &fakeMinter{}
	sup := &fakeSupervisor{t: t, status: runner.Status{Code: 3}}
	e.Args, e.testOnlyMinter = []string{"dev", "--", "make", "images"}, minter
	status, err := e.run(context.Background(), sup)
	if err != nil || status.Code != 3 {
		t.Fatalf("run = %+v, %v; want the command's status 3", status, err)
	}
	if sup.ran == nil || sup.ran.Name != "make" || !slices.Equal(sup.ran.Args, []string{"images"}) {
		t.Fatalf("ran %+v, want make images", sup.ran)
	}
	var cfg struct {
		Auths map[string]struct{ Auth string }
	}
	if err := json.Unmarshal([]byte(sup.sawAuth), &cfg); err != nil || cfg.Auths["123456789012.dkr.ecr.eu-west-1.amazonaws.com"].Auth != "QVdTOnRva2Vu" {
		t.Errorf("the command's docker config %q (%v) lacks the minted login", sup.sawAuth, err)
	}
	envOf := func(name string) string {
		for _, kv := range sup.ran.Env {
			if v, ok := strings.CutPrefix(kv, name+"="); ok {
				return v
			}
		}
		return ""
	}
	if envOf("AWS_ACCESS_KEY_ID") != "AKIAVAULTDEV" || envOf("AWS_REGION") != "eu-west-1" || envOf(env.MarkerVar) != "dev" {
		t.Errorf("the command's AWS_ACCESS_KEY_ID %q, AWS_REGION %q, %s %q", envOf("AWS_ACCESS_KEY_ID"), envOf("AWS_REGION"), env.MarkerVar, envOf(env.MarkerVar))
	}
	if left := runDirs(t, rt); len(left) != 0 {
		t.Errorf("left in the runtime directory: %q", left)
	}

	// A warm run: the token comes from the vault, ECR is not asked again.
	t.Setenv(profiles.PassphraseVar, "test-passphrase") // each run takes it out of the environment
	if _, err := e.run(context.Background(), &fakeSupervisor{t: t}); err != nil || minter.calls.Load() != 1 {
		t.Errorf("a warm run: %v, %d mints in all; want 1", err, minter.calls.Load())
	}
}

// TestRunFailsCleanly: a failure in each phase ends the run with av's error, before the
// command, and leaves no run directory behind.
func TestRunFailsCleanly(t *testing.T) {
	flags, rt := runSetup(t)
	for _, tc := range []struct {
		name   string
		args   []string
		minter *fakeMinter
		want   string
	}{
		{"resolve: an unknown profile", []string{"prdo", "--", "true"}, &fakeMinter{}, `profile "prdo" is not in`},
		{"log in: ECR refuses", []string{"dev", "--", "true"}, &fakeMinter{err: errors.New("AccessDenied")}, "AccessDenied"},
		{"log in: a registry entry that is not one", []string{"dev", "--", "true"}, &fakeMinter{}, "--registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := *flags
			e.Args, e.testOnlyMinter = tc.args, tc.minter
			if strings.Contains(tc.name, "registry entry") {
				e.Registry = []string{"https://"}
			}
			sup := &fakeSupervisor{t: t}
			t.Setenv(profiles.PassphraseVar, "test-passphrase")
			_, err := e.run(context.Background(), sup)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want an error with %q", err, tc.want)
			}
			if sup.ran != nil {
				t.Errorf("the command ran")
			}
			if left := runDirs(t, rt); len(left) != 0 {
				t.Errorf("left in the runtime directory: %q", left)
			}
		})
	}
	// Inside another av's command: refused at once.
	t.Setenv(env.MarkerVar, "prod")
	e := *flags
	e.Args = []string{"dev", "--", "true"}
	if _, err := e.run(context.Background(), &fakeSupervisor{t: t}); err == nil || !strings.Contains(err.Error(), "already running inside av") {
		t.Errorf("nested: %v", err)
	}
}

// runDirs lists the run directories in rt.
func runDirs(t *testing.T, rt string) []string {
	t.Helper()
	entries, err := os.ReadDir(rt)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "run-") {
			dirs = append(dirs, e.Name())
		}
	}
	return dirs
}
