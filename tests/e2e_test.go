// End-to-end tests: the built av binary, run by testscript scripts in testdata/, against the
// project's AWS stand-in (one per script), real distribution registries with htpasswd auth,
// a real file-backend vault filled by a real aws-vault v7.2.0, and real clients (crane).
// README.md here says how the harness works, and lists the scripts' own commands.
package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/av-cli/av/tests/fixture"
	"github.com/av-cli/av/tests/standin"
	"github.com/rogpeppe/go-internal/testscript"
)

// Region is where the test profiles live; the stand-in answers for it with the local
// registry, and for RegionWest with another.
const (
	Region     = "eu-west-1"
	RegionWest = "us-west-2"
)

// What setUp makes, once per test binary.
var (
	binDir string // av, av-testonly, aws-caller and aws-vault, built for this run
	// registry is the profiles' ECR registry in Region; registryWest stands for ECR in
	// RegionWest (another region or account); registryHelper is a registry whose login
	// only a docker credential helper of the user's holds.
	registry, registryWest, registryHelper *fixture.Registry
	// coverRaw is where av's runs write their coverage counters when AV_E2E_COVER asks
	// for them (GOCOVERDIR); empty otherwise.
	coverRaw string

	harnessTmp string // everything setUp makes lives here
	setUpOnce  sync.Once
	setUpErr   error
	teardown   []func() // run after the tests, last first
)

// coverEnv names the directory that gets cmd/av's coverage by the end-to-end tests:
// with it set, av is built with -cover, and the counters of every run are merged there
// after the tests, for `go tool covdata percent -i DIR` (`make e2e-cover`).
const coverEnv = "AV_E2E_COVER"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "av-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	harnessTmp = tmp
	code := m.Run()
	for _, f := range slices.Backward(teardown) {
		f()
	}
	if err := saveCoverage(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	return code
}

// setUp builds av and aws-vault and starts the registries, once, for the first test that
// needs them: the tests of the harness's own list of commands need none of it.
func setUp(t testing.TB) {
	t.Helper()
	setUpOnce.Do(func() { setUpErr = startHarness(harnessTmp) })
	if setUpErr != nil {
		t.Fatal(setUpErr)
	}
}

func startHarness(tmp string) error {
	var opts fixture.BuildOptions
	if dir := os.Getenv(coverEnv); dir != "" {
		if !filepath.IsAbs(dir) {
			return fmt.Errorf("%s=%s: want an absolute path (go test runs in tests/)", coverEnv, dir)
		}
		coverRaw = filepath.Join(tmp, "cover")
		// Sticky and writable by all, as /tmp: memory_private runs av as nobody.
		if err := os.Mkdir(coverRaw, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(coverRaw, 0o1777); err != nil {
			return err
		}
		opts.Cover = true
	}
	binDir = filepath.Join(tmp, "bin")
	if err := fixture.Build(binDir, opts); err != nil {
		return err
	}
	for _, r := range []struct {
		reg  **fixture.Registry
		name string
	}{{&registry, "registry"}, {&registryWest, "registry-west"}, {&registryHelper, "registry-helper"}} {
		reg, err := fixture.StartRegistry(filepath.Join(tmp, r.name))
		if err != nil {
			return fmt.Errorf("starting the %s: %w", r.name, err)
		}
		*r.reg = reg
		teardown = append(teardown, reg.Stop)
	}
	return nil
}

// saveCoverage merges the counters av's runs wrote into AV_E2E_COVER's directory.
func saveCoverage() error {
	out := os.Getenv(coverEnv)
	if coverRaw == "" {
		return nil
	}
	if files, _ := os.ReadDir(coverRaw); len(files) == 0 {
		fmt.Fprintf(os.Stderr, "%s: no run of av wrote coverage counters\n", coverEnv)
		return nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", "tool", "covdata", "merge", "-i", coverRaw, "-o", out)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("merging the coverage counters into %s: %w", out, err)
	}
	return nil
}

// need finds a tool the tests run. In CI a missing tool fails the test; elsewhere it skips,
// saying how to get it.
func need(t testing.TB, tool string) string {
	t.Helper()
	p, err := fixture.LookTool(tool)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal(err)
	}
	t.Skip(err)
	return ""
}

func TestScripts(t *testing.T) {
	need(t, "registry")
	craneDir := filepath.Dir(need(t, "crane"))
	setUp(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		Condition:           haveTool,
		Setup: func(e *testscript.Env) error {
			return setupScript(e, craneDir)
		},
		Cmds: testscriptCmds(),
	})
}

// setupScript gives each script a temporary HOME, its own stand-in and runtime directory,
// a root key the stand-in knows (for `aws-vault add`), and a file-backend vault setting.
func setupScript(e *testscript.Env, craneDir string) error {
	home := filepath.Join(e.WorkDir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	srv := standin.New(standin.Options{})
	url, err := srv.Start()
	if err != nil {
		return err
	}
	e.Defer(func() { srv.Close() })
	srv.SetRegistry(Region, "http://"+registry.Host, registry.Password)
	srv.SetRegistry(RegionWest, "http://"+registryWest.Host, registryWest.Password)
	srv.SetPublicPassword(fixture.RandomHex(8))
	keyID, secret := srv.NewRootKey()
	e.Values[standinKey{}] = srv

	runtime, err := os.MkdirTemp("/dev/shm", "av-e2e-")
	if err != nil {
		return err
	}
	e.Defer(func() { os.RemoveAll(runtime) })

	sec := secrets{passphrase: fixture.RandomHex(8), rootSecret: secret}
	e.Values[secretsKey{}] = sec
	for k, v := range map[string]string{
		"HOME":                      home,
		"PATH":                      binDir + string(os.PathListSeparator) + craneDir + string(os.PathListSeparator) + "/usr/local/bin:/usr/bin:/bin",
		"AWS_ENDPOINT_URL":          url,
		"AWS_VAULT_BACKEND":         "file",
		"AWS_VAULT_FILE_PASSPHRASE": sec.passphrase,
		"ROOT_KEY_ID":               keyID,
		"ROOT_SECRET":               secret,
		"REGISTRY":                  registry.Host,
		"REGISTRY_WEST":             registryWest.Host,
		"REGISTRY_HELPER":           registryHelper.Host,
		"REGION":                    Region,
		"AV_RUNTIME_DIR":            runtime,
		"XDG_RUNTIME_DIR":           "",
		"TMPDIR":                    e.WorkDir,
		// No instance metadata to probe: the SDK's chain (a CI job's identity) would wait
		// for 169.254.169.254. Scripts that test an instance role point it at the stand-in.
		"AWS_EC2_METADATA_DISABLED": "true",
		// No D-Bus session bus: aws-vault v7.2.0 would start one (dbus-launch) on every
		// run. The scripts about D-Bus set their own.
		"DBUS_SESSION_BUS_ADDRESS": "disabled:",
	} {
		e.Setenv(k, v)
	}
	if coverRaw != "" {
		e.Setenv("GOCOVERDIR", coverRaw)
	}
	// What the other kinds of script need: the platform identities, a docker credential
	// helper of the user's, a terminal.
	for _, setup := range []func(e *testscript.Env) error{setupAmbient, setupCredentialHelper, setupTerminal} {
		if err := setup(e); err != nil {
			return err
		}
	}
	return nil
}

type standinKey struct{}

// secrets are what must never show up in the command's environment, files or logs. They
// are kept out of the script's environment so the checks cannot find them there.
type secrets struct{ passphrase, rootSecret string }

type secretsKey struct{}

func standinOf(ts *testscript.TestScript) *standin.Server {
	return ts.Value(standinKey{}).(*standin.Server)
}

// calls NAME N: the stand-in has answered exactly N calls to NAME (e.g. ecr.GetAuthorizationToken).
func cmdCalls(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "calls")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	got := standinOf(ts).Calls(args[0])
	if (got == want) == neg {
		ts.Fatalf("%s: %d calls, want %s%d", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// nodirs [DIR]: the runtime directory (default $AV_RUNTIME_DIR) holds no run directory
// (nor anything but the vault's lock files).
func cmdNoDirs(ts *testscript.TestScript, neg bool, args []string) {
	dir := ts.Getenv("AV_RUNTIME_DIR")
	if len(args) == 1 {
		dir = args[0]
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		ts.Fatalf("%v", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), ".vault-") && strings.HasSuffix(e.Name(), ".lock") {
			continue
		}
		if e.IsDir() && strings.HasPrefix(e.Name(), ".ambient-") {
			// A CI job's encrypted cache (profiles.OpenAmbient), kept for the job's next
			// runs once it holds something; an empty one is a leftover.
			if items, _ := os.ReadDir(filepath.Join(dir, e.Name())); len(items) > 0 {
				continue
			}
		}
		names = append(names, e.Name())
	}
	if (len(names) == 0) == neg {
		ts.Fatalf("%s holds %q", dir, names)
	}
}

// waitfile FILE: wait up to 20s for FILE to exist.
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	p := ts.MkAbs(args[0])
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	ts.Fatalf("%s did not appear", args[0])
}

// killpid FILE: SIGKILL the process whose pid FILE holds (a child orphaned by a SIGKILLed av).
func cmdKillPID(ts *testscript.TestScript, neg bool, args []string) {
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[0])))
	ts.Check(err)
	syscall.Kill(pid, syscall.SIGKILL)
	// Until it is dead: a process killed still holds its descriptors (the run directory's
	// lock among them) until the kernel has torn it down, and a script that goes on at once
	// (the next av's sweep) would race it. Dead is gone, or a zombie nobody reaped yet.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || procState(stat) == 'Z' {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("pid %d still alive a minute after SIGKILL", pid)
		}
	}
}

// procState is the state letter of a /proc/PID/stat line ("1234 (sleep) S ..."): after the
// last ')', as a command's name may hold spaces and parentheses.
func procState(stat []byte) byte {
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2]
	}
	return 0
}

// nosecrets FILE...: none of the files holds the vault passphrase, the root secret key, the
// registry password, or any secret the stand-in handed out as a platform identity (web
// identity tokens, the GitHub request token, the container token, IMDS and container
// credentials; see ambientSecrets). Lines that set one of the setup's own variables
// (WEB_IDENTITY_TOKEN=…, in an env dump) are skipped: every command inherits those from
// the script, as from a job's environment. `! nosecrets` holds if some file holds one, and
// names each find on stderr.
func cmdNoSecrets(ts *testscript.TestScript, neg bool, args []string) {
	sec := ts.Value(secretsKey{}).(secrets)
	known := []standin.Secret{
		{What: "the vault passphrase", Value: sec.passphrase},
		{What: "the root secret key", Value: sec.rootSecret},
		{What: "the registry password", Value: registry.Password},
	}
	known = append(known, ambientSecrets(ts)...)
	found := false
	for _, f := range args {
		data := withoutSetupVars(ts.ReadFile(f))
		for _, s := range known {
			if s.Value == "" || !strings.Contains(data, s.Value) {
				continue
			}
			if !neg {
				ts.Fatalf("%s contains %s", f, s.What)
			}
			found = true
			fmt.Fprintf(ts.Stderr(), "%s contains %s\n", f, s.What)
		}
	}
	if neg && !found {
		ts.Fatalf("no secret in %s", strings.Join(args, " "))
	}
}

// withoutSetupVars drops the lines of an env dump that set a variable of ambientKeys.
func withoutSetupVars(data string) string {
	lines := strings.SplitAfter(data, "\n")
	kept := lines[:0]
	for _, l := range lines {
		name, _, ok := strings.Cut(l, "=")
		if !ok || !slices.Contains(ambientKeys, name) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

// status WANT CMD [ARGS...]: run CMD and check how it ended: WANT is an exit code, or
// "killed:SIGNAL" for a death by that signal (what a shell or make sees).
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		badUsage(ts, "status")
	}
	cmd := scriptCommand(ts, args[1:])
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	ts.Logf("stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	if cmd.ProcessState == nil {
		ts.Fatalf("%s did not run: %v", args[1], err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	got := strconv.Itoa(ws.ExitStatus())
	if ws.Signaled() {
		got = "killed:" + unixSignalName(ws.Signal())
	}
	if (got == args[0]) == neg {
		ts.Fatalf("%s ended with %s, want %s", args[1], got, args[0])
	}
}

func unixSignalName(s syscall.Signal) string {
	names := map[syscall.Signal]string{
		syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGKILL: "SIGKILL",
		syscall.SIGHUP: "SIGHUP", syscall.SIGQUIT: "SIGQUIT", syscall.SIGSEGV: "SIGSEGV",
		syscall.SIGPIPE: "SIGPIPE", syscall.SIGABRT: "SIGABRT",
	}
	if n, ok := names[s]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

// scriptCommand is args[0] found on the script's PATH, to run in $WORK with the script's
// environment, as exec would.
func scriptCommand(ts *testscript.TestScript, args []string) *exec.Cmd {
	path, err := lookPathIn(args[0], ts.Getenv("PATH"))
	ts.Check(err)
	cmd := exec.Command(path, args[1:]...)
	cmd.Args[0] = args[0]
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = scriptEnv(ts)
	return cmd
}

// scriptKeys are the variables the setup sets and the scripts use; scriptEnv passes them on
// with the script's values.
var scriptKeys = slices.Concat([]string{
	// The setup's.
	"HOME", "PATH", "AWS_ENDPOINT_URL", "AWS_VAULT_BACKEND", "AWS_VAULT_FILE_PASSPHRASE",
	"ROOT_KEY_ID", "ROOT_SECRET", "REGISTRY", "REGISTRY_WEST", "REGISTRY_HELPER", "REGION",
	"AV_RUNTIME_DIR", "XDG_RUNTIME_DIR", "TMPDIR", "WORK", "DBUS_SESSION_BUS_ADDRESS", "GOCOVERDIR",
	// The AWS files and keys, and av's own settings.
	"AWS_CONFIG_FILE", "AWS_PROFILE", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
	"AV_MIN_TTL", "AV_LOCK_TIMEOUT", "AV_AWS_TIMEOUT", "AV_AMBIENT", "AV_ROLE_ARN", "AV_REGISTRY_ONLY",
	"AWS_VAULT_FILE_DIR",
	// What the pty scripts set for the programs they start.
	"SHELL", "TERM", "ENV", "PS1", "OUTER_TTY",
}, ambientKeys, platformKeys)

// scriptEnv is the script's environment as exec would pass it, for the variables av's tests
// use (testscript does not export its whole environment): the process's own variables and
// scriptKeys, each with the script's current value; empty means unset.
func scriptEnv(ts *testscript.TestScript) []string {
	keys := map[string]bool{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	for _, k := range scriptKeys {
		keys[k] = true
	}
	var env []string
	for k := range keys {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func lookPathIn(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// mfa SERIAL CODE: the stand-in accepts CODE, and only CODE, for the MFA device SERIAL.
func cmdMFA(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "mfa")
	}
	standinOf(ts).SetMFA(args[0], args[1])
}

// haveTool is the condition [have:TOOL]: TOOL is installed. In CI, which installs every
// tool the scripts use, a missing one is an error instead of a skip. [mountns] is
// canMountNS.
func haveTool(cond string) (bool, error) {
	if cond == "mountns" {
		return canMountNS(), nil
	}
	tool, ok := strings.CutPrefix(cond, "have:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(tool); err == nil {
		return true, nil
	}
	if os.Getenv("CI") != "" {
		return false, fmt.Errorf("%s is not installed (.ci/run installs it)", tool)
	}
	return false, nil
}
