package main

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// What `av add`, `av list` and `av remove` share.

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
// echo back and returns, and av then dies of that signal (end), having written nothing.
func withPrompts(catch *runner.Catch, end *runner.Status, fn func(ctx context.Context) error) error {
	ctx, sup := runner.Supervise(context.Background(), runner.Options{Catch: catch})
	defer sup.Close()
	err := fn(ctx)
	if sig := sup.Interrupted(); sig != 0 {
		*end = runner.Status{Signal: sig}
		return nil
	}
	return err
}

// openVaultToManage opens the vault for av add, list and remove, with the lock every av
// shares (see openVault). create: a file vault that does not exist yet is made by the
// first write.
func (c *CLI) openVaultToManage(ctx context.Context, create bool) (*profiles.Vault, error) {
	o := profiles.VaultOptionsFromEnv()
	o.Create = create
	o.LockTimeout = c.LockTimeout
	lockDir, err := env.LockDir()
	if err != nil {
		if c.RuntimeDir == "" {
			return nil, err
		}
		fallback, berr := env.Base(c.RuntimeDir)
		if berr != nil {
			return nil, berr
		}
		log.Printf("%v; the vault's lock goes into %s instead", err, fallback)
		lockDir = fallback
	}
	o.LockDir = lockDir
	return profiles.OpenVault(ctx, o)
}
