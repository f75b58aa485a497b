package profiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// defaultSourceKeys are the settings of a config file's [default] profile that the SDKs'
// default credential chain acts on before it looks at a container credential endpoint.
var defaultSourceKeys = []string{"aws_access_key_id", "credential_process", "sso_session", "sso_start_url",
	"role_arn", "web_identity_token_file"}

// DefaultShadow names what the AWS SDKs' default chain would take, from the shared files,
// before a container credential endpoint (their order: the environment's keys, then the
// profile's settings in the shared files, then the endpoint): the [default] profile's keys
// in the shared credentials file, or its keys or credential source in the config file. ""
// if nothing. The command av runs gets no AWS_PROFILE, so [default] is the one read.
func (c *Config) DefaultShadow() (string, error) {
	if f := c.ini(); f != nil {
		for _, name := range []string{"default", "profile default"} {
			s, err := f.GetSection(name)
			if err != nil {
				continue
			}
			for _, k := range defaultSourceKeys {
				if s.HasKey(k) {
					return fmt.Sprintf("%s in [%s] of %s", k, name, c.Path), nil
				}
			}
		}
	}
	path := SharedCredentialsFile(os.Getenv)
	if path == "" {
		return "", nil
	}
	data, err := ReadCapped(path, ReadOptions{Limit: MaxConfigFile})
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	f, err := loadINI(data)
	if err != nil {
		// Never the parse error: it may quote a secret.
		return "", &SyntaxError{Path: path, Line: iniErrorLine(data)}
	}
	if s, err := f.GetSection("default"); err == nil && (s.HasKey("aws_access_key_id") || s.HasKey("aws_secret_access_key")) {
		return "the [default] keys in " + path, nil
	}
	return "", nil
}
