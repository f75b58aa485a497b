// Package profiles turns a profile name into AWS credentials exactly as aws-vault v7 does:
// the AWS config file, the encrypted vault (keyring), STS sessions, MFA and aws-vault's
// session cache. It is the only package that imports aws-vault and keyring.
package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/99designs/aws-vault/v7/vault"
)

// Config is the user's AWS config file, read the way aws-vault reads it.
type Config struct {
	Path string
	file *vault.ConfigFile
}

// ConfigPath returns $AWS_CONFIG_FILE, else ~/.aws/config.
func ConfigPath() (string, error) {
	if p := os.Getenv("AWS_CONFIG_FILE"); p != "" {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the AWS config file: %w", err)
	}
	return filepath.Join(home, ".aws", "config"), nil
}

// LoadConfig reads the AWS config file. A missing file is an empty config: unlike
// vault.LoadConfigFromEnv, av never creates ~/.aws/config (a run must leave nothing behind).
func LoadConfig() (*Config, error) {
	path, err := ConfigPath()
	if err != nil {
		return nil, err
	}
	src := path
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		// vault.LoadConfig creates any file it cannot stat; /dev/null always exists
		// and parses as an empty file.
		src = os.DevNull
	} else if err != nil {
		return nil, fmt.Errorf("reading the AWS config file %s: %w", path, err)
	}
	f, err := vault.LoadConfig(src)
	if err != nil {
		// The parse error may quote a line of the file; name the file only.
		return nil, fmt.Errorf("the AWS config file %s cannot be parsed", path)
	}
	if src == path {
		if err := checkDurations(path); err != nil {
			return nil, err
		}
	}
	return &Config{Path: path, file: f}, nil
}

// checkDurations refuses a duration_seconds that is not a whole number of seconds, in any
// profile's section: aws-vault reads every profile's section to list the profiles, and ini,
// given a number with a unit ("900s", "1h") for that unsigned field, sets a time.Duration
// into it and panics. (The AWS CLI takes only a number of seconds, too.)
func checkDurations(path string) error {
	f := parsedConfig(path)
	if f == nil {
		return nil // vault.LoadConfig parsed it; av's own reads of it will find nothing
	}
	for _, s := range f.Sections() {
		name, isProfile := strings.CutPrefix(s.Name(), "profile ")
		if !isProfile && name != "default" {
			continue
		}
		k, err := s.GetKey("duration_seconds")
		if err != nil || k.String() == "" {
			continue
		}
		if _, err := strconv.ParseUint(k.String(), 10, 64); err != nil {
			return fmt.Errorf("the AWS config file %s: profile %q: duration_seconds is not a whole number of seconds", path, name)
		}
	}
	return nil
}

// sourceLoop returns the profiles a loop through source_profile goes round, starting at name,
// or nil. aws-vault's ConfigLoader would recurse through such a loop until the stack ran out
// (it resets its loop detection at each source profile), a crash av cannot catch.
func sourceLoop(f *vault.ConfigFile, name string) []string {
	chain := []string{name}
	for p := sourceOf(f, name); p != ""; p = sourceOf(f, p) {
		chain = append(chain, p)
		if slices.Contains(chain[:len(chain)-1], p) {
			return chain
		}
	}
	return nil
}

// sourceOf is the source profile aws-vault's ConfigLoader gives a profile
// (populateFromConfigFile): the first source_profile along its section, then its
// include_profile's (and theirs), else [default]'s; none if that is the profile itself.
func sourceOf(f *vault.ConfigFile, name string) string {
	seen := map[string]bool{}
	for p := name; !seen[p]; {
		seen[p] = true
		s, _ := f.ProfileSection(p)
		switch {
		case s.SourceProfile == name:
			return ""
		case s.SourceProfile != "":
			return s.SourceProfile
		case s.IncludeProfile != "":
			p = s.IncludeProfile
		case p != "default":
			p = "default"
		}
	}
	return "" // a loop through include_profile: aws-vault reports that one itself
}

// Has reports whether the config file has a section for the profile
// ([profile NAME], or [default] for "default").
func (c *Config) Has(name string) bool {
	_, ok := c.file.ProfileSection(name)
	return ok
}

// Names lists the profiles the config file defines, sorted.
func (c *Config) Names() []string {
	names := c.file.ProfileNames()
	sort.Strings(names)
	return names
}

// profileConfig resolves a profile with its source_profile chain, include_profile and
// the environment, exactly as aws-vault exec does.
func (c *Config) profileConfig(name string, opts Options) (*vault.ProfileConfig, error) {
	base := vault.ProfileConfig{
		Region:                            opts.Region,
		MfaPromptMethod:                   mfaPromptMethod(),
		NonChainedGetSessionTokenDuration: opts.Duration,
		AssumeRoleDuration:                opts.Duration,
		MfaToken:                          opts.MFAToken,
	}
	if loop := sourceLoop(c.file, name); loop != nil {
		return nil, fmt.Errorf("loading profile %q from %s: source_profile goes round in a loop: %s", name, c.Path, strings.Join(loop, " → "))
	}
	pc, err := vault.NewConfigLoader(base, c.file, name).GetProfileConfig(name)
	if err != nil {
		return nil, fmt.Errorf("loading profile %q from %s: %w", name, c.Path, err)
	}
	return pc, nil
}
