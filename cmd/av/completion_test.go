package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"
)

// argsOf is what posener/complete makes of a line typed so far.
func argsOf(line string) complete.Args {
	parts := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		parts = append(parts, "")
	}
	all := parts[1:]
	a := complete.Args{All: all, Completed: all[:len(all)-1], Last: all[len(all)-1]}
	if n := len(a.Completed); n > 0 {
		a.LastCompleted = a.Completed[n-1]
	}
	return a
}

// TestArgRule: av's words complete as its command line reads them.
func TestArgRule(t *testing.T) {
	var cli CLI
	parser := kong.Must(&cli, parserOptions("test")...)
	model, run, err := completionModels(parser,
		kongplete.WithPredictor("profile", complete.PredictSet("dev", "prod")),
		kongplete.WithPredictor("dir", complete.PredictSet("/dev/shm/")))
	if err != nil {
		t.Fatal(err)
	}
	r := argRule{
		model:    model,
		runFlags: run.GlobalFlags,
		profiles: func() []string { return []string{"dev", "prod"} },
		commands: func(prefix string) []string { return []string{prefix + "-cmd"} },
	}
	for _, tc := range []struct {
		line     string
		want     []string // all of these
		not      []string // none of these
		wantNone bool
	}{
		{line: "av ", want: []string{"dev", "prod", "add", "list", "remove", "clear", "completion"}, not: []string{"--region"}},
		{line: "av --reg", want: []string{"--region", "--registry", "--registry-only"}, not: []string{"dev"}},
		{line: "av --region eu-west-1 ", want: []string{"dev"}, not: []string{"list"}},
		{line: "av --region=eu-west-1 ", want: []string{"dev"}},
		{line: "av --debug ", want: []string{"dev", "add"}},
		{line: "av --region ", wantNone: true},
		{line: "av --", want: []string{"--debug", "--pty", "--grace", "--role-arn", "--runtime-dir", "--help"}},
		{line: "av --runtime-dir ", want: []string{"/dev/shm/"}, not: []string{"dev", "list"}},
		{line: "av --runtime-dir=/dev/shm/x ", want: []string{"dev"}, not: []string{"list"}},
		{line: "av --lock-timeout 5s ", want: []string{"dev"}, not: []string{"list"}},
		{line: "av -t 123456 ", want: []string{"dev"}, not: []string{"clear"}},
		// A run's flag before the first word makes it a run: kong refuses it before a
		// subcommand, so none is offered, nor anything after one.
		{line: "av --pty ", want: []string{"dev", "prod"}, not: []string{"list", "add", "completion"}},
		{line: "av --region eu-west-1 remove ", wantNone: true},
		{line: "av --debug remove ", want: []string{"dev", "prod"}},
		{line: "av remove ", want: []string{"dev", "prod"}, not: []string{"add"}},
		{line: "av remove --debug p", want: []string{"prod"}},
		{line: "av remove --", want: []string{"--force", "--sessions-only", "--runtime-dir", "--lock-timeout", "--debug"}, not: []string{"--pty", "--region", "--json"}},
		{line: "av list --", want: []string{"--json", "--runtime-dir", "--lock-timeout", "--debug"}, not: []string{"--pty", "--grace", "--role-arn", "--region", "--registry"}},
		{line: "av doctor --", want: []string{"--json", "--runtime-dir"}, not: []string{"--lock-timeout", "--pty"}},
		{line: "av completion --", want: []string{"--debug"}, not: []string{"--pty", "--role-arn", "--runtime-dir", "--lock-timeout"}},
		{line: "av completion ", want: []string{"bash", "zsh", "fish"}},
		{line: "av add --", want: []string{"--env", "--runtime-dir"}, not: []string{"--ambient"}},
		{line: "av clear --", want: []string{"--sessions", "--lock-timeout"}, not: []string{"--min-ttl"}},
		{line: "av dev -- ma", want: []string{"ma-cmd"}, not: []string{"--"}},
		{line: "av dev ma", want: []string{"ma-cmd", "--"}},
		{line: "av dev -- make cl", wantNone: true},
		{line: "av dev -- make clear ", wantNone: true},
		{line: "av make all", wantNone: true},
	} {
		got := r.Predict(argsOf(tc.line))
		if tc.wantNone && len(got) > 0 {
			t.Errorf("%q: got %q, want nothing", tc.line, got)
		}
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: got %q, want %q among them", tc.line, got, w)
			}
		}
		for _, n := range tc.not {
			if slices.Contains(got, n) {
				t.Errorf("%q: got %q, with %q", tc.line, got, n)
			}
		}
	}
}

// TestCompletionScripts: each hook calls av by its path, quoted, and marks the request.
func TestCompletionScripts(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		s := completionScript(sh, "/opt/my tools/av")
		if !strings.Contains(s, "'/opt/my tools/av'") || !strings.Contains(s, completeVar) {
			t.Errorf("%s hook:\n%s", sh, s)
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII }) {
			t.Errorf("%s hook holds non-ASCII", sh)
		}
	}
	if q := shellQuote("/it's/av"); q != `'/it'\''s/av'` {
		t.Errorf("shellQuote = %s", q)
	}
}

// A profile name that would need quoting is not offered: the hooks insert words as given.
func TestConfigProfilesNeedNoQuoting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	config := "[profile dev]\nregion = eu-west-1\n[profile my prof]\n[profile esc\x1b]0;x\x07]\n[profile ops.eu-1]\n"
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", path)
	if cfg, err := profiles.LoadConfig(); err != nil || len(cfg.Names()) != 4 {
		t.Fatalf("the config defines %v (%v), want 4 profiles", cfg.Names(), err)
	}
	got := configProfiles()
	slices.Sort(got)
	if want := []string{"dev", "ops.eu-1"}; !slices.Equal(got, want) {
		t.Errorf("configProfiles() = %q, want %q", got, want)
	}
}
