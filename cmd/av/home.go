package main

import (
	"os"
	"os/user"
	"slices"
	"strings"
)

// home is what av found of HOME, for the command's environment.
type home struct {
	added    bool   // av set HOME from the user database
	had      bool   // HOME was set, though empty
	original string // its value then
}

// ensureHome sets HOME from the user database where it is unset or empty (`env -i`, a
// systemd unit, Bazel), as the AWS SDK and crane find the home without it: av's own reads
// of ~/.aws, ~/.docker and the vault then work. The command still gets HOME as av got it
// (home.environ).
func ensureHome() home {
	v, had := os.LookupEnv("HOME")
	if v != "" {
		return home{}
	}
	u, err := user.Current()
	if err != nil || u.HomeDir == "" {
		return home{}
	}
	os.Setenv("HOME", u.HomeDir)
	return home{added: true, had: had, original: v}
}

// environ puts HOME back in env as av got it, if av set it.
func (h home) environ(env []string) []string {
	if !h.added {
		return env
	}
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "HOME=") })
	if h.had {
		env = append(env, "HOME="+h.original)
	}
	return env
}
