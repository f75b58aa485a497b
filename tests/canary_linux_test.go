// The canary test: known secrets (the root key's secret, the vault passphrase, a wrong
// passphrase, the registry password and the ECR auth value made from it, and every session
// secret and token the stand-in issues) go through a full set of runs of the built av:
// aws-vault add, av add --env, list and remove, cold, warm, parallel, a role and an MFA
// profile, the shell on a real pty with the passphrase typed at the prompt, failure paths,
// each also with --debug, and a CI job's keys in the environment with no vault. Meanwhile and afterwards it searches
// everything av printed, the argv and environment of every process av started other than
// the command (and of every process that appeared meanwhile: a daemon reparented to init),
// and every file under the temporary HOMEs, /dev/shm and /tmp that the runs could have
// written. A canary may appear in plain text nowhere: only the encrypted vault and the
// ambient cache hold them, encrypted, and the run directory while the command runs.
// Linux only: it reads /proc.
package tests

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/av-cli/av/tests/fixture"
	"github.com/av-cli/av/tests/standin"
	"github.com/creack/pty"
)

// canaryFileCap is the largest file the search reads under /tmp and /dev/shm: av writes
// nothing near that size, and other engineers' large files are none of this test's business.
const canaryFileCap = 8 << 20

func TestCanary(t *testing.T) {
	need(t, "registry")
	setUp(t)
	c := newCanary(t, filepath.Dir(need(t, "crane")))
	reg := registry.Host // crane catalog $reg uses the registry login and prints no secret

	// The vault is filled by the real aws-vault, from keys in its environment. It would
	// start a D-Bus daemon without a bus address (av must not, and gets none below).
	c.run("aws-vault add dev", 0, c.env("AWS_ACCESS_KEY_ID="+c.keyID, "AWS_SECRET_ACCESS_KEY="+c.secret,
		"DBUS_SESSION_BUS_ADDRESS=disabled:"), "aws-vault", "add", "--env", "dev")
	// A key the stand-in never issued: STS refuses it.
	c.run("aws-vault add revoked", 0, c.env("AWS_ACCESS_KEY_ID=AKIA"+strings.ToUpper(fixture.RandomHex(8)),
		"AWS_SECRET_ACCESS_KEY="+c.revokedSecret, "DBUS_SESSION_BUS_ADDRESS=disabled:"), "aws-vault", "add", "--env", "revoked")

	for _, debug := range []bool{false, true} {
		av := func(args ...string) []string {
			if debug {
				return append([]string{"av", "--debug"}, args...)
			}
			return append([]string{"av"}, args...)
		}
		d := map[bool]string{true: " --debug"}[debug]
		c.run("clear"+d, 0, c.env(), "av", "clear")
		c.run("cold"+d, 0, c.env(), av("dev", "--", "crane", "catalog", reg)...)
		c.run("warm"+d, 0, c.env(), av("dev", "--", "crane", "catalog", reg)...)
		c.run("role cold"+d, 0, c.env(), av("ops", "--", "true")...)
		c.run("role warm"+d, 0, c.env(), av("ops", "--", "crane", "catalog", reg)...)
		c.run("mfa_process"+d, 0, c.env(), av("mfa", "--", "true")...)
		c.run("clear for parallel"+d, 0, c.env(), "av", "clear")
		c.parallel("parallel cold"+d, 4, c.env(), av("dev", "--", "crane", "catalog", reg)...)
		c.parallel("parallel warm"+d, 3, c.env(), av("dev", "--", "true")...)
		c.run("clear for held"+d, 0, c.env(), "av", "clear")
		c.held("held cold"+d, c.env(), av("dev", "--"))
		c.held("held warm"+d, c.env(), av("dev", "--"))

		// The vault managed with av: the keys given in the environment, as a user would.
		c.run("av add"+d, 0, c.env("AWS_ACCESS_KEY_ID="+c.keyID, "AWS_SECRET_ACCESS_KEY="+c.secret), av("add", "--env", "added")...)
		c.run("av list"+d, 0, c.env(), av("list")...)
		c.run("av list --json"+d, 0, c.env(), av("list", "--json")...)
		c.run("av remove"+d, 0, c.env(), av("remove", "--force", "added")...)

		// Failure paths.
		c.run("wrong passphrase"+d, 1, c.env("AWS_VAULT_FILE_PASSPHRASE="+c.wrongPassphrase), av("dev", "--", "true")...)
		c.run("unknown profile"+d, 1, c.env(), av("nosuch", "--", "true")...)
		c.run("command not found"+d, 127, c.env(), av("dev", "--", "av-canary-no-such-command")...)
		c.run("STS refuses the key"+d, 1, c.env(), av("revoked", "--", "true")...)
		c.run("ECR refuses the region"+d, 1, c.env(), av("--region", "ap-south-1", "dev", "--", "true")...)
		c.run("the command fails"+d, 3, c.env(), av("dev", "--", "sh", "-c", "exit 3")...)

		// The shell on a pty of its own, the passphrase typed at av's prompt.
		c.shell("shell"+d, c.env("AWS_VAULT_FILE_PASSPHRASE="), av("dev"), c.passphrase, true)
		c.shell("wrong passphrase typed"+d, c.env("AWS_VAULT_FILE_PASSPHRASE="), av("dev", "--", "true"), c.wrongPassphrase, false)

		// A CI job: its keys in the environment, no vault, no AWS config, a fresh HOME.
		ci := c.env("HOME="+c.ciHome, "AWS_VAULT_BACKEND=", "AWS_VAULT_FILE_PASSPHRASE=",
			"AWS_ACCESS_KEY_ID="+c.keyID, "AWS_SECRET_ACCESS_KEY="+c.secret, "AWS_REGION="+Region)
		c.run("CI cold"+d, 0, ci, av("--", "true")...)
		c.run("CI warm"+d, 0, ci, av("--", "crane", "catalog", reg)...)
		c.parallel("CI parallel"+d, 3, ci, av("--", "true")...)
		c.held("CI held"+d, ci, av("--"))
		c.run("CI cache removed"+d, 0, ci, "sh", "-c", `rm -rf "$AV_RUNTIME_DIR"/.ambient-*`)
		c.sweep("every run" + d)
	}

	c.final()
}

type canary struct {
	t     *testing.T
	start time.Time
	srv   *standin.Server

	work, home, ciHome, runtime, seen, bin string
	base                                   map[string]string

	keyID, secret, revokedSecret, passphrase, wrongPassphrase string

	baseline map[procID]bool // the processes that ran before the test
	outputs  int             // runs whose output was searched
	avProcs  int             // processes av started (but the command) searched while it ran
	newProcs int             // processes new since the test began searched
	files    map[string]bool // files searched
	reported map[string]bool // leaks reported, each once
	stamps   map[string]fileStamp
	extra    map[string]string // secrets av made itself: the credential endpoint's tokens
}

// fileStamp tells whether a file changed since it was read.
type fileStamp struct {
	ino        uint64
	size       int64
	mtim, ctim syscall.Timespec
}

// procID tells a process from a later one that reuses its pid.
type procID struct {
	pid   int
	start string
}

func newCanary(t *testing.T, craneDir string) *canary {
	c := &canary{t: t, start: time.Now().Add(-2 * time.Second), files: map[string]bool{}, reported: map[string]bool{}, stamps: map[string]fileStamp{}}
	c.work = t.TempDir()
	c.home = filepath.Join(c.work, "home")
	c.ciHome = filepath.Join(c.work, "ci-home")
	c.seen = filepath.Join(c.home, ".seen")
	c.bin = filepath.Join(c.work, "probes")
	for _, d := range []string{c.seen, c.bin, filepath.Join(c.home, ".aws"), filepath.Join(c.home, ".docker"), filepath.Join(c.ciHome, ".docker")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	c.runtime, err = os.MkdirTemp("/dev/shm", "av-canary-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(c.runtime) })

	c.srv = standin.New(standin.Options{})
	url, err := c.srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.srv.Close() })
	c.srv.SetRegistry(Region, "http://"+registry.Host, registry.Password)
	c.srv.SetMFA("arn:aws:iam::111111111111:mfa/dev", "246810")
	c.keyID, c.secret = c.srv.NewRootKey()
	c.revokedSecret = "revoked" + fixture.RandomHex(16)
	c.passphrase = "canary-pass-" + fixture.RandomHex(12)
	c.wrongPassphrase = "canary-wrong-" + fixture.RandomHex(12)

	// Programs av may start besides the command: a docker credential store (av asks it
	// which registries it holds), mfa_process, and dbus-launch (which av must never run).
	// Each notes its argv and environment under $HOME/.seen, which the file search reads.
	probe := "#!/bin/sh\nn=$(basename \"$0\")\n" +
		"cat /proc/$$/environ > " + c.seen + "/$n.$$.environ\n" +
		"cat /proc/$$/cmdline > " + c.seen + "/$n.$$.cmdline\n" +
		"case $n in\n" +
		"docker-credential-*) [ \"$1\" = list ] && echo '{}' || exit 1 ;;\n" +
		"mfa-code) echo 246810 ;;\n" +
		"*) exit 1 ;;\n" +
		"esac\n"
	for _, name := range []string{"docker-credential-canary", "mfa-code", "dbus-launch"} {
		c.write(filepath.Join(c.bin, name), probe, 0o755)
	}
	c.write(filepath.Join(c.home, ".aws", "config"), `[profile dev]
region = eu-west-1

[profile ops]
source_profile = dev
role_arn = arn:aws:iam::222222222222:role/deploy
region = eu-west-1

[profile mfa]
source_profile = dev
mfa_serial = arn:aws:iam::111111111111:mfa/dev
mfa_process = `+filepath.Join(c.bin, "mfa-code")+`
region = eu-west-1

[profile revoked]
region = eu-west-1
`, 0o600)
	for _, home := range []string{c.home, c.ciHome} {
		c.write(filepath.Join(home, ".docker", "config.json"), `{"credsStore": "canary"}`, 0o600)
	}

	// The runs' whole environment, built from nothing: the test's own (a CI runner's
	// GITHUB_ACTIONS, say) would change what av prints. No DBUS_SESSION_BUS_ADDRESS: a run
	// that started a bus would leave a daemon holding its environment, which the process
	// search finds.
	c.base = map[string]string{
		"HOME":                      c.home,
		"PATH":                      c.bin + ":" + binDir + ":" + craneDir + ":/usr/local/bin:/usr/bin:/bin",
		"AWS_ENDPOINT_URL":          url,
		"AWS_VAULT_BACKEND":         "file",
		"AWS_VAULT_FILE_PASSPHRASE": c.passphrase,
		"AV_RUNTIME_DIR":            c.runtime,
		"TMPDIR":                    c.work,
		"AWS_EC2_METADATA_DISABLED": "true",
		"TERM":                      "dumb",
		"SHELL":                     "/bin/sh",
		"PS1":                       "$ ",
	}
	if coverRaw != "" {
		c.base["GOCOVERDIR"] = coverRaw
	}
	c.baseline = map[procID]bool{}
	for _, p := range snapshot() {
		c.baseline[p.id] = true
	}
	return c
}

func (c *canary) write(path, data string, mode os.FileMode) {
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		c.t.Fatal(err)
	}
}

// env is the base environment with changes: "K=V" sets K, "K=" unsets it.
func (c *canary) env(changes ...string) []string {
	m := map[string]string{}
	for k, v := range c.base {
		m[k] = v
	}
	for _, kv := range changes {
		k, v, _ := strings.Cut(kv, "=")
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	var env []string
	for k, v := range m {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// canaries are the secrets to look for, by name, the stand-in's issued ones included.
func (c *canary) canaries() map[string]string {
	m := map[string]string{
		"the root secret key":      c.secret,
		"the revoked key's secret": c.revokedSecret,
		"the vault passphrase":     c.passphrase,
		"the wrong passphrase":     c.wrongPassphrase,
		"the registry password":    registry.Password,
		// The auth value ECR returns and docker configs hold.
		"the registry's auth value": base64.StdEncoding.EncodeToString([]byte("AWS:" + registry.Password)),
	}
	for i, s := range c.srv.IssuedSecrets() {
		m[fmt.Sprintf("%s (#%d)", s.What, i/2+1)] = s.Value
	}
	for name, v := range c.extra {
		m[name] = v
	}
	return m
}

// found names the canaries data holds.
func (c *canary) found(data []byte) []string {
	var names []string
	for name, v := range c.canaries() {
		if bytes.Contains(data, []byte(v)) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// checkOutput searches what a run printed.
func (c *canary) checkOutput(what string, out []byte) {
	c.t.Helper()
	c.outputs++
	if names := c.found(out); len(names) > 0 {
		c.t.Errorf("%s: av printed %s:\n%s", what, strings.Join(names, ", "), out)
	}
}

// run runs args with env in the work directory, checks its exit status, and searches its
// output, then every process and file.
func (c *canary) run(what string, want int, env []string, args ...string) {
	c.t.Helper()
	cmd := c.command(env, args)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	c.checkStatus(what, cmd, err, want, out.Bytes())
	c.checkOutput(what, out.Bytes())
	c.after(what)
}

func (c *canary) command(env, args []string) *exec.Cmd {
	c.t.Helper()
	path, err := lookPathIn(args[0], envValue(env, "PATH"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Dir = c.work
	cmd.Env = env
	return cmd
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func (c *canary) checkStatus(what string, cmd *exec.Cmd, err error, want int, out []byte) {
	c.t.Helper()
	if cmd.ProcessState == nil {
		c.t.Fatalf("%s: %v", what, err)
	}
	if got := cmd.ProcessState.ExitCode(); got != want {
		c.t.Fatalf("%s: %s exited %d, want %d:\n%s", what, strings.Join(cmd.Args, " "), got, want, out)
	}
}

// parallel starts n copies of args at once and waits for all; each must succeed.
func (c *canary) parallel(what string, n int, env []string, args ...string) {
	c.t.Helper()
	var wg sync.WaitGroup
	outs := make([]bytes.Buffer, n)
	cmds := make([]*exec.Cmd, n)
	errs := make([]error, n)
	for i := range cmds {
		cmds[i] = c.command(env, args)
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
	}
	for i := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = cmds[i].Run()
		}()
	}
	wg.Wait()
	for i := range cmds {
		c.checkStatus(fmt.Sprintf("%s (%d of %d)", what, i+1, n), cmds[i], errs[i], 0, outs[i].Bytes())
		c.checkOutput(fmt.Sprintf("%s (%d of %d)", what, i+1, n), outs[i].Bytes())
	}
	c.after(what)
}

// held runs `av ARGS sh -c …` whose command notes its parent's pid (av's) and its own, then
// waits until the test has searched every process: those av started besides the command,
// and those that appeared since the test began.
func (c *canary) held(what string, env []string, avArgs []string) {
	c.t.Helper()
	pidFile, fifo := c.holdFiles()
	args := append(avArgs[:len(avArgs):len(avArgs)], "sh", "-c", `echo "$PPID $$" > "$0.tmp" && mv "$0.tmp" "$0" && read x < "$1"`, pidFile, fifo)
	cmd := c.command(env, args)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	avPID, cmdPID := c.waitHold(what, pidFile, done, &out)
	if avPID != cmd.Process.Pid {
		c.t.Errorf("%s: the command's parent is %d, not av (%d)", what, avPID, cmd.Process.Pid)
	}
	c.duringRun(what, avPID, cmdPID)
	c.release(fifo)
	err := <-done
	c.checkStatus(what, cmd, err, 0, out.Bytes())
	c.checkOutput(what, out.Bytes())
	c.after(what)
}

func (c *canary) holdFiles() (pidFile, fifo string) {
	c.t.Helper()
	dir, err := os.MkdirTemp(c.work, "hold-")
	if err != nil {
		c.t.Fatal(err)
	}
	pidFile, fifo = filepath.Join(dir, "pids"), filepath.Join(dir, "go")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		c.t.Fatal(err)
	}
	return pidFile, fifo
}

// waitHold waits for the held command's pid file: "AVPID CMDPID".
func (c *canary) waitHold(what, pidFile string, done chan error, out fmt.Stringer) (avPID, cmdPID int) {
	c.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if data, err := os.ReadFile(pidFile); err == nil {
			f := strings.Fields(string(data))
			if len(f) == 2 {
				a, err1 := strconv.Atoi(f[0])
				b, err2 := strconv.Atoi(f[1])
				if err1 == nil && err2 == nil {
					return a, b
				}
			}
			c.t.Fatalf("%s: bad pid file %q", what, data)
		}
		select {
		case err := <-done:
			c.t.Fatalf("%s: av ended (%v) before its command started:\n%s", what, err, out)
		default:
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: the command did not start within 30s:\n%s", what, out)
		}
	}
}

// release lets a held command go on.
func (c *canary) release(fifo string) {
	c.t.Helper()
	f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	f.WriteString("go\n")
	f.Close()
}

// duringRun searches, while av runs with its command held: every process av started other
// than the command's tree, and every process new since the test began but av and the
// command's tree. The command's own environment is checked to hold a canary (it gets the
// session or the job's keys), so the search is shown to read what it should. Every file
// is searched too, but the run directory: it holds the registry login while the command runs.
func (c *canary) duringRun(what string, avPID, cmdPID int) {
	c.t.Helper()
	procs := snapshot()
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.id.pid)
	}
	tree := func(root int) map[int]bool {
		in := map[int]bool{}
		for todo := []int{root}; len(todo) > 0; {
			pid := todo[len(todo)-1]
			todo = todo[:len(todo)-1]
			if !in[pid] {
				in[pid] = true
				todo = append(todo, children[pid]...)
			}
		}
		return in
	}
	avTree, cmdTree := tree(avPID), tree(cmdPID)

	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(cmdPID), "environ"))
	if err != nil {
		c.t.Fatalf("%s: reading the command's environment: %v", what, err)
	}
	// A shell gets av's credential endpoint, not keys: its token is a secret av made, to
	// be found nowhere else from now on.
	for _, kv := range bytes.Split(env, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("AWS_CONTAINER_AUTHORIZATION_TOKEN=")); ok && len(v) > 0 {
			if c.extra == nil {
				c.extra = map[string]string{}
			}
			c.extra["the credential endpoint's token ("+what+")"] = string(v)
		}
	}
	if len(c.found(env)) == 0 {
		c.t.Errorf("%s: the command's environment holds no canary: the search does not see what it should", what)
	}

	for _, p := range procs {
		if p.id.pid == avPID || cmdTree[p.id.pid] {
			continue
		}
		if avTree[p.id.pid] {
			c.avProcs++
			c.checkProcess(what, p, "started by av", true)
		} else if !c.baseline[p.id] {
			c.newProcs++
			c.checkProcess(what, p, "new since the test began", false)
		}
	}

	// The run directory holds the registry login now: that file is found there (the
	// search reads it), and nothing else holds a canary.
	runDirs, _ := filepath.Glob(filepath.Join(c.runtime, "*"))
	var allowed []string
	for _, d := range runDirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() && !strings.HasPrefix(filepath.Base(d), ".ambient-") {
			allowed = append(allowed, d+string(filepath.Separator))
		}
	}
	if len(allowed) == 0 {
		c.t.Errorf("%s: no run directory under %s while the command runs", what, c.runtime)
	}
	if inRunDir := c.searchFiles(what, allowed, false); !inRunDir {
		c.t.Errorf("%s: the run directory holds no canary while the command runs: the file search does not see what it should", what)
	}
}

// after searches, once a run has ended: every process new since the test began (a daemon
// av started would be reparented to init, and outlive it), and the files where av writes
// (the HOMEs, TMPDIR, /dev/shm). sweep searches /tmp as well.
func (c *canary) after(what string) {
	c.t.Helper()
	c.afterRuns(what, false)
}

func (c *canary) sweep(what string) {
	c.t.Helper()
	c.afterRuns(what, true)
}

func (c *canary) afterRuns(what string, wide bool) {
	c.t.Helper()
	for _, p := range snapshot() {
		if !c.baseline[p.id] {
			c.newProcs++
			c.checkProcess(what, p, "new since the test began, after av ended", false)
		}
	}
	c.searchFiles(what, nil, wide)
}

// checkProcess searches a process's argv and environment. One that holds a canary is
// killed after it is reported: it is this test's (the canaries are random), and a failed
// run leaves nothing behind. mustRead: a process av started must be readable.
func (c *canary) checkProcess(what string, p proc, why string, mustRead bool) {
	c.t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(p.id.pid))
	for _, file := range []string{"cmdline", "environ"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			if mustRead && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ESRCH) {
				c.t.Errorf("%s: process %d (%s, %s): %v", what, p.id.pid, p.comm, why, err)
			}
			continue
		}
		if names := c.found(data); len(names) > 0 {
			c.t.Errorf("%s: process %d (%s, %s) holds %s in its %s: %q", what, p.id.pid, p.comm, why,
				strings.Join(names, ", "), file, bytes.ReplaceAll(data, []byte{0}, []byte{' '}))
			syscall.Kill(p.id.pid, syscall.SIGKILL)
		}
	}
}

// searchFiles reads every file under the work directory (the HOMEs, the runs' TMPDIR),
// and every file of this uid under /dev/shm (the runtime directory) modified since the
// test began, up to canaryFileCap; wide, also under /tmp and $TMPDIR. Walking /tmp, which
// other work on the machine fills, takes seconds: it is done between groups of runs.
// A file under one of allowed (directories, with a trailing slash) may hold canaries; it
// reports whether one did.
func (c *canary) searchFiles(what string, allowed []string, wide bool) (inAllowed bool) {
	c.t.Helper()
	uid := uint32(os.Getuid())
	seen := map[string]bool{}
	visit := func(root string, all bool) {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && path == c.work && root != c.work {
				return fs.SkipDir
			}
			if err != nil || !d.Type().IsRegular() || seen[path] {
				return nil
			}
			seen[path] = true
			info, err := d.Info()
			if err != nil {
				return nil
			}
			st := info.Sys().(*syscall.Stat_t)
			if !all && (st.Uid != uid || info.ModTime().Before(c.start) || info.Size() > canaryFileCap) {
				return nil
			}
			// A file unchanged since it was read clean is clean still: it cannot hold a
			// canary issued since. (One that held a canary is read again each time: a
			// run directory left behind is found after its run.)
			stamp := fileStamp{st.Ino, st.Size, st.Mtim, st.Ctim}
			if c.stamps[path] == stamp {
				return nil
			}
			data, err := readNonBlocking(path)
			if err != nil {
				// Under /tmp, other tests' files come and go, and some are unreadable
				// on purpose; in the work directory, every file is the runs'.
				if all && !errors.Is(err, fs.ErrNotExist) {
					c.t.Errorf("%s: reading %s: %v", what, path, err)
				}
				return nil
			}
			c.files[path] = true
			names := c.found(data)
			if len(names) == 0 {
				c.stamps[path] = stamp
				return nil
			}
			for _, a := range allowed {
				if strings.HasPrefix(path, a) {
					inAllowed = true
					return nil
				}
			}
			key := path + " " + strings.Join(names, ",")
			if c.reported[key] {
				return nil
			}
			c.reported[key] = true
			if rel, err := filepath.Rel(c.seen, path); err == nil && !strings.HasPrefix(rel, "..") {
				c.t.Errorf("%s: %s, the argv or environment of a process av started (%s), holds %s",
					what, path, strings.SplitN(rel, ".", 2)[0], strings.Join(names, ", "))
				return nil
			}
			c.t.Errorf("%s: %s holds %s in plain text", what, path, strings.Join(names, ", "))
			return nil
		})
	}
	visit(c.work, true) // the HOMEs, TMPDIR
	visit("/dev/shm", false)
	if wide {
		visit(os.TempDir(), false)
		visit("/tmp", false)
	}
	return inAllowed
}

// readNonBlocking reads a regular file without blocking on it (a FIFO made a moment ago
// under the name of a file is not waited for).
func readNonBlocking(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, err
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(bufio.NewReader(f))
	return buf.Bytes(), err
}

// shell runs av with args on a real pty as a terminal emulator would, and types pass at
// av's passphrase prompt. With session, the shell runs: the test types a command that
// holds it until every process has been searched, then a command, then exit. Without,
// the passphrase is wrong and av fails.
func (c *canary) shell(what string, env []string, args []string, pass string, session bool) {
	c.t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		c.t.Fatal(err)
	}
	defer master.Close()
	defer tty.Close()
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		c.t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		screen []byte
		seen   int
	)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			mu.Lock()
			screen = append(screen, buf[:n]...)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	expect := func(re string) {
		c.t.Helper()
		r := regexp.MustCompile(re)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			loc := r.FindIndex(screen[seen:])
			if loc != nil {
				seen += loc[1]
			}
			shown := string(screen)
			mu.Unlock()
			if loc != nil {
				return
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("%s: the terminal did not show %q:\n%s", what, re, shown)
			}
		}
	}
	typeLine := func(s string) {
		c.t.Helper()
		if _, err := master.Write([]byte(s + "\r")); err != nil {
			c.t.Fatal(err)
		}
	}

	cmd := c.command(env, args)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	defer func() {
		if cmd.ProcessState == nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	expect(`passphrase`)
	typeLine(pass)
	want := 1
	if session {
		want = 0
		expect(`\$ `)
		pidFile, fifo := c.holdFiles()
		// The shell's credentials come from av's endpoint: a program fetches them first,
		// so the search runs after the endpoint has served them.
		typeLine(fmt.Sprintf(`aws-caller once >/dev/null && echo "$PPID $$" > %s.tmp && mv %s.tmp %s && read x < %s && echo "done-$((6*7))"`, pidFile, pidFile, pidFile, fifo))
		avPID, shellPID := c.waitHold(what, pidFile, done, stringer(func() string { mu.Lock(); defer mu.Unlock(); return string(screen) }))
		if avPID != cmd.Process.Pid {
			c.t.Errorf("%s: the shell's parent is %d, not av (%d)", what, avPID, cmd.Process.Pid)
		}
		c.duringRun(what, avPID, shellPID)
		c.release(fifo)
		expect(`(?m)^done-42\r?$`)
		typeLine("exit")
	}
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
		c.t.Errorf("%s: av did not end within 60s", what)
	}
	// Everything written to the terminal before av ended comes out before this mark.
	tty.Write([]byte("\r\n--- av ended ---\r\n"))
	expect(`--- av ended ---`)
	mu.Lock()
	out := append([]byte(nil), screen...)
	mu.Unlock()
	c.checkStatus(what, cmd, err, want, out)
	c.checkOutput(what, out)
	c.after(what)
}

type stringer func() string

func (s stringer) String() string { return s() }

// final checks that the search covered what it must: the vault's encrypted items (which
// hold the canaries, but not in plain text), av's sessions, and each probe av starts.
func (c *canary) final() {
	c.t.Helper()
	items, _ := filepath.Glob(filepath.Join(c.home, ".awsvault", "keys", "*"))
	var vault int
	for _, it := range items {
		if c.files[it] {
			vault++
		}
	}
	if vault < 3 {
		c.t.Errorf("the search read %d vault items, want the master keys, sessions and av's tokens", vault)
	}
	if n := len(c.srv.IssuedSecrets()); n < 4 {
		c.t.Errorf("the stand-in issued %d session secrets and tokens, want a session and a role's at least", n)
	}
	for _, probe := range []string{"docker-credential-canary", "mfa-code"} {
		if m, _ := filepath.Glob(filepath.Join(c.seen, probe+".*.environ")); len(m) == 0 {
			c.t.Errorf("av never ran %s: the search did not see it", probe)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(c.seen, "dbus-launch.*")); len(m) > 0 {
		c.t.Errorf("av ran dbus-launch (%d times)", len(m)/2)
	}
	c.t.Logf("searched for %d canaries: the output of %d runs; %d processes av started while they ran, %d processes new since the test began; %d files (%d vault items)",
		len(c.canaries()), c.outputs, c.avProcs, c.newProcs, len(c.files), vault)
}

// proc is one process in /proc.
type proc struct {
	id   procID
	ppid int
	comm string
}

// snapshot lists every process with its parent and start time. It does not filter by
// user: a process of this test's user is among them, and one of another user that holds
// a canary is as much a leak (the search reads what it may: as root, every process).
func snapshot() []proc {
	var out []proc
	for _, pid := range processes() {
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			continue
		}
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		// After "pid (comm) ": state ppid … starttime is field 22 of the whole line.
		f := strings.Fields(s[close+1:])
		if len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out = append(out, proc{id: procID{pid, f[19]}, ppid: ppid, comm: s[open+1 : close]})
	}
	return out
}
