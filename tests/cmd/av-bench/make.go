package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// makeTargets and makeJobs are the make figure's shape: a build's worth of steps, each
// prefixed with av or aws-vault, run eight at a time on however many CPUs there are.
const makeTargets, makeJobsN = 32, 8

// makeJobs runs `make -j8` of a generated Makefile whose 32 targets each run `true` under
// av, against the same Makefile under `aws-vault exec` (cached session), and under nothing
// (the floor): wall time, and the CPU of make and of everything it waited for.
func (b *bed) makeJobs(rounds int) error {
	step(fmt.Sprintf("make -j%d of %d targets: %d rounds, interleaved", makeJobsN, makeTargets, rounds))
	if _, err := exec.LookPath("make"); err != nil {
		fmt.Printf("## make -j%d, %d targets\n\nNot measured: no make on PATH.\n\n", makeJobsN, makeTargets)
		return nil
	}
	if err := b.fill(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "av-bench-make-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rows := []struct {
		label, file string
		prefix      []string
	}{
		{"`av bench -- true`", "av.mk", []string{b.av, profile, "--"}},
		{"`aws-vault exec bench -- true` (cached session)", "aws-vault.mk", []string{b.awsVault, "exec", profile, "--"}},
		{"`true`", "true.mk", nil},
	}
	const peerRow = 1
	argvs := make([][]string, len(rows))
	for i, r := range rows {
		path := filepath.Join(dir, r.file)
		if err := os.WriteFile(path, []byte(makefile(r.prefix)), 0o644); err != nil {
			return err
		}
		argvs[i] = []string{"make", "-s", "-j", fmt.Sprint(makeJobsN), "-f", path}
	}
	b.aws.Reset()
	got, err := interleave(rounds, b.env, argvs, nil)
	if err != nil {
		return err
	}
	if calls := b.aws.CallsByName(); len(calls) > 0 {
		return fmt.Errorf("the make runs called AWS: %v", calls)
	}
	fmt.Printf("## make -j%d of %d targets, %d interleaved rounds\n\n", makeJobsN, makeTargets, rounds)
	fmt.Printf("A generated Makefile whose %d targets each run `true` under av, under aws-vault, or alone. CPU is\n", makeTargets)
	fmt.Println("make's and that of all it waited for. Median and min–max of the rounds; ratios to aws-vault's.")
	fmt.Println()
	fmt.Println("| each target runs | wall | min–max | CPU | min–max | wall ÷ aws-vault | CPU ÷ aws-vault |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	peer := got[peerRow]
	for i, r := range rows {
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", r.label, ms(median(got[i].wall)), span(got[i].wall),
			ms(median(got[i].cpu)), span(got[i].cpu), ratio(got[i].wall, peer.wall), ratio(got[i].cpu, peer.cpu))
	}
	fmt.Println()
	return nil
}

// makefile is a Makefile of makeTargets phony targets, each running prefix true.
func makefile(prefix []string) string {
	var b strings.Builder
	names := make([]string, makeTargets)
	for i := range names {
		names[i] = fmt.Sprintf("t%02d", i+1)
	}
	fmt.Fprintf(&b, ".PHONY: all %s\nall: %s\n", strings.Join(names, " "), strings.Join(names, " "))
	cmd := strings.TrimSpace(strings.Join(append(prefix, "true"), " "))
	for _, n := range names {
		fmt.Fprintf(&b, "%s:\n\t%s\n", n, cmd)
	}
	return b.String()
}
