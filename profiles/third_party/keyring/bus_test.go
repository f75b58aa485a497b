//go:build linux

package keyring

// Tests of av's D-Bus patch (PATCHES.md). Each case runs in a child process (this test
// binary run again with KEYRING_TEST_CHILD set) because the patch is about what a process
// does from the package's init on, and the bus backends register once a process.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/godbus/dbus"
)

const (
	childEnv    = "KEYRING_TEST_CHILD"     // what the child does: a key of childOps
	childDirEnv = "KEYRING_TEST_CHILD_DIR" // the child's file backend directory
)

func TestMain(m *testing.M) {
	if op := os.Getenv(childEnv); op != "" {
		os.Exit(runChildOp(op))
	}
	os.Exit(m.Run())
}

// childOps are what a process linking keyring may do. v1.2.2 reached the session bus in
// init, before any of them.
var childOps = map[string]func() error{
	// nothing beyond the package's init
	"init": func() error { return nil },
	"available": func() error {
		AvailableBackends()
		return nil
	},
	// the file backend, used as av uses it
	"open-file": func() error {
		kr, err := Open(Config{
			AllowedBackends:  []BackendType{FileBackend},
			FileDir:          os.Getenv(childDirEnv),
			FilePasswordFunc: FixedStringPrompt("test"),
		})
		if err != nil {
			return err
		}
		return kr.Set(Item{Key: "k", Data: []byte("v")})
	},
	// the bus backends, with no bus that answers: nothing opens
	"open-bus": func() error {
		_, err := Open(Config{AllowedBackends: []BackendType{SecretServiceBackend, KWalletBackend}})
		if !errors.Is(err, ErrNoAvailImpl) {
			return fmt.Errorf("want ErrNoAvailImpl, got %v", err)
		}
		return nil
	},
	// godbus itself, unpatched: the control that shows a launch would be seen
	"godbus": func() error {
		_, err := dbus.SessionBus()
		if err == nil {
			return errors.New("a session bus answered")
		}
		return nil
	},
}

func runChildOp(op string) int {
	f, ok := childOps[op]
	if !ok {
		fmt.Fprintf(os.Stderr, "no child op %q\n", op)
		return 2
	}
	if err := f(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", op, err)
		return 1
	}
	return 0
}

// runChild runs this test binary as a child doing op, with the environment less the
// D-Bus and PATH variables, plus env.
func runChild(t *testing.T, op string, env ...string) {
	t.Helper()
	var base []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "DBUS_SESSION_BUS_ADDRESS", "PATH", childEnv, childDirEnv, "GORACE":
			continue
		}
		base = append(base, kv)
	}
	// Under -race, a process sleeps a second at exit unless told not to.
	base = append(base, "GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	// A bound on the wait, not a timed assertion: a child that hangs (on a bus that never
	// answers, say) fails the test, naming the child, instead of stalling the run.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(base, childEnv+"="+op, childDirEnv+"="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("child %s did not end within a minute", op)
	}
	if err != nil {
		t.Fatalf("child %s: %v\n%s", op, err, out)
	}
}

// TestNoBusLaunched: with no session bus named (DBUS_SESSION_BUS_ADDRESS unset, or
// "autolaunch:", which godbus takes alike) and none at the standard place, godbus runs
// dbus-launch, whose daemon outlives the process holding a copy of its environment.
// v1.2.2 did so from init; the patch never does. A dbus-launch put first on PATH
// records that it ran (and fails, launching nothing).
func TestNoBusLaunched(t *testing.T) {
	runDir := "/run/user/" + strconv.Itoa(os.Getuid())
	for _, name := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(filepath.Join(runDir, name)); err == nil {
			t.Skipf("%s/%s exists: godbus would use that session bus, not launch one", runDir, name)
		}
	}
	bin := t.TempDir()
	ran := filepath.Join(bin, "ran")
	probe := "#!/bin/sh\necho \"$0 $*\" >>'" + ran + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(probe), 0o755); err != nil {
		t.Fatal(err)
	}
	path := "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")
	launched := func() bool {
		_, err := os.Stat(ran)
		return err == nil
	}

	for _, addr := range []string{"", "autolaunch:"} {
		env := []string{path}
		if addr != "" {
			env = append(env, "DBUS_SESSION_BUS_ADDRESS="+addr)
		}
		for _, op := range []string{"init", "available", "open-file", "open-bus"} {
			t.Run(fmt.Sprintf("%s/address=%q", op, addr), func(t *testing.T) {
				runChild(t, op, env...)
				if launched() {
					defer os.Remove(ran) // so that the next case starts clean
					t.Fatalf("dbus-launch ran:\n%s", readFile(t, ran))
				}
			})
		}
		// The control: godbus's own SessionBus does run the probe, so the cases above
		// would see a launch.
		t.Run(fmt.Sprintf("control/address=%q", addr), func(t *testing.T) {
			runChild(t, "godbus", env...)
			if !launched() {
				t.Fatal("godbus's SessionBus did not run the dbus-launch probe: the test sees no launch")
			}
			if err := os.Remove(ran); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestBusOnlyWhenNeeded: a bus named in DBUS_SESSION_BUS_ADDRESS is reached only to list
// the backends or to open a bus backend; v1.2.2 reached it in init, so opening the file
// backend did too. The "bus" here counts connections and closes each at once (so godbus
// fails, and the bus backends do not register).
func TestBusOnlyWhenNeeded(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dials atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Counted before the close: godbus waits for an answer on the connection, so
			// the child cannot end before this.
			dials.Add(1)
			c.Close()
		}
	}()

	for _, tc := range []struct {
		op       string
		wantDial bool
	}{
		{"init", false},
		{"open-file", false},
		{"available", true},
		{"open-bus", true},
	} {
		t.Run(tc.op, func(t *testing.T) {
			before := dials.Load()
			runChild(t, tc.op, "PATH="+os.Getenv("PATH"), "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock)
			if dialed := dials.Load() > before; dialed != tc.wantDial {
				t.Fatalf("bus reached: %v, want %v", dialed, tc.wantDial)
			}
		})
	}
}
