package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
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

// ExecCmd is av's main job, `av [PROFILE --] COMMAND`: the default command, and the flags
// that only it reads. kong takes them before PROFILE (`av --region eu-west-1 dev -- …`),
// as the default command's, and refuses them for any other command. Each one's help is in
// runHelp (help.go); --grace's and --aws-timeout's defaults are runner.DefaultGrace and
// profiles.DefaultAWSTimeout (TestRunDefaults).
type ExecCmd struct {
	Region     string        `placeholder:"REGION"`
	Duration   time.Duration `short:"d"`
	NoSession  bool          `short:"n"`
	MFAToken   string        `name:"mfa-token" short:"t" placeholder:"CODE"`
	Registry   []string      `short:"r" placeholder:"ENTRY[=PROFILE]"`
	vaultFlags               // --runtime-dir, --lock-timeout
	MinTTL     time.Duration `name:"min-ttl" env:"AV_MIN_TTL" default:"15m"`
	AWSTimeout time.Duration `name:"aws-timeout" env:"AV_AWS_TIMEOUT" default:"30s"`
	Nest       bool
	PTY        bool          `name:"pty"`
	Grace      time.Duration `default:"5s"`

	Ambient         bool   `env:"AV_AMBIENT"`
	RoleARN         string `name:"role-arn" env:"AV_ROLE_ARN" placeholder:"ARN"`
	RoleSessionName string `name:"role-session-name" env:"AV_ROLE_SESSION_NAME" placeholder:"NAME"`
	RegistryOnly    bool   `name:"registry-only" env:"AV_REGISTRY_ONLY"`
	ECSServer       *bool  `name:"ecs-server" negatable:"" env:"AV_ECS_SERVER"`

	Args []string `arg:"" optional:"" passthrough:"" type:"raw"`

	home           home       // HOME as av found it (CLI.home)
	testOnlyMinter ecr.Minter // a unit test's, instead of ECR's
}

// Help is shown by the run's own help, av exec --help, after the usage line.
func (e *ExecCmd) Help() string {
	return runDetail
}

// validate rejects what kong's types let through (CLI.Validate).
func (e *ExecCmd) validate() error {
	if e.Grace < 0 {
		return fmt.Errorf("--grace must not be negative")
	}
	if e.AWSTimeout <= 0 {
		return fmt.Errorf("--aws-timeout must be more than 0")
	}
	return nil
}

// Run runs the command with the profile's credentials and registry logins; its error
// carries how the command ended (ended), when that is not a plain success.
func (e *ExecCmd) Run(cli *CLI, catch *runner.Catch) (err error) {
	e.home = cli.home
	ctx, sup := runner.Supervise(context.Background(), runner.Options{Grace: e.Grace, Catch: catch})
	defer sup.Close() // av exits next
	defer func() {
		// A panic on the main path: run's deferred cleanup has shredded the directory, and
		// the supervisor has killed the command if it ran. What is left is to say so.
		if r := recover(); r != nil {
			p := &runner.PanicError{Value: r, Stack: debug.Stack()}
			log.Printf("%v\n%s", p, p.Stack)
			err = p
		}
	}()

	status, err := e.run(ctx, sup)
	if f := sup.Failure(); f != nil {
		// A panic in one of av's goroutines: the command was stopped, the files shredded.
		return f
	}
	if sig := sup.Interrupted(); sig != 0 {
		// Stopped before the command started: everything is cleaned up; end as the
		// signal would have ended av.
		return ended{runner.Status{Signal: sig}}
	}
	if err != nil {
		return err
	}
	return endedWith(status)
}

// run is the whole flow, in four phases, top to bottom: who the credentials come from,
// the login (credentials and registry tokens), the files, and the command. What needs no
// secret and no network comes first, so its failures come before any prompt or AWS call;
// the run directory is shredded on every way out.
func (e *ExecCmd) run(ctx context.Context, sup supervisor) (runner.Status, error) {
	if p := os.Getenv(env.MarkerVar); p != "" && !e.Nest {
		return runner.Status{}, hinted{
			fmt.Errorf("already running inside av (profile %q)", p),
			"leave that shell or command first, or pass --nest to run av inside av on purpose",
		}
	}
	// The user's client configs first: their failures need no secret and no network, and
	// finding the job's identity may call the platform's endpoint.
	user, err := readUserFiles(ctx)
	if err != nil {
		return runner.Status{}, err
	}
	who, err := e.resolve(ctx)
	if err != nil {
		return runner.Status{}, err
	}
	defer who.run.Close()
	dir, err := makeDir(who.base)
	if err != nil {
		return runner.Status{}, err
	}
	defer shred(dir)
	var minter ecr.Minter = ecr.AWSMinter{}
	if e.testOnlyMinter != nil {
		minter = e.testOnlyMinter
	}
	in, err := e.logIn(ctx, who, dir, user, minter)
	if err != nil {
		return runner.Status{}, err
	}
	files, err := writeFiles(ctx, dir, in, user)
	if err != nil {
		return runner.Status{}, err
	}
	return e.start(ctx, sup, who, in, dir, files, user)
}

// supervisor runs the command and the work beside it: *runner.Supervisor.
type supervisor interface {
	Run(runner.Command) (runner.Status, error)
	Go(where string, fn func())
}

// who is the first phase's answer: what the words mean, and whose credentials the run uses.
type who struct {
	inv  invocation
	cfg  *profiles.Config
	base string // the private runtime directory
	run  *profiles.Run
}

// resolve is the first phase: the profile the words name (the config file only), and whose
// credentials it gives (profiles.Resolve: the vault's, or the job's own).
func (e *ExecCmd) resolve(ctx context.Context) (*who, error) {
	// The user's files may sit on a hung NFS or FUSE mount: reading them must not make av
	// deaf to Ctrl-C and SIGTERM (ctx ends with them).
	cfg, err := env.Interruptible(ctx, profiles.LoadConfig)
	if err != nil {
		return nil, err
	}
	inv := splitArgs(e.Args, cfg.Has, os.Getenv("AWS_PROFILE"))
	// AWS_PROFILE is consumed here, as aws-vault exec consumes it: the child never gets it,
	// and the SDK's LoadDefaultConfig, which profiles gives no config file, fails on any
	// AWS_PROFILE it cannot find there; no option of the SDK's turns that off.
	os.Unsetenv("AWS_PROFILE")
	log.Printf("profile %q, command %q", inv.Profile, firstWord(inv.Command))
	base, err := env.Base(e.RuntimeDir)
	if err != nil {
		return nil, err
	}
	run, err := profiles.Resolve(ctx, cfg, profiles.RunOptions{
		Profile: inv.Profile,
		Named:   inv.Named,
		Ambient: e.Ambient || e.RoleARN != "",
		// ctx ends the vault's prompts too: Ctrl-C at the passphrase prompt stops av at once.
		OpenVault: func(ctx context.Context) (*profiles.Vault, error) {
			return e.openVault(ctx, vaultSetup{Fallback: func() (string, error) { return base, nil }, HelperTimeout: e.AWSTimeout})
		},
		Job: profiles.AmbientOptions{
			Region: e.Region, RoleARN: e.RoleARN, SessionName: e.RoleSessionName, Duration: e.Duration,
			CacheDir: base, LockTimeout: e.LockTimeout, AWSTimeout: e.AWSTimeout,
		},
		Lookup: profiles.Options{Region: e.Region, Duration: e.Duration, NoSession: e.NoSession, MFAToken: e.MFAToken, AWSTimeout: e.AWSTimeout},
	})
	var unknown *profiles.UnknownProfileError
	if errors.As(err, &unknown) && !inv.Explicit {
		return nil, hinted{err, "name the profile: `av PROFILE -- COMMAND`, or set AWS_PROFILE"}
	}
	if err != nil {
		return nil, err
	}
	if src := run.Profile.AmbientSource(); src != "" {
		log.Printf("profile %s: credentials from the job: %s", run.Profile.Name, src)
	}
	return &who{inv: inv, cfg: cfg, base: base, run: run}, nil
}

// readUserFiles reads the user's client configs that the run's files merge.
func readUserFiles(ctx context.Context) (env.UserFiles, error) {
	// They may sit on a hung network filesystem too.
	return env.Interruptible(ctx, func() (env.UserFiles, error) { return env.ReadUserConfig(env.FindUserConfig(os.Getenv)) })
}

// makeDir makes the run's directory, after sweeping those of runs that were killed.
func makeDir(base string) (*env.Dir, error) {
	env.Sweep(base)
	return env.NewDir(base)
}

// shred removes the run's directory and every secret in it.
func shred(dir *env.Dir) {
	if err := dir.Shred(); err != nil {
		fmt.Fprintf(os.Stderr, "av: warning: cleaning up %s: %v\n", dir.Path, err)
	}
	log.Printf("shredded %s", dir.Path)
}

// login is the second phase's answer: the run's session, its registry tokens, and how
// they are renewed.
type login struct {
	sess         *profiles.Session
	tokens       ecr.Tokens
	cache        *ecr.TokenCache
	req          ecr.TokenRequest
	registryOnly bool // the command gets no AWS credentials
	endpoint     bool // the command gets them from av's endpoint, not in its environment
}

// logIn is the second phase: what the run logs in to, then the profile's credentials and
// the registry tokens, both from the vault's caches when fresh.
func (e *ExecCmd) logIn(ctx context.Context, w *who, dir *env.Dir, user env.UserFiles, minter ecr.Minter) (*login, error) {
	run := w.run.Profile
	specs, err := registries(w.cfg, run, e.Registry)
	if err != nil {
		return nil, err
	}
	// A full runtime directory fails here, not after minting.
	if err := dir.CheckRoom(user, len(specs)); err != nil {
		return nil, err
	}
	in := &login{}
	if in.registryOnly, err = e.registryOnly(w.cfg, run.Name); err != nil {
		return nil, err
	}
	if in.endpoint, err = e.endpointOn(w.cfg, run.Name, len(w.inv.Command) == 0, in.registryOnly); err != nil {
		return nil, err
	}
	if in.sess, err = run.Credentials(ctx, profiles.CredentialsOptions{}); err != nil {
		return nil, err
	}
	in.cache = &ecr.TokenCache{Store: ecr.VaultStore(w.run.Vault), Minter: minter, MinTTL: e.MinTTL}
	in.req = ecr.TokenRequest{Specs: specs, Identity: identities(w.run.Lookup)}
	if in.tokens, err = in.cache.Get(ctx, in.req); err != nil {
		return nil, err
	}
	// Minting may have renewed a session that ECR rejected: the command gets the new one
	// (the profile keeps its last session, so this reads nothing again; master keys are
	// never renewed).
	if in.sess.Credentials.CanExpire {
		if in.sess, err = run.Credentials(ctx, profiles.CredentialsOptions{}); err != nil {
			return nil, err
		}
	}
	v := w.run.Vault
	log.Printf("credentials for profile %q ready (region %q); %d registry logins, the first expiring %s; %d vault items decrypted, %d with a key derived ahead (%d derivations ahead)",
		run.Name, run.Region, len(in.tokens.Logins), in.tokens.Expires.Format(time.RFC3339), v.Decrypts(), v.KeysDerivedAhead(), w.run.Ahead)
	return in, nil
}

// writeFiles is the third phase: the registry files, the user's own configs merged in.
func writeFiles(ctx context.Context, dir *env.Dir, in *login, user env.UserFiles) (env.Files, error) {
	files, notes, err := dir.WriteRegistryFiles(env.FilesOptions{Logins: in.tokens.Logins, User: user, ListStore: env.CredentialStoreLister(ctx)})
	if err != nil {
		return env.Files{}, err
	}
	for _, n := range notes {
		log.Print(n)
	}
	log.Printf("wrote DOCKER_CONFIG, REGISTRY_AUTH_FILE and HELM_REGISTRY_CONFIG in %s", dir.Path)
	testOnlyPanic("files")
	return files, nil
}

// start is the last phase: the command, with its environment, av's credential endpoint if
// it gets one, and the renewal of its files beside it, until it ends; then a `docker
// context use` it made is kept in the user's config (the rest of docker's state is in the
// user's directory already, linked in).
func (e *ExecCmd) start(ctx context.Context, sup supervisor, w *who, in *login, dir *env.Dir, files env.Files, user env.UserFiles) (runner.Status, error) {
	run := w.run.Profile
	child := env.Child{Profile: run.Name, Region: run.Region, Registry: ownRegistry(run, in.tokens), Credentials: in.sess.Credentials, Files: files,
		RegistryOnly: in.registryOnly, Platform: !e.keysAsked(w.cfg, run.Name) && platformCredentials(w.cfg, run)}
	if in.registryOnly {
		log.Printf("registry only: the command gets no AWS credentials")
	}
	// On stderr, which the runner reads for workflow commands as it reads stdout: the
	// command's stdout is often data (`> file`, `| jq`, `$(…)`), and mask lines there would
	// put the very secrets in it.
	masks := ciMasks(os.Getenv, os.Stderr)
	if in.endpoint {
		srv, err := e.serveCredentials(sup, run, masks)
		if err != nil {
			return runner.Status{}, err
		}
		defer srv.Close() // before the directory is shredded: the command has ended
		child.Endpoint = srv
	}
	masks.add(in.tokens.Logins, child.HandedCredentials())
	command := e.command(w.inv, child, dir)
	if len(w.inv.Command) == 0 {
		warnStartupFiles(os.Stderr, run.Name)
	}
	req := in.req
	req.NoPrompt = true // the command has the terminal
	masks.started()
	stopRenewal := renew(ctx, sup, in.cache, req, files, in.tokens.Expires, e.MinTTL, masks)
	status, err := sup.Run(command)
	stopRenewal()
	if kerr := files.KeepCurrentContext(user); kerr != nil {
		fmt.Fprintf(os.Stderr, "av: warning: %v\n", kerr)
	}
	var ee *runner.ExecError
	if errors.As(err, &ee) && ee.Code == 127 && !w.inv.Explicit && len(w.inv.Command) > 0 {
		err = hinted{err, notFoundHint(w.inv.Command, w.cfg.Closest(command.Name))}
	}
	return status, err
}

// ownRegistry is the profile's own ECR registry host: the first of the run's registries
// when the profile has a region (registries puts it first), as ECR named it; "" without.
func ownRegistry(run *profiles.Profile, tokens ecr.Tokens) string {
	if run.Region == "" || len(tokens.Hosts) == 0 {
		return ""
	}
	return tokens.Hosts[0]
}

// warnStartupFiles says, as av's shell starts, which lines of the user's start-up files
// will undo av in it: an `export AWS_PROFILE=work` in ~/.bashrc would make every AWS call
// of the shell run as work, not as the profile av was asked for, with nothing to say so.
func warnStartupFiles(w io.Writer, profile string) {
	home := os.Getenv("HOME")
	for _, s := range env.StartupSettings(os.Getenv) {
		fmt.Fprintf(w, "av: warning: %s\nav: hint: %s\n", startupProblem(s, home, fmt.Sprintf("in this shell (profile %q)", profile)), startupFix(s))
	}
}

// keysAsked reports whether av's credential endpoint is turned off in so many words
// (--no-ecs-server, AV_ECS_SERVER=false, av_ecs_server = false in the profile): the command
// then gets keys in its environment even where the platform's own credentials would do,
// for a command that hands them on (docker run -e AWS_ACCESS_KEY_ID). An unreadable
// av_ecs_server is endpointOn's error to report.
func (e *ExecCmd) keysAsked(cfg *profiles.Config, profile string) bool {
	if e.ECSServer != nil {
		return !*e.ECSServer
	}
	v, set, err := cfg.AVBool(profile, "av_ecs_server")
	return err == nil && set && !v
}

// platformCredentials reports whether the command gets the platform's own credentials (an
// instance role's, a container's) as it would find them without av, which its SDK renews:
// not where the shared files' [default] holds credentials, which its SDK would read first
// (av's own lookup skips the files): then it gets av's keys, the identity av used.
func platformCredentials(cfg *profiles.Config, run *profiles.Profile) bool {
	if !run.PlatformRenews() {
		return false
	}
	shadow, err := cfg.DefaultShadow()
	if err != nil || shadow != "" {
		log.Printf("the command gets fixed keys, not the platform's credentials: the AWS SDKs would take %s first", cmp.Or(shadow, "an unreadable shared file"))
		return false
	}
	return true
}

// command is what the runner starts: the words after the profile, else the user's shell on
// a pty of its own when av has a terminal.
func (e *ExecCmd) command(inv invocation, child env.Child, dir *env.Dir) runner.Command {
	// The command's processes hold the directory's lock: no sweep takes it while they live.
	command := runner.Command{Env: e.home.environ(child.Environ(os.Environ())), ExtraFiles: []*os.File{dir.Lock()}}
	switch {
	case len(inv.Command) == 0:
		command.Name, command.PTY = defaultShell(), runner.PTYIfTerminal
	default:
		command.Name, command.Args = inv.Command[0], inv.Command[1:]
	}
	if e.PTY {
		command.PTY = runner.AlwaysPTY
	}
	return command
}

// serveCredentials starts av's credential endpoint for the profile: the vault guards itself,
// so the endpoint and the token renewal share it. A panic in it stops the command, as any
// of av's panics does: it is raised again on the supervisor's watch.
func (e *ExecCmd) serveCredentials(sup supervisor, run *profiles.Profile, masks *masker) (*env.CredentialServer, error) {
	warn := endpointWarnings(run.Name)
	srv, err := env.StartCredentialServer(env.ServerOptions{
		Source:  run,
		Timeout: e.AWSTimeout + e.LockTimeout,
		Served: func(cr aws.Credentials) {
			masks.add(nil, []string{cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken})
			warn(nil)
		},
		Failed: warn,
		Panicked: func(v any, stack []byte) {
			log.Printf("panic in the credential endpoint: %v\n%s", v, stack)
			sup.Go("the credential endpoint", func() { panic(v) })
		},
	})
	if err != nil {
		return nil, err
	}
	log.Printf("credential endpoint for profile %q at %s", run.Name, srv.URL)
	return srv, nil
}

// renew keeps the registry files' tokens fresh while the command runs, and the files in
// step with the user's own configs (a `docker login` made in another terminal).
// Supervisor.Run blocks until the command ends, so both run beside it, on the
// supervisor's watch (a panic in either stops the command and ends the run); the
// returned func stops them and waits for them, before the files are shredded.
//
// Neither acts at once: the follower first looks env.FollowInterval (2 s) in, the renewal
// MinTTL before the tokens expire. So both start on a timer, at the sooner of the two: a
// command that ends before (most make targets) pays for a timer, not for two goroutines
// and their wake-ups at its end, about 0.16 ms of a warm run's 6.7 ms of CPU (issue 22).
func renew(ctx context.Context, sup supervisor, cache *ecr.TokenCache, req ecr.TokenRequest, files env.Files, expires time.Time, minTTL time.Duration, masks *masker) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	followed, renewed, started := make(chan struct{}), make(chan struct{}), make(chan struct{})
	follow := func() {
		defer close(followed)
		env.Follow(ctx, env.FollowOptions{
			Files:     files,
			LookFirst: true, // an Interval in, as a Follow started with the run would
			Warn: func(err error) {
				fmt.Fprintf(os.Stderr, "av: warning: %v; the command keeps the registry logins it had\n", err)
			},
		})
	}
	var at time.Time // the first renewal
	if !expires.IsZero() {
		at = env.FirstRenewal(expires, minTTL)
	}
	renewal := func() {
		defer close(renewed)
		env.Renew(ctx, env.RenewOptions{
			Files:   files,
			Expires: expires,
			MinTTL:  minTTL,
			First:   at,
			Login: func(ctx context.Context) (ecr.Logins, time.Time, error) {
				testOnlyPanic("renewal")
				t, err := cache.Get(ctx, req)
				if err != nil {
					return nil, time.Time{}, withHint(err)
				}
				if masks.add(t.Logins, nil) {
					time.Sleep(maskSettle) // the masks first, then the files that hold the token
				}
				return t.Logins, t.Expires, nil
			},
			Warn: func(msg string) { fmt.Fprintf(os.Stderr, "av: warning: %s\n", msg) },
		})
	}
	first := env.FollowInterval
	if !at.IsZero() {
		first = max(0, min(first, time.Until(at)))
	}
	timer := time.AfterFunc(first, func() {
		sup.Go("following your registry configs", follow)
		sup.Go("the token renewal", renewal)
		close(started)
	})
	return func() {
		cancel()
		if timer.Stop() {
			return // neither started
		}
		<-started
		<-renewed
		<-followed
	}
}

// registryOnly is --registry-only (AV_REGISTRY_ONLY), or else the profile's
// av_registry_only. The key is read either way: a word it does not know is an error.
func (e *ExecCmd) registryOnly(cfg *profiles.Config, profile string) (bool, error) {
	fromConfig, _, err := cfg.AVBool(profile, "av_registry_only")
	return e.RegistryOnly || fromConfig, err
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
func (e *ExecCmd) endpointOn(cfg *profiles.Config, profile string, shell, registryOnly bool) (bool, error) {
	on, asked := shell, ""
	v, set, err := cfg.AVBool(profile, "av_ecs_server")
	if err != nil {
		return false, err
	}
	if set {
		on, asked = v, "av_ecs_server in profile "+strconv.Quote(profile)
	}
	if e.ECSServer != nil {
		on, asked = *e.ECSServer, "--ecs-server"
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
		return nil, hinted{fmt.Errorf("profile %q: no region for the ECR token", run.Name), regionHint(cfg.Path, run.Name)}
	}
	for i := range specs {
		specs[i] = specs[i].For(run.Name)
	}
	return specs, nil
}

// regionHint names the three places a region may come from, as the SDKs and aws-vault
// read them: the profile's section of the config file, AWS_REGION (which a CI job usually
// sets already), and --region.
func regionHint(configPath, profile string) string {
	section := "[profile " + profile + "]"
	if profile == "default" {
		section = "[default]"
	}
	return fmt.Sprintf("add `region = REGION` to %s in %s, export AWS_REGION=REGION, or pass --region REGION", section, configPath)
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
