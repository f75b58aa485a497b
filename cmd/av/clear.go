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
	if cmd.Profile != "" {
		if err := known(cfg, vault, cmd.Profile); err != nil {
			return err
		}
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

// known refuses a profile that exists nowhere: not in the config file, and nothing in the
// vault (no keys, no cached item). Clearing it would remove nothing and say so, hiding a
// typo. It reads the vault's list of item names only: no passphrase is asked for.
func known(cfg *profiles.Config, vault *profiles.Vault, profile string) error {
	stored, err := vault.List(cfg)
	if err != nil {
		return err
	}
	var names []string
	for _, p := range stored {
		if p.Name == profile {
			return nil
		}
		names = append(names, p.Name)
	}
	unknown := &profiles.UnknownProfileError{Profile: profile, ConfigPath: cfg.Path, Suggestion: profiles.Closest(profile, names)}
	if unknown.Suggestion != "" {
		return hinted{unknown, fmt.Sprintf("did you mean %q?", unknown.Suggestion)}
	}
	return hinted{unknown, "`av list` shows the profiles of the config file and the vault"}
}

// Examples are shown at the end of av clear --help.
func (cmd *ClearCmd) Examples() []string {
	return []string{
		"av clear                         # every profile's cached registry tokens: the next run mints",
		"av clear dev                     # profile dev's only",
		"av clear --sessions dev          # and its aws-vault sessions and SSO login, as aws-vault clear",
	}
}
