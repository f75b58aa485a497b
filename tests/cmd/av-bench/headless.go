package main

import (
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// headless measures the warm path with no session bus named at all, as on a server or in
// CI: DBUS_SESSION_BUS_ADDRESS unset (and no display, no XDG_RUNTIME_DIR). aws-vault v7.2.0's
// keyring then runs dbus-launch in every process that links it, whatever the backend, and
// the dbus-daemon it starts outlives the run, holding a copy of its environment (the vault's
// passphrase among it). av's patched keyring never starts one.
//
// The bench is a child subreaper while it measures (PR_SET_CHILD_SUBREAPER): what a run
// leaves behind is reparented to the bench, not to init, so the bench finds exactly the
// processes of its own runs, kills each by its pid, reaps it and counts its CPU with the
// run's. A run of av that leaves one is an error.
func (b *bed) headless(runs int) error {
	step(fmt.Sprintf("headless: no session bus, %d runs of each command, interleaved", runs))
	if err := becomeSubreaper(); err != nil {
		fmt.Printf("## Headless: no session bus\n\nNot measured: %v.\n\n", err)
		return nil
	}
	defer stopSubreaper()
	if err := b.fill(); err != nil {
		return err
	}
	env := slices.DeleteFunc(slices.Clone(b.env), func(kv string) bool {
		return strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=")
	})
	rows := []struct {
		label string
		argv  []string
	}{
		{"`av bench -- true`", b.avWarm()},
		{"`aws-vault exec bench -- true` (cached session)", b.peerWarm()},
		{"`aws-vault exec --no-session bench -- true`", b.peerNoSession()},
	}
	const avRow, peerRow = 0, 1
	argvs := make([][]string, len(rows))
	for i, r := range rows {
		argvs[i] = r.argv
	}
	left := make([]int, len(rows))              // processes left behind, over all runs
	leftCPU := make([]time.Duration, len(rows)) // their CPU
	names := make([]map[string]bool, len(rows))
	b.aws.Reset()
	got, err := interleave(runs, env, argvs, func(k int, r *result) error {
		orphans, err := reapOrphans()
		if err != nil {
			return err
		}
		for _, o := range orphans {
			left[k]++
			leftCPU[k] += o.cpu
			r.cpu += o.cpu
			if names[k] == nil {
				names[k] = map[string]bool{}
			}
			names[k][o.name] = true
		}
		if k == avRow && len(orphans) > 0 {
			return fmt.Errorf("av left %d processes behind with no session bus (%s)", len(orphans), orphans[0].name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if calls := b.aws.CallsByName(); len(calls) > 0 {
		return fmt.Errorf("the headless warm path called AWS: %v", calls)
	}
	fmt.Printf("## Headless: no session bus named, %d interleaved runs each\n\n", runs)
	if _, err := exec.LookPath("dbus-launch"); err != nil {
		// godbus's autolaunch runs dbus-launch from PATH: without it, aws-vault's attempt
		// fails at once, and its figure is that of a machine that cannot start a bus.
		fmt.Print("dbus-launch is not installed here (Debian: dbus-x11), so aws-vault could not start a bus:\nits figures below are those of a failed attempt, not of a headless machine that has D-Bus.\n\n")
	}
	fmt.Println("DBUS_SESSION_BUS_ADDRESS, DISPLAY and XDG_RUNTIME_DIR unset. CPU counts the processes a run left")
	fmt.Println("behind too (reaped by the bench, by pid, after each run). Ratios to `aws-vault exec` (cached session).")
	fmt.Println()
	fmt.Println("| command | wall | min–max | CPU | min–max | wall ÷ aws-vault | CPU ÷ aws-vault | left per run | their CPU per run |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	peer := got[peerRow]
	for i, r := range rows {
		what := ""
		if len(names[i]) > 0 {
			what = " (" + strings.Join(slices.Sorted(maps.Keys(names[i])), ", ") + ")"
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s | %.1f%s | %s |\n", r.label, ms(median(got[i].wall)), span(got[i].wall),
			ms(median(got[i].cpu)), span(got[i].cpu), ratio(got[i].wall, peer.wall), ratio(got[i].cpu, peer.cpu),
			float64(left[i])/float64(runs), what, ms(leftCPU[i]/time.Duration(runs)))
	}
	fmt.Println()
	return nil
}

// orphan is a process a run left behind, reaped.
type orphan struct {
	pid  int
	name string // its comm
	cpu  time.Duration
}
