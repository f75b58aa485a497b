package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
)

const description = `Run COMMAND with an AWS profile's credentials from the aws-vault keyring and a
throwaway Amazon ECR login for docker, buildx, crane, skopeo, podman, oras and helm.
The login lives in a private tmpfs directory that is shredded when COMMAND ends.

  av [flags] PROFILE -- COMMAND [ARGS...]   PROFILE is the profile, always
  av [flags] COMMAND [ARGS...]              if COMMAND names a profile in the AWS config
                                            file, it is the profile and the rest is the
                                            command; otherwise the profile is $AWS_PROFILE,
                                            else "default", and the whole line is the command
  av [flags] PROFILE                        runs $SHELL (else /bin/sh) with the credentials,
                                            on a pty of its own when av has a terminal
  av clear [PROFILE] [--sessions]           removes av's cached registry tokens

The vault is aws-vault's: the same backends and AWS_VAULT_* variables. av caches its ECR
tokens there, beside aws-vault's sessions, and renews a running command's login before the
token expires.

EXIT STATUS: the command's own status; if a signal killed it, av dies of the same signal
(else exits 128+N). av's own failures: 1; usage errors: 80; 126 the command cannot be run;
127 the command was not found. Ctrl-C at av's own prompts: av dies of SIGINT (130).`

// CLI is av's command line.
type CLI struct {
	Debug       bool             `help:"Print each step to stderr (names, never secret values)."`
	Version     kong.VersionFlag `help:"Print the version and exit."`
	Region      string           `help:"AWS region for the credentials and the ECR token, instead of the profile's." placeholder:"REGION"`
	Duration    time.Duration    `short:"d" help:"Length of the STS session (GetSessionToken or AssumeRole), as aws-vault exec --duration. Default: the profile's duration_seconds, else 1h."`
	NoSession   bool             `short:"n" help:"Use the vault's master credentials without a GetSessionToken session, as aws-vault exec --no-session."`
	RuntimeDir  string           `name:"runtime-dir" env:"AV_RUNTIME_DIR" help:"Private directory (mode 0700) for the throwaway files. Default on Linux: XDG_RUNTIME_DIR/av (XDG_RUNTIME_DIR must then be a private tmpfs), or /dev/shm/av-UID when XDG_RUNTIME_DIR is unset; macOS has no tmpfs and needs one named (a RAM disk)." placeholder:"DIR"`
	Nest        bool             `help:"Allow av to run inside another av's child."`
	Registry    []string         `short:"r" help:"Also log in to this registry: an ECR host, public.ecr.aws, or a region; =PROFILE mints it with another profile. Repeatable; adds to av_registries in the profile." placeholder:"ENTRY[=PROFILE]"`
	MinTTL      time.Duration    `name:"min-ttl" env:"AV_MIN_TTL" default:"15m" help:"Use a cached ECR token only if it has more than this left, and renew a running command's token this long before it expires."`
	LockTimeout time.Duration    `name:"lock-timeout" env:"AV_LOCK_TIMEOUT" default:"2m" help:"How long to wait for another av that holds the vault (minting, or waiting for its MFA code) before giving up."`
	PTY         bool             `name:"pty" help:"Run COMMAND on a new pseudo-terminal, as the shell runs when there is no COMMAND (for programs that need to own a terminal)."`
	Grace       time.Duration    `default:"${grace}" help:"How long COMMAND has to exit after av passes SIGTERM on before av kills it with SIGKILL (0: never)."`

	Exec  ExecCmd  `cmd:"" default:"withargs" hidden:""`
	Clear ClearCmd `cmd:"" help:"Remove av's cached registry tokens and role sessions from the vault. av's own command, whatever the profiles are called: run a profile named clear with AWS_PROFILE=clear av COMMAND."`
}

// Validate rejects what kong's types let through.
func (c *CLI) Validate() error {
	if c.Grace < 0 {
		return fmt.Errorf("--grace must not be negative")
	}
	return nil
}

// help prints av's usage line: kong would show the hidden default command as "<command>".
func help(options kong.HelpOptions, ctx *kong.Context) error {
	if sel := ctx.Selected(); sel == nil || sel.Hidden {
		fmt.Fprintln(ctx.Stdout, "Usage: av [flags] [PROFILE [--]] [COMMAND [ARGS...]]")
		options.NoAppSummary = true
	}
	return kong.DefaultHelpPrinter(options, ctx)
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
