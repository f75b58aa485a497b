package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// parseCLI parses argv with av's own parser options, as main does.
func parseCLI(t *testing.T, argv ...string) (*CLI, error) {
	t.Helper()
	var cli CLI
	parser, err := newParser(&cli, argv, kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) { t.Fatalf("av %q exited", argv) }))
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
			if cli.Exec.RegistryOnly != tc.registryOnly {
				t.Errorf("av %q: RegistryOnly = %v, want %v", tc.argv, cli.Exec.RegistryOnly, tc.registryOnly)
			}
			if (cli.Exec.ECSServer == nil) != (tc.ecsServer == nil) || (cli.Exec.ECSServer != nil && *cli.Exec.ECSServer != *tc.ecsServer) {
				t.Errorf("av %q: ECSServer = %s, want %s", tc.argv, showBool(cli.Exec.ECSServer), showBool(tc.ecsServer))
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
	out := helpOf(t, "exec", "--help")
	for _, want := range []string{"--registry-only ", "--[no-]ecs-server ", "-n, --no-session "} {
		if !strings.Contains(out, want) {
			t.Errorf("av exec --help has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "--registry-only=") {
		t.Errorf("av exec --help shows a value for --registry-only:\n%s", out)
	}
	c, err := parseCLI(t, "-n", "--pty", "dev")
	if err != nil || !c.Exec.NoSession || !c.Exec.PTY || strings.Join(c.Exec.Args, " ") != "dev" {
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
	var cli ExecCmd
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

// helpOf is what av prints for argv, a --help.
func helpOf(t *testing.T, argv ...string) string {
	t.Helper()
	var out bytes.Buffer
	var cli CLI
	parser, err := newParser(&cli, argv, kong.Writers(&out, &out), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	parser.Parse(argv) // kong goes on after the help; a missing argument is then an error
	return out.String()
}

// model is av's kong model: its own flags, the run (DefaultCmd) and the commands.
func model(t *testing.T) *kong.Application {
	t.Helper()
	var cli CLI
	return kong.Must(&cli, parserOptions("test")...).Model
}

// flagNames are the names of a node's own flags, as --NAME.
func flagNames(n *kong.Node) []string {
	var names []string
	for _, f := range n.Flags {
		names = append(names, "--"+f.Name)
	}
	return names
}

// Each command takes, and its --help lists, the flags it reads and av's own, no others:
// `av list --help` listed every flag of the run.
func TestEachCommandHasItsOwnFlags(t *testing.T) {
	own := []string{"--help", "--debug", "--version"}
	vault := []string{"--runtime-dir", "--lock-timeout"}
	want := map[string][]string{
		"add":        append([]string{"--env"}, vault...),
		"list":       append([]string{"--json"}, vault...),
		"remove":     append([]string{"--force", "--sessions-only"}, vault...),
		"clear":      append([]string{"--sessions"}, vault...),
		"doctor":     {"--json", "--runtime-dir"},
		"completion": nil,
	}
	app := model(t)
	if got := flagNames(app.Node); !slices.Equal(got, own) {
		t.Errorf("av's own flags: %q, want %q", got, own)
	}
	run := flagNames(app.DefaultCmd)
	for _, c := range app.Children {
		if c.Hidden {
			continue
		}
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("av %s: a command this test does not know: say which flags it takes", c.Name)
			continue
		}
		if got := flagNames(c); !sameSet(got, w) {
			t.Errorf("av %s takes %q, want %q", c.Name, got, w)
		}
		help := helpOf(t, c.Name, "--help")
		for _, f := range append(own, w...) {
			if !strings.Contains(help, f) {
				t.Errorf("av %s --help does not list %s:\n%s", c.Name, f, help)
			}
		}
		for _, f := range run {
			shown := regexp.MustCompile(`--(\[no-\])?` + regexp.QuoteMeta(f[2:]) + `[ =]`)
			if !slices.Contains(w, f) && shown.MatchString(help) {
				t.Errorf("av %s --help lists the run's %s:\n%s", c.Name, f, help)
			}
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// A flag only the run takes is kong's usage error (exit status 80) for any other command,
// after the command's name or before it; av's own --debug goes anywhere.
func TestRunFlagsRefusedElsewhere(t *testing.T) {
	app := model(t)
	for _, c := range app.Children {
		if c.Hidden {
			continue
		}
		takes := flagNames(c)
		argv := []string{c.Name}
		if len(c.Positional) > 0 {
			argv = append(argv, map[string]string{"completion": "bash"}[c.Name]) // a valid word
			if argv[1] == "" {
				argv[1] = "dev"
			}
		}
		for _, f := range app.DefaultCmd.Flags {
			name := "--" + f.Name
			if slices.Contains(takes, name) {
				continue
			}
			value := name
			if !f.IsBool() {
				value += "=1s" // a word, a duration, a registry
			}
			for _, line := range [][]string{append(slices.Clone(argv), value), append([]string{value}, argv...)} {
				_, err := parseQuiet(t, line...)
				var perr *kong.ParseError
				if err == nil || !errors.As(err, &perr) || perr.ExitCode() != 80 {
					t.Errorf("av %q: %v, want kong's usage error (80)", line, err)
					continue
				}
				if line[0] == value && !strings.Contains(err.Error(), "flag "+name+" applies to the default command") ||
					line[0] != value && err.Error() != "unknown flag "+name {
					t.Errorf("av %q: %v", line, err)
				}
			}
		}
		if _, err := parseQuiet(t, append([]string{"--debug"}, argv...)...); err != nil {
			t.Errorf("av --debug %q: %v", argv, err)
		}
		if _, err := parseQuiet(t, append(slices.Clone(argv), "--debug")...); err != nil {
			t.Errorf("av %q --debug: %v", argv, err)
		}
	}
}

// parseQuiet parses argv as main does, its help and errors discarded.
func parseQuiet(t *testing.T, argv ...string) (*kong.Context, error) {
	t.Helper()
	var cli CLI
	parser, err := newParser(&cli, argv, kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) {}))
	if err != nil {
		t.Fatal(err)
	}
	return parser.Parse(argv)
}

// The run's flags still come before PROFILE, and their variables still give their values.
func TestRunFlagsBeforeProfile(t *testing.T) {
	for _, v := range []string{"AV_RUNTIME_DIR", "AV_MIN_TTL", "AV_LOCK_TIMEOUT", "AV_AWS_TIMEOUT", "AV_AMBIENT", "AV_ROLE_ARN", "AV_ROLE_SESSION_NAME", "AV_REGISTRY_ONLY", "AV_ECS_SERVER"} {
		if val, ok := os.LookupEnv(v); ok {
			t.Setenv(v, val) // restored afterwards
			os.Unsetenv(v)
		}
	}
	c, err := parseCLI(t, "--debug", "--region", "eu-west-2", "-r", "public.ecr.aws", "--registry=us-east-1=ops", "-d", "2h", "-n", "-t", "123456",
		"--runtime-dir", "/dev/shm/x", "--lock-timeout=5s", "--min-ttl", "20m", "--aws-timeout", "9s", "--nest", "--pty", "--grace", "0s",
		"--ambient", "--role-arn", "arn:aws:iam::1:role/r", "--role-session-name", "s", "--registry-only", "--no-ecs-server", "dev", "--", "true")
	if err != nil {
		t.Fatal(err)
	}
	e := c.Exec
	if !c.Debug || e.Region != "eu-west-2" || !slices.Equal(e.Registry, []string{"public.ecr.aws", "us-east-1=ops"}) || e.Duration != 2*time.Hour ||
		!e.NoSession || e.MFAToken != "123456" || e.RuntimeDir != "/dev/shm/x" || e.LockTimeout != 5*time.Second || e.MinTTL != 20*time.Minute ||
		e.AWSTimeout != 9*time.Second || !e.Nest || !e.PTY || e.Grace != 0 || !e.Ambient || e.RoleARN != "arn:aws:iam::1:role/r" ||
		e.RoleSessionName != "s" || !e.RegistryOnly || e.ECSServer == nil || *e.ECSServer || !slices.Equal(e.Args, []string{"dev", "--", "true"}) {
		t.Errorf("the run's flags: %+v", e)
	}
	// The defaults, and the variables.
	if c, err := parseCLI(t, "dev"); err != nil || c.Exec.MinTTL != 15*time.Minute || c.Exec.LockTimeout != 2*time.Minute || c.Exec.Grace != runner.DefaultGrace {
		t.Errorf("av dev: %+v, %v", c.Exec, err)
	}
	for k, v := range map[string]string{"AV_RUNTIME_DIR": "/dev/shm/y", "AV_MIN_TTL": "30m", "AV_LOCK_TIMEOUT": "7s", "AV_AWS_TIMEOUT": "8s",
		"AV_AMBIENT": "on", "AV_ROLE_ARN": "arn", "AV_ROLE_SESSION_NAME": "n", "AV_REGISTRY_ONLY": "1", "AV_ECS_SERVER": "on"} {
		t.Setenv(k, v)
	}
	c, err = parseCLI(t, "make", "images")
	if err != nil {
		t.Fatal(err)
	}
	e = c.Exec
	if e.RuntimeDir != "/dev/shm/y" || e.MinTTL != 30*time.Minute || e.LockTimeout != 7*time.Second || e.AWSTimeout != 8*time.Second ||
		!e.Ambient || e.RoleARN != "arn" || e.RoleSessionName != "n" || !e.RegistryOnly || e.ECSServer == nil || !*e.ECSServer {
		t.Errorf("the run's variables: %+v", e)
	}
	// The vault's commands read AV_RUNTIME_DIR and AV_LOCK_TIMEOUT too, and no other: a
	// run's variable that holds a bad word is not theirs to refuse.
	t.Setenv("AV_MIN_TTL", "soon")
	t.Setenv("AV_AMBIENT", "perhaps")
	c, err = parseCLI(t, "list")
	if err != nil || c.List.RuntimeDir != "/dev/shm/y" || c.List.LockTimeout != 7*time.Second {
		t.Errorf("av list: %+v, %v", c.List, err)
	}
	if c, err := parseCLI(t, "doctor"); err != nil || c.Doctor.RuntimeDir != "/dev/shm/y" {
		t.Errorf("av doctor: %+v, %v", c.Doctor, err)
	}
	if _, err := parseCLI(t, "dev"); err == nil || !strings.Contains(err.Error(), "AV_MIN_TTL") {
		t.Errorf("av dev with AV_MIN_TTL=soon: %v", err)
	}
}

// The run's values kong's types let through are usage errors in the flag's own words; no
// other command minds them (it has no such flag).
func TestRunValidate(t *testing.T) {
	for argv, want := range map[string]string{
		"--grace=-1s dev":      "--grace must not be negative",
		"--aws-timeout=0s dev": "--aws-timeout must be more than 0",
	} {
		_, err := parseQuiet(t, strings.Fields(argv)...)
		if err == nil || err.Error() != want {
			t.Errorf("av %s: %v, want %q", argv, err, want)
		}
	}
	for _, argv := range [][]string{{"list"}, {"doctor"}, {"completion", "bash"}, {}, {"dev"}} {
		if _, err := parseQuiet(t, argv...); err != nil {
			t.Errorf("av %q: %v", argv, err)
		}
	}
}

// The names newParser looks for are the commands of av's whole command line.
func TestCommandNames(t *testing.T) {
	var names []string
	for _, c := range model(t).Children {
		if c.Type == kong.CommandNode && c.Name != "exec" {
			names = append(names, c.Name)
			names = append(names, c.Aliases...)
		}
	}
	if !slices.Equal(names, commandNames[:]) {
		t.Errorf("commandNames = %q, the commands are %q", commandNames, names)
	}
}

// The words of a run are parsed with the run's part of av's command line alone
// (newParser): it parses them as the whole would, to the same fields, the same error and
// the same output. Other words get the whole.
func TestRunGrammarParsesAsTheWhole(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		run  bool // the words of a run
	}{
		{[]string{"dev", "--", "true"}, true},
		{[]string{"dev", "--", "helm", "list"}, true},
		{[]string{"dev", "--", "ls", "--help"}, true},
		{[]string{"make", "images"}, true},
		{nil, true},
		{[]string{"--version"}, true},
		{[]string{"--debug", "-r", "public.ecr.aws", "--registry=us-east-1=ops", "-d", "2h", "-n", "-t", "123456", "--runtime-dir", "/dev/shm/x", "--lock-timeout=5s", "--min-ttl", "20m", "--aws-timeout", "9s", "--nest", "--pty", "--grace", "0s", "--ambient", "--role-arn", "arn:aws:iam::1:role/r", "--role-session-name", "s", "--registry-only", "--no-ecs-server", "dev", "--", "true"}, true},
		{[]string{"--bogus", "dev", "--", "true"}, true},
		{[]string{"--grace=-1s", "dev"}, true},
		{[]string{"--grace", "soon", "dev"}, true},
		{[]string{"--aws-timeout=0s", "dev"}, true},
		{[]string{"--json", "dev"}, true},
		{[]string{"-x", "dev"}, true},
		{[]string{"--region"}, true},
		{[]string{"exec", "dev", "--", "true"}, true},
		{[]string{"--", "dev", "--", "ls"}, true},
		{[]string{"--", "list"}, false},
		{[]string{"--debug", "--", "doctor"}, false},
		{[]string{"--region", "eu-west-1", "--", "add", "dev"}, false},
		{[]string{"dev", "--", "clear"}, false},
		{[]string{"dev", "-h"}, false},
		{[]string{"--help"}, false},
		{[]string{"-dh"}, false},
		{[]string{"help"}, true},
		{[]string{"list"}, false},
		{[]string{"--pty", "list"}, false},
		{[]string{"dev", "clear"}, false},
		{[]string{"--region", "add", "dev", "--", "x"}, false},
	} {
		if got := wordsOfARun(tc.argv); got != tc.run {
			t.Errorf("wordsOfARun(%q) = %v, want %v", tc.argv, got, tc.run)
		}
		checkRunGrammar(t, tc.argv)
	}
}

// checkRunGrammar fails t if argv parses otherwise with the run's part of av's command
// line than with the whole. Any words do: those of a run, for newParser's sake, and others,
// with which the run's part may fail where the whole does not.
func checkRunGrammar(t *testing.T, argv []string) {
	t.Helper()
	whole, part := parseWith(t, argv, false), parseWith(t, argv, true)
	if !wordsOfARun(argv) {
		return
	}
	if !reflect.DeepEqual(whole, part) {
		t.Errorf("av %q, the whole command line: %+v\nthe run's alone: %+v", argv, whole, part)
	}
}

// parsed is what kong made of av's words.
type parsed struct {
	run     runLine
	command string
	err     string
	out     string
	exit    int
}

// parseWith parses argv with av's whole command line, or its run's part alone.
func parseWith(t *testing.T, argv []string, runOnly bool) parsed {
	t.Helper()
	var cli CLI
	var grammar any = &cli
	if runOnly {
		grammar = &cli.runLine
	}
	var out bytes.Buffer
	p := parsed{exit: -1}
	parser, err := kong.New(grammar, append(parserOptions("test"), kong.Writers(&out, &out), kong.Exit(func(code int) {
		if p.exit < 0 {
			p.exit = code
		}
	}))...)
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(argv)
	if err != nil {
		p.err = err.Error()
	} else {
		p.command = kctx.Command()
	}
	p.run, p.out = cli.runLine, out.String()
	return p
}

// BenchmarkParser is kong's model built and a run's words parsed, with av's whole command
// line and with the run's part alone (newParser).
func BenchmarkParser(b *testing.B) {
	argv := []string{"dev", "--", "true"}
	for _, runOnly := range []bool{false, true} {
		b.Run(map[bool]string{false: "whole", true: "run"}[runOnly], func(b *testing.B) {
			for b.Loop() {
				var cli CLI
				var grammar any = &cli
				if runOnly {
					grammar = &cli.runLine
				}
				parser := kong.Must(grammar, parserOptions("bench")...)
				if _, err := parser.Parse(argv); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
