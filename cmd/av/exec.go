package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// ExecCmd is av's main job, `av [PROFILE --] COMMAND`: the default command.
type ExecCmd struct {
	Args []string `arg:"" optional:"" passthrough:"" type:"raw" help:"[PROFILE --] COMMAND [ARGS...]"`
}

// Run runs the command with the profile's credentials and registry logins, and sets end
// to how it ended.
func (e *ExecCmd) Run(cli *CLI, catch *runner.Catch, end *runner.Status) (err error) {
	ctx, sup := runner.Supervise(context.Background(), runner.Options{Grace: cli.Grace, Catch: catch})
	defer sup.Close() // av exits next
	defer func() {
		// A panic on the main path: run's deferred cleanup has shredded the directory, and
		// the supervisor has killed the command if it ran. What is left is to say so.
		if r := recover(); r != nil {
			p := &runner.PanicError{Value: r, Stack: debug.Stack()}
			log.Printf("%v\n%s", p, p.Stack)
			*end, err = runner.Status{}, p
		}
	}()

	status, err := e.run(ctx, cli, sup)
	if f := sup.Failure(); f != nil {
		// A panic in one of av's goroutines: the command was stopped, the files shredded.
		*end = runner.Status{}
		return f
	}
	if sig := sup.Interrupted(); sig != 0 {
		// Stopped before the command started: everything is cleaned up; end as the
		// signal would have ended av.
		*end = runner.Status{Signal: sig}
		return nil
	}
	*end = status
	return err
}

// run is the whole flow, top to bottom: what needs no secret and no network first (so its
// failures come before any prompt or AWS call), then the credentials, the tokens, the
// files, the command; the run directory is shredded on every way out.
func (e *ExecCmd) run(ctx context.Context, cli *CLI, sup *runner.Supervisor) (runner.Status, error) {
	if p := os.Getenv(env.MarkerVar); p != "" && !cli.Nest {
		return runner.Status{}, hinted{
			fmt.Errorf("already running inside av (profile %q)", p),
			"leave that shell or command first, or pass --nest to run av inside av on purpose",
		}
	}

	// The profile and what it logs in to: the config file only.
	// The user's files may sit on a hung NFS or FUSE mount: reading them must not make av
	// deaf to Ctrl-C and SIGTERM (ctx ends with them).
	cfg, err := interruptible(ctx, profiles.LoadConfig)
	if err != nil {
		return runner.Status{}, err
	}
	inv := splitArgs(e.Args, cfg.Has, os.Getenv("AWS_PROFILE"))
	// AWS_PROFILE is consumed here, as aws-vault exec consumes it: the child never gets it,
	// and the SDK's LoadDefaultConfig, which profiles gives no config file, fails on any
	// AWS_PROFILE it cannot find there; no option of the SDK's turns that off.
	os.Unsetenv("AWS_PROFILE")
	log.Printf("profile %q, command %q", inv.Profile, firstWord(inv.Command))

	base, err := env.Base(cli.RuntimeDir)
	if err != nil {
		return runner.Status{}, err
	}
	// The job's own identity, not the vault's: asked for (CI), or, below, because the
	// profile was not named and has no credentials of its own.
	ambient := cli.Ambient || cli.RoleARN != ""
	var vault *profiles.Vault
	var closed *profiles.OpenError // aws-vault's default backend, when it does not open here
	if !ambient {
		// ctx ends the vault's prompts too: Ctrl-C at the passphrase prompt stops av at once.
		vault, err = cli.openVault(ctx, vaultSetup{Fallback: func() (string, error) { return base, nil }})
		if errors.As(err, &closed) && !closed.Chosen {
			// aws-vault's default backend is not there (no D-Bus session in a CI job): no
			// vault, as if empty. A profile named here must then be in the config file.
			if inv.Named && !cfg.Has(inv.Profile) {
				return runner.Status{}, hinted{
					fmt.Errorf("profile %q is not in %s, and there is no vault to look in: the %s backend does not open", inv.Profile, cfg.Path, closed.Backend),
					noVaultHint(closed, inv.Profile, true),
				}
			}
			log.Printf("no vault: %v", err)
			vault, err = profiles.MemoryVault(ctx), nil
		}
		if err != nil {
			return runner.Status{}, err
		}
	}
	ahead := 0
	if vault != nil {
		// A warm run's cost is the key derivations of the two items it reads (its tokens
		// and its session): begun now, on other cores, while the rest is got ready.
		ahead = vault.DeriveAhead([]string{inv.Profile})
	}

	// The run's directory and the user's client configs.
	env.Sweep(base)
	user, err := interruptible(ctx, func() (env.UserFiles, error) { return env.ReadUserConfig(env.FindUserConfig(os.Getenv)) })
	if err != nil {
		return runner.Status{}, err
	}
	dir, err := env.NewDir(base)
	if err != nil {
		return runner.Status{}, err
	}
	defer func() {
		if err := dir.Shred(); err != nil {
			fmt.Fprintf(os.Stderr, "av: warning: cleaning up %s: %v\n", dir.Path, err)
		}
		log.Printf("shredded %s", dir.Path)
	}()

	if !ambient && !inv.Named {
		own, err := profiles.HasOwnCredentials(cfg, vault, inv.Profile)
		if err != nil {
			return runner.Status{}, err
		}
		ambient = !own
		if ambient {
			log.Printf("profile %s was not named and has no credentials of its own: using the job's", inv.Profile)
		}
	}
	var lookup func(string) (*profiles.Profile, error)
	if ambient {
		var run *profiles.Profile
		vault, run, err = profiles.OpenAmbient(ctx, cfg, profiles.AmbientOptions{
			Name: inv.Profile, Region: cli.Region, RoleARN: cli.RoleARN, SessionName: cli.RoleSessionName,
			Duration: cli.Duration, CacheDir: base, LockTimeout: cli.LockTimeout, AWSTimeout: cli.AWSTimeout,
		})
		var none *profiles.NoAmbientCredentialsError
		if errors.As(err, &none) && !cli.Ambient && closed != nil {
			return runner.Status{}, hinted{
				fmt.Errorf("no credentials for profile %q: there is no vault (the %s backend does not open), it is not in %s, and %v", inv.Profile, closed.Backend, cfg.Path, err),
				noVaultHint(closed, inv.Profile, false),
			}
		}
		if errors.As(err, &none) && !cli.Ambient {
			return runner.Status{}, hinted{
				fmt.Errorf("no credentials for profile %q: it is not in the vault nor in %s, and %v", inv.Profile, cfg.Path, err),
				fmt.Sprintf("name the profile: `av PROFILE -- COMMAND`, add its keys with `av add %s`, or give the job an AWS identity", inv.Profile),
			}
		}
		if err != nil {
			return runner.Status{}, err
		}
		defer vault.DropIfEmpty() // a run that stored nothing leaves no cache behind
		forced := cli.Ambient || cli.RoleARN != ""
		lookup = func(name string) (*profiles.Profile, error) {
			if name != run.Name && !forced {
				// Only the unnamed profile fell to the job's identity: one named in a
				// registry entry must not, silently.
				return nil, hinted{
					fmt.Errorf("profile %q, named for a registry, would get the job's own AWS identity, as profile %q does", name, run.Name),
					"name the run's profile (`av PROFILE -- COMMAND`), or set AV_AMBIENT=1 to use the job's identity for every profile",
				}
			}
			// With AV_AMBIENT, every profile a Makefile names is the job's one identity.
			return run, nil
		}
	} else {
		lookup = cli.lookup(cfg, vault, inv.Profile)
	}
	run, err := lookup(inv.Profile)
	var unknown *profiles.UnknownProfileError
	if errors.As(err, &unknown) && !inv.Explicit {
		return runner.Status{}, hinted{err, "name the profile: `av PROFILE -- COMMAND`, or set AWS_PROFILE"}
	}
	if err != nil {
		return runner.Status{}, err
	}
	if src := run.AmbientSource(); src != "" {
		log.Printf("profile %s: credentials from the job: %s", run.Name, src)
	}
	specs, err := registries(cfg, run, cli.Registry)
	if err != nil {
		return runner.Status{}, err
	}
	// A full runtime directory fails here, not after minting.
	if err := dir.CheckRoom(user, len(specs)); err != nil {
		return runner.Status{}, err
	}
	registryOnly, err := cli.registryOnly(cfg, run.Name)
	if err != nil {
		return runner.Status{}, err
	}
	endpoint, err := cli.endpointOn(cfg, run.Name, len(inv.Command) == 0, registryOnly)
	if err != nil {
		return runner.Status{}, err
	}
	// Credentials, then tokens: both from the vault's caches when fresh.
	sess, err := run.Credentials(ctx, profiles.CredentialsOptions{})
	if err != nil {
		return runner.Status{}, err
	}
	cache := &ecr.TokenCache{Store: ecr.VaultStore(vault), Minter: ecr.AWSMinter{}, MinTTL: cli.MinTTL}
	req := ecr.TokenRequest{Specs: specs, Identity: identities(lookup)}
	tokens, err := cache.Get(ctx, req)
	if err != nil {
		return runner.Status{}, err
	}
	// Minting may have renewed a session that ECR rejected: the command gets the new one
	// (the profile keeps its last session, so this reads nothing again; master keys are
	// never renewed).
	if sess.Credentials.CanExpire {
		if sess, err = run.Credentials(ctx, profiles.CredentialsOptions{}); err != nil {
			return runner.Status{}, err
		}
	}
	log.Printf("credentials for profile %q ready (region %q); %d registry logins, the first expiring %s; %d vault items decrypted, %d of %d keys derived ahead used",
		run.Name, run.Region, len(tokens.Logins), tokens.Expires.Format(time.RFC3339), vault.Decrypts(), vault.KeysDerivedAhead(), ahead)

	files, notes, err := dir.WriteRegistryFiles(env.FilesOptions{Logins: tokens.Logins, User: user})
	if err != nil {
		return runner.Status{}, err
	}
	for _, n := range notes {
		log.Print(n)
	}
	log.Printf("wrote DOCKER_CONFIG, REGISTRY_AUTH_FILE and HELM_REGISTRY_CONFIG in %s", dir.Path)
	testOnlyPanic("files")

	child := env.Child{Profile: run.Name, Region: run.Region, Credentials: sess.Credentials, Files: files, RegistryOnly: registryOnly}
	if registryOnly {
		log.Printf("registry only: the command gets no AWS credentials")
	}
	// On stderr, which the runner reads for workflow commands as it reads stdout: the
	// command's stdout is often data (`> file`, `| jq`, `$(…)`), and mask lines there would
	// put the very secrets in it.
	masks := ciMasks(os.Getenv, os.Stderr)
	if endpoint {
		warn := endpointWarnings(run.Name)
		srv, err := env.StartCredentialServer(env.ServerOptions{
			Source:  run, // the vault guards itself: the renewal uses it too
			Timeout: cli.AWSTimeout + cli.LockTimeout,
			Served: func(c aws.Credentials) {
				masks.add(nil, []string{c.AccessKeyID, c.SecretAccessKey, c.SessionToken})
				warn(nil)
			},
			Failed: warn,
		})
		if err != nil {
			return runner.Status{}, err
		}
		defer srv.Close() // before the directory is shredded: the command has ended
		child.Endpoint = srv
		log.Printf("credential endpoint for profile %q at %s", run.Name, srv.URL)
	}
	masks.add(tokens.Logins, child.HandedCredentials())
	// The command's processes hold the directory's lock: no sweep takes it while they live.
	command := runner.Command{Env: child.Environ(os.Environ()), ExtraFiles: []*os.File{dir.Lock()}}
	switch {
	case len(inv.Command) == 0:
		command.Name, command.PTY = defaultShell(), runner.PTYIfTerminal
	default:
		command.Name, command.Args = inv.Command[0], inv.Command[1:]
	}
	if cli.PTY {
		command.PTY = runner.AlwaysPTY
	}
	req.NoPrompt = true // the command has the terminal
	stopRenewal := renew(ctx, sup, cache, req, files, tokens.Expires, cli.MinTTL, masks)
	status, err := sup.Run(command)
	stopRenewal()
	var ee *runner.ExecError
	if errors.As(err, &ee) && ee.Code == 127 && !inv.Explicit && len(inv.Command) > 0 {
		err = hinted{err, fmt.Sprintf("if %q is a profile, write `av %s -- COMMAND`", command.Name, shellWord(command.Name))}
	}
	return status, err
}

// renew keeps the registry files' tokens fresh while the command runs. Supervisor.Run
// blocks until the command ends, so the renewal runs beside it, on the supervisor's watch
// (a panic in it stops the command and ends the run); the returned func stops it and
// waits for it, before the files are shredded.
func renew(ctx context.Context, sup *runner.Supervisor, cache *ecr.TokenCache, req ecr.TokenRequest, files env.Files, expires time.Time, minTTL time.Duration, masks *masker) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	sup.Go("the token renewal", func() {
		defer close(done)
		env.Renew(ctx, env.RenewOptions{
			Files:   files,
			Expires: expires,
			MinTTL:  minTTL,
			Login: func(ctx context.Context) (ecr.Logins, time.Time, error) {
				testOnlyPanic("renewal")
				t, err := cache.Get(ctx, req)
				if err != nil {
					return nil, time.Time{}, withHint(err)
				}
				masks.add(t.Logins, nil)
				return t.Logins, t.Expires, nil
			},
			Warn: func(msg string) { fmt.Fprintf(os.Stderr, "av: warning: %s\n", msg) },
		})
	})
	return func() {
		cancel()
		<-done
	}
}

// endpointOn decides whether the command gets the credential endpoint instead of keys:
// --ecs-server or AV_ECS_SERVER, else av_ecs_server in the profile, else on for the shell
// (kept open all day, it outlives any session) and off for a command (tools that read
// AWS_ACCESS_KEY_ID themselves keep working). Never with --registry-only: the command
// gets no AWS credentials at all.
//
// The SDKs read the shared files' [default] profile before the endpoint: where that holds
// credentials, the command would silently run as someone else. Asked for, that is an
// error; by default, the shell gets keys instead, with a warning.
func (c *CLI) endpointOn(cfg *profiles.Config, profile string, shell, registryOnly bool) (bool, error) {
	on, asked := shell, ""
	v, set, err := cfg.AVBool(profile, "av_ecs_server")
	if err != nil {
		return false, err
	}
	if set {
		on, asked = v, "av_ecs_server in profile "+strconv.Quote(profile)
	}
	if c.ECSServer != nil {
		on, asked = *c.ECSServer, "--ecs-server"
	}
	if on && registryOnly {
		log.Printf("registry only: no credential endpoint")
		return false, nil
	}
	if !on {
		return false, nil
	}
	shadow, err := cfg.DefaultShadow()
	if err != nil {
		return false, err
	}
	if shadow == "" {
		return true, nil
	}
	fix := "move those credentials into the vault (`av add default`) and take them out of the file; `av doctor` lists every such file"
	if asked != "" {
		return false, hinted{
			fmt.Errorf("%s: the AWS SDKs would take %s before av's credential endpoint", asked, shadow),
			fix + "; or run without the endpoint (--no-ecs-server)",
		}
	}
	fmt.Fprintf(os.Stderr, "av: warning: the shell gets AWS keys, not av's credential endpoint (they last the session): the AWS SDKs would take %s before it\nav: hint: %s\n", shadow, fix)
	return false, nil
}

// endpointWarnings words the endpoint's failures for av's stderr: one warning when its
// credentials cannot be had (the command's SDK gets the error too), and one more only
// after they could be again (a nil error: served).
func endpointWarnings(profile string) func(error) {
	var mu sync.Mutex
	warned := false
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			warned = false
			return
		}
		if warned {
			return
		}
		warned = true
		msg := fmt.Sprintf("the credential endpoint could not renew profile %q's session: %v", profile, err)
		var h hinted
		if errors.As(withHint(err), &h) && h.hint != "" {
			msg += "; " + h.hint
		}
		fmt.Fprintf(os.Stderr, "av: warning: %s\n", msg)
	}
}

// interruptible runs read on a goroutine of its own and returns when it does or when ctx
// ends, whichever comes first: a read blocked in the kernel (a hung network filesystem)
// then no longer holds av, which goes on to clean up and exit; the abandoned read ends
// with the process.
func interruptible[T any](ctx context.Context, read func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := read()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// invocation is what the words after the flags mean.
type invocation struct {
	Profile  string
	Explicit bool // named on the command line, not taken from $AWS_PROFILE or "default"
	Named    bool // named on the command line or by $AWS_PROFILE: never the job's identity instead
	Command  []string
}

// splitArgs applies av's rule: "PROFILE -- COMMAND"; else a first word that names a
// profile in the config file is the profile; else $AWS_PROFILE (or "default") and the
// whole line is the command.
func splitArgs(args []string, isProfile func(string) bool, envProfile string) invocation {
	if len(args) >= 2 && args[1] == "--" {
		return invocation{Profile: args[0], Explicit: true, Named: true, Command: args[2:]}
	}
	if len(args) >= 1 && isProfile(args[0]) {
		return invocation{Profile: args[0], Explicit: true, Named: true, Command: args[1:]}
	}
	if envProfile == "" {
		return invocation{Profile: "default", Command: args}
	}
	return invocation{Profile: envProfile, Named: true, Command: args}
}

// vaultSetup is how a command opens the vault, beyond the environment's settings.
type vaultSetup struct {
	// Fallback gives where the vault's lock goes when the user's lock directory cannot be
	// had; nil, or "", for nowhere.
	Fallback func() (string, error)
	// Create: a file vault that does not exist yet is made by its first write (av add).
	Create bool
}

// openVault opens aws-vault's vault. Its lock is the vault's, whatever --runtime-dir says:
// beside a file vault, else in the user's lock directory (env.LockDir). Only if even that
// cannot be had (another user took /dev/shm/av-UID) does the lock go into s.Fallback's
// directory (a run's runtime directory): runs then share the lock only with runs that
// use the same one.
func (c *CLI) openVault(ctx context.Context, s vaultSetup) (*profiles.Vault, error) {
	o := profiles.VaultOptionsFromEnv()
	o.Create = s.Create
	o.LockTimeout = c.LockTimeout
	lockDir, err := env.LockDir()
	if err != nil {
		fallback := ""
		if s.Fallback != nil {
			var ferr error
			if fallback, ferr = s.Fallback(); ferr != nil {
				return nil, ferr
			}
		}
		if fallback == "" {
			return nil, err
		}
		log.Printf("%v; the vault's lock goes into %s instead", err, fallback)
		lockDir = fallback
	}
	o.LockDir = lockDir
	return profiles.OpenVault(ctx, o)
}

// runtimeDirFallback is, for av's own commands (which make no run directory), the
// directory --runtime-dir names, checked, as the place for the vault's lock; "" without
// --runtime-dir.
func (c *CLI) runtimeDirFallback() (string, error) {
	if c.RuntimeDir == "" {
		return "", nil
	}
	return env.Base(c.RuntimeDir)
}

// lookup finds profiles by name, once each: the run's with --region, the others (named by
// registry entries) with their own region.
func (c *CLI) lookup(cfg *profiles.Config, vault *profiles.Vault, run string) func(string) (*profiles.Profile, error) {
	found := map[string]*profiles.Profile{}
	return func(name string) (*profiles.Profile, error) {
		if p, ok := found[name]; ok {
			return p, nil
		}
		opts := profiles.Options{Duration: c.Duration, NoSession: c.NoSession, MFAToken: c.MFAToken, AWSTimeout: c.AWSTimeout}
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

// identities turns profiles into what the token cache mints for.
func identities(lookup func(string) (*profiles.Profile, error)) func(string) (ecr.Identity, error) {
	return func(name string) (ecr.Identity, error) {
		p, err := lookup(name)
		if err != nil {
			return ecr.Identity{}, err
		}
		return ecr.Identity{Profile: p.CacheName(), Digest: p.Identity, Source: p}, nil
	}
}

// registries lists what the run logs in to, each with the profile that mints it: the
// profile's own ECR registry in its region, then av_registries from its section of the
// config file, then --registry.
func registries(cfg *profiles.Config, run *profiles.Profile, flags []string) ([]ecr.RegistrySpec, error) {
	var specs []ecr.RegistrySpec
	if run.Region != "" {
		specs = append(specs, ecr.RegistrySpec{Region: run.Region})
	}
	fromConfig, err := ecr.ParseRegistries(cfg.AVSetting(run.Name, "av_registries"))
	if err != nil {
		return nil, fmt.Errorf("profile %q: av_registries: %w", run.Name, err)
	}
	specs = append(specs, fromConfig...)
	for _, r := range flags {
		spec, err := ecr.ParseRegistry(r)
		if err != nil {
			return nil, fmt.Errorf("--registry: %w", err)
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("profile %q: no region for the ECR token: set region in the profile or pass --region", run.Name)
	}
	for i := range specs {
		specs[i] = specs[i].For(run.Name)
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
