package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"reflect"
	"time"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

const description = `Run COMMAND with an AWS profile's credentials from the aws-vault keyring and a
throwaway Amazon ECR login for docker, buildx, crane, skopeo, podman, oras and helm.
The login lives in a private tmpfs directory that is shredded when COMMAND ends.

  av [flags] PROFILE -- COMMAND [ARGS...]   PROFILE is the profile, always
  av [flags] COMMAND [ARGS...]              if COMMAND names a profile in the AWS config
                                            file, it is the profile and the rest is the
                                            command; otherwise the profile is $AWS_PROFILE,
                                            else "default", and the whole line is the command
  av [flags] PROFILE                        runs $SHELL (else /bin/sh) with the credentials
                                            (from av's endpoint, renewed all day: --ecs-server),
                                            on a pty of its own when av has a terminal
  av clear [PROFILE] [--sessions]           removes av's cached registry tokens
  av add PROFILE [--env]                    stores a profile's keys in the vault
  av list [--json]                          shows the profiles, their keys and cached items
  av remove PROFILE [--force]               removes a profile's keys and cached items
  av doctor [--json]                        finds every plaintext registry and AWS credential,
                                            and checks av's setup; changes nothing
  av completion bash|zsh|fish               prints the shell's completion code

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
	RuntimeDir  string           `name:"runtime-dir" env:"AV_RUNTIME_DIR" type:"raw" predictor:"dir" help:"Private directory (mode 0700) for the throwaway files. Default on Linux: XDG_RUNTIME_DIR/av (XDG_RUNTIME_DIR must then be a private tmpfs), or /dev/shm/av-UID when XDG_RUNTIME_DIR is unset; macOS has no tmpfs and needs one named (a RAM disk)." placeholder:"DIR"`
	Nest        bool             `help:"Allow av to run inside another av's child."`
	Registry    []string         `short:"r" help:"Also log in to this registry: an ECR host, public.ecr.aws, or a region; =PROFILE mints it with another profile. Repeatable; adds to av_registries in the profile." placeholder:"ENTRY[=PROFILE]"`
	MinTTL      time.Duration    `name:"min-ttl" env:"AV_MIN_TTL" default:"15m" help:"Use a cached ECR token only if it has more than this left, and renew a running command's token this long before it expires."`
	LockTimeout time.Duration    `name:"lock-timeout" env:"AV_LOCK_TIMEOUT" default:"2m" help:"How long to wait for another av that is fetching the same session or tokens (waiting for STS, a helper or its MFA code), or writing to the vault, before giving up."`
	AWSTimeout  time.Duration    `name:"aws-timeout" env:"AV_AWS_TIMEOUT" default:"${awsTimeout}" help:"How long one AWS call (STS, ECR, SSO) may take before av gives up, its retries included; each attempt gets an equal share (the SDK tries 3 times, or AWS_MAX_ATTEMPTS)."`
	PTY         bool             `name:"pty" help:"Run COMMAND on a new pseudo-terminal, as the shell runs when there is no COMMAND (for programs that need to own a terminal)."`
	Grace       time.Duration    `default:"${grace}" help:"How long COMMAND has to exit after av passes SIGTERM on before av kills it with SIGKILL (0: never)."`

	Ambient         bool   `env:"AV_AMBIENT" help:"Take the credentials from the job's own AWS identity, as the AWS SDKs find it (keys in the environment, a web identity, container or instance credentials), never from the vault: for CI. PROFILE then only names the run; its region and av_ settings in the config file still apply."`
	RoleARN         string `name:"role-arn" env:"AV_ROLE_ARN" help:"Assume this role with the job's web identity token: GitHub Actions' OIDC token (the job needs permissions: id-token: write), else AWS_WEB_IDENTITY_TOKEN_FILE's. Implies --ambient." placeholder:"ARN"`
	RoleSessionName string `name:"role-session-name" env:"AV_ROLE_SESSION_NAME" help:"Name of the --role-arn session. Default: AWS_ROLE_SESSION_NAME, else one naming the CI run (av-gh-RUNID-ATTEMPT on GitHub Actions)." placeholder:"NAME"`
	RegistryOnly    bool   `name:"registry-only" env:"AV_REGISTRY_ONLY" help:"Give COMMAND the registry logins and AWS_REGION, and no AWS credentials at all, neither av's nor inherited ones (also av_registry_only = true in the profile)."`
	ECSServer       *bool  `name:"ecs-server" negatable:"" env:"AV_ECS_SERVER" help:"Serve the AWS credentials to COMMAND from a local endpoint (the ECS container-credentials format, as aws-vault exec --ecs-server), which renews them while COMMAND runs, instead of putting keys in its environment. Default: on for the shell (no COMMAND), off for a command; also av_ecs_server = true|false in the profile. Off with --registry-only."`
	MFAToken        string `name:"mfa-token" short:"t" help:"The MFA code, for a profile that needs one, instead of a prompt (as aws-vault exec --mfa-token)." placeholder:"CODE"`

	Exec  ExecCmd  `cmd:"" default:"withargs" hidden:""`
	home  home     // HOME as av found it (ensureHome)
	Clear ClearCmd `cmd:"" help:"Remove av's cached registry tokens and role sessions from the vault. av's own command, whatever the profiles are called: run a profile named clear with AWS_PROFILE=clear av COMMAND."`
	// The vault's own commands, as aws-vault's: av's whatever the profiles are called.
	Add        AddCmd        `cmd:"" help:"Store a profile's AWS keys in the vault, as aws-vault add does (the same item: each tool uses what the other stored)."`
	List       ListCmd       `cmd:"" help:"List the profiles, whether the vault holds their keys, their cached sessions and registry tokens."`
	Remove     RemoveCmd     `cmd:"" help:"Remove a profile's keys, cached sessions and registry tokens from the vault, after asking."`
	Doctor     DoctorCmd     `cmd:"" help:"Find every registry and AWS credential kept in plain text on this machine, what each client reads, and whether av's vault and runtime directory work; changes nothing. Exit status 1 when something needs attention."`
	Completion CompletionCmd `cmd:"" help:"Print the shell code that completes av's words in bash, zsh or fish."`
}

// parserOptions are av's kong options, main's and the tests' alike.
func parserOptions(version string) []kong.Option {
	return []kong.Option{
		kong.Name("av"),
		kong.Description(description),
		kong.Vars{"version": version, "grace": runner.DefaultGrace.String(), "awsTimeout": profiles.DefaultAWSTimeout.String()},
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

// registryOnly is --registry-only (AV_REGISTRY_ONLY), or else the profile's
// av_registry_only. The key is read either way: a word it does not know is an error.
func (c *CLI) registryOnly(cfg *profiles.Config, profile string) (bool, error) {
	fromConfig, _, err := cfg.AVBool(profile, "av_registry_only")
	return c.RegistryOnly || fromConfig, err
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

// Validate rejects what kong's types let through.
func (c *CLI) Validate() error {
	if c.Grace < 0 {
		return fmt.Errorf("--grace must not be negative")
	}
	if c.AWSTimeout <= 0 {
		return fmt.Errorf("--aws-timeout must be more than 0")
	}
	return nil
}

// help prints av's usage line (kong would show the hidden default command as
// "<command>"), kong's help, and then the command's examples (helpExamples).
func help(options kong.HelpOptions, ctx *kong.Context) error {
	if sel := ctx.Selected(); sel == nil || sel.Hidden {
		fmt.Fprintln(ctx.Stdout, "Usage: av [flags] [PROFILE [--]] [COMMAND [ARGS...]]")
		options.NoAppSummary = true
	}
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	return printExamples(ctx.Stdout, helpExamples(ctx))
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
