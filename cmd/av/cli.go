package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/99designs/keyring"
	"github.com/alecthomas/kong"
	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
	"golang.org/x/term"
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
	RuntimeDir  string           `name:"runtime-dir" env:"AV_RUNTIME_DIR" help:"Private directory (mode 0700) for the throwaway files when there is no tmpfs: XDG_RUNTIME_DIR/av or /dev/shm/av-UID by default." placeholder:"DIR"`
	Nest        bool             `help:"Allow av to run inside another av's child."`
	Registry    []string         `short:"r" help:"Also log in to this registry: an ECR host, public.ecr.aws, or a region; =PROFILE mints it with another profile. Repeatable; adds to av_registries in the profile." placeholder:"ENTRY[=PROFILE]"`
	MinTTL      time.Duration    `name:"min-ttl" env:"AV_MIN_TTL" default:"15m" help:"Use a cached ECR token only if it has more than this left, and renew a running command's token this long before it expires."`
	LockTimeout time.Duration    `name:"lock-timeout" env:"AV_LOCK_TIMEOUT" default:"2m" help:"How long to wait for another av that holds the vault (minting, or waiting for its MFA code) before giving up."`
	PTY         bool             `name:"pty" help:"Run COMMAND on a new pseudo-terminal, as the shell runs when there is no COMMAND (for programs that need to own a terminal)."`
	Grace       time.Duration    `default:"${grace}" help:"How long COMMAND has to exit after av passes SIGTERM on before av kills it with SIGKILL (0: never)."`

	Exec struct {
		Args []string `arg:"" optional:"" passthrough:"" help:"[PROFILE --] COMMAND [ARGS...]"`
	} `cmd:"" default:"withargs" hidden:""`

	catch *runner.Catch // signals caught since av started

	Clear ClearCmd `cmd:"" help:"Remove av's cached registry tokens (and the credentials kept with them) from the vault. av's own command, whatever the profiles are called: run a profile named clear with AWS_PROFILE=clear av COMMAND."`
}

// ClearCmd is `av clear [PROFILE]`.
type ClearCmd struct {
	Profile  string `arg:"" optional:"" help:"Only this profile's items."`
	Sessions bool   `help:"Also remove aws-vault's cached sessions and SSO tokens, as aws-vault clear does."`
}

// Validate rejects what kong's types let through.
func (c *CLI) Validate() error {
	if c.Grace < 0 {
		return fmt.Errorf("--grace must not be negative")
	}
	return nil
}

// invocation is what the words after the flags mean.
type invocation struct {
	Profile  string
	Explicit bool // named on the command line, not taken from $AWS_PROFILE or "default"
	Command  []string
}

// splitArgs applies av's rule: "PROFILE -- COMMAND"; else a first word that names a
// profile in the config file is the profile; else $AWS_PROFILE (or "default") and the
// whole line is the command.
func splitArgs(args []string, isProfile func(string) bool, envProfile string) invocation {
	if len(args) >= 2 && args[1] == "--" {
		return invocation{Profile: args[0], Explicit: true, Command: args[2:]}
	}
	if len(args) >= 1 && isProfile(args[0]) {
		return invocation{Profile: args[0], Explicit: true, Command: args[1:]}
	}
	if envProfile == "" {
		envProfile = "default"
	}
	return invocation{Profile: envProfile, Command: args}
}

// Run does av's job, or `av clear`, and returns how av should end.
func (c *CLI) Run(kctx *kong.Context) (runner.Status, error) {
	setupLogging(c.Debug)
	if kctx.Selected() != nil && kctx.Selected().Name == "clear" {
		// No child to pass them to: signals do what they would do to any program.
		c.catch.Stop()
		if err := c.Clear.Run(c, kctx.Args); err != nil {
			return runner.Status{Code: 1}, withHint(err)
		}
		return runner.Status{}, nil
	}
	ctx, sup := runner.Supervise(context.Background(), runner.Options{Grace: c.Grace, Catch: c.catch})
	defer sup.Close() // av exits next

	status, err := c.run(ctx, sup)
	if sig := sup.Interrupted(); sig != 0 {
		// Stopped before the command started: everything is cleaned up; end as the
		// signal would have ended av.
		return runner.Status{Signal: sig}, nil
	}
	var ee *runner.ExecError
	if errors.As(err, &ee) {
		return runner.Status{Code: ee.Code}, err
	}
	if err != nil {
		return runner.Status{Code: 1}, withHint(err)
	}
	return status, nil
}

func (c *CLI) run(ctx context.Context, sup *runner.Supervisor) (runner.Status, error) {
	if p := os.Getenv(env.MarkerVar); p != "" && !c.Nest {
		return runner.Status{}, hinted{
			fmt.Errorf("already running inside av (profile %q)", p),
			"leave that shell or command first, or pass --nest to run av inside av on purpose",
		}
	}
	base, err := env.Base(c.RuntimeDir)
	if err != nil {
		return runner.Status{}, err
	}

	// The run's directory, the sweep and the user's client configs need no secret: they
	// are got ready beside the config, the vault and the logins (a decrypt, about 3 ms, on
	// a warm run; AWS calls on a cold one). Whatever happens, the directory is shredded.
	setup := make(chan runSetup, 1)
	go func() { setup <- prepareRun(base) }()
	ready := sync.OnceValue(func() runSetup { return <-setup })
	defer func() {
		if dir := ready().dir; dir != nil {
			if err := dir.Shred(); err != nil {
				fmt.Fprintf(os.Stderr, "av: warning: cleaning up %s: %v\n", dir.Path, err)
			}
			log.Printf("shredded %s", dir.Path)
		}
	}()

	cfg, err := profiles.LoadConfig()
	if err != nil {
		return runner.Status{}, err
	}
	inv := splitArgs(c.Exec.Args, cfg.Has, os.Getenv("AWS_PROFILE"))
	// AWS_PROFILE is consumed here: the child never gets it (aws-vault exec drops it too),
	// and the SDK, which av configures itself, must not go looking for it.
	os.Unsetenv("AWS_PROFILE")
	log.Printf("profile %s, command %q", inv.Profile, firstWord(inv.Command))

	// ctx ends the vault's prompts too: Ctrl-C at the passphrase prompt stops av at once.
	vault, err := c.openVault(ctx, base)
	if err != nil {
		return runner.Status{}, err
	}
	lookup := c.lookup(cfg, vault, inv.Profile)
	run, err := lookup(inv.Profile)
	var unknown *profiles.UnknownProfileError
	if errors.As(err, &unknown) && !inv.Explicit {
		return runner.Status{}, hinted{err, "name the profile: `av PROFILE -- COMMAND`, or set AWS_PROFILE"}
	}
	if err != nil {
		return runner.Status{}, err
	}
	specs, err := c.registries(cfg, run)
	if err != nil {
		return runner.Status{}, err
	}
	loginOpts := env.LoginOptions{
		Vault:         vault,
		Lookup:        lookup,
		Run:           run.Name,
		Specs:         specs,
		MinTTL:        c.MinTTL,
		SessionMinTTL: profiles.SessionMinTTL(),
	}
	login, err := env.LogIn(ctx, loginOpts)
	if err != nil {
		return runner.Status{}, err
	}
	prep := ready()
	if prep.err != nil {
		return runner.Status{}, prep.err
	}
	log.Printf("credentials for profile %s ready (region %q); %d registry logins, the first expiring %s; %d vault items decrypted, %d with a key derived while av started",
		run.Name, run.Region, len(login.Logins), login.Expires.Format(time.RFC3339), vault.Decrypts(), vault.KeysDerivedAhead())

	dir := prep.dir
	files, notes, err := dir.WriteRegistryFiles(env.FilesOptions{
		Logins: login.Logins,
		User:   prep.user,
	})
	if err != nil {
		return runner.Status{}, err
	}
	for _, n := range notes {
		log.Print(n)
	}
	log.Printf("wrote DOCKER_CONFIG, REGISTRY_AUTH_FILE and HELM_REGISTRY_CONFIG in %s", dir.Path)

	child := env.Child{Profile: run.Name, Region: run.Region, Credentials: login.Credentials, Files: files}
	command, pty := inv.Command, c.PTY
	if len(command) == 0 {
		// The shell gets a pty of its own when av has a terminal; with input from a
		// pipe or a file it reads that, as `sh < script` would.
		command, pty = []string{defaultShell()}, pty || term.IsTerminal(0)
	}
	stopRenewal := c.renew(ctx, files, login.Expires, loginOpts)
	status, err := sup.Run(runner.Command{Name: command[0], Args: command[1:], Env: child.Environ(os.Environ()), PTY: pty})
	stopRenewal()
	var ee *runner.ExecError
	if errors.As(err, &ee) && ee.Code == 127 && !inv.Explicit && len(inv.Command) > 0 {
		err = hinted{err, fmt.Sprintf("if %q is a profile, write `av %s -- COMMAND`", command[0], command[0])}
	}
	return status, err
}

// renew keeps the registry files' tokens fresh while the command runs. Supervisor.Run
// blocks until the command ends, so the renewal runs beside it; the returned func stops it
// and waits for it, before the files are shredded.
func (c *CLI) renew(ctx context.Context, files env.Files, expires time.Time, opts env.LoginOptions) (stop func()) {
	opts.Renewal = true
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		env.Renew(ctx, env.RenewOptions{
			Files:   files,
			Expires: expires,
			MinTTL:  c.MinTTL,
			Login: func(ctx context.Context) (env.Logins, time.Time, error) {
				l, err := env.LogIn(ctx, opts)
				if err != nil {
					return nil, time.Time{}, err
				}
				return l.Logins, l.Expires, nil
			},
			Warn: func(msg string) { fmt.Fprintf(os.Stderr, "av: warning: %s\n", msg) },
		})
	}()
	return func() {
		cancel()
		<-done
	}
}

// runSetup is what a run prepares while it gets its logins.
type runSetup struct {
	dir  *env.Dir
	user env.UserConfig
	err  error
}

// prepareRun sweeps the directories of killed runs, makes this run's, and finds the user's
// client configs.
func prepareRun(base string) runSetup {
	env.Sweep(base)
	dir, err := env.NewDir(base)
	return runSetup{dir: dir, user: env.FindUserConfig(os.Getenv), err: err}
}

// openVault opens aws-vault's vault, with its lock file in av's runtime directory.
func (c *CLI) openVault(ctx context.Context, base string) (*profiles.Vault, error) {
	o := profiles.VaultOptionsFromEnv()
	o.LockDir = base
	o.LockTimeout = c.LockTimeout
	return profiles.OpenVault(ctx, o)
}

// lookup finds profiles by name, once each: the run's with --region, the others (named by
// registry entries) with their own region.
func (c *CLI) lookup(cfg *profiles.Config, vault *profiles.Vault, run string) func(string) (*profiles.Profile, error) {
	found := map[string]*profiles.Profile{}
	return func(name string) (*profiles.Profile, error) {
		if p, ok := found[name]; ok {
			return p, nil
		}
		opts := profiles.Options{Duration: c.Duration, NoSession: c.NoSession}
		if name == run {
			opts.Region = c.Region
		}
		p, err := profiles.Lookup(cfg, vault, name, opts)
		if err == nil {
			found[name] = p
		}
		return p, err
	}
}

// Run removes av's cached items from the vault.
func (cmd *ClearCmd) Run(c *CLI, args []string) error {
	if slices.Contains(args, "--") {
		// `av clear -- make` is someone running make with a profile named clear: refuse
		// rather than clear the cache and skip the command.
		return hinted{errors.New("av clear takes no command"), "to run a command with a profile named clear, write AWS_PROFILE=clear av COMMAND"}
	}
	base, err := env.Base(c.RuntimeDir)
	if err != nil {
		return err
	}
	cfg, err := profiles.LoadConfig()
	if err != nil {
		return err
	}
	vault, err := c.openVault(context.Background(), base)
	if err != nil {
		return err
	}
	n, err := vault.Clear(cfg, profiles.ClearOptions{Profile: cmd.Profile, Sessions: cmd.Sessions})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("removed %d cached av item(s)", n.Items)
	if cmd.Sessions {
		msg += fmt.Sprintf(" and %d aws-vault session(s)", n.Sessions)
	}
	fmt.Println(msg)
	return nil
}

// registries lists what the run logs in to: the profile's own ECR registry in its region,
// then av_registries from its section of the config file, then --registry.
func (c *CLI) registries(cfg *profiles.Config, sess *profiles.Profile) ([]env.RegistrySpec, error) {
	var specs []env.RegistrySpec
	if sess.Region != "" {
		specs = append(specs, env.RegistrySpec{Region: sess.Region})
	}
	fromConfig, err := env.ParseRegistries(cfg.AVSetting(sess.Name, "av_registries"))
	if err != nil {
		return nil, fmt.Errorf("profile %q: av_registries: %w", sess.Name, err)
	}
	specs = append(specs, fromConfig...)
	for _, r := range c.Registry {
		spec, err := env.ParseRegistry(r)
		if err != nil {
			return nil, fmt.Errorf("--registry: %w", err)
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("profile %q: no region for the ECR token: set region in the profile or pass --region", sess.Name)
	}
	return specs, nil
}

func defaultShell() string {
	if sh := os.Getenv("SHELL"); sh != "" {
		return sh
	}
	return "/bin/sh"
}

func firstWord(cmd []string) string {
	if len(cmd) == 0 {
		return ""
	}
	return cmd[0]
}

// setupLogging silences aws-vault's and keyring's log lines unless --debug.
func setupLogging(debug bool) {
	log.SetFlags(0)
	log.SetPrefix("av: debug: ")
	log.SetOutput(io.Discard)
	if debug {
		log.SetOutput(os.Stderr)
	}
	keyring.Debug = debug
}

// hinted is an error with a concrete fix for the user.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }
func (h hinted) Hint() string  { return h.hint }

// withHint adds the fix for the errors a user can fix.
func withHint(err error) error {
	var unknown *profiles.UnknownProfileError
	var nocreds *profiles.NoCredentialsError
	var already hinted
	switch {
	case errors.As(err, &already):
		return err
	case errors.As(err, &unknown) && unknown.Suggestion != "":
		return hinted{err, fmt.Sprintf("did you mean %q?", unknown.Suggestion)}
	case errors.As(err, &unknown):
		return hinted{err, fmt.Sprintf("define it in %s, or add its keys with `aws-vault add %s`", unknown.ConfigPath, unknown.Profile)}
	case errors.As(err, &nocreds):
		return hinted{err, fmt.Sprintf("add them with `aws-vault add %s`", nocreds.Profile)}
	case errors.Is(err, profiles.ErrVaultLocked):
		return hinted{err, "check " + profiles.PassphraseVar + ", or the passphrase you typed"}
	}
	return err
}
