package env

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Logins are the registry logins av injects: bare host → base64("AWS:" + password).
type Logins map[string]string

// injects reports whether a credentials key (a bare host, "https://host", "host/repo", …)
// names one of the injected hosts.
func (l Logins) injects(key string) bool {
	_, ok := l[keyHost(key)]
	return ok
}

// keyHost reduces a credentials key to its host: clients key their entries by bare host,
// "https://host/v1/" (docker's legacy form) and "host/repo" (crane looks that up first).
func keyHost(key string) string {
	h := strings.TrimSpace(key)
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return strings.ToLower(h)
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
// (CLIENTS.md). autoStore is the store docker would detect when the file has no auth
// configuration at all ("" for none).
func MergeDockerConfig(user []byte, logins Logins, list StoreLister, autoStore string) (DockerMerge, error) {
	var m DockerMerge
	doc, err := decodeObject(user)
	if err != nil {
		return m, err
	}
	auths, err := decodeAuths(doc)
	if err != nil {
		return m, err
	}
	helpers, err := decodeHelpers(doc)
	if err != nil {
		return m, err
	}
	store, err := decodeStore(doc)
	if err != nil {
		return m, err
	}
	// docker detects pass/secretservice only for a file with no auth configuration; av's
	// logins are auth configuration, so av does the detection in docker's place.
	if store == "" && len(auths) == 0 && len(helpers) == 0 && autoStore != "" {
		store = autoStore
		m.Notes = append(m.Notes, fmt.Sprintf("docker would detect credential store %q: kept for the other registries", autoStore))
	}

	if store != "" {
		hosts, lerr := list(store)
		if lerr != nil {
			m.Notes = append(m.Notes, fmt.Sprintf("docker-credential-%s list failed (%v): only the registries named in auths keep using it", store, lerr))
		}
		for k := range auths {
			hosts = append(hosts, k)
		}
		for _, h := range hosts {
			if _, explicit := helpers[h]; explicit || logins.injects(h) {
				continue
			}
			helpers[h] = store
		}
	}
	for k := range auths {
		if logins.injects(k) {
			delete(auths, k)
		}
	}
	for k, v := range helpers {
		// An empty helper means "use auths" to docker, but makes containers/image exec
		// "docker-credential-" and fail; without credsStore, leaving the key out means
		// the same thing to docker.
		if v == "" || logins.injects(k) {
			delete(helpers, k)
		}
	}
	for host, auth := range logins {
		entry, _ := json.Marshal(map[string]string{"auth": auth})
		auths[host] = entry
	}

	delete(doc, "credsStore")
	if err := setMember(doc, "auths", auths); err != nil {
		return m, err
	}
	if len(helpers) > 0 {
		if err := setMember(doc, "credHelpers", helpers); err != nil {
			return m, err
		}
	} else {
		delete(doc, "credHelpers")
	}
	m.Config, err = encode(doc)
	return m, err
}

// MergeAuthFiles merges containers auth files (REGISTRY_AUTH_FILE's format) in
// containers/image's order of precedence (the first file naming a host wins) with av's
// logins: auths and non-empty credHelpers only, as containers/image ignores credsStore.
func MergeAuthFiles(files [][]byte, logins Logins) ([]byte, error) {
	auths := map[string]json.RawMessage{}
	helpers := map[string]string{}
	for _, f := range files {
		doc, err := decodeObject(f)
		if err != nil {
			return nil, err
		}
		a, err := decodeAuths(doc)
		if err != nil {
			return nil, err
		}
		h, err := decodeHelpers(doc)
		if err != nil {
			return nil, err
		}
		for k, v := range a {
			if _, seen := auths[k]; !seen {
				auths[k] = v
			}
		}
		for k, v := range h {
			if _, seen := helpers[k]; !seen && v != "" {
				helpers[k] = v
			}
		}
	}
	for k := range auths {
		if logins.injects(k) {
			delete(auths, k)
		}
	}
	for k := range helpers {
		if logins.injects(k) {
			delete(helpers, k)
		}
	}
	for host, auth := range logins {
		entry, _ := json.Marshal(map[string]string{"auth": auth})
		auths[host] = entry
	}
	doc := map[string]json.RawMessage{}
	if err := setMember(doc, "auths", auths); err != nil {
		return nil, err
	}
	if len(helpers) > 0 {
		if err := setMember(doc, "credHelpers", helpers); err != nil {
			return nil, err
		}
	}
	return encode(doc)
}

// decodeObject reads a JSON object keeping every member raw. Errors never quote the input:
// these files hold credentials.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	doc := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(data)) == 0 {
		return doc, nil
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return nil, errors.New("not a JSON object")
	}
	return doc, nil
}

func decodeAuths(doc map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	auths := map[string]json.RawMessage{}
	if raw, ok := doc["auths"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &auths); err != nil || auths == nil {
			return nil, errors.New(`"auths" is not an object`)
		}
	}
	return auths, nil
}

func decodeHelpers(doc map[string]json.RawMessage) (map[string]string, error) {
	helpers := map[string]string{}
	if raw, ok := doc["credHelpers"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &helpers); err != nil || helpers == nil {
			return nil, errors.New(`"credHelpers" is not an object of strings`)
		}
	}
	return helpers, nil
}

func decodeStore(doc map[string]json.RawMessage) (string, error) {
	var store string
	if raw, ok := doc["credsStore"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &store); err != nil {
			return "", errors.New(`"credsStore" is not a string`)
		}
	}
	return store, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func setMember(doc map[string]json.RawMessage, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc[key] = raw
	return nil
}

func encode(doc map[string]json.RawMessage) ([]byte, error) {
	out, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// sortedHosts lists the logins' hosts in order, for messages.
func (l Logins) sortedHosts() []string {
	hosts := make([]string, 0, len(l))
	for h := range l {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}
