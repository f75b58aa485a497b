package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"
)

// Shell completion. kongplete turns av's kong model into posener/complete's (the
// subcommands, their flags and arguments, the profile predictor); the shell's hook calls av
// back with the line typed so far (COMP_LINE, COMP_POINT, posener/complete's protocol), and
// av prints the words that may come next. On top of the model, av's own argument rule: the
// first word is a subcommand or a profile, and after PROFILE -- comes a command.

// completeVar marks a completion request: the scripts set it beside COMP_LINE, so that a
// COMP_LINE that leaked into av's environment never turns a run into a completion.
const completeVar = "AV_COMPLETE"

// CompletionCmd is `av completion SHELL`: the hook to load into the shell.
type CompletionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"The shell: bash, zsh or fish."`
}

// Help is shown by av completion --help.
func (cmd *CompletionCmd) Help() string {
	return `Prints the shell code that makes SHELL complete av's words: subcommands, flags, profile
names from the AWS config file, and the command after PROFILE --. Load it from your
shell's start-up file (see the examples); it calls av, by its full path, to complete.`
}

// Examples are shown at the end of av completion --help.
func (cmd *CompletionCmd) Examples() []string {
	return []string{
		`echo 'eval "$(av completion bash)"' >> ~/.bashrc`,
		`echo 'eval "$(av completion zsh)"' >> ~/.zshrc`,
		"av completion fish > ~/.config/fish/completions/av.fish",
	}
}

// Run prints the shell's hook.
func (cmd *CompletionCmd) Run(kctx *kong.Context) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding av's own path for the completion hook: %w", err)
	}
	if resolved, err := filepath.EvalSymlinks(bin); err == nil {
		bin = resolved
	}
	_, err = io.WriteString(kctx.Stdout, completionScript(cmd.Shell, bin))
	return err
}

// completionScript is the hook for shell, calling av at bin. bash and zsh (through its
// bashcompinit) run a function that asks av and fills COMPREPLY, and fall back to file
// names when av has nothing to offer (-o default: a command's own arguments); fish runs
// av for its candidates, and offers files beside them.
func completionScript(shell, bin string) string {
	q := shellQuote(bin)
	fn := `_av_complete() {
    local IFS=$'\n'
    COMPREPLY=($(` + completeVar + `=1 COMP_LINE="$COMP_LINE" COMP_POINT="$COMP_POINT" ` + q + ` 2>/dev/null))
}
complete -o default -F _av_complete av
`
	switch shell {
	case "zsh":
		return "# zsh completion for av: eval \"$(av completion zsh)\" in ~/.zshrc (after compinit)\n" +
			"autoload -U +X compinit && { whence compdef >/dev/null || compinit; }\n" +
			"autoload -U +X bashcompinit && bashcompinit\n" + fn
	case "fish":
		return `# fish completion for av: av completion fish > ~/.config/fish/completions/av.fish
function __av_complete
    set -lx ` + completeVar + ` 1
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    set -lx COMP_POINT (string length -- "$COMP_LINE")
    ` + q + ` 2>/dev/null
end
complete -c av -a '(__av_complete)'
`
	}
	return "# bash completion for av: eval \"$(av completion bash)\" in ~/.bashrc\n" + fn
}

// completeIfAsked answers a completion request (the hook's AV_COMPLETE and COMP_LINE), on
// out, and reports whether it was one: main then exits.
func completeIfAsked(parser *kong.Kong, out io.Writer) bool {
	if !completionAsked() {
		return false
	}
	cmd, err := completionModel(parser)
	if err != nil {
		return true // nothing to offer; never a run
	}
	c := complete.New("av", cmd)
	c.Out = out
	c.Complete()
	return true
}

// completionAsked reports whether a shell's completion hook runs av.
func completionAsked() bool {
	return os.Getenv(completeVar) == "1" && os.Getenv("COMP_LINE") != ""
}

// completionModel is av's command line for posener/complete: kongplete's model of av's
// own flags and its subcommands, and of the run's flags, under av's own rule for the first
// word.
func completionModel(parser *kong.Kong) (complete.Command, error) {
	opts := []kongplete.Option{
		kongplete.WithPredictor("profile", complete.PredictFunc(func(complete.Args) []string { return configProfiles() })),
		kongplete.WithPredictor("dir", complete.PredictDirs("*")),
	}
	model, run, err := completionModels(parser, opts...)
	if err != nil {
		return complete.Command{}, err
	}
	// No Sub: posener/complete would take any word on the line for a subcommand, so
	// `av dev -- make clear` would complete as `av clear`.
	return complete.Command{Args: argRule{model: model, runFlags: run.GlobalFlags, profiles: configProfiles, commands: commandsOnPath}}, nil
}

// completionModels are kongplete's models of av (its own flags in GlobalFlags, each
// subcommand in Sub with av's own flags added to its) and of the run (its flags in
// GlobalFlags). kongplete leaves hidden commands out, the run among them, and models a
// command it is given whole: the run's is the run's node, given as an application.
func completionModels(parser *kong.Kong, opts ...kongplete.Option) (model, run complete.Command, err error) {
	model, err = kongplete.Command(parser, opts...)
	if err != nil {
		return model, run, err
	}
	if d := parser.Model.DefaultCmd; d != nil {
		if run, err = kongplete.Command(&kong.Kong{Model: &kong.Application{Node: d}}, opts...); err != nil {
			return model, run, err
		}
	}
	for name, sub := range model.Sub {
		flags := complete.Flags{}
		maps.Copy(flags, model.GlobalFlags)
		maps.Copy(flags, sub.GlobalFlags)
		sub.GlobalFlags = flags
		model.Sub[name] = sub
	}
	return model, run, nil
}

// configProfiles are the profiles the AWS config file defines (none if it cannot be read).
//
// Only names that need no quoting are offered (shellWord leaves them as they are): the
// shells' hooks insert a word as it is given, so a name with a space would become two
// words, and one with control characters would reach the terminal raw.
func configProfiles() []string {
	cfg, err := profiles.LoadConfig()
	if err != nil {
		return nil
	}
	return slices.DeleteFunc(cfg.Names(), func(n string) bool { return shellWord(n) != n })
}

// argRule completes av's words as the command line reads them (splitArgs): av's own flags
// and the run's, then a subcommand or a profile; after PROFILE --, a command; after the
// command, nothing (the shell's own file names). A run's flag before the first word makes
// it a run: kong refuses it before a subcommand, which is then not offered.
type argRule struct {
	model    complete.Command // kongplete's: av's own flags in GlobalFlags, subcommands in Sub
	runFlags complete.Flags   // the run's flags, which come before PROFILE
	profiles func() []string
	commands func(prefix string) []string
}

func (r argRule) Predict(a complete.Args) []string {
	words := a.Completed
	i, run := 0, false
	for i < len(words) && strings.HasPrefix(words[i], "-") && words[i] != "--" {
		name, _, _ := strings.Cut(words[i], "=")
		if _, own := r.model.GlobalFlags[name]; !own {
			run = true
		}
		if r.takesValue(words[i]) {
			i++ // its value is the next word
		}
		i++
	}
	if i > len(words) {
		// The value of the last flag is being typed.
		if p := r.flag(a.LastCompleted); p != nil {
			return p.Predict(a)
		}
		return nil
	}
	if i == len(words) {
		// The first word after the flags: a flag, a subcommand or a profile.
		if strings.HasPrefix(a.Last, "-") {
			return r.flagNames()
		}
		out := r.profiles()
		if !run {
			for name := range r.model.Sub {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	first, rest := words[i], words[i+1:]
	if sub, ok := r.model.Sub[first]; ok {
		if run {
			return nil // kong refuses a run's flag before a subcommand
		}
		return sub.Predict(r.subArgs(rest, a.Last))
	}
	switch {
	case len(rest) >= 1 && rest[0] == "--":
		// av PROFILE -- COMMAND: the command, then its own arguments.
		if len(rest) == 1 {
			return r.commands(a.Last)
		}
	case slices.Contains(r.profiles(), first):
		// av PROFILE COMMAND (a profile of the config file), or av PROFILE --.
		if len(rest) == 0 {
			return append(r.commands(a.Last), "--")
		}
	}
	// av COMMAND ARGS, or a command's arguments: the shell's file names.
	return nil
}

// subArgs are a subcommand's words for its model, without av's own flags, which take no
// value: kongplete's model of a subcommand counts its arguments past its own flags only,
// and `av remove --debug pr` completes PROFILE.
func (r argRule) subArgs(completed []string, last string) complete.Args {
	completed = slices.DeleteFunc(slices.Clone(completed), func(w string) bool {
		_, own := r.model.GlobalFlags[w]
		return own
	})
	a := complete.Args{All: append(slices.Clone(completed), last), Completed: completed, Last: last}
	if n := len(completed); n > 0 {
		a.LastCompleted = completed[n-1]
	}
	return a
}

// flag is the predictor of the value of a flag word before the first word, av's own or
// the run's; nil for none or a boolean (kongplete: complete.PredictNothing, which is nil).
func (r argRule) flag(word string) complete.Predictor {
	if p, ok := r.model.GlobalFlags[word]; ok {
		return p
	}
	return r.runFlags[word]
}

// takesValue reports whether a flag word before the first word is followed by its value
// ("--region X"; not "--region=X", nor a boolean).
func (r argRule) takesValue(word string) bool {
	return !strings.Contains(word, "=") && r.flag(word) != nil
}

// flagNames are the flags that may come before the first word: av's own and the run's.
func (r argRule) flagNames() []string {
	var names []string
	for name := range r.model.GlobalFlags {
		names = append(names, name)
	}
	for name := range r.runFlags {
		names = append(names, name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// commandsOnPath lists the programs on PATH whose names start with prefix, as a shell
// completes a command's name.
func commandsOnPath(prefix string) []string {
	if strings.Contains(prefix, "/") {
		return nil // a path: the shell's file names
	}
	var out []string
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasPrefix(name, prefix) || seen[name] {
				continue
			}
			info, err := os.Stat(filepath.Join(dir, name)) // follows links, as exec does
			if err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
				continue
			}
			seen[name] = true
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
