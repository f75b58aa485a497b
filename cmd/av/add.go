package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/alecthomas/kong"
	"github.com/av-cli/av/profiles"
	"github.com/av-cli/av/runner"
)

// AddCmd is `av add PROFILE`, as `aws-vault add`: the same item, so each tool uses what
// the other stored.
type AddCmd struct {
	Profile string `arg:"" help:"The profile to store the keys for." predictor:"profile"`
	Env     bool   `help:"Read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead of asking on the terminal."`
	vaultFlags
}

// Help is shown by av add --help.
func (cmd *AddCmd) Help() string {
	return `The keys are asked for on the terminal and not echoed, or read from the environment
with --env. Keys the profile had are replaced, and its cached sessions and registry
tokens, obtained with the old keys, are removed (as aws-vault add does). av never writes
your AWS config file: a profile with no section there is run as av PROFILE -- COMMAND.`
}

// Examples are shown at the end of av add --help.
func (cmd *AddCmd) Examples() []string {
	return []string{
		"av add dev                       # asks for the access key id and the secret key",
		"AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… av add --env ci",
	}
}

// Run stores the profile's keys in the vault.
func (cmd *AddCmd) Run(catch *runner.Catch, kctx *kong.Context) error {
	if err := refuseCommand("add", kctx); err != nil {
		return err
	}
	if err := profiles.CheckProfileName(cmd.Profile); err != nil {
		return err
	}
	cfg, err := profiles.LoadConfig()
	if err != nil {
		return err
	}
	return withPrompts(catch, func(ctx context.Context) error {
		if !cmd.Env && !profiles.HaveTerminal() {
			// Before anything else: no vault to open, no passphrase to ask for.
			return hinted{
				errors.New("no terminal to ask for the keys on: nothing was stored"),
				fmt.Sprintf("put them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and run `av add --env %s`", shellWord(cmd.Profile)),
			}
		}
		var keys profiles.Keys
		if cmd.Env {
			// Before anything else too; and then out of av's environment: the pass
			// backend's pass and gpg, and a gpg-agent they start (which outlives av),
			// would inherit them. They get the item on their stdin alone.
			var err error
			if keys, err = keysFromEnv(); err != nil {
				return err
			}
			os.Unsetenv("AWS_ACCESS_KEY_ID")
			os.Unsetenv("AWS_SECRET_ACCESS_KEY")
		}
		vault, err := cmd.openVault(ctx, vaultSetup{Fallback: cmd.runtimeDirFallback, Create: true})
		if err != nil {
			return err
		}
		// Before the keys are asked for: a vault that opens may still be unable to store them.
		if err := vault.CanStore(); err != nil {
			return err
		}
		if !cmd.Env {
			if keys, err = cmd.askKeys(ctx); err != nil {
				return err
			}
		}
		if err := vault.ReadyToWrite(ctx); err != nil {
			if errors.Is(err, profiles.ErrPassphraseMismatch) {
				return hinted{err, fmt.Sprintf("run `av add %s` again", shellWord(cmd.Profile))}
			}
			return err
		}
		added, err := vault.Add(ctx, cfg, cmd.Profile, keys)
		var source *profiles.SourceProfileError
		if errors.As(err, &source) {
			return hinted{err, fmt.Sprintf("store the keys for that profile: `av add %s`", shellWord(source.Source))}
		}
		if err != nil {
			return err
		}
		verb := "added"
		if added.Replaced {
			verb = "replaced"
		}
		fmt.Printf("%s the keys of profile %q (access key id ending in %s) in the %s vault\n", verb, cmd.Profile, lastFour(keys.AccessKeyID), vault.Backend())
		if added.Removed > 0 {
			fmt.Printf("removed %s of the profile, got with the keys it had\n", plural(added.Removed, "cached session or token", "cached sessions and tokens"))
		}
		if !cfg.Has(cmd.Profile) {
			fmt.Printf("profile %q has no section in %s: run it as `av %s -- COMMAND`, with --region or a [profile %s] section that sets region\n",
				cmd.Profile, cfg.Path, shellWord(cmd.Profile), cmd.Profile)
		}
		return nil
	})
}

// askKeys reads the keys on the terminal, never echoed.
func (cmd *AddCmd) askKeys(ctx context.Context) (profiles.Keys, error) {
	id, err := profiles.AskSecret(ctx, "Access key ID (not echoed): ")
	if err != nil {
		return profiles.Keys{}, err
	}
	k := profiles.Keys{AccessKeyID: strings.TrimSpace(id)}
	if err := checkKeyID(k.AccessKeyID, "the access key id typed"); err != nil {
		return k, err
	}
	secret, err := profiles.AskSecret(ctx, "Secret access key (not echoed): ")
	if err != nil {
		return k, err
	}
	k.SecretAccessKey = strings.TrimSpace(secret)
	return k, checkSecret(k.SecretAccessKey, "the secret access key typed")
}

// keysFromEnv reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (av add --env).
func keysFromEnv() (profiles.Keys, error) {
	k := profiles.Keys{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	for _, v := range []struct{ name, value string }{{"AWS_ACCESS_KEY_ID", k.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", k.SecretAccessKey}} {
		if v.value == "" {
			return k, hinted{
				fmt.Errorf("%s is not set, and av add --env reads the keys from it: nothing was stored", v.name),
				"set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or leave out --env to type the keys",
			}
		}
	}
	if os.Getenv("AWS_SESSION_TOKEN") != "" {
		// A session's keys expire, and GetSessionToken refuses them: stored as a
		// profile's keys, they would fail on the first run.
		return k, hinted{
			errors.New("AWS_SESSION_TOKEN is set: the keys in the environment are a session's, and av add stores long-term keys: nothing was stored"),
			"use an IAM user's access keys; if these are long-term keys, unset AWS_SESSION_TOKEN",
		}
	}
	if err := checkKeyID(k.AccessKeyID, "AWS_ACCESS_KEY_ID"); err != nil {
		return k, err
	}
	return k, checkSecret(k.SecretAccessKey, "AWS_SECRET_ACCESS_KEY")
}

// checkKeyID refuses what no access key id looks like: anything but letters and digits
// (AWS's are 16 to 128 of them; stand-ins such as LocalStack take shorter ones), so that a
// secret key pasted in its place (those hold "/" and "+") is caught. It is never quoted.
func checkKeyID(id, what string) error {
	if id == "" {
		return fmt.Errorf("%s is empty: nothing was stored", what)
	}
	if len(id) > 128 || strings.ContainsFunc(id, func(r rune) bool { return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) }) {
		return hinted{
			fmt.Errorf("%s is not an access key id (letters and digits, like AKIA…): nothing was stored", what),
			"give the access key id first and the secret access key second",
		}
	}
	return nil
}

// checkSecret refuses an empty secret key, or one with spaces or control characters.
func checkSecret(secret, what string) error {
	if secret == "" {
		return fmt.Errorf("%s is empty: nothing was stored", what)
	}
	if strings.ContainsFunc(secret, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("%s holds a space or a control character, which no AWS secret key does: nothing was stored", what)
	}
	return nil
}

// lastFour is the most of a key av shows: its last four characters.
func lastFour(s string) string {
	if len(s) <= 4 {
		return s
	}
	return s[len(s)-4:]
}
