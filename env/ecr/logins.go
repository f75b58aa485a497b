package ecr

import (
	"encoding/base64"
	"strings"
)

// Logins are a run's registry logins, as env writes them into the clients' files: bare
// host, in lower case as KeyHost gives it → docker "auth", base64("AWS:" + password).
type Logins map[string]string

// KeyHost reduces a credentials key to its host, the key of Logins: clients key their
// entries by bare host, "https://host/v1/" (docker's legacy form) and "host/repo" (crane
// looks that up first), in any case.
func KeyHost(key string) string {
	h := strings.TrimSpace(key)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return strings.ToLower(h)
}

// SplitAuth decodes a docker "auth", base64 "user:password", as Logins hold them; ok is
// false if it is not one.
func SplitAuth(auth string) (user, password string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(raw), ":")
}
