package profiles

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseBool reads a boolean as av reads every one it is given, in a flag, a variable or an
// av_ key of the config file: true/false, yes/no, on/off or 1/0, in any case, surrounding
// spaces left out. Any other word is an error, never false: `av_registry_only = ture`
// silently off would hand the command the credentials it was meant not to get.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("%s is not a boolean (true/false, yes/no, on/off, 1/0)", strconv.Quote(s))
}

// AVBool reads a boolean av_ key of the profile's own section. set is false where the key
// is missing or empty; a word ParseBool does not know is an error naming the profile and
// the key.
func (c *Config) AVBool(profile, key string) (value, set bool, err error) {
	v := c.AVSetting(profile, key)
	if v == "" {
		return false, false, nil
	}
	value, err = ParseBool(v)
	if err != nil {
		return false, true, fmt.Errorf("profile %q: %s: %w", profile, key, err)
	}
	return value, true, nil
}
