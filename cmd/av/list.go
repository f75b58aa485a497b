package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/runner"
)

// ListCmd is `av list`, as `aws-vault list`, with av's registry tokens.
type ListCmd struct {
	JSON bool `name:"json" help:"Print JSON for scripts instead of a table."`
	vaultFlags
}

// Help is shown by av list --help.
func (cmd *ListCmd) Help() string {
	return `One row per profile of the AWS config file and of the vault: whether the vault holds its
keys, its cached sessions, and av's cached registry tokens, with how long each has left.
av list reads the names of the vault's items only, never an item: it decrypts nothing,
never asks for the file backend's passphrase, and prints no secret.`
}

// Examples are shown at the end of av list --help.
func (cmd *ListCmd) Examples() []string {
	return []string{
		"av list",
		"av list --json | jq -r '.profiles[] | select(.keys) | .name'",
	}
}

// listJSON is av list --json.
type listJSON struct {
	Backend  string        `json:"backend"`
	Profiles []profileJSON `json:"profiles"`
}

type profileJSON struct {
	Name           string       `json:"name"`
	InConfig       bool         `json:"in_config"`
	Keys           bool         `json:"keys"`
	Sessions       []cachedJSON `json:"sessions"`
	RegistryTokens []cachedJSON `json:"registry_tokens"`
}

type cachedJSON struct {
	Type    string `json:"type"`
	Expires string `json:"expires,omitempty"` // RFC 3339; none for an SSO login
	Expired bool   `json:"expired"`

	at time.Time // Expires, for the table
}

// Run prints the profiles.
func (cmd *ListCmd) Run(catch *runner.Catch, kctx *kong.Context) error {
	cfg, vault, err := cmd.openForCommand("list", catch, kctx)
	if err != nil {
		return err
	}
	all, err := vault.List(cfg)
	if err != nil {
		return err
	}
	out := listJSON{Backend: vault.Backend(), Profiles: make([]profileJSON, 0, len(all))}
	now := time.Now()
	for _, p := range all {
		pj := profileJSON{Name: p.Name, InConfig: p.InConfig, Keys: p.HasKeys, Sessions: []cachedJSON{}, RegistryTokens: []cachedJSON{}}
		for _, c := range p.Cached {
			cj := cachedJSON{Type: c.Type, at: c.Expires}
			if !c.Expires.IsZero() {
				cj.Expires = c.Expires.UTC().Format(time.RFC3339)
				cj.Expired = !now.Before(c.Expires)
			}
			if c.Kind == ecr.TokenKind {
				pj.RegistryTokens = append(pj.RegistryTokens, cj)
			} else {
				pj.Sessions = append(pj.Sessions, cj)
			}
		}
		out.Profiles = append(out.Profiles, pj)
	}
	if cmd.JSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(out)
	}
	return printList(os.Stdout, out, now)
}

// printList prints the table people read: one row per profile.
func printList(w io.Writer, l listJSON, now time.Time) error {
	if len(l.Profiles) == 0 {
		_, err := fmt.Fprintf(w, "no profiles: the AWS config file defines none and the %s vault holds none (add keys with `av add PROFILE`)\n", l.Backend)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tCONFIG\tKEYS\tSESSIONS\tREGISTRY TOKENS")
	for _, p := range l.Profiles {
		var sessions, tokens []string
		for _, s := range p.Sessions {
			if s.Type == "oidc" {
				sessions = append(sessions, "SSO login")
				continue
			}
			sessions = append(sessions, s.Type+" "+timeLeft(s, now))
		}
		for _, t := range p.RegistryTokens {
			tokens = append(tokens, timeLeft(t, now))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", shellWord(p.Name), yesNo(p.InConfig), yesNo(p.Keys), joinOrDash(sessions), joinOrDash(tokens))
	}
	return tw.Flush()
}

// timeLeft is how long an item has left, in hours and minutes ("11h52m"), or "expired".
func timeLeft(c cachedJSON, now time.Time) string {
	if c.Expired {
		return "expired"
	}
	d := c.at.Sub(now)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case d < time.Minute:
		return "<1m left"
	case h == 0:
		return fmt.Sprintf("%dm left", m)
	}
	return fmt.Sprintf("%dh%02dm left", h, m)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func joinOrDash(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	return strings.Join(items, ", ")
}
