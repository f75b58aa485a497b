// Script commands for long-lived commands and cold multi-registry runs: the stand-in's
// delays, session lifetimes and revocations, and what it saw in flight at once.
package tests

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/av-cli/av/tests/standin"
	"github.com/rogpeppe/go-internal/testscript"
)

// notleaked SECRETFILE FILE...: neither what SECRETFILE holds (a secret the command
// wrote out, such as its endpoint token) nor any secret key or session token the
// stand-in's STS issued appears in any FILE.
func cmdNotLeaked(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		badUsage(ts, "notleaked")
	}
	secret := strings.TrimSpace(ts.ReadFile(args[0]))
	if len(secret) < 16 {
		ts.Fatalf("%s holds no secret (%d bytes)", args[0], len(secret))
	}
	known := append(standinOf(ts).IssuedSecrets(), standin.Secret{What: "the secret in " + args[0], Value: secret})
	for _, f := range args[1:] {
		data := ts.ReadFile(f)
		for _, s := range known {
			if s.Value != "" && strings.Contains(data, s.Value) {
				ts.Fatalf("%s contains %s", f, s.What)
			}
		}
	}
}

// awsdelay OPERATION DURATION: the stand-in answers calls to OPERATION ("*": every AWS
// call) DURATION late, as a distant region would.
func cmdAWSDelay(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "awsdelay")
	}
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	standinOf(ts).SetDelay(args[0], d)
}

// overlap N OPERATION...: at some instant, N calls to the OPERATIONs were in flight at
// once, and never more (! overlap N: never N at once).
func cmdOverlap(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		badUsage(ts, "overlap")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	spans := standinOf(ts).Spans()
	got := standin.MaxOverlap(spans, args[1:]...)
	for _, sp := range spans {
		ts.Logf("%s %s +%s", sp.Name, sp.Start.Format("15:04:05.000"), sp.End.Sub(sp.Start).Round(time.Millisecond))
	}
	switch {
	case !neg && got != want:
		ts.Fatalf("at most %d calls to %v in flight at once, want %d", got, args[1:], want)
	case neg && got >= want:
		ts.Fatalf("%d calls to %v in flight at once, want fewer than %d", got, args[1:], want)
	}
}

// ecrregion REGION...: ECR answers in each REGION too, naming the registry
// 123456789012.dkr.ecr.REGION.amazonaws.com (which no test pushes to).
func cmdECRRegion(ts *testscript.TestScript, neg bool, args []string) {
	for _, r := range args {
		standinOf(ts).SetRegistry(r, fmt.Sprintf("https://123456789012.dkr.ecr.%s.amazonaws.com", r), registry.Password)
	}
}

// revoke: every STS session issued so far stops working, as after a key rotation.
func cmdRevoke(ts *testscript.TestScript, neg bool, args []string) {
	ts.Logf("revoked %d sessions", standinOf(ts).RevokeSessions())
}

// sessionttl DURATION: STS sessions issued from now on live DURATION at most.
func cmdSessionTTL(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		badUsage(ts, "sessionttl")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	standinOf(ts).SetMaxDuration(d)
}
