package main

import (
	"context"
	"fmt"
	"os"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// ClearCmd is `av clear [PROFILE]`, as aws-vault's `clear`.
type ClearCmd struct {
	Profile  string `arg:"" optional:"" predictor:"profile" help:"Only this profile's items."`
	Sessions bool   `help:"Also remove aws-vault's cached sessions and SSO tokens, as aws-vault clear does."`
	vaultFlags
}

// Help is shown by av clear --help.
func (cmd *ClearCmd) Help() string {
	return `The next run mints its registry tokens again. av clear is av's own command, whatever
the profiles are called: run a profile named clear with AWS_PROFILE=clear av COMMAND.`
}

// Run removes av's cached items from the vault.
func (cmd *ClearCmd) Run(catch *runner.Catch, kctx *kong.Context) error {
	cfg, vault, err := cmd.openForCommand("clear", catch, kctx)
	if err != nil {
		return err
	}
	n, err := vault.Clear(context.Background(), cfg, profiles.ClearOptions{Profile: cmd.Profile, Sessions: cmd.Sessions})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("removed %d cached av item(s)", n.Items)
	if cmd.Sessions {
		msg += fmt.Sprintf(" and %d aws-vault session(s)", n.Sessions)
	}
	fmt.Fprintln(os.Stdout, msg)
	return nil
}

// Examples are shown at the end of av clear --help.
func (cmd *ClearCmd) Examples() []string {
	return []string{
		"av clear                         # every profile's cached registry tokens: the next run mints",
		"av clear dev                     # profile dev's only",
		"av clear --sessions dev          # and its aws-vault sessions and SSO login, as aws-vault clear",
	}
}
