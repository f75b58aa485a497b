package main

import (
	"os"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/runner"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	// Before av reads any secret: no other process of the user may read av's memory.
	runner.ProtectMemory()
	// Catching signals takes round trips to Go's signal thread: they go on while kong parses.
	catch := runner.CatchSignals()
	var cli CLI
	parser, err := newParser(&cli, os.Args[1:], kong.Bind(&cli, catch))
	if err != nil {
		panic(err) // av's grammar itself is wrong, as kong.Must would
	}
	if completeIfAsked(parser, os.Stdout) {
		os.Exit(0) // the shell's completion hook asked (av completion): nothing runs
	}
	kctx, err := parser.Parse(os.Args[1:])
	parser.FatalIfErrorf(err)
	setupLogging(cli.Debug)
	cli.home = ensureHome()

	err = kctx.Run()
	status := exitStatus(err) // the command's own, carried by err (ended), or av's
	if err != nil {
		printError(os.Stderr, err)
	}
	if status.Signal != 0 {
		runner.Raise(status.Signal)
		os.Exit(128 + int(status.Signal))
	}
	os.Exit(status.Code)
}
