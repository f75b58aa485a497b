package env

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/av-cli/av/env/ecr"
)

// injects reports whether a credentials key (a bare host, "https://host", "host/repo", …)
// names one of the injected hosts.
func injects(l ecr.Logins, key string) bool {
	_, ok := l[ecr.KeyHost(key)]
	return ok
}

// StoreLister lists the registries a docker credential helper holds
// (`docker-credential-NAME list`), as the keys the helper uses.
type StoreLister func(helper string) ([]string, error)

// DockerMerge is the result of merging a user's docker (or helm) config with av's logins.
type DockerMerge struct {
	Config []byte
	Notes  []string // what was decided and why, for --debug (names, never values)
}

// MergeDockerConfig returns the user's docker config (a JSON object, or empty for none)
// with every key kept as it was, minus each auths/credHelpers entry for an injected host,
// plus the injected auths. No credsStore and no empty helper survive: a store becomes
// per-host credHelpers for the hosts it holds (its `list`, plus the hosts in auths), minus
// the injected hosts, because crane, oras and helm ask a configured store before auths
// (CLIENTS.md). detectStore gives the store docker would detect when the file has no auth
// configuration at all ("" for none); it is asked only for such a file.
func MergeDockerConfig(user []byte, logins ecr.Logins, list StoreLister, detectStore func() string) (DockerMerge, error) {
	return mergeDocker(user, nil, logins, list, detectStore)
}

// mergeDocker is MergeDockerConfig, with legacy (a docker config holding ~/.dockercfg's
// logins, for a user with no config.json; else nil) merged in as the clients that read
// that file take it: its logins as auths, after the store docker would detect for the
// missing config.json has been given the hosts it holds (a helper is asked before auths).
func mergeDocker(user, legacy []byte, logins ecr.Logins, list StoreLister, detectStore func() string) (DockerMerge, error) {
	var m DockerMerge
	c, err := decodeClientConfig(user)
	if err != nil {
		return m, err
	}
	old, err := decodeClientConfig(legacy)
	if err != nil {
		return m, err
	}
	store := c.store
	// docker detects pass/secretservice only for a file with no auth configuration; av's
	// logins are auth configuration, so av does the detection in docker's place.
	if store == "" && len(c.auths) == 0 && len(c.helpers) == 0 {
		if store = detectStore(); store != "" {
			m.Notes = append(m.Notes, fmt.Sprintf("docker would detect credential store %q: kept for the other registries", store))
		}
	}
	if store != "" {
		hosts, lerr := list(store)
		if lerr != nil {
			m.Notes = append(m.Notes, fmt.Sprintf("docker-credential-%s list failed (%v): only the registries named in auths keep using it", store, lerr))
		}
		for k := range c.auths {
			hosts = append(hosts, k)
		}
		for _, h := range hosts {
			if _, explicit := c.helpers[h]; !explicit {
				c.helpers[h] = store
			}
		}
	}
	for k, v := range old.auths {
		if _, ok := c.auths[k]; !ok {
			c.auths[k] = v
		}
	}
	if len(old.auths) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("%d login(s) of ~/.dockercfg kept: there is no config.json", len(old.auths)))
	}
	// An empty helper means "use auths" to docker, but makes containers/image exec
	// "docker-credential-" and fail; without credsStore, leaving the key out means the
	// same thing to docker.
	for k, v := range c.helpers {
		if v == "" {
			delete(c.helpers, k)
		}
	}
	m.Config, err = c.withLogins(logins)
	return m, err
}

// MergeAuthFiles merges containers auth files (REGISTRY_AUTH_FILE's format) in
// containers/image's order of precedence (the first file naming a host wins) with av's
// logins: auths and non-empty credHelpers only, as containers/image ignores credsStore.
func MergeAuthFiles(files [][]byte, logins ecr.Logins) ([]byte, error) {
	merged := clientConfig{doc: map[string]json.RawMessage{}, auths: map[string]json.RawMessage{}, helpers: map[string]string{}}
	for _, f := range files {
		c, err := decodeClientConfig(f)
		if err != nil {
			return nil, err
		}
		for k, v := range c.auths {
			if _, seen := merged.auths[k]; !seen {
				merged.auths[k] = v
			}
		}
		for k, v := range c.helpers {
			if _, seen := merged.helpers[k]; !seen && v != "" {
				merged.helpers[k] = v
			}
		}
	}
	return merged.withLogins(logins)
}

// clientConfig is a docker-format config file: every member raw, and the three that carry
// credentials decoded.
type clientConfig struct {
	doc     map[string]json.RawMessage
	auths   map[string]json.RawMessage
	logins  map[string]login // auths decoded, for av doctor
	helpers map[string]string
	store   string
}

// login is an auths entry as the clients decode it (docker's types.AuthConfig): encoding/json
// matches the members in any case.
type login struct {
	Auth, Username, Password, IdentityToken, RegistryToken, ServerAddress, Email string
}

// decodeClientConfig reads a config (empty for none). Errors never quote the input: these
// files hold credentials.
//
// The credential members are read as the clients read them: docker/cli's configfile (docker,
// buildx, crane) and containers/image decode the file into a struct, so encoding/json matches
// "auths", "credHelpers" and "credsStore" in any case ("CredHelpers" is a helper docker asks
// before auths), and of members that differ only in case the later overwrites, or adds to,
// the earlier. Every spelling leaves doc: withLogins writes each member once, spelled as
// documented, which oras and helm (exact names only) read the same way.
func decodeClientConfig(data []byte) (clientConfig, error) {
	c := clientConfig{doc: map[string]json.RawMessage{}, auths: map[string]json.RawMessage{}, logins: map[string]login{}, helpers: map[string]string{}}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	if err := json.Unmarshal(data, &c.doc); err != nil || c.doc == nil {
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return c, fmt.Errorf("not valid JSON at line %d", jsonErrorLine(data, syntax.Offset))
		}
		return c, errors.New("not a JSON object")
	}
	var creds struct {
		Auths       map[string]json.RawMessage `json:"auths"`
		CredHelpers map[string]string          `json:"credHelpers"`
		CredsStore  string                     `json:"credsStore"`
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			switch member, _, _ := strings.Cut(te.Field, "."); member {
			case "credHelpers":
				return c, errors.New(`"credHelpers" is not an object of strings`)
			case "credsStore":
				return c, errors.New(`"credsStore" is not a string`)
			}
		}
		return c, errors.New(`"auths" is not an object`)
	}
	for k, raw := range creds.Auths {
		// Each entry is a login the clients decode: an object of strings, or null.
		var l login
		if err := json.Unmarshal(raw, &l); err != nil {
			return c, errors.New(`"auths" is not an object of logins`)
		}
		c.auths[k], c.logins[k] = raw, l
	}
	for k, v := range creds.CredHelpers {
		c.helpers[k] = v
	}
	c.store = creds.CredsStore
	for k := range c.doc {
		if isCredentialMember(k) {
			delete(c.doc, k)
		}
	}
	return c, nil
}

// jsonErrorLine is the line of data that encoding/json stopped at, offset bytes in: the
// number is all an error about these files may give (a line of one may hold a token). A
// file that ends too soon is reported at its last line that is not blank.
func jsonErrorLine(data []byte, offset int64) int {
	end := min(int(offset), len(bytes.TrimRight(data, " \t\r\n")))
	return 1 + bytes.Count(data[:max(end-1, 0)], []byte("\n"))
}

// isCredentialMember reports whether a config member is, to the clients, one of the three
// that carry credentials, in any spelling encoding/json matches.
func isCredentialMember(k string) bool {
	return strings.EqualFold(k, "auths") || strings.EqualFold(k, "credHelpers") || strings.EqualFold(k, "credsStore")
}

// withLogins drops every auths and credHelpers entry for an injected host, adds the
// logins, and encodes the whole document.
func (c clientConfig) withLogins(logins ecr.Logins) ([]byte, error) {
	for k := range c.auths {
		if injects(logins, k) {
			delete(c.auths, k)
		}
	}
	for k := range c.helpers {
		if injects(logins, k) {
			delete(c.helpers, k)
		}
	}
	for host, auth := range logins {
		entry, _ := json.Marshal(map[string]string{"auth": auth})
		c.auths[host] = entry
	}
	raw, err := json.Marshal(c.auths)
	if err != nil {
		return nil, err
	}
	c.doc["auths"] = raw
	if len(c.helpers) > 0 {
		if raw, err = json.Marshal(c.helpers); err != nil {
			return nil, err
		}
		c.doc["credHelpers"] = raw
	}
	out, err := json.MarshalIndent(c.doc, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
