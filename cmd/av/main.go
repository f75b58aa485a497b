// Command av runs a command with an AWS profile's credentials from the aws-vault keyring
// and a throwaway registry login for Amazon ECR, and shreds that login afterwards.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/runner"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Catching signals takes round trips to Go's signal thread: they go on while kong parses.
	catch := runner.CatchSignals()
	cli := CLI{catch: catch}
	parser := kong.Must(&cli,
		kong.Name("av"),
		kong.Description(description),
		kong.Vars{"version": version, "grace": runner.DefaultGrace.String()},
		kong.Help(help),
	)
	kctx, err := parser.Parse(os.Args[1:])
	parser.FatalIfErrorf(err)

	status, err := cli.Run(kctx)
	if err != nil {
		printError(err)
	}
	if status.Signal != 0 {
		runner.Raise(status.Signal)
		os.Exit(128 + int(status.Signal))
	}
	os.Exit(status.Code)
}

// help prints av's usage line: kong would show the hidden default command as "<command>".
func help(options kong.HelpOptions, ctx *kong.Context) error {
	if sel := ctx.Selected(); sel == nil || sel.Hidden {
		fmt.Fprintln(ctx.Stdout, "Usage: av [flags] [PROFILE [--]] [COMMAND [ARGS...]]")
		options.NoAppSummary = true
	}
	return kong.DefaultHelpPrinter(options, ctx)
}

func printError(err error) {
	fmt.Fprintf(os.Stderr, "av: error: %v\n", err)
	var h interface{ Hint() string }
	if errors.As(err, &h) && h.Hint() != "" {
		fmt.Fprintf(os.Stderr, "av: hint: %s\n", h.Hint())
	}
}
