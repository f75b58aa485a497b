// Command av-bench measures av's token lifecycle on this machine, each figure next to its
// peer, and prints Markdown tables (`make bench`):
//
//   - the warm path, `av PROFILE -- true` with a cached session and token, against
//     /bin/true and against aws-vault v7.2.0 as released (`aws-vault exec --no-session`,
//     and `aws-vault exec` with its cached session): wall time and CPU (user and system,
//     of the process and the children it waited for), medians of interleaved runs;
//   - the same with no session bus named at all (a headless machine), where aws-vault
//     starts a D-Bus daemon per run: the bench, a child subreaper, reaps what each run left
//     behind, by pid, and counts its CPU;
//   - `make -j8` of a Makefile of 32 targets, each `av PROFILE -- true`, against the same
//     Makefile with `aws-vault exec PROFILE --`: wall and CPU of make and all it ran;
//   - package initialisation (GODEBUG=inittrace=1) of both binaries, and, where perf is
//     installed, a profile of warm runs: where a warm run's CPU goes;
//   - the cold path, an empty cache, with 1, 16 and 64 runs at once: wall time, STS and ECR
//     calls (counted by the AWS stand-in), failures, leftover directories; next to av as it
//     was before it cached tokens (-before, built from git), since aws-vault v7.2.0 cannot
//     be pointed at the stand-in's STS (it ignores AWS_ENDPOINT_URL);
//   - a cold run that logs in to four regions and ECR Public against one that logs in to
//     one registry, with every AWS call answered 300 ms late, as a ratio; next to av as it
//     was when it minted them one after another (-sequential, built from git);
//   - peak RSS.
//
// Everything runs against the project's AWS stand-in (in this process) and a throwaway
// file-backend vault in a temporary HOME: neither ~/.aws nor any keyring is touched. The
// peer aws-vault is built from a scratch module that requires v7.2.0, so it has the
// dependencies it was released with, not av's.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/av-cli/av/tests/fixture"
	"github.com/av-cli/av/tests/standin"
)

const (
	profile = "bench"
	region  = "eu-west-1"
)

// beforeCache is the last commit before av cached its tokens and locked the vault.
const beforeCache = "0f7c35b"

// sequentialMint is the last commit at which av minted a run's registries one after another.
const sequentialMint = "fde97dc"

// multiProfile logs in to five registries: its region's, three more regions', ECR Public's.
const multiProfile = "multi"

var multiRegions = []string{"us-west-2", "us-east-1", "ap-south-1"}

// options are the bench's flags.
type options struct {
	warm, headless, makeRounds, initRuns, perfRuns, cold int
	before, sequential, baseline, exec                   string
	only                                                 map[string]bool // the sections to run; empty: all
}

// sections are the parts of the bench, in the order they run (-only).
var sections = []string{"warm", "headless", "make", "init", "perf", "cold", "multi"}

func main() {
	var o options
	flag.IntVar(&o.warm, "warm", 100, "runs of each warm-path command")
	flag.IntVar(&o.headless, "headless", 40, "runs of each command with no session bus")
	flag.IntVar(&o.makeRounds, "make", 7, "rounds of the make -j8 figure")
	flag.IntVar(&o.initRuns, "init", 60, "runs of each binary under GODEBUG=inittrace=1")
	flag.IntVar(&o.perfRuns, "perf", 200, "warm runs of av profiled with perf record, if perf is installed (0: none)")
	flag.IntVar(&o.cold, "cold", 5, "rounds of each cold-path measurement")
	flag.StringVar(&o.before, "before", beforeCache, "git revision of the av to compare the cold path with (\"\" for none)")
	flag.StringVar(&o.sequential, "sequential", sequentialMint, "git revision of the av to compare the cold multi-registry run with (\"\" for none)")
	flag.StringVar(&o.baseline, "baseline", "", "git revision of an av to put beside the warm path and start-up, in the same rotation: the before figure of a change (\"\": none)")
	only := flag.String("only", "", "comma-separated sections to run, of "+strings.Join(sections, ","))
	flag.StringVar(&o.exec, "exec", "", "instead of the sections: set the bench up, fill the caches, and run this sh command in its environment ($AV_BIN and $AWS_VAULT_BIN name the binaries, $PROFILE the warm profile), for strace or perf by hand")
	flag.Parse()
	if *only != "" {
		o.only = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			if !slices.Contains(sections, s) {
				fmt.Fprintf(os.Stderr, "av-bench: error: -only: no section %q (%s)\n", s, strings.Join(sections, ","))
				os.Exit(2)
			}
			o.only[s] = true
		}
	}
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "av-bench: error:", err)
		os.Exit(1)
	}
}

// runs reports whether section is to run.
func (o options) runs(section string) bool { return len(o.only) == 0 || o.only[section] }

// bed is the test bed: binaries, stand-in, environment.
type bed struct {
	av, awsVault  string
	old, oldRev   string // av before the cache, if built
	seq, seqRev   string // av minting one registry after another, if built
	base, baseRev string // -baseline: an av to compare the warm path with, if built
	launcher      string // reports a command's peak RSS
	aws           *standin.Server
	env           []string
	runtime       string
	warmCPU       time.Duration // av's median CPU per warm run, once measured: the profile's scale
}

func bench(o options) error {
	work, err := os.MkdirTemp("", "av-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	before, sequential := o.before, o.sequential
	if !o.runs("warm") && !o.runs("cold") {
		before = ""
	}
	if !o.runs("multi") {
		sequential = ""
	}
	b, cleanup, err := setUp(work, before, sequential, o.baseline)
	if err != nil {
		return err
	}
	defer cleanup()

	if o.exec != "" {
		return b.shell(o.exec)
	}
	fmt.Printf("# av benchmark\n\n%s, %d CPUs, %s; av %s\n\n", hostInfo(), numCPU(), time.Now().UTC().Format("2006-01-02"), gitDescribe())
	fmt.Printf("Load average at the start (1, 5, 15 minutes): %s. The runs are interleaved, so a busy\nmoment weighs on every command alike; compare ratios, not milliseconds, across machines and days.\n\n", loadAverage())
	steps := []struct {
		name string
		run  func() error
	}{
		{"warm", func() error { return b.warm(o.warm) }},
		{"headless", func() error { return b.headless(o.headless) }},
		{"make", func() error { return b.makeJobs(o.makeRounds) }},
		{"init", func() error { return b.initTrace(o.initRuns) }},
		{"perf", func() error { return b.profile(o.perfRuns) }},
		{"cold", func() error { return b.cold(o.cold) }},
		{"multi", func() error { return b.coldMulti(2 * o.cold) }},
	}
	for _, s := range steps {
		if !o.runs(s.name) {
			continue
		}
		if err := s.run(); err != nil {
			return err
		}
	}
	fmt.Printf("Load average at the end: %s.\n", loadAverage())
	return nil
}

func setUp(work, before, sequential, baseline string) (*bed, func(), error) {
	b := &bed{av: filepath.Join(work, "bin", "av"), awsVault: filepath.Join(work, "bin", "aws-vault")}
	step("building av")
	if err := goBuild("", b.av, "./cmd/av"); err != nil {
		return nil, nil, err
	}
	if baseline != "" {
		step("building av " + baseline + " (the baseline)")
		base := filepath.Join(work, "bin", "av-base")
		if err := buildRevision(baseline, filepath.Join(work, "base"), base); err != nil {
			return nil, nil, fmt.Errorf("the baseline, av %s: %w", baseline, err)
		}
		b.base, b.baseRev = base, baseline
	}
	if before != "" {
		step("building av " + before + " (before the token cache)")
		old := filepath.Join(work, "bin", "av-"+before)
		if err := buildRevision(before, filepath.Join(work, "old"), old); err != nil {
			step(fmt.Sprintf("skipping av %s: %v", before, err))
		} else {
			b.old, b.oldRev = old, before
		}
	}
	if sequential != "" {
		step("building av " + sequential + " (minting one registry after another)")
		seq := filepath.Join(work, "bin", "av-"+sequential)
		if err := buildRevision(sequential, filepath.Join(work, "seq"), seq); err != nil {
			step(fmt.Sprintf("skipping av %s: %v", sequential, err))
		} else {
			b.seq, b.seqRev = seq, sequential
		}
	}
	b.launcher = filepath.Join(work, "bin", "rss")
	if err := buildLauncher(filepath.Join(work, "rss"), b.launcher); err != nil {
		return nil, nil, err
	}
	step("building aws-vault v7.2.0 as released, in a scratch module")
	if err := buildPeer(filepath.Join(work, "peer"), b.awsVault); err != nil {
		return nil, nil, err
	}

	b.aws = standin.New(standin.Options{})
	url, err := b.aws.Start()
	if err != nil {
		return nil, nil, err
	}
	// `true` talks to no registry: any host will do.
	b.aws.SetRegistry(region, "http://127.0.0.1:9", fixture.RandomHex(16))
	for _, r := range multiRegions {
		b.aws.SetRegistry(r, "http://127.0.0.1:9", fixture.RandomHex(16))
	}
	b.aws.SetPublicPassword(fixture.RandomHex(16))
	keyID, secret := b.aws.NewRootKey()

	home := filepath.Join(work, "home")
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		return nil, nil, err
	}
	config := fmt.Sprintf("[profile %s]\nregion = %s\n\n[profile %s]\nsource_profile = %s\nregion = %s\nav_registries = %s public.ecr.aws\n",
		profile, region, multiProfile, profile, region, strings.Join(multiRegions, " "))
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		return nil, nil, err
	}
	b.runtime, err = os.MkdirTemp("/dev/shm", "av-bench-")
	if err != nil {
		return nil, nil, fmt.Errorf("a private tmpfs directory for the runs: %w", err)
	}
	cleanup := func() {
		b.aws.Close()
		os.RemoveAll(b.runtime)
	}
	b.env = append(cleanEnviron(),
		"HOME="+home,
		"PATH=/usr/bin:/bin",
		"AWS_ENDPOINT_URL="+url,
		"AWS_VAULT_BACKEND=file",
		"AWS_VAULT_FILE_PASSPHRASE="+fixture.RandomHex(8),
		"AV_RUNTIME_DIR="+b.runtime,
		// No session bus, and no attempt at one: aws-vault v7.2.0's keyring would start
		// one (dbus-launch) in every run otherwise. The headless figure removes this.
		"DBUS_SESSION_BUS_ADDRESS=disabled:",
	)
	add := exec.Command(b.awsVault, "add", "--env", profile)
	add.Env = append(b.env, "AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret)
	if out, err := add.CombinedOutput(); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("aws-vault add: %v: %s", err, out)
	}
	return b, cleanup, nil
}

// result is one run.
type result struct {
	wall time.Duration
	cpu  time.Duration // user and system time of the process and of the children it waited for
	err  error
}

func (b *bed) run(name string, args ...string) result {
	return runIn(b.env, name, args...)
}

// runIn runs a command in env and measures it. Its CPU is wait4's: the process's own user
// and system time and its reaped children's (the command av starts; the dbus-launch that
// aws-vault's keyring runs), as getrusage(RUSAGE_CHILDREN) would count it for this run alone.
func runIn(env []string, name string, args ...string) result {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		r.err = fmt.Errorf("%s: %v: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return r
}

// samples are one command's runs.
type samples struct {
	wall, cpu []time.Duration
}

func (s *samples) add(r result) {
	s.wall = append(s.wall, r.wall)
	s.cpu = append(s.cpu, r.cpu)
}

// interleave runs each command runs times, the order rotated each round so that no command
// always follows the same one, and a busy moment of the machine weighs on all alike. after,
// if not nil, sees each run before it is counted.
func interleave(runs int, env []string, argvs [][]string, after func(k int, r *result) error) ([]samples, error) {
	out := make([]samples, len(argvs))
	for i := 0; i < runs; i++ {
		for j := range argvs {
			k := (i + j) % len(argvs)
			r := runIn(env, argvs[k][0], argvs[k][1:]...)
			if r.err != nil {
				return nil, r.err
			}
			if after != nil {
				if err := after(k, &r); err != nil {
					return nil, err
				}
			}
			out[k].add(r)
		}
	}
	return out, nil
}

// parallel starts n runs at once and returns the wall time until the last one ended.
func (b *bed) parallel(n int, name string, args ...string) (time.Duration, []result) {
	results := make([]result, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			results[i] = b.run(name, args...)
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	return time.Since(start), results
}

// fill puts a session and a token in the caches: av's token item and aws-vault's session.
func (b *bed) fill() error {
	for _, c := range [][]string{{b.av, profile, "--", "true"}, {b.awsVault, "exec", profile, "--", "true"}} {
		if r := b.run(c[0], c[1:]...); r.err != nil {
			return r.err
		}
	}
	return nil
}

// shell runs command with sh in the bench's environment, the caches filled (-exec).
func (b *bed) shell(command string) error {
	if err := b.fill(); err != nil {
		return err
	}
	cmd := exec.Command("sh", "-c", command)
	cmd.Env = append(slices.Clone(b.env), "AV_BIN="+b.av, "AWS_VAULT_BIN="+b.awsVault, "PROFILE="+profile)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

// The warm path's commands: av and aws-vault's two forms, in the rows of every warm table.
func (b *bed) avWarm() []string   { return []string{b.av, profile, "--", "true"} }
func (b *bed) peerWarm() []string { return []string{b.awsVault, "exec", profile, "--", "true"} }
func (b *bed) peerNoSession() []string {
	return []string{b.awsVault, "exec", "--no-session", profile, "--", "true"}
}

func (b *bed) warm(runs int) error {
	step(fmt.Sprintf("warm path: %d runs of each command, interleaved", runs))
	if err := b.fill(); err != nil {
		return err
	}
	decrypts, ahead, err := b.decrypts()
	if err != nil {
		return err
	}
	b.aws.Reset()
	type row struct {
		label   string
		argv    []string
		startup bool // start-up alone: printed apart, not in the table
	}
	rows := []row{
		{"`/bin/true`", []string{"/bin/true"}, false},
		{"`av bench -- true`", b.avWarm(), false},
		{"`aws-vault exec bench -- true` (cached session)", b.peerWarm(), false},
		{"`aws-vault exec --no-session bench -- true`", b.peerNoSession(), false},
		// Start-up alone: what each binary costs before it does anything.
		{"`av --version`", []string{b.av, "--version"}, true},
		{"`aws-vault --version`", []string{b.awsVault, "--version"}, true},
	}
	const avRow, peerRow, avUpRow, peerUpRow = 1, 2, 4, 5
	baseUpRow := -1
	if b.base != "" {
		baseUpRow = len(rows) + 1
		rows = append(rows,
			row{"av " + b.baseRev + " (baseline)", []string{b.base, profile, "--", "true"}, false},
			row{"av " + b.baseRev + " --version (baseline)", []string{b.base, "--version"}, true})
	}
	if b.old != "" {
		rows = append(rows, row{"av " + b.oldRev + " (before the cache: mints each run)", []string{b.old, profile, "--", "true"}, false})
	}
	argvs := make([][]string, len(rows))
	for i, r := range rows {
		argvs[i] = r.argv
	}
	got, err := interleave(runs, b.env, argvs, nil)
	if err != nil {
		return err
	}
	calls := b.aws.CallsByName()
	if b.old != "" {
		// The old av mints on every run; nothing else may call AWS.
		delete(calls, "ecr.GetAuthorizationToken")
	}
	if len(calls) > 0 {
		return fmt.Errorf("the warm path called AWS: %v", calls)
	}
	rss := make([]int64, len(rows))
	for k, r := range rows {
		if r.startup {
			continue
		}
		if rss[k], err = b.peakRSS(r.argv); err != nil {
			return err
		}
	}
	b.warmCPU = median(got[avRow].cpu)
	fmt.Printf("## Warm path: cached session and token, %d interleaved runs each\n\n", runs)
	fmt.Println("Median and min–max. CPU is user plus system time of the command and the children it waited for.")
	fmt.Println("The ratios are to `aws-vault exec` with its cached session, the issue's peer.")
	fmt.Println()
	fmt.Println("| command | wall | min–max | CPU | min–max | wall ÷ aws-vault | CPU ÷ aws-vault | peak RSS |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|")
	peer := got[peerRow]
	for i, r := range rows {
		if r.startup {
			continue
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.label, ms(median(got[i].wall)), span(got[i].wall),
			ms(median(got[i].cpu)), span(got[i].cpu), ratio(got[i].wall, peer.wall), ratio(got[i].cpu, peer.cpu), mib(rss[i]))
	}
	avUp, peerUp := got[avUpRow], got[peerUpRow]
	fmt.Printf("\nStart-up alone (`--version`, in the same rotation): av %s wall, %s CPU; aws-vault %s wall, %s CPU (%s, %s); /bin/true %s wall, %s CPU.\n",
		ms(median(avUp.wall)), ms(median(avUp.cpu)), ms(median(peerUp.wall)), ms(median(peerUp.cpu)),
		ratio(avUp.wall, peerUp.wall), ratio(avUp.cpu, peerUp.cpu), ms(median(got[0].wall)), ms(median(got[0].cpu)))
	if baseUpRow >= 0 {
		baseUp := got[baseUpRow]
		fmt.Printf("The baseline's start-up, av %s --version: %s wall, %s CPU (now ÷ baseline: %s, %s).\n", b.baseRev,
			ms(median(baseUp.wall)), ms(median(baseUp.cpu)), ratio(avUp.wall, baseUp.wall), ratio(avUp.cpu, baseUp.cpu))
	}
	fmt.Printf("After start-up, av's warm run takes %s wall and %s CPU, against aws-vault's %s and %s.\n",
		ms(median(got[avRow].wall)-median(avUp.wall)), ms(median(got[avRow].cpu)-median(avUp.cpu)),
		ms(median(peer.wall)-median(peerUp.wall)), ms(median(peer.cpu)-median(peerUp.cpu)))
	fmt.Printf("\nVault items av decrypts on the warm path: %d (aws-vault exec: 1, its cached session); key derivations, begun ahead on another core: %d.\n", decrypts, ahead)
	fmt.Printf("Peak RSS is the largest of 5 runs, each started by a small launcher (its own peak, %s, is the floor\nof the figure: a vfork child is charged its parent's).\n\n", mib(rss[0]))
	return nil
}

// peakRSS runs argv 5 times through the launcher and returns the largest peak RSS, KiB.
// The first run of a cold measurement mints; later ones find the cache warm.
func (b *bed) peakRSS(argv []string) (int64, error) {
	var peak int64
	for i := 0; i < 5; i++ {
		cmd := exec.Command(b.launcher, argv...)
		cmd.Env = b.env
		out, err := cmd.Output()
		if err != nil {
			return 0, fmt.Errorf("%s: %v", filepath.Base(argv[0]), err)
		}
		kib, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil {
			return 0, err
		}
		peak = max(peak, kib)
	}
	return peak, nil
}

// launcher is a program of small footprint that runs a command and prints its peak RSS.
// ru_maxrss of a process started by vfork (as Go starts them) counts its parent's peak
// until it execs: measured from this bench, every command would weigh at least the bench.
const launcher = `package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func main() {
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		os.Exit(2)
	}
	fmt.Println(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	if err != nil {
		os.Exit(1)
	}
}
`

func buildLauncher(dir, out string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(launcher), 0o644); err != nil {
		return err
	}
	return goBuild(dir, out, "main.go", "GO111MODULE=off")
}

var decryptsRE = regexp.MustCompile(`(\d+) vault items decrypted, \d+ with a key derived ahead \((\d+) derivations ahead\)`)

// decrypts runs av once with --debug and reads how many vault items it decrypted, and how
// many key derivations it began ahead for them (one, when av wrote both items with one key).
func (b *bed) decrypts() (n, ahead int, err error) {
	cmd := exec.Command(b.av, "--debug", profile, "--", "true")
	cmd.Env = b.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("av --debug: %v: %s", err, out)
	}
	m := decryptsRE.FindSubmatch(out)
	if m == nil {
		return 0, 0, errors.New("av --debug did not say how many vault items it decrypted")
	}
	n, _ = strconv.Atoi(string(m[1]))
	ahead, _ = strconv.Atoi(string(m[2]))
	return n, ahead, nil
}

// coldRow is one cold-path measurement of one command, over rounds.
type coldRow struct {
	wall             []time.Duration
	sts, ecr, failed []int
	leftover         int
	firstErr         error
}

func (b *bed) cold(rounds int) error {
	step(fmt.Sprintf("cold path: empty cache, %d rounds of 1, 16 and 64 runs at once", rounds))
	fmt.Printf("## Cold path: empty cache (no session, no token), %d rounds each\n\n", rounds)
	fmt.Println("Median [min–max] over the rounds. STS and ECR calls are counted by the AWS stand-in.")
	peer := b.old != ""
	if peer {
		fmt.Printf("Next to each figure, av %s, before it cached tokens and locked the vault. ", b.oldRev)
	}
	fmt.Println("aws-vault v7.2.0 has no cold figures: it cannot be pointed at the stand-in's STS.")
	fmt.Println()
	if peer {
		fmt.Printf("| runs at once | wall | av %[1]s | STS calls | av %[1]s | ECR calls | av %[1]s | failures | av %[1]s | dirs left |\n", b.oldRev)
		fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Println("| runs at once | wall | STS calls | ECR calls | failures | dirs left |")
		fmt.Println("|---:|---:|---:|---:|---:|---:|")
	}
	for _, n := range []int{1, 16, 64} {
		var now, old coldRow
		for r := 0; r < rounds; r++ {
			b.measureCold(&now, n, b.av, profile, "--", "true")
			if peer {
				b.measureCold(&old, n, b.old, profile, "--", "true")
			}
		}
		if peer {
			fmt.Printf("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n", n,
				spread(now.wall), spread(old.wall), ints(now.sts), ints(old.sts),
				ints(now.ecr), ints(old.ecr), ints(now.failed), ints(old.failed), now.leftover)
		} else {
			fmt.Printf("| %d | %s | %s | %s | %s | %d |\n", n, spread(now.wall), ints(now.sts), ints(now.ecr), ints(now.failed), now.leftover)
		}
		defer reportFailure("av", now.firstErr)
		if peer {
			defer reportFailure("av "+b.oldRev, old.firstErr)
		}
	}
	clear := exec.Command(b.av, "clear", "--sessions")
	clear.Env = b.env
	if out, err := clear.CombinedOutput(); err != nil {
		return fmt.Errorf("av clear: %v: %s", err, out)
	}
	rss, err := b.peakRSS([]string{b.av, profile, "--", "true"})
	if err != nil {
		return err
	}
	fmt.Printf("\nPeak RSS of av on the cold path (minting): %s.\n\n", mib(rss))
	return nil
}

func reportFailure(who string, err error) {
	if err != nil {
		fmt.Printf("\n%s, a failure: `%v`\n", who, err)
	}
}

// coldMulti compares a cold run of five registries with a cold run of one, every AWS call
// answered 300 ms late (the distance of a far region): minted at once, the five cost about
// one ECR round trip more than the STS call, as the one does.
func (b *bed) coldMulti(rounds int) error {
	const delay = 300 * time.Millisecond
	step(fmt.Sprintf("cold path, %d registries against 1, every AWS call %s late: %d rounds, interleaved", len(multiRegions)+2, delay, rounds))
	b.aws.SetDelay("*", delay)
	defer b.aws.SetDelay("*", 0)
	type row struct {
		label string
		argv  []string
		wall  []time.Duration
		ecr   []int
		err   error
	}
	rows := []*row{
		{label: "1 registry", argv: []string{b.av, profile, "--", "true"}},
		{label: fmt.Sprintf("%d registries (4 regions, ECR Public)", len(multiRegions)+2), argv: []string{b.av, multiProfile, "--", "true"}},
	}
	if b.seq != "" {
		rows = append(rows,
			&row{label: "1 registry, av " + b.seqRev, argv: []string{b.seq, profile, "--", "true"}},
			&row{label: fmt.Sprintf("%d registries, av %s (one after another)", len(multiRegions)+2, b.seqRev), argv: []string{b.seq, multiProfile, "--", "true"}})
	}
	for i := 0; i < rounds; i++ {
		for j := range rows {
			r := rows[(i+j)%len(rows)]
			clear := exec.Command(b.av, "clear", "--sessions")
			clear.Env = b.env
			if out, err := clear.CombinedOutput(); err != nil {
				return fmt.Errorf("av clear: %v: %s", err, out)
			}
			b.aws.Reset()
			res := b.run(r.argv[0], r.argv[1:]...)
			if res.err != nil {
				r.err = cmp.Or(r.err, res.err)
				continue
			}
			calls := b.aws.CallsByName()
			r.wall = append(r.wall, res.wall)
			r.ecr = append(r.ecr, calls["ecr.GetAuthorizationToken"]+calls["ecr-public.GetAuthorizationToken"])
		}
	}
	fmt.Printf("## Cold path, many registries: every AWS call answered %s late, %d rounds each, interleaved\n\n", delay, rounds)
	fmt.Println("| run | wall, median [min–max] | ECR calls | ÷ 1 registry (same av) |")
	fmt.Println("|---|---:|---:|---:|")
	for i, r := range rows {
		if r.err != nil {
			return fmt.Errorf("%s: %w", r.label, r.err)
		}
		one := rows[i&^1] // the 1-registry row of the same av
		fmt.Printf("| %s | %s | %s | %.2f× |\n", r.label, spread(r.wall), ints(r.ecr), float64(median(r.wall))/float64(median(one.wall)))
	}
	fmt.Println()
	return nil
}

// measureCold empties the cache, runs n at once, and records calls, failures, leftovers.
func (b *bed) measureCold(row *coldRow, n int, name string, args ...string) {
	clear := exec.Command(b.av, "clear", "--sessions")
	clear.Env = b.env
	if out, err := clear.CombinedOutput(); err != nil {
		row.firstErr = fmt.Errorf("av clear: %v: %s", err, out)
		return
	}
	b.aws.Reset()
	wall, results := b.parallel(n, name, args...)
	failed := 0
	for _, r := range results {
		if r.err != nil {
			failed++
			if row.firstErr == nil {
				row.firstErr = r.err
			}
		}
	}
	calls := b.aws.CallsByName()
	row.wall = append(row.wall, wall)
	row.sts = append(row.sts, calls["sts.GetSessionToken"]+calls["sts.AssumeRole"])
	row.ecr = append(row.ecr, calls["ecr.GetAuthorizationToken"])
	row.failed = append(row.failed, failed)
	entries, _ := os.ReadDir(b.runtime)
	for _, e := range entries {
		if e.IsDir() {
			row.leftover++
		}
	}
}

// goBuild builds as `make build` does, and as aws-vault's Linux releases are built (cross-
// compiled, so without cgo): static, -trimpath. The binary is then copied, as `make
// install` or a package would put it in place: the file the linker wrote (through a
// mapping, a page at a time) starts about 0.5 ms slower while its pages stay in the page
// cache than a copy written in large blocks, av and aws-vault alike (see the README).
func goBuild(dir, out, pkg string, env ...string) error {
	linked := out + ".linked"
	cmd := exec.Command("go", "build", "-trimpath", "-o", linked, pkg)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building %s: %w", filepath.Base(out), err)
	}
	if err := copyFile(linked, out); err != nil {
		return fmt.Errorf("installing %s: %w", filepath.Base(out), err)
	}
	return os.Remove(linked)
}

// copyFile copies an executable in large blocks (copy_file_range, as cp and install do).
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

// buildRevision builds av as it was at rev, from the repository's history.
func buildRevision(rev, dir, out string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	archive := exec.Command("git", "archive", "--format=tar", rev)
	extract := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	extract.Stdin = pipe
	if err := archive.Start(); err != nil {
		return err
	}
	if err := extract.Run(); err != nil {
		return err
	}
	if err := archive.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w", rev, err)
	}
	return goBuild(dir, out, "./cmd/av")
}

// buildPeer builds aws-vault v7.2.0 from a scratch module: the module proxy does not list
// aws-vault's versions, so `go install …@v7.2.0` fails, but a module that requires it
// resolves it, with the dependency versions it was released with.
func buildPeer(dir, out string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod := "module avbench/peer\n\ngo 1.26\n\nrequire github.com/99designs/aws-vault/v7 v7.2.0\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return err
	}
	return goBuild(dir, out, "github.com/99designs/aws-vault/v7", "GOFLAGS=-mod=mod", "GOWORK=off")
}

// unsetVars are more variables the runs never get: a session bus or display (the bench names
// none, or, for the headless figure, none at all), the Go runtime's settings, and `make
// bench`'s own make's (its jobserver would reach the Makefiles the bench runs).
var unsetVars = []string{"DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY",
	"GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}

// cleanEnviron is the bench's environment without anything that could reach a real AWS
// account, registry login or keyring.
func cleanEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "DOCKER_") || strings.HasPrefix(k, "AV_") ||
			k == "REGISTRY_AUTH_FILE" || k == "HELM_REGISTRY_CONFIG" || k == "HOME" || k == "PATH" || k == "XDG_RUNTIME_DIR" ||
			slices.Contains(unsetVars, k) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

// span is the min–max of d, in ms.
func span(d []time.Duration) string {
	return strings.TrimSuffix(ms(slices.Min(d)), " ms") + "–" + ms(slices.Max(d))
}

// ratio is median(a) ÷ median(b).
func ratio(a, b []time.Duration) string {
	return fmt.Sprintf("%.2f×", float64(median(a))/float64(median(b)))
}

// loadAverage is /proc/loadavg's first three figures: how busy the machine was.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

func spread(d []time.Duration) string {
	return fmt.Sprintf("%s [%s–%s]", ms(median(d)), strings.TrimSuffix(ms(slices.Min(d)), " ms"), strings.TrimSuffix(ms(slices.Max(d)), " ms"))
}

func ints(v []int) string {
	lo, hi := slices.Min(v), slices.Max(v)
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if lo == hi {
		return strconv.Itoa(med)
	}
	return fmt.Sprintf("%d [%d–%d]", med, lo, hi)
}

func mib(kib int64) string {
	return strconv.FormatFloat(float64(kib)/1024, 'f', 1, 64) + " MiB"
}

func step(s string) { fmt.Fprintf(os.Stderr, "==> %s\n", s) }

func numCPU() int {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "\nprocessor") + 1
}

func hostInfo() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func gitDescribe() string {
	out, err := exec.Command("git", "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		return "dev"
	}
	return strings.TrimSpace(string(out))
}
