package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// What `av add`, `av clear`, `av list` and `av remove` share, and how every command that
// opens the vault (the run too) opens it.

// openForCommand begins av's own commands that write nothing of a run and start no
// command (clear, list): signals do what they would do to any program (there is no child
// to pass them to, nor a file to remove); then it refuses `-- COMMAND`, reads the config
// file and opens the vault, whose lock goes where --runtime-dir says, as there is no run
// directory.
func (f *vaultFlags) openForCommand(name string, catch *runner.Catch, kctx *kong.Context) (*profiles.Config, *profiles.Vault, error) {
	catch.Stop()
	if err := refuseCommand(name, kctx); err != nil {
		return nil, nil, err
	}
	cfg, err := profiles.LoadConfig()
	if err != nil {
		return nil, nil, err
	}
	vault, err := f.openVault(context.Background(), vaultSetup{Fallback: f.runtimeDirFallback})
	if err != nil {
		return nil, nil, err
	}
	return cfg, vault, nil
}

// refuseCommand refuses `av NAME … -- COMMAND` for av's own commands: that is someone
// running COMMAND with a profile called NAME, and doing something else instead would be
// wrong.
func refuseCommand(name string, kctx *kong.Context) error {
	if slices.Contains(kctx.Args, "--") {
		return hinted{
			fmt.Errorf("av %s takes no command", name),
			fmt.Sprintf("to run a command with a profile named %s, write AWS_PROFILE=%s av COMMAND", name, name),
		}
	}
	return nil
}

// withPrompts runs fn with a context that SIGINT (Ctrl-C at a prompt), SIGTERM, SIGHUP and
// SIGQUIT end, as they end av's prompts before a command: the prompt puts the terminal's
// echo back and returns, and av then dies of that signal (ended), having written nothing.
func withPrompts(catch *runner.Catch, fn func(ctx context.Context) error) error {
	ctx, sup := runner.Supervise(context.Background(), runner.Options{Catch: catch})
	defer sup.Close()
	err := fn(ctx)
	if sig := sup.Interrupted(); sig != 0 {
		return ended{runner.Status{Signal: sig}}
	}
	return err
}

// vaultSetup is how a command opens the vault, beyond the environment's settings.
type vaultSetup struct {
	// Fallback gives where the vault's lock goes when the user's lock directory cannot be
	// had; nil, or "", for nowhere.
	Fallback func() (string, error)
	// Create: a file vault that does not exist yet is made by its first write (av add).
	Create bool
	// HelperTimeout bounds each program a write runs (pass, gpg): the run's --aws-timeout;
	// zero, profiles.DefaultAWSTimeout.
	HelperTimeout time.Duration
}

// openVault opens aws-vault's vault, with its lock where profiles places it: beside a file
// vault, else in the user's lock directory (env.LockDir), else, only if even that cannot
// be had, in s.Fallback's directory.
func (f *vaultFlags) openVault(ctx context.Context, s vaultSetup) (*profiles.Vault, error) {
	o := profiles.VaultOptionsFromEnv()
	o.Create = s.Create
	o.LockTimeout = f.LockTimeout
	o.HelperTimeout = s.HelperTimeout
	o.Lock = &profiles.LockPlaces{UserDir: env.LockDir, Fallback: s.Fallback}
	return profiles.OpenVault(ctx, o)
}

// runtimeDirFallback is, for av's own commands (which make no run directory), the
// directory --runtime-dir names, checked, as the place for the vault's lock; "" without
// --runtime-dir.
func (f *runtimeDirFlag) runtimeDirFallback() (string, error) {
	if f.RuntimeDir == "" {
		return "", nil
	}
	return env.Base(f.RuntimeDir)
}
