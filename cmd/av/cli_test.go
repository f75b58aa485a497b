package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
)

// parseCLI parses argv with av's own parser options, as main does.
func parseCLI(t *testing.T, argv ...string) (*CLI, error) {
	t.Helper()
	var cli CLI
	parser, err := kong.New(&cli, append(parserOptions("test"), kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) { t.Fatalf("av %q exited", argv) }))...)
	if err != nil {
		t.Fatal(err)
	}
	_, err = parser.Parse(argv)
	return &cli, err
}

// A flag, its variable and the profile's av_ key take the same words (profiles.ParseBool);
// a bare flag is still true and never takes the next word as its value.
func TestBoolFlags(t *testing.T) {
	for _, v := range []string{"AV_REGISTRY_ONLY", "AV_ECS_SERVER", "AV_AMBIENT"} {
		if val, ok := os.LookupEnv(v); ok {
			t.Setenv(v, val) // restored afterwards
			os.Unsetenv(v)
		}
	}
	on, off := true, false
	for _, tc := range []struct {
		name         string
		env          map[string]string
		argv         []string
		registryOnly bool
		ecsServer    *bool
		args         []string // the exec command's words
		err          string   // a part of the error
	}{
		{name: "AV_REGISTRY_ONLY=on", env: map[string]string{"AV_REGISTRY_ONLY": "on"}, argv: []string{"dev", "--", "x"}, registryOnly: true, args: []string{"dev", "--", "x"}},
		{name: "AV_REGISTRY_ONLY=OFF", env: map[string]string{"AV_REGISTRY_ONLY": "OFF"}, argv: []string{"dev", "--", "x"}, args: []string{"dev", "--", "x"}},
		{name: "AV_REGISTRY_ONLY=' yes '", env: map[string]string{"AV_REGISTRY_ONLY": " yes "}, argv: []string{"x"}, registryOnly: true, args: []string{"x"}},
		{name: "AV_REGISTRY_ONLY=ture", env: map[string]string{"AV_REGISTRY_ONLY": "ture"}, argv: []string{"dev", "--", "x"},
			err: `"ture" is not a boolean (true/false, yes/no, on/off, 1/0) (from envar AV_REGISTRY_ONLY=`},
		{name: "AV_REGISTRY_ONLY set but empty", env: map[string]string{"AV_REGISTRY_ONLY": ""}, argv: []string{"x"}, err: "AV_REGISTRY_ONLY"},
		{name: "AV_ECS_SERVER=off", env: map[string]string{"AV_ECS_SERVER": "off"}, argv: []string{"dev"}, ecsServer: &off, args: []string{"dev"}},
		{name: "AV_ECS_SERVER=1", env: map[string]string{"AV_ECS_SERVER": "1"}, argv: []string{"dev"}, ecsServer: &on, args: []string{"dev"}},
		{name: "--ecs-server", argv: []string{"--ecs-server", "dev"}, ecsServer: &on, args: []string{"dev"}},
		{name: "--no-ecs-server", argv: []string{"--no-ecs-server", "dev"}, ecsServer: &off, args: []string{"dev"}},
		{name: "--no-ecs-server over AV_ECS_SERVER", env: map[string]string{"AV_ECS_SERVER": "on"}, argv: []string{"--no-ecs-server", "dev"}, ecsServer: &off, args: []string{"dev"}},
		{name: "--ecs-server=off", argv: []string{"--ecs-server=off", "dev"}, ecsServer: &off, args: []string{"dev"}},
		{name: "no --ecs-server", argv: []string{"dev"}, args: []string{"dev"}},
		{name: "--registry-only", argv: []string{"--registry-only", "x"}, registryOnly: true, args: []string{"x"}},
		{name: "--registry-only=no", argv: []string{"--registry-only=no", "x"}, args: []string{"x"}},
		{name: "--registry-only=On", argv: []string{"--registry-only=On", "x"}, registryOnly: true, args: []string{"x"}},
		{name: "--registry-only=ture", argv: []string{"--registry-only=ture", "x"}, err: `--registry-only: "ture" is not a boolean`},
		// The word after a bare flag is the profile, not the flag's value: even one that
		// reads as a boolean.
		{name: "--registry-only dev", argv: []string{"--registry-only", "dev", "--", "x"}, registryOnly: true, args: []string{"dev", "--", "x"}},
		{name: "--registry-only no", argv: []string{"--registry-only", "no", "--", "x"}, registryOnly: true, args: []string{"no", "--", "x"}},
		{name: "--ecs-server off", argv: []string{"--ecs-server", "off"}, ecsServer: &on, args: []string{"off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cli, err := parseCLI(t, tc.argv...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("av %q: error %v, want one with %q", tc.argv, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("av %q: %v", tc.argv, err)
			}
			if cli.RegistryOnly != tc.registryOnly {
				t.Errorf("av %q: RegistryOnly = %v, want %v", tc.argv, cli.RegistryOnly, tc.registryOnly)
			}
			if (cli.ECSServer == nil) != (tc.ecsServer == nil) || (cli.ECSServer != nil && *cli.ECSServer != *tc.ecsServer) {
				t.Errorf("av %q: ECSServer = %s, want %s", tc.argv, showBool(cli.ECSServer), showBool(tc.ecsServer))
			}
			if strings.Join(cli.Exec.Args, " ") != strings.Join(tc.args, " ") {
				t.Errorf("av %q: words %q, want %q", tc.argv, cli.Exec.Args, tc.args)
			}
		})
	}
}

func showBool(b *bool) string {
	if b == nil {
		return "unset"
	}
	if *b {
		return "true"
	}
	return "false"
}

// Every bool flag is still shown as one that takes no value, and short bools still
// bundle: kong reads both from the mapper's IsBool.
func TestBoolFlagsHelp(t *testing.T) {
	var out bytes.Buffer
	var cli CLI
	parser := kong.Must(&cli, append(parserOptions("test"), kong.Writers(&out, &out), kong.Exit(func(int) {}))...)
	parser.Parse([]string{"--help"})
	for _, want := range []string{"--registry-only ", "--[no-]ecs-server ", "-n, --no-session "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("av --help has no %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "--registry-only=") {
		t.Errorf("av --help shows a value for --registry-only:\n%s", out.String())
	}
	c, err := parseCLI(t, "-n", "--pty", "dev")
	if err != nil || !c.NoSession || !c.PTY || strings.Join(c.Exec.Args, " ") != "dev" {
		t.Errorf("av -n --pty dev: %+v, %v", c, err)
	}
}

// The profile's boolean av_ keys take the flags' words, and refuse any other.
func TestAVBoolKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(`
[profile on]
av_registry_only = on
av_ecs_server = ON

[profile off]
av_registry_only = Off
av_ecs_server = no

[profile typo]
av_registry_only = ture
av_ecs_server = nope
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", path)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := profiles.LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	var cli CLI
	if got, err := cli.registryOnly(cfg, "on"); !got || err != nil {
		t.Errorf("registryOnly(on) = %v, %v", got, err)
	}
	if got, err := cli.registryOnly(cfg, "off"); got || err != nil {
		t.Errorf("registryOnly(off) = %v, %v", got, err)
	}
	if _, err := cli.registryOnly(cfg, "typo"); err == nil || err.Error() != `profile "typo": av_registry_only: "ture" is not a boolean (true/false, yes/no, on/off, 1/0)` {
		t.Errorf("registryOnly(typo) error = %v", err)
	}
	// --registry-only wins over av_registry_only = off, and does not hide a typo.
	cli.RegistryOnly = true
	if got, err := cli.registryOnly(cfg, "off"); !got || err != nil {
		t.Errorf("--registry-only, registryOnly(off) = %v, %v", got, err)
	}
	if _, err := cli.registryOnly(cfg, "typo"); err == nil {
		t.Errorf("--registry-only hid av_registry_only = ture")
	}
	cli.RegistryOnly = false

	if on, err := cli.endpointOn(cfg, "on", false, false); !on || err != nil {
		t.Errorf("endpointOn(on, command) = %v, %v", on, err)
	}
	if on, err := cli.endpointOn(cfg, "off", true, false); on || err != nil {
		t.Errorf("endpointOn(off, shell) = %v, %v", on, err)
	}
	if _, err := cli.endpointOn(cfg, "typo", true, false); err == nil || err.Error() != `profile "typo": av_ecs_server: "nope" is not a boolean (true/false, yes/no, on/off, 1/0)` {
		t.Errorf("endpointOn(typo) error = %v", err)
	}
}
