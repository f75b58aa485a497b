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
	"sort"

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
	return &Config{Path: path, file: f}, nil
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
	pc, err := vault.NewConfigLoader(base, c.file, name).GetProfileConfig(name)
	if err != nil {
		return nil, fmt.Errorf("loading profile %q from %s: %w", name, c.Path, err)
	}
	return pc, nil
}
