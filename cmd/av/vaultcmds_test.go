package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// runAV parses args as main does and runs the command in-process, returning what it printed
// on stdout and its error.
func runAV(t *testing.T, args ...string) (string, error) {
	t.Helper()
	t.Setenv(profiles.PassphraseVar, "test-passphrase") // each run takes it out of the environment
	var cli CLI
	parser, err := kong.New(&cli, append(parserOptions("test"), kong.Bind(&cli, (*runner.Catch)(nil)))...)
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := parser.Parse(args)
	if err != nil {
		return "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	err = kctx.Run()
	os.Stdout = stdout
	w.Close()
	return <-out, err
}

// TestVaultCommands drives av add, list, clear and remove in-process on a file vault, as a
// user would in their first five minutes.
func TestVaultCommands(t *testing.T) {
	runSetup(t) // dev's keys are in the vault
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAPRODPRODPRODPROD")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "prod-secret")

	out, err := runAV(t, "add", "--env", "prod")
	if err != nil || !strings.Contains(out, `added the keys of profile "prod" (access key id ending in PROD)`) {
		t.Fatalf("av add --env prod: %q, %v", out, err)
	}
	if os.Getenv("AWS_SECRET_ACCESS_KEY") != "" {
		t.Error("av add --env left the secret key in av's environment")
	}
	if strings.Contains(out, "prod-secret") {
		t.Error("av add printed the secret key")
	}

	out, err = runAV(t, "list", "--json")
	var l listJSON
	if err != nil || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("av list --json: %q, %v", out, err)
	}
	keys := map[string]bool{}
	for _, p := range l.Profiles {
		keys[p.Name] = p.Keys
	}
	if !keys["dev"] || !keys["prod"] || l.Backend != "file" {
		t.Errorf("av list --json: backend %q, keys %v; want dev's and prod's in the file vault", l.Backend, keys)
	}
	if out, err = runAV(t, "list"); err != nil || !strings.Contains(out, "prod") {
		t.Errorf("av list: %q, %v", out, err)
	}

	if out, err = runAV(t, "clear", "prod"); err != nil || !strings.Contains(out, "removed 0 cached av item(s)") {
		t.Errorf("av clear prod: %q, %v", out, err)
	}
	if out, err = runAV(t, "clear", "--sessions"); err != nil || !strings.Contains(out, "aws-vault session(s)") {
		t.Errorf("av clear --sessions: %q, %v", out, err)
	}

	if _, err = runAV(t, "remove", "--force", "prod"); err != nil {
		t.Fatalf("av remove --force prod: %v", err)
	}
	if names := listed(t); names["prod"] || !names["dev"] {
		t.Errorf("after av remove prod, av list shows %v", names)
	}

	// Refused, with nothing written.
	var none *profiles.NothingStoredError
	if _, err = runAV(t, "remove", "--force", "prod"); !errorsAs(err, &none) {
		t.Errorf("av remove of a profile the vault lacks: %v", err)
	}
	for _, args := range [][]string{{"add", "--env", "prod", "--"}, {"clear", "dev", "--"}, {"remove", "dev", "--"}, {"list", "--"}} {
		if _, err = runAV(t, args...); err == nil || !strings.Contains(err.Error(), "takes no command") {
			t.Errorf("av %s: %v, want a refusal", strings.Join(args, " "), err)
		}
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err = runAV(t, "add", "--env", "prod"); err == nil {
		t.Error("av add --env with AWS_SECRET_ACCESS_KEY unset stored something")
	}
	if names := listed(t); names["prod"] {
		t.Errorf("a refused add left profile prod: %v", names)
	}
}

// listed is av list --json's profiles whose keys the vault holds.
func listed(t *testing.T) map[string]bool {
	t.Helper()
	out, err := runAV(t, "list", "--json")
	var l listJSON
	if err != nil || json.Unmarshal([]byte(out), &l) != nil {
		t.Fatalf("av list --json: %q, %v", out, err)
	}
	keys := map[string]bool{}
	for _, p := range l.Profiles {
		if p.Keys {
			keys[p.Name] = true
		}
	}
	return keys
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
