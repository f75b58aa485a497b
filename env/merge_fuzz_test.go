package env

import (
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/av-cli/av/env/ecr"
)

// clientView is a config file as the docker CLI, crane (docker/cli's configfile) and
// containers/image read it: encoding/json into a struct, whose member names match in any
// case, a later member overwriting (or, for an object, adding to) an earlier one.
type clientView struct {
	Auths       map[string]struct{ Auth string } `json:"auths"`
	CredHelpers map[string]string                `json:"credHelpers"`
	CredsStore  string                           `json:"credsStore"`
}

// orasView is the same file as oras and helm read it (oras-go's credentials config): the
// members named exactly so.
type orasView struct {
	auths   map[string]struct{ Auth string }
	helpers map[string]string
	store   string
}

func readOras(t *testing.T, data []byte) orasView {
	t.Helper()
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("output is not a JSON object: %v", err)
	}
	var v orasView
	if raw, ok := doc["auths"]; ok {
		if err := json.Unmarshal(raw, &v.auths); err != nil {
			t.Fatalf("output auths: %v", err)
		}
	}
	if raw, ok := doc["credHelpers"]; ok {
		if err := json.Unmarshal(raw, &v.helpers); err != nil {
			t.Fatalf("output credHelpers: %v", err)
		}
	}
	if raw, ok := doc["credsStore"]; ok {
		if err := json.Unmarshal(raw, &v.store); err != nil {
			t.Fatalf("output credsStore: %v", err)
		}
	}
	return v
}

// mergeErrors are the only errors a merge gives: fixed words, never a piece of the file;
// a syntax error's line number is the one part that varies.
var mergeErrors = []string{
	"not a JSON object",
	"not valid JSON at line N",
	`"auths" is not an object`,
	`"auths" is not an object of logins`,
	`"credHelpers" is not an object of strings`,
	`"credsStore" is not a string`,
}

// fixedError is err's words with any line number written N, for mergeErrors.
func fixedError(err error) string {
	return regexp.MustCompile(`line [0-9]+$`).ReplaceAllString(err.Error(), "line N")
}

// checkLogins asserts what every client must find in a merged file: av's login for each
// injected host, and no store or helper that would be asked for it instead.
func checkLogins(t *testing.T, out []byte, logins ecr.Logins) {
	t.Helper()
	var c clientView
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("docker cannot read the output: %v\n%s", err, out)
	}
	o := readOras(t, out)
	for name, v := range map[string]struct {
		auths   map[string]struct{ Auth string }
		helpers map[string]string
		store   string
	}{"docker": {c.Auths, c.CredHelpers, c.CredsStore}, "oras": {o.auths, o.helpers, o.store}} {
		if v.store != "" {
			t.Fatalf("%s reads credsStore %q in the output\n%s", name, v.store, out)
		}
		for h, helper := range v.helpers {
			if helper == "" || injects(logins, h) {
				t.Fatalf("%s reads helper %q=%q in the output\n%s", name, h, helper, out)
			}
		}
		for h, auth := range logins {
			if v.auths[h].Auth != auth {
				t.Fatalf("%s reads %q for %s, not av's login\n%s", name, v.auths[h].Auth, h, out)
			}
		}
		for k := range v.auths {
			if injects(logins, k) {
				if _, exact := logins[k]; !exact {
					t.Fatalf("%s reads a second entry %q for an injected host\n%s", name, k, out)
				}
			}
		}
	}
}

// fuzzLogins are the logins of a fuzz case: ECR's, and one for a host the input names (as a
// login's host is always bare and lower case: ecr.ParseRegistry and ecr.Mint make it so).
func fuzzLogins(host string) ecr.Logins {
	l := ecr.Logins{ecrHost: token}
	if h := ecr.KeyHost(host); h != "" && h == host {
		l[h] = "QVdTOmZ1eno=" // base64("AWS:fuzz")
	}
	return l
}

// FuzzMergeDockerConfig merges arbitrary user configs (docker's config.json, helm's registry
// config) with av's logins. A bad file gives one of the fixed errors; otherwise the output is
// a JSON object that keeps each of the user's other members as it was, keeps the user's
// logins for the other hosts, and makes every client (read as docker and as oras read it)
// use av's login for each injected host.
func FuzzMergeDockerConfig(f *testing.F) {
	for _, seed := range []struct{ user, host, list, detected string }{
		{``, "", "", ""},
		{`{}`, "", "", "desktop"},
		{`null`, "", "", ""},
		{`{"auths":{}}`, "ghcr.io", "", ""},
		{`{"credsStore":"desktop","auths":{"a":{}}}`, "", "quay.io\x00" + ecrHost, ""},
		{`{"credHelpers":{"` + ecrHost + `":"ecr-login","x":""}}`, "", "", ""},
		{`{"proxies":{"a":1},"auths":null}`, "", "", ""},
		{`{"auths":{"https://` + ecrHost + `/v1/":{"auth":"x"}}}`, "", "", ""},
		{`{"auths":{"https://index.docker.io/v1/":{"auth":"ZHU6cHc="},"ghcr.io":{"auth":"Z2g6cHc="}},"credsStore":"desktop","currentContext":"remote","HttpHeaders":{"User-Agent":"x"}}`, "ghcr.io", "https://index.docker.io/v1/\x00quay.io", ""},
		{`{"auths":{"localhost:5000":{"auth":"dTpw"}},"credHelpers":{"localhost:5000":"secretservice","gcr.io":"gcloud","` + ecrHost + `/team":"ecr-login"}}`, "localhost:5000", "", ""},
		{"{\n\t\"auths\": {\n\t\t\"" + ecrHost + "\": {}\n\t},\n\t\"credsStore\": \"pass\",\n\t\"plugins\": {\"buildx\": {\"x\": \"y\"}},\n\t\"aliases\": {\"builder\": \"buildx\"}\n}\n", "", ecrHost, "pass"},
		{`{"experimental":"enabled","stackOrchestrator":"swarm","detachKeys":"ctrl-e,e","psFormat":"table {{.ID}}"}`, "", "", "secretservice"},
		{`{"auths":{"` + strings.ToUpper(ecrHost) + `":{"auth":"b2xk"}}}`, "", "", ""},
	} {
		f.Add([]byte(seed.user), seed.host, seed.list, seed.detected)
	}
	f.Fuzz(func(t *testing.T, user []byte, host, list, detected string) {
		logins := fuzzLogins(host)
		listed := strings.Split(list, "\x00")
		lister := func(string) ([]string, error) {
			if list == "" {
				return nil, errors.New("no such helper")
			}
			return listed, nil
		}
		m, err := MergeDockerConfig(user, logins, lister, func() string { return detected })
		if err != nil {
			if !slices.Contains(mergeErrors, fixedError(err)) {
				t.Fatalf("error %q is not one of the fixed ones", err)
			}
			return
		}
		var out map[string]json.RawMessage
		if err := json.Unmarshal(m.Config, &out); err != nil || out == nil {
			t.Fatalf("output is not a JSON object: %v\n%s", err, m.Config)
		}
		checkLogins(t, m.Config, logins)

		// The user's other members, as they were, and nothing else but auths and credHelpers.
		var in map[string]json.RawMessage
		_ = json.Unmarshal(user, &in)
		for k, v := range in {
			if strings.EqualFold(k, "auths") || strings.EqualFold(k, "credHelpers") || strings.EqualFold(k, "credsStore") {
				continue
			}
			if !sameJSON(v, out[k]) {
				t.Fatalf("member %q changed: %s → %s", k, v, out[k])
			}
		}
		for k := range out {
			if _, ok := in[k]; !ok && k != "auths" && k != "credHelpers" {
				t.Fatalf("member %q appeared from nowhere\n%s", k, m.Config)
			}
		}

		// The user's own logins for other hosts stay, as the clients read them.
		var before, after clientView
		_ = json.Unmarshal(user, &before)
		_ = json.Unmarshal(m.Config, &after)
		for k, v := range before.Auths {
			if !injects(logins, k) && after.Auths[k] != v {
				t.Fatalf("the user's login for %q was lost\n%s", k, m.Config)
			}
		}
		for k, v := range before.CredHelpers {
			if v != "" && !injects(logins, k) && after.CredHelpers[k] != v {
				t.Fatalf("the user's helper for %q was lost\n%s", k, m.Config)
			}
		}
	})
}

// FuzzMergeAuthFiles merges two arbitrary containers auth files with av's logins: fixed
// errors only; else containers/image finds av's login for each injected host, and for
// every other host the first file's entry.
func FuzzMergeAuthFiles(f *testing.F) {
	for _, seed := range []struct{ first, second, host string }{
		{``, ``, ""},
		{`{"auths":{"quay.io":{"auth":"Zmlyc3Q="},"` + ecrHost + `":{"auth":"b2xk"}},"credHelpers":{"gcr.io":"gcloud","empty.io":""}}`, `{"auths":{"quay.io":{"auth":"c2Vjb25k"},"ghcr.io":{"auth":"Z2g="}},"credsStore":"desktop","credHelpers":{"gcr.io":"other"}}`, "ghcr.io"},
		{`{"auths":{"registry.example.com/team/app":{"auth":"dTpw"}}}`, `{"auths":{"registry.example.com":{"auth":"dTpx"}}}`, "registry.example.com"},
		{`{"credHelpers":{"` + ecrHost + `/team/app":"ecr-login"}}`, `null`, ""},
	} {
		f.Add([]byte(seed.first), []byte(seed.second), seed.host)
	}
	f.Fuzz(func(t *testing.T, first, second []byte, host string) {
		logins := fuzzLogins(host)
		out, err := MergeAuthFiles([][]byte{first, second}, logins)
		if err != nil {
			if !slices.Contains(mergeErrors, fixedError(err)) {
				t.Fatalf("error %q is not one of the fixed ones", err)
			}
			return
		}
		checkLogins(t, out, logins)
		var merged clientView
		_ = json.Unmarshal(out, &merged)
		var a, b clientView
		_ = json.Unmarshal(first, &a)
		_ = json.Unmarshal(second, &b)
		for _, k := range append(mapKeys(a.Auths), mapKeys(b.Auths)...) {
			if injects(logins, k) {
				continue
			}
			want, ok := a.Auths[k]
			if !ok {
				want = b.Auths[k]
			}
			if merged.Auths[k] != want {
				t.Fatalf("auths %q = %+v, want %+v\n%s", k, merged.Auths[k], want, out)
			}
		}
	})
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
