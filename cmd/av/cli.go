package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
)

// description is av's one-line summary: `av --help` prints it above the forms (rootHelp).
const description = "Run COMMAND with an AWS profile's credentials and a throwaway ECR login."

// CLI is av's command line. Its own flags are those every command takes; each command
// carries the flags it reads (the run's are ExecCmd's), so that its --help, its completion
// and kong's "unknown flag" all agree on what it takes.
type CLI struct {
	runLine
	// The vault's own commands, as aws-vault's: av's whatever the profiles are called. Each
	// help is one line of av --help (TestRootHelpFitsOnAScreen); the detail is its Help().
	// Each name is in commandNames.
	Add        AddCmd        `cmd:"" help:"Store a profile's AWS keys in the vault."`
	List       ListCmd       `cmd:"" help:"List profiles, their keys and cached items."`
	Remove     RemoveCmd     `cmd:"" help:"Remove a profile's keys and cached items."`
	Clear      ClearCmd      `cmd:"" help:"Remove av's cached tokens and sessions."`
	Doctor     DoctorCmd     `cmd:"" help:"Find plaintext credentials; check setup."`
	Completion CompletionCmd `cmd:"" help:"Print the shell's completion code."`
}

// runLine is av's own flags and the run: all of av's command line that a run reads. It is
// a grammar of its own too, for the words of a run (newParser). Its flags' help is in
// runHelp (help.go).
type runLine struct {
	Debug   bool
	Version kong.VersionFlag

	Exec ExecCmd `cmd:"" default:"withargs" hidden:""`
	home home    // HOME as av found it (ensureHome)
}

// commandNames are the names of CLI's commands, but the run's (TestCommandNames).
var commandNames = [...]string{"add", "list", "remove", "clear", "doctor", "completion"}

// newParser is kong's parser of args: av's whole command line, cli, or, for the words of
// a run, the run's part of it alone, &cli.runLine. kong.New builds a model of every
// command and flag in its grammar, struct tags parsed and help texts interpolated, before
// it parses a word: for the whole, about 0.9 ms of CPU (BenchmarkParser), a tenth of a
// warm run; for the run's part, 0.45 ms. The words of a run are words that name no command
// of av's and ask for no help before the first "--" nor name one right after it (after
// that, all are the command's: `av dev -- helm list`), when no shell asks for a
// completion. Both grammars parse such words alike, as TestRunGrammarParsesAsTheWhole and
// FuzzArgumentRule check: the run's flags are the same fields either way, only the other
// commands are left out.
func newParser(cli *CLI, args []string, options ...kong.Option) (*kong.Kong, error) {
	if wordsOfARun(args) {
		return kong.New(&cli.runLine, append(parserOptions(version), options...)...)
	}
	parser, err := kong.New(cli, append(parserOptions(version), options...)...)
	if err == nil {
		withRunHelp(parser.Model)
	}
	return parser, err
}

// wordsOfARun reports whether args are a run's alone, for newParser.
func wordsOfARun(args []string) bool {
	if completionAsked() {
		return false
	}
	for i, w := range args {
		switch {
		case w == "--":
			// After it all words are the command's, but for the next: kong takes it for a
			// command of av's when no word before was a run's PROFILE or COMMAND (`av --
			// list` is av list), and which words before were flags' values is kong's to
			// tell, not this loop's.
			return i+1 == len(args) || !slices.Contains(commandNames[:], args[i+1])
		case slices.Contains(commandNames[:], w),
			strings.HasPrefix(w, "--help"),
			strings.HasPrefix(w, "-") && !strings.HasPrefix(w, "--") && strings.Contains(w, "h"):
			return false
		}
	}
	return true
}

// Validate rejects what kong's types let through, for the run only: kong would put
// "exec: " before the run's own Validate's words.
func (c *runLine) Validate(kctx *kong.Context) error {
	if sel := kctx.Selected(); sel != nil && sel == kctx.Model.DefaultCmd {
		return c.Exec.validate()
	}
	return nil
}

// runtimeDirFlag is --runtime-dir, for each command that reads it: the run (its files),
// the vault's commands (where the vault's lock goes when the user's lock directory cannot
// be had) and av doctor (which checks it).
type runtimeDirFlag struct {
	RuntimeDir string `name:"runtime-dir" env:"AV_RUNTIME_DIR" type:"raw" predictor:"dir" placeholder:"DIR"`
}

// vaultFlags are the flags of each command that opens the vault (openVault): the run,
// add, clear, list and remove.
type vaultFlags struct {
	runtimeDirFlag
	LockTimeout time.Duration `name:"lock-timeout" env:"AV_LOCK_TIMEOUT" default:"2m"`
}

// parserOptions are av's kong options, main's and the tests' alike.
func parserOptions(version string) []kong.Option {
	return []kong.Option{
		kong.Name("av"),
		kong.Description(description),
		kong.Vars{"version": version},
		kong.Help(help),
		kong.NamedMapper("raw", rawString{}),
		kong.TypeMapper(reflect.TypeOf(false), boolWords{}),
	}
}

// boolWords decodes a bool or *bool flag's value with profiles.ParseBool, so that a flag,
// its variable and the profile's av_ key take the same words: AV_REGISTRY_ONLY=on works
// as av_registry_only = on does (kong's own mapper knows no on/off), and a word it does
// not know is an error naming the flag and, kong adds, the variable. As kong's: a bare
// --flag is true and takes no next word (IsBool), only --flag=WORD and the variable give
// one; --no-FLAG arrives as a bool kong has already inverted.
type boolWords struct{}

func (boolWords) IsBool() bool { return true }

func (boolWords) Decode(ctx *kong.DecodeContext, target reflect.Value) error {
	if ctx.Scan.Peek().Type != kong.FlagValueToken {
		target.SetBool(true)
		return nil
	}
	t := ctx.Scan.Pop()
	switch v := t.Value.(type) {
	case bool:
		target.SetBool(v)
		return nil
	case string:
		b, err := profiles.ParseBool(v)
		if err != nil {
			return err
		}
		target.SetBool(b)
		return nil
	}
	return fmt.Errorf("expected a boolean, got %v", t)
}

// rawString decodes a word, or for a []string every word left, as its bytes. kong's own
// string mapper passes each value through encoding/json, which turns bytes that are not
// UTF-8 into U+FFFD: `av dev -- rm $'caf\xe9'` would remove another file, and
// --runtime-dir would name another directory.
type rawString struct{}

func (rawString) Decode(ctx *kong.DecodeContext, target reflect.Value) error {
	if target.Kind() == reflect.Slice {
		for _, t := range ctx.Scan.PopWhile(func(t kong.Token) bool { return t.IsValue() }) {
			s, ok := t.Value.(string)
			if !ok {
				return fmt.Errorf("expected a word, got %v", t)
			}
			target.Set(reflect.Append(target, reflect.ValueOf(s)))
		}
		return nil
	}
	t, err := ctx.Scan.PopValue("value")
	if err != nil {
		return err
	}
	s, ok := t.Value.(string)
	if !ok {
		return fmt.Errorf("expected a word, got %v", t)
	}
	target.SetString(s)
	return nil
}

// setupLogging silences aws-vault's and keyring's log lines unless --debug.
func setupLogging(debug bool) {
	log.SetFlags(0)
	log.SetPrefix("av: debug: ")
	log.SetOutput(io.Discard)
	if debug {
		log.SetOutput(os.Stderr)
	}
	profiles.SetDebug(debug)
}
