package main

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// FuzzArgumentRule fuzzes av's command line: kong's parse of av's flags, then splitArgs.
// The input is argv, its words separated by NUL (which no word can hold), a list of the
// profiles the config file defines in the same form, and $AWS_PROFILE.
//
// What must hold: the words av gives the rule are the end of argv, untouched (kong
// neither drops nor reorders nor invents any); and the rule loses no word: PROFILE, the
// "--" after it if any, and COMMAND are those words again. After "PROFILE --" nothing is
// av's: `av dev -- ls --help` runs ls --help. And a flag only the run reads is never
// taken by another command (`av list --pty`, `av --pty list`): kong refuses it. And the
// run's part of the command line parses the words of a run as the whole does
// (checkRunGrammar).
func FuzzArgumentRule(f *testing.F) {
	for _, seed := range []struct{ argv, profiles, env string }{
		{"dev\x00--\x00crane\x00push\x00x", "dev\x00prod", ""},
		{"prod\x00make\x00images", "dev\x00prod", ""},
		{"make\x00images", "dev", "ci"},
		{"dev", "dev", ""},
		{"dev\x00--", "", ""},
		{"", "", ""},
		{"--debug\x00--region\x00eu-west-1\x00dev\x00--\x00ls\x00-la", "dev", ""},
		{"-r\x00us-east-1\x00--pty\x00dev\x00--\x00sh\x00-c\x00echo $AWS_REGION", "dev", ""},
		{"--\x00dev\x00--\x00ls", "dev", ""},
		{"--\x00list", "dev", ""},
		{"dev\x00--\x00ls\x00--help", "dev", ""},
		{"make\x00x\x00--\x00y", "", "dev"},
		{"\x00--\x00true", "", ""},
		{"--min-ttl=5m\x00--lock-timeout\x0010s\x00dev\x00--\x00docker\x00pull\x00x", "dev", ""},
		{"clear\x00dev", "dev", ""},
		{"--grace=-1s\x00dev", "dev", ""},
		{"--runtime-dir\x00/dev/shm/av-test\x00dev\x00--\x00true", "dev", ""},
		{"--runtime-dir=/tmp/caf\xe9\x00dev\x00--\x00cat\x00caf\xe9.txt", "dev", ""},
		{"list\x00--pty", "dev", ""},
		{"--pty\x00list", "dev", ""},
		{"list\x00--runtime-dir\x00/dev/shm/x\x00--lock-timeout=5s\x00--json", "", ""},
		{"--lock-timeout=5s\x00doctor", "", ""},
		{"completion\x00--runtime-dir=/x\x00bash", "", ""},
		{"--debug\x00remove\x00dev\x00--grace=1s", "dev", ""},
		{"-r\x00public.ecr.aws\x00dev\x00--\x00true", "dev", ""},
	} {
		f.Add(seed.argv, seed.profiles, seed.env)
	}
	f.Fuzz(func(t *testing.T, argvWords, profileWords, envProfile string) {
		argv := words(argvWords)
		known := map[string]bool{}
		for _, p := range words(profileWords) {
			known[p] = true
		}
		checkRunGrammar(t, argv)
		cli, kctx := parseArgv(t, argv)
		if kctx == nil {
			return // a usage error, --help or --version
		}
		if sel := kctx.Selected(); sel != nil && !sel.Hidden {
			// One of av's own commands: it took none of the run's flags.
			runOnly := map[*kong.Flag]bool{}
			for _, f := range kctx.Model.DefaultCmd.Flags {
				runOnly[f] = true
			}
			for _, p := range kctx.Path {
				if p.Flag != nil && runOnly[p.Flag] {
					t.Fatalf("argv %q: av %s took the run's --%s", argv, sel.Name, p.Flag.Name)
				}
				if p.Flag != nil && !slices.Contains(sel.Flags, p.Flag) && !slices.Contains(kctx.Model.Flags, p.Flag) {
					t.Fatalf("argv %q: av %s took --%s, neither its flag nor av's", argv, sel.Name, p.Flag.Name)
				}
			}
			return
		}
		args := cli.Exec.Args
		if len(args) > len(argv) || !slices.Equal(args, argv[len(argv)-len(args):]) {
			t.Fatalf("argv %q: the rule got %q, not the end of argv", argv, args)
		}
		if dir, named := lastRuntimeDir(argv[:len(argv)-len(args)]); named && cli.Exec.RuntimeDir != dir {
			t.Fatalf("argv %q: --runtime-dir is %q, want %q", argv, cli.Exec.RuntimeDir, dir)
		}
		inv := splitArgs(args, func(s string) bool { return known[s] }, envProfile)
		var again []string
		switch {
		case len(args) >= 2 && args[1] == "--":
			again = append([]string{inv.Profile, "--"}, inv.Command...)
		case inv.Explicit:
			if !known[inv.Profile] {
				t.Fatalf("%q: profile %q taken without -- though the config file has no such profile", args, inv.Profile)
			}
			again = append([]string{inv.Profile}, inv.Command...)
		default:
			want := envProfile
			if want == "" {
				want = "default"
			}
			if inv.Profile != want {
				t.Fatalf("%q with AWS_PROFILE=%q: profile %q, want %q", args, envProfile, inv.Profile, want)
			}
			again = inv.Command
		}
		if !slices.Equal(again, args) && !(len(again) == 0 && len(args) == 0) {
			t.Fatalf("%q: profile %q and command %q are not the words given", args, inv.Profile, inv.Command)
		}
	})
}

// parseExecArgs parses argv with av's own command line, for the exec command; false when
// the parse ends elsewhere (an error, --help, --version, clear).
func parseExecArgs(t *testing.T, argv []string) (*CLI, bool) {
	t.Helper()
	cli, kctx := parseArgv(t, argv)
	if kctx == nil || !strings.HasPrefix(kctx.Command(), "exec") {
		return nil, false
	}
	return cli, true
}

// parseArgv parses argv with av's own command line; a nil context for an error, --help or
// --version.
func parseArgv(t *testing.T, argv []string) (*CLI, *kong.Context) {
	t.Helper()
	var cli CLI
	exited := false
	parser, err := newParser(&cli, argv, kong.Writers(io.Discard, io.Discard), kong.Exit(func(int) { exited = true }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(argv)
	if err != nil || exited {
		return nil, nil
	}
	return &cli, kctx
}

// lastRuntimeDir is the value of the last --runtime-dir among av's flags.
func lastRuntimeDir(flags []string) (dir string, named bool) {
	for i, w := range flags {
		if v, ok := strings.CutPrefix(w, "--runtime-dir="); ok {
			dir, named = v, true
		} else if w == "--runtime-dir" && i+1 < len(flags) {
			dir, named = flags[i+1], true
		}
	}
	return dir, named
}

// words splits a fuzz input at NUL; "" is no words at all.
func words(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
