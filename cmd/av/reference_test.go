package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// referenceRow is a row of a flags table in the reference, cmd/av/README.md.
type referenceRow struct {
	flags    []string // "--name", "-n"
	takenBy  []string // command names; "exec" for the run; every command's for av's own
	variable []string
}

var backticked = regexp.MustCompile("`([^`]*)`")

// quoted are the words in backticks in a Markdown table cell.
func quoted(cell string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// referenceFlags reads the reference's "## Flags" section: the main table (flag, taken by,
// variable, …) and the subcommands' (command, flag or argument, …).
func referenceFlags(t *testing.T, commands []string) (main []referenceRow, sub map[string][]string, envSection string) {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "\n## Flags\n")
	env := strings.Index(doc, "\n## Environment variables\n")
	if start < 0 || env < start {
		t.Fatal("the reference has no Flags section followed by Environment variables")
	}
	envEnd := strings.Index(doc[env+1:], "\n## ")
	envSection = doc[env : env+1+envEnd]
	sub = map[string][]string{}
	current := ""
	for _, line := range strings.Split(doc[start:env], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		cells = cells[1 : len(cells)-1]
		first := strings.TrimSpace(cells[0])
		switch {
		case len(cells) == 5 && strings.HasPrefix(first, "`-"):
			row := referenceRow{variable: quoted(cells[2])}
			for _, w := range quoted(first) {
				row.flags = append(row.flags, strings.Fields(w)[0]) // "--region REGION"
			}
			switch by := strings.TrimSpace(cells[1]); {
			case by == "every command":
				row.takenBy = append([]string{"exec"}, commands...)
			case strings.HasPrefix(by, "the run"):
				row.takenBy = append([]string{"exec"}, quoted(by)...)
			default:
				row.takenBy = quoted(by)
			}
			main = append(main, row)
		case len(cells) == 3:
			if first != "" {
				if w := strings.Fields(strings.Trim(first, "`")); len(w) >= 2 && w[0] == "av" {
					current = w[1]
				}
			}
			sub[current] = append(sub[current], quoted(cells[1])...)
		}
	}
	return main, sub, envSection
}

// TestReferenceNamesEveryFlag: every flag of every command, as kong's model has it, is in
// the reference (cmd/av/README.md) with the commands that take it and its variable; and
// the reference names no flag the model does not have. A flag added to ExecCmd without a
// row fails here.
func TestReferenceNamesEveryFlag(t *testing.T) {
	var cli CLI
	app := kong.Must(&cli, parserOptions("test")...).Model
	var commands []string
	nodes := map[string]*kong.Node{"exec": app.DefaultCmd}
	for _, c := range app.Children {
		if !c.Hidden {
			commands = append(commands, c.Name)
			nodes[c.Name] = c
		}
	}
	// takenBy: each flag's commands; av's own flags are every command's.
	takenBy := map[string][]string{}
	flags := map[string]*kong.Flag{}
	for _, f := range app.Flags {
		takenBy[f.Name] = append([]string{"exec"}, commands...)
		flags[f.Name] = f
	}
	for name, n := range nodes {
		for _, f := range n.Flags {
			takenBy[f.Name] = append(takenBy[f.Name], name)
			flags[f.Name] = f
		}
	}
	if len(nodes["exec"].Flags) < 15 {
		t.Fatalf("the run has %d flags: the model was not read", len(nodes["exec"].Flags))
	}

	main, sub, envSection := referenceFlags(t, commands)
	named := map[string]bool{}
	for _, row := range main {
		for _, w := range row.flags {
			name, long := strings.CutPrefix(w, "--")
			if !long {
				continue // a short flag: checked with its long one below
			}
			f := flags[name]
			if f == nil {
				if base, neg := strings.CutPrefix(name, "no-"); neg && flags[base] != nil && flags[base].Tag.Negatable != "" {
					continue
				}
				t.Errorf("the reference names --%s, which no command has", name)
				continue
			}
			named[name] = true
			if !sameSet(row.takenBy, takenBy[name]) {
				t.Errorf("the reference says --%s is taken by %q; the model: %q", name, row.takenBy, takenBy[name])
			}
			if f.Short != 0 && !slices.Contains(row.flags, "-"+string(f.Short)) {
				t.Errorf("the reference's --%s row does not name -%c", name, f.Short)
			}
			if !sameSet(row.variable, f.Tag.Envs) {
				t.Errorf("the reference gives --%s the variables %q; the model: %q", name, row.variable, f.Tag.Envs)
			}
			if f.Tag.Negatable != "" && !slices.Contains(row.flags, "--no-"+name) {
				t.Errorf("the reference's --%s row does not name --no-%s", name, name)
			}
		}
	}
	for name, by := range takenBy {
		if named[name] {
			continue
		}
		// A subcommand's own flag may be in the subcommands' table instead.
		for _, c := range by {
			if c == "exec" || !slices.Contains(sub[c], "--"+name) {
				t.Errorf("the reference does not name --%s for %s", name, commandWords(c))
			}
		}
		if f := flags[name]; f.Short != 0 {
			for _, c := range by {
				if !slices.Contains(sub[c], "-"+string(f.Short)) {
					t.Errorf("the reference does not name -%c for %s", f.Short, commandWords(c))
				}
			}
		}
	}
	for name, f := range flags {
		for _, v := range f.Tag.Envs {
			if !strings.Contains(envSection, "`"+v+"`") {
				t.Errorf("the reference's Environment variables do not name %s (--%s)", v, name)
			}
		}
	}
}

func commandWords(name string) string {
	if name == "exec" {
		return "the run"
	}
	return "av " + name
}
