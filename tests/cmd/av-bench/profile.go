package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// initTrace runs both binaries' `--version` under GODEBUG=inittrace=1, interleaved, and
// prints what their package initialisation costs: the total per run, and av's dearest
// packages next to aws-vault's figure for the same package, if it links it.
func (b *bed) initTrace(runs int) error {
	step(fmt.Sprintf("package initialisation: %d runs of each binary under GODEBUG=inittrace=1", runs))
	type trace struct {
		total, bytes []time.Duration // bytes: KiB, in a Duration for median()
		pkgs         map[string][]time.Duration
	}
	bins := []struct{ label, path string }{{"av", b.av}, {"aws-vault v7.2.0", b.awsVault}}
	traces := make([]trace, len(bins))
	for i := range traces {
		traces[i].pkgs = map[string][]time.Duration{}
	}
	env := append(slices.Clone(b.env), "GODEBUG=inittrace=1")
	for r := 0; r < runs; r++ {
		for j := range bins {
			k := (r + j) % len(bins)
			cmd := exec.Command(bins[k].path, "--version")
			cmd.Env = env
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s --version: %v: %s", bins[k].label, err, stderr.String())
			}
			var total time.Duration
			var allocated float64
			for _, line := range strings.Split(stderr.String(), "\n") {
				// init PKG @T ms, C ms clock, B bytes, A allocs
				f := strings.Fields(line)
				if len(f) < 10 || f[0] != "init" {
					continue
				}
				clock, err1 := strconv.ParseFloat(f[4], 64)
				bytes, err2 := strconv.ParseFloat(f[7], 64)
				if err1 != nil || err2 != nil {
					return fmt.Errorf("%s: a line of inittrace that the bench does not read: %q", bins[k].label, line)
				}
				d := time.Duration(clock * float64(time.Millisecond))
				traces[k].pkgs[f[1]] = append(traces[k].pkgs[f[1]], d)
				total += d
				allocated += bytes
			}
			traces[k].total = append(traces[k].total, total)
			traces[k].bytes = append(traces[k].bytes, time.Duration(allocated/1024))
		}
	}
	fmt.Printf("## Package initialisation: `GODEBUG=inittrace=1 BINARY --version`, %d interleaved runs each\n\n", runs)
	fmt.Println("| binary | init, all packages | min–max | packages | allocated |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for i, bin := range bins {
		fmt.Printf("| %s | %s | %s | %d | %d KiB |\n", bin.label, ms3(median(traces[i].total)), span(traces[i].total),
			len(traces[i].pkgs), int64(median(traces[i].bytes)))
	}
	type pkg struct {
		name     string
		av, peer time.Duration
	}
	var pkgs []pkg
	for name, d := range traces[0].pkgs {
		p := pkg{name: name, av: median(d), peer: -1}
		if pd, ok := traces[1].pkgs[name]; ok {
			p.peer = median(pd)
		}
		pkgs = append(pkgs, p)
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return int(b.av - a.av) })
	fmt.Println()
	fmt.Println("av's 15 dearest packages (median per run), next to the same package in aws-vault:")
	fmt.Println()
	fmt.Println("| package | av | aws-vault |")
	fmt.Println("|---|---:|---:|")
	for _, p := range pkgs[:min(15, len(pkgs))] {
		peer := "not linked"
		if p.peer >= 0 {
			peer = ms3(p.peer)
		}
		fmt.Printf("| `%s` | %s | %s |\n", p.name, ms3(p.av), peer)
	}
	fmt.Println()
	return nil
}

// phases are the frames whose inclusive share of av's samples says where a warm run's CPU
// goes, in the order of the run (a phase's share includes those of the phases it calls).
var phases = []struct {
	label, symbol string
	top           bool // no other row holds it
}{
	{"before main: the Go runtime's start-up", "runtime.schedinit", true},
	{"before main: package initialisation", "runtime.doInit1", true},
	{"main, in all", "main.main", true},
	{"main: kong builds the CLI's model (kong.New)", "github.com/alecthomas/kong.New", false},
	{"main: kong parses the words", "github.com/alecthomas/kong.(*Kong).Parse", false},
	{"main: the run, in all (ExecCmd.run)", "main.(*ExecCmd).run", false},
	{"run: the profile and the vault (resolve)", "main.(*ExecCmd).resolve", false},
	{"run: old run directories swept, its own made", "main.makeDir", false},
	{"run: room check", "github.com/av-cli/av/env.(*Dir).CheckRoom", false},
	{"run: the session, from the vault", "github.com/av-cli/av/profiles.(*Profile).Credentials", false},
	{"run: the registry token, from the vault", "github.com/av-cli/av/env/ecr.(*TokenCache).Get", false},
	{"run: three files written", "main.writeFiles", false},
	{"run: the command started and waited for", "main.(*ExecCmd).start", false},
	{"run: shred", "main.shred", false},
	{"beside the run: the vault items' keys derived ahead (PBKDF2)", "github.com/av-cli/av/profiles/internal/pbes2.(*Prefetch).Start.func1", true},
	{"beside the run: the user's files read (interruptible)", "main.interruptible", true},
}

// profile records runs warm runs of av with perf (if it is installed and may record), and
// prints the share of each phase of the run and the functions that take the most.
func (b *bed) profile(runs int) error {
	if runs <= 0 {
		return nil
	}
	perf, err := exec.LookPath("perf")
	if err != nil {
		fmt.Printf("## Profile of a warm run\n\nNot measured: perf is not installed (Debian: linux-perf).\n\n")
		return nil
	}
	step(fmt.Sprintf("profile: %d warm runs of av under perf record", runs))
	if err := b.fill(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "av-bench-perf-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "perf.data")
	loop := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do "$0" %s -- true || exit 1; i=$((i+1)); done`, runs, profile)
	record := exec.Command(perf, "record", "-q", "-F", "10000", "-g", "-o", data, "--", "/bin/sh", "-c", loop, b.av)
	record.Env = b.env
	if out, err := record.CombinedOutput(); err != nil {
		fmt.Printf("## Profile of a warm run\n\nNot measured: perf record: %v: %s\n\n", err, strings.TrimSpace(string(out)))
		return nil
	}
	report := func(args ...string) (string, error) {
		cmd := exec.Command(perf, append([]string{"report", "-i", data, "--comm", "av", "--percentage", "relative", "--stdio"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("perf report: %w", err)
		}
		return string(out), nil
	}
	inclusive, err := report("--children", "--sort", "sym", "-g", "none")
	if err != nil {
		return err
	}
	self, err := report("--no-children", "--sort", "sym", "-g", "none")
	if err != nil {
		return err
	}
	shares := perfShares(inclusive, true)
	for _, e := range perfEntries(self, false) {
		if e.kernel {
			shares["[kernel]"] += e.share
		}
	}
	scale := b.warmCPU
	fmt.Printf("## Profile of a warm run: `perf record -F 10000 -g`, %d runs of `av bench -- true`\n\n", runs)
	fmt.Print("The share of av's samples in each phase (inclusive: a phase's share holds those it calls)")
	if scale > 0 {
		fmt.Printf(",\nand that share of the warm path's median CPU per run (%s)", ms(scale))
	}
	fmt.Println(".")
	fmt.Println()
	fmt.Println("| phase | share | CPU per run |")
	fmt.Println("|---|---:|---:|")
	row := func(label string, share float64) {
		cpu := ""
		if scale > 0 {
			cpu = ms(time.Duration(share / 100 * float64(scale)))
		}
		fmt.Printf("| %s | %.1f%% | %s |\n", label, share, cpu)
	}
	rest := 100.0
	for _, p := range phases {
		row(p.label, shares[p.symbol])
		if p.top {
			rest -= shares[p.symbol]
		}
	}
	row("the rest: the runtime's own threads (scheduler, signals), exec and exit", max(rest, 0))
	fmt.Printf("\nOf all these, in the kernel (page faults, the vault's files, fork and exec): %.1f%%.\n", shares["[kernel]"])
	fmt.Println()
	fmt.Println("The functions that take the most of av's samples themselves (self):")
	fmt.Println()
	fmt.Println("| share | function |")
	fmt.Println("|---:|---|")
	for _, e := range perfTop(self, 15) {
		fmt.Printf("| %.1f%% | `%s` |\n", e.share, e.name)
	}
	fmt.Println()
	return nil
}

// perfShares reads perf report's lines into symbol → share. A generic function's
// instances (main.interruptible[go.shape.…]) and its closures count as the function: they
// do not call each other.
func perfShares(report string, children bool) map[string]float64 {
	out := map[string]float64{}
	for _, e := range perfEntries(report, children) {
		name := e.name
		if i := strings.IndexByte(name, '['); i > 0 {
			name = name[:i]
		}
		out[name] += e.share
	}
	return out
}

// perfEntry is a line of perf report: "  42.33%  0.13%  [.] symbol" (--children: the
// first share is inclusive) or "  5.15%  [k] symbol".
type perfEntry struct {
	name   string
	share  float64
	kernel bool
}

func perfEntries(report string, children bool) []perfEntry {
	var out []perfEntry
	sc := bufio.NewScanner(strings.NewReader(report))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasSuffix(f[0], "%") {
			continue
		}
		share, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
		if err != nil {
			continue
		}
		rest := f[1:]
		if children && len(rest) > 0 && strings.HasSuffix(rest[0], "%") {
			rest = rest[1:]
		}
		kernel := false
		if len(rest) > 0 && (rest[0] == "[.]" || rest[0] == "[k]") {
			kernel = rest[0] == "[k]"
			rest = rest[1:]
		}
		out = append(out, perfEntry{strings.Join(rest, " "), share, kernel})
	}
	return out
}

func perfTop(report string, n int) []perfEntry {
	e := perfEntries(report, false)
	return e[:min(n, len(e))]
}

// ms3 is a duration in ms to three decimals: package inits take tens of microseconds.
func ms3(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Nanoseconds())/1e6, 'f', 3, 64) + " ms"
}
