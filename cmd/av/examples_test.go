package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// TestHelpEndsWithExamples: the --help of av and of each of its commands ends with an
// Examples section, after the flags; a new command without examples fails here.
func TestHelpEndsWithExamples(t *testing.T) {
	var cli CLI
	probe := kong.Must(&cli, parserOptions("test")...)
	argvs := [][]string{{"--help"}, {"--region", "eu-west-1", "--help"}, {"exec", "--help"}}
	for _, c := range probe.Model.Children {
		if !c.Hidden {
			argvs = append(argvs, []string{c.Name, "--help"})
		}
	}
	if len(argvs) < 7 {
		t.Fatalf("only %d commands found", len(argvs)-2)
	}
	for _, argv := range argvs {
		var out bytes.Buffer
		var cli CLI
		parser := kong.Must(&cli, append(parserOptions("test"), kong.Writers(&out, &out), kong.Exit(func(int) {}))...)
		_, _ = parser.Parse(argv)
		help := out.String()
		i := strings.LastIndex(help, "\nExamples:\n")
		if i < 0 || i < strings.LastIndex(help, "Flags:") {
			t.Errorf("av %s: no Examples section at the end:\n%s", strings.Join(argv, " "), help)
			continue
		}
		lines := strings.Split(strings.TrimRight(help[i+len("\nExamples:\n"):], "\n"), "\n")
		for _, l := range lines {
			if !strings.HasPrefix(l, "  av ") && !strings.HasPrefix(l, "  eval ") && !strings.HasPrefix(l, "  echo ") && !strings.HasPrefix(l, "  AWS_") {
				t.Errorf("av %s: %q after Examples is not an example", strings.Join(argv, " "), l)
			}
		}
	}
}
