package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// RemoveCmd is `av remove PROFILE`: the profile's keys and everything cached for it.
type RemoveCmd struct {
	Profile      string `arg:"" help:"The profile to remove from the vault." predictor:"profile"`
	Force        bool   `short:"f" help:"Remove without asking."`
	SessionsOnly bool   `name:"sessions-only" short:"s" help:"Keep the keys: remove only the cached sessions, SSO login and registry tokens."`
	vaultFlags
}

// Help is shown by av remove --help.
func (cmd *RemoveCmd) Help() string {
	return `Removes the profile's keys, its cached sessions and SSO login (aws-vault's), and av's
cached registry tokens, so that neither av nor aws-vault can use the profile afterwards
(aws-vault remove leaves the sessions, which aws-vault exec goes on using until they
expire). It asks on the terminal first; without one, --force is needed. The AWS config
file is left as it is.`
}

// Examples are shown at the end of av remove --help.
func (cmd *RemoveCmd) Examples() []string {
	return []string{
		"av remove dev",
		"av remove --force ci             # no question (a script, no terminal)",
		"av remove --sessions-only dev    # log out: keep the keys, drop what was cached",
	}
}

// Run removes the profile from the vault.
func (cmd *RemoveCmd) Run(catch *runner.Catch, kctx *kong.Context) error {
	if err := refuseCommand("remove", kctx); err != nil {
		return err
	}
	cfg, err := profiles.LoadConfig()
	if err != nil {
		return err
	}
	return withPrompts(catch, func(ctx context.Context) error {
		vault, err := cmd.openVault(ctx, vaultSetup{Fallback: cmd.runtimeDirFallback})
		if err != nil {
			return err
		}
		stored, err := vault.Stored(cfg, cmd.Profile)
		var none *profiles.NothingStoredError
		if errors.As(err, &none) {
			if none.Suggestion != "" {
				return hinted{err, fmt.Sprintf("did you mean %q? `av list` shows what the vault holds", none.Suggestion)}
			}
			return hinted{err, "`av list` shows what the vault holds"}
		}
		if err != nil {
			return err
		}
		what := removalWords(stored, cmd.SessionsOnly)
		if what == "" {
			fmt.Printf("nothing removed: profile %q has nothing cached in the %s vault\n", cmd.Profile, vault.Backend())
			return nil
		}
		if !cmd.Force {
			if !profiles.HaveTerminal() {
				return hinted{
					fmt.Errorf("no terminal to ask on before removing %s of profile %q: nothing was removed", what, cmd.Profile),
					fmt.Sprintf("to remove without asking, run `av remove --force %s`", shellWord(cmd.Profile)),
				}
			}
			answer, err := profiles.Ask(ctx, fmt.Sprintf("Remove %s of profile %q from the %s vault? [y/N] ", what, cmd.Profile, vault.Backend()))
			if err != nil {
				return err
			}
			if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
				fmt.Println("nothing removed")
				return nil
			}
		}
		if _, err := vault.Remove(ctx, cfg, cmd.Profile, profiles.RemoveOptions{SessionsOnly: cmd.SessionsOnly}); err != nil {
			return err
		}
		fmt.Printf("removed %s of profile %q from the %s vault\n", what, cmd.Profile, vault.Backend())
		return nil
	})
}

// removalWords says what av remove would take out, for its question: "the keys and 2
// cached items", or "" for nothing.
func removalWords(p profiles.StoredProfile, sessionsOnly bool) string {
	sessions, tokens := 0, 0
	for _, c := range p.Cached {
		if c.Kind == ecr.TokenKind {
			tokens++
		} else {
			sessions++
		}
	}
	var parts []string
	if p.HasKeys && !sessionsOnly {
		parts = append(parts, "the keys")
	}
	if sessions > 0 {
		parts = append(parts, plural(sessions, "cached session", "cached sessions"))
	}
	if tokens > 0 {
		parts = append(parts, plural(tokens, "registry token item", "registry token items"))
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
