package tests

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmd is one of the scripts' own commands (testscript's built-in ones, exec, env,
// stdout and the rest, are in its documentation).
type scriptCmd struct {
	usage string // the command and its arguments, one line: "calls NAME N"
	neg   bool   // `! usage` is allowed, and means the opposite
	doc   string // what it does or checks, one line
	run   func(ts *testscript.TestScript, neg bool, args []string)
}

// scriptCommands are every command the scripts have besides testscript's own, by name: the
// one list of them. tests/README.md shows it (TestReadmeListsTheCommands keeps the two
// the same); the implementations live with their kind (lifecycle_test.go, pty_test.go, …).
//
// A function rather than a variable: the commands look their own usage up in it.
func scriptCommands() map[string]scriptCmd {
	return map[string]scriptCmd{
		// The stand-in: what it answers, and what it saw.
		"calls":        {"calls NAME N", true, "the stand-in has answered exactly N calls to NAME (service.Action, e.g. ecr.GetAuthorizationToken)", cmdCalls},
		"waitcalls":    {"waitcalls NAME N", false, "wait (a minute at most) until the stand-in has answered at least N calls to NAME", cmdWaitCalls},
		"resetcalls":   {"resetcalls", false, "the stand-in forgets its call counts and spans", cmdResetCalls},
		"overlap":      {"overlap N OPERATION...", true, "at most N calls to the OPERATIONs were in flight at once, and at some instant N were (`!`: never N)", cmdOverlap},
		"hang":         {"hang OPERATION on|off", false, "the stand-in never answers calls to OPERATION (e.g. sts.GetSessionToken), or answers them again", cmdHang},
		"awsdelay":     {"awsdelay OPERATION DURATION", false, "the stand-in answers calls to OPERATION (`*`: every AWS call) DURATION late", cmdAWSDelay},
		"mfa":          {"mfa SERIAL CODE", false, "the stand-in accepts CODE, and only CODE, for the MFA device SERIAL", cmdMFA},
		"sessionttl":   {"sessionttl DURATION", false, "STS sessions issued from now on live DURATION at most", cmdSessionTTL},
		"revoke":       {"revoke", false, "every STS session issued so far stops working, as after a key rotation", cmdRevoke},
		"tokenttl":     {"tokenttl DURATION", false, "ECR tokens minted from now on live DURATION", cmdTokenTTL},
		"ecrfails":     {"ecrfails on|off", false, "ECR in $REGION hands out unusable tokens (av refuses them), or good ones again", cmdECRFails},
		"ecrregion":    {"ecrregion REGION...", false, "ECR answers in each REGION too, with a registry 123456789012.dkr.ecr.REGION.amazonaws.com", cmdECRRegion},
		"sessionname":  {"sessionname ROLE_ARN REGEXP", true, "the last session STS accepted for ROLE_ARN has a RoleSessionName REGEXP matches whole", cmdSessionName},
		"webtoken":     {"webtoken FILE [AUDIENCE]", false, "write to FILE (0600) a fresh web identity token with aud AUDIENCE (default sts.amazonaws.com)", cmdWebToken},
		"trustweb":     {"trustweb ROLE_ARN SUB_PATTERN", false, "ROLE_ARN trusts only web identities whose sub matches SUB_PATTERN (* and ?)", cmdTrustWeb},
		"instancerole": {"instancerole ROLE_ARN|none", false, "the role whose credentials IMDS serves, or none attached", cmdInstanceRole},

		// Secrets: where they must not be.
		"nosecrets": {"nosecrets FILE...", true, "no FILE holds the passphrase, the root secret, the registry password or a platform identity's secret (`!`: some does, each named on stderr)", cmdNoSecrets},
		"notleaked": {"notleaked SECRETFILE FILE...", false, "no FILE holds what SECRETFILE holds, nor any key or token the stand-in's STS issued", cmdNotLeaked},

		// Files and processes.
		"nodirs":       {"nodirs [DIR]", true, "DIR (default $AV_RUNTIME_DIR) holds no run directory, only the vault's lock files and CI caches in use", cmdNoDirs},
		"waitfile":     {"waitfile FILE", false, "wait (20 s at most) until FILE exists", cmdWaitFile},
		"waitgrep":     {"waitgrep FILE REGEXP", false, "wait (a minute at most) until a line of FILE matches REGEXP", cmdWaitGrep},
		"lockedby":     {"lockedby PIDFILE", true, "the last command's stderr names the pid in PIDFILE as a lock's holder (the vault's, or a fetch's)", cmdLockedBy},
		"status":       {"status WANT CMD [ARGS...]", true, "run CMD; it ends with exit code WANT, or killed:SIGNAL for a death by SIGNAL", cmdStatus},
		"parallel":     {"parallel N CMD [ARGS...]", false, "start N copies of CMD at once and wait for all; every one succeeds", cmdParallel},
		"killpid":      {"killpid FILE", false, "SIGKILL the process whose pid FILE holds", cmdKillPID},
		"sigpid":       {"sigpid SIGNAL FILE", false, "send SIGNAL (SIGABRT, …) to the process whose pid FILE holds", cmdSigPID},
		"waitgone":     {"waitgone FILE", false, "wait (a minute at most) until the process whose pid FILE holds has ended", cmdWaitGone},
		"gone":         {"gone FILE...", false, "the processes whose pids the FILEs hold have ended, or end within 10 s", cmdGone},
		"nodbusdaemon": {"nodbusdaemon", true, "no dbus-daemon runs with this script's environment (any found is killed)", cmdNoDBusDaemon},
		"userdir":      {"userdir UID", false, "copy $HOME and av into a directory of UID's ($USERDIR) and point HOME, PATH, TMPDIR there", cmdUserDir},

		// The terminal.
		"pty": {"pty SUBCOMMAND [ARGS...]", true, "drive the script's terminal: start, send, sendline, expect, resize, stty, signal, wait, and [!] shown (pty_test.go)", cmdPTY},
	}
}

// testscriptCmds are scriptCommands as testscript takes them: each refuses `!` unless it
// has a meaning.
func testscriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	out := map[string]func(*testscript.TestScript, bool, []string){}
	for name, c := range scriptCommands() {
		out[name] = func(ts *testscript.TestScript, neg bool, args []string) {
			if neg && !c.neg {
				ts.Fatalf("%s has no ! form; usage: %s", name, c.usage)
			}
			c.run(ts, neg, args)
		}
	}
	return out
}

// badUsage fails the script with the command's usage line.
func badUsage(ts *testscript.TestScript, name string) {
	ts.Fatalf("usage: %s", scriptCommands()[name].usage)
}

// Every command has a usage line that starts with its name, and a line saying what it does.
func TestScriptCommandsHaveUsage(t *testing.T) {
	for name, c := range scriptCommands() {
		if c.usage != name && !strings.HasPrefix(c.usage, name+" ") {
			t.Errorf("%s: usage %q does not start with the name", name, c.usage)
		}
		if c.doc == "" || strings.Contains(c.usage+c.doc, "\n") {
			t.Errorf("%s: usage %q and doc %q must be one line each", name, c.usage, c.doc)
		}
		if c.run == nil {
			t.Errorf("%s: nothing to run", name)
		}
	}
}

var update = flag.Bool("update", false, "rewrite tests/README.md's list of script commands")

const (
	commandsBegin = "<!-- script commands: generated from scriptCommands; go test ./tests -run TestReadme -update -->\n"
	commandsEnd   = "<!-- end of script commands -->\n"
)

// commandTable is the README's list of the script commands, sorted by name.
func commandTable() string {
	cmds := scriptCommands()
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("| command | what it does or checks |\n|---|---|\n")
	for _, name := range names {
		c := cmds[name]
		usage := c.usage
		if c.neg {
			usage = "[!] " + usage
		}
		// A | in a table's cell, code included, is escaped (GitHub's tables).
		cell := strings.NewReplacer("|", `\|`)
		fmt.Fprintf(&b, "| `%s` | %s |\n", cell.Replace(usage), cell.Replace(c.doc))
	}
	return b.String()
}

// tests/README.md lists every script command, as scriptCommands has it. With -update, the
// test writes the list there.
func TestReadmeListsTheCommands(t *testing.T) {
	const path = "README.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := bytes.Cut(data, []byte(commandsBegin))
	got, after, ok2 := bytes.Cut(rest, []byte(commandsEnd))
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the lines %q and %q around the list of script commands", path, commandsBegin, commandsEnd)
	}
	want := commandTable()
	if string(got) == want {
		return
	}
	if *update {
		out := slices.Concat(before, []byte(commandsBegin), []byte(want), []byte(commandsEnd), after)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s's list of script commands is not scriptCommands'; run go test ./tests -run TestReadme -update. Want:\n%s", path, want)
}
