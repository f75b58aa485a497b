package main

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// av --help fits on one screen of 80 by 24: the forms, what each command is for, the five
// flags most used, where the rest are, and examples. It listed every flag of the run, 147
// lines.
func TestRootHelpFitsOnAScreen(t *testing.T) {
	out := helpOf(t, "--help")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("av --help is %d lines, want at most 24:\n%s", len(lines), out)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("av --help has a line of %d columns, want at most 80: %q", n, l)
		}
	}
	app := model(t)
	for _, c := range app.Children {
		if c.Hidden {
			continue
		}
		if !strings.Contains(out, "av "+c.Name) || !strings.Contains(out, phrase(c.Help)) {
			t.Errorf("av --help does not say what av %s is for:\n%s", c.Name, out)
		}
	}
	for _, f := range mostUsedFlags {
		flag := findFlag(app, f[0])
		if flag == nil || !strings.Contains(out, flagWords(flag)+" ") || !strings.Contains(out, f[1]) {
			t.Errorf("av --help does not show --%s:\n%s", f[0], out)
		}
	}
	for _, want := range []string{"Usage: av [flags] PROFILE -- COMMAND [ARGS...]", "av [flags] PROFILE ", "av exec --help", "cmd/av/README.md", "\nExamples:\n  av "} {
		if !strings.Contains(out, want) {
			t.Errorf("av --help has no %q:\n%s", want, out)
		}
	}
	// A run's flag before --help: the same page.
	if again := helpOf(t, "--region", "eu-west-1", "--help"); again != out {
		t.Errorf("av --region eu-west-1 --help:\n%s\nwant av --help's", again)
	}
}

// av exec --help, the run named, shows the run's every flag, its forms and av's exit status.
func TestRunHelpShowsEveryFlag(t *testing.T) {
	out := helpOf(t, "exec", "--help")
	for _, f := range model(t).DefaultCmd.Flags {
		if !strings.Contains(out, "-"+f.Name+" ") && !strings.Contains(out, "-"+f.Name+"=") && !strings.Contains(out, "]"+f.Name+" ") {
			t.Errorf("av exec --help does not show --%s", f.Name)
		}
	}
	for _, want := range []string{runUsage, "--debug", "av [flags] PROFILE -- COMMAND", "EXIT STATUS", "usage errors: 80", "\nExamples:\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("av exec --help has no %q:\n%s", want, out)
		}
	}
}

// runHelp has a help for each flag and positional of the run's part of the command line
// (runLine) and none for anything else; on the whole command line, which prints help,
// every flag and positional of every command has one.
func TestRunHelpNamesEveryRunFlag(t *testing.T) {
	var cli CLI
	run := kong.Must(&cli.runLine, parserOptions("test")...).Model
	named := map[string]bool{}
	_ = kong.Visit(run, func(n kong.Visitable, next kong.Next) error {
		if v := valueOf(n); v != nil && v.Name != "help" {
			named[v.Name] = true
		}
		return next(nil)
	})
	for name := range named {
		if runHelp[name] == "" {
			t.Errorf("the run's %s has no runHelp", name)
		}
	}
	for name := range runHelp {
		if !named[name] {
			t.Errorf("runHelp[%q] names no flag of the run's", name)
		}
	}
	whole, err := newParser(&cli, []string{"--help"})
	if err != nil {
		t.Fatal(err)
	}
	_ = kong.Visit(whole.Model, func(n kong.Visitable, next kong.Next) error {
		if v := valueOf(n); v != nil && v.Help == "" {
			t.Errorf("%s: no help", v.Summary())
		}
		return next(nil)
	})
}

// The run's defaults written in its tags are the constants the code uses.
func TestRunDefaults(t *testing.T) {
	for _, v := range []string{"AV_AWS_TIMEOUT"} {
		if val, ok := os.LookupEnv(v); ok {
			t.Setenv(v, val) // restored afterwards
			os.Unsetenv(v)
		}
	}
	c, err := parseCLI(t, "dev", "--", "true")
	if err != nil {
		t.Fatal(err)
	}
	if c.Exec.Grace != runner.DefaultGrace {
		t.Errorf("--grace defaults to %s, runner.DefaultGrace is %s", c.Exec.Grace, runner.DefaultGrace)
	}
	if c.Exec.AWSTimeout != profiles.DefaultAWSTimeout {
		t.Errorf("--aws-timeout defaults to %s, profiles.DefaultAWSTimeout is %s", c.Exec.AWSTimeout, profiles.DefaultAWSTimeout)
	}
}
