// Script commands for the token lifecycle: parallel runs, the stand-in's token lifetimes,
// failures and counts, and waiting for what a run does.
package tests

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// parallel N CMD [ARGS...]: start N copies of CMD at once with the script's environment
// and wait for all; every one must succeed. Each failure's stderr is logged.
func cmdParallel(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		badUsage(ts, "parallel")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	path, err := lookPathIn(args[1], ts.Getenv("PATH"))
	ts.Check(err)
	env := scriptEnv(ts)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []string
		start    = make(chan struct{})
	)
	for i := 0; i < n; i++ {
		cmd := exec.Command(path, args[2:]...)
		cmd.Args[0] = args[1]
		cmd.Dir = ts.Getenv("WORK")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := cmd.Run(); err != nil {
				mu.Lock()
				failures = append(failures, fmt.Sprintf("%v: %s", err, strings.TrimSpace(stderr.String())))
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, f := range failures {
		ts.Logf("failed: %s", f)
	}
	if neg {
		ts.Fatalf("parallel does not support !")
	}
	if len(failures) > 0 {
		ts.Fatalf("%d of %d runs failed", len(failures), n)
	}
}

// resetcalls: the stand-in forgets its call counts.
func cmdResetCalls(ts *testscript.TestScript, neg bool, args []string) {
	standinOf(ts).Reset()
}

// tokenttl DURATION: ECR tokens minted from now on live DURATION.
func cmdTokenTTL(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		badUsage(ts, "tokenttl")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	standinOf(ts).SetTokenTTL(d)
}

// waitcalls NAME N: wait (up to a minute, a safety net) until the stand-in has answered at
// least N calls to NAME.
func cmdWaitCalls(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "waitcalls")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if standinOf(ts).Calls(args[0]) >= want {
			return
		}
	}
	ts.Fatalf("%s: %d calls after a minute, want %d", args[0], standinOf(ts).Calls(args[0]), want)
}

// ecrfails on|off: ECR in $REGION hands out unusable tokens (av refuses them), or good ones again.
func cmdECRFails(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		badUsage(ts, "ecrfails")
	}
	password := registry.Password
	if args[0] == "on" {
		password = ""
	}
	standinOf(ts).SetRegistry(Region, "http://"+registry.Host, password)
}

// hang OPERATION on|off: the stand-in never answers calls to OPERATION (sts.GetSessionToken,
// ecr.GetAuthorizationToken), or answers them again.
func cmdHang(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || (args[1] != "on" && args[1] != "off") {
		badUsage(ts, "hang")
	}
	standinOf(ts).SetHang(args[0], args[1] == "on")
}

// lockedby PIDFILE: the last command's stderr says the vault is locked, or an item is being
// fetched, by the pid in PIDFILE.
func cmdLockedBy(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		badUsage(ts, "lockedby")
	}
	pid := strings.TrimSpace(ts.ReadFile(args[0]))
	stderr := ts.ReadFile("stderr")
	if (strings.Contains(stderr, "locked by pid "+pid+" ") || strings.Contains(stderr, "being fetched by pid "+pid+" ")) == neg {
		ts.Fatalf("stderr does not name pid %s as the lock's holder: %s", pid, stderr)
	}
}

// waitgrep FILE REGEXP: wait (up to a minute, a safety net) until a line of FILE matches.
func cmdWaitGrep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "waitgrep")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if data, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && re.Match(data) {
			return
		}
	}
	ts.Fatalf("no line of %s matches %s after a minute", args[0], args[1])
}
