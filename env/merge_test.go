package env

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/av-cli/av/env/ecr"
)

const (
	ecrHost = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	token   = "QVdTOnNlY3JldA==" // base64("AWS:secret")
)

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, data)
	}
	return v
}

func TestMergeDockerConfig(t *testing.T) {
	lister := func(hosts ...string) StoreLister {
		return func(store string) ([]string, error) {
			if store != "desktop" {
				return nil, errors.New("no such helper")
			}
			return hosts, nil
		}
	}
	tests := []struct {
		name      string
		user      string
		list      StoreLister
		autoStore string
		want      string
	}{
		{
			name: "no user config",
			user: ``,
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"}}}`,
		},
		{
			name: "unrelated keys kept as they were",
			user: `{"proxies":{"default":{"httpProxy":"http://p:3128"}},"currentContext":"remote","psFormat":"{{.ID}}","plugins":{"x":{"k":"v"}}}`,
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"}},"proxies":{"default":{"httpProxy":"http://p:3128"}},"currentContext":"remote","psFormat":"{{.ID}}","plugins":{"x":{"k":"v"}}}`,
		},
		{
			name: "stale auths and an ecr-login helper for the injected host go, in every spelling",
			user: `{"auths":{"` + ecrHost + `":{"auth":"b2xk"},"https://` + ecrHost + `":{"auth":"b2xk"},"` + ecrHost + `/team/app":{"auth":"b2xk"},"ghcr.io":{"auth":"Z2g="}},"credHelpers":{"` + ecrHost + `":"ecr-login","gcr.io":"gcloud"}}`,
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"ghcr.io":{"auth":"Z2g="}},"credHelpers":{"gcr.io":"gcloud"}}`,
		},
		{
			name: "credsStore becomes per-host helpers for what it holds and what auths names",
			user: `{"auths":{"ghcr.io":{},"` + ecrHost + `":{}},"credsStore":"desktop"}`,
			list: lister("https://index.docker.io/v1/", "quay.io", ecrHost),
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"ghcr.io":{}},"credHelpers":{"https://index.docker.io/v1/":"desktop","quay.io":"desktop","ghcr.io":"desktop"}}`,
		},
		{
			name: "an explicit helper beats the store; an empty one means auths and is dropped",
			user: `{"auths":{"quay.io":{"auth":"cXU="}},"credsStore":"desktop","credHelpers":{"quay.io":"","gcr.io":"gcloud"}}`,
			list: lister("quay.io", "gcr.io", "docker.io"),
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"quay.io":{"auth":"cXU="}},"credHelpers":{"gcr.io":"gcloud","docker.io":"desktop"}}`,
		},
		{
			name: "a store whose helper fails keeps the hosts auths names",
			user: `{"auths":{"quay.io":{}},"credsStore":"missing"}`,
			list: lister(),
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"quay.io":{}},"credHelpers":{"quay.io":"missing"}}`,
		},
		{
			name:      "docker's auto-detected store is kept when the file has no auth at all",
			user:      `{"detachKeys":"ctrl-x"}`,
			list:      lister("quay.io"),
			autoStore: "desktop",
			want:      `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"}},"credHelpers":{"quay.io":"desktop"},"detachKeys":"ctrl-x"}`,
		},
		{
			name:      "no auto-detection when the file has auth configuration",
			user:      `{"auths":{"quay.io":{"auth":"cXU="}}}`,
			autoStore: "desktop",
			want:      `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"quay.io":{"auth":"cXU="}}}`,
		},
		{
			// docker/cli and containers/image match member names in any case: a
			// "CredHelpers" helper for the injected host would be asked before av's auths.
			name: "credential members in another case are read as the clients read them",
			user: `{"Auths":{"quay.io":{"auth":"cXU="},"https://` + ecrHost + `":{"auth":"b2xk"}},"CredHelpers":{"` + ecrHost + `":"ecr-login","gcr.io":"gcloud"},"CREDSSTORE":"desktop"}`,
			list: lister("docker.io"),
			want: `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"quay.io":{"auth":"cXU="}},"credHelpers":{"gcr.io":"gcloud","docker.io":"desktop","quay.io":"desktop"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list := tt.list
			if list == nil {
				list = lister()
			}
			m, err := MergeDockerConfig([]byte(tt.user), ecr.Logins{ecrHost: token}, list, func() string { return tt.autoStore })
			if err != nil {
				t.Fatal(err)
			}
			got, want := decode(t, m.Config), decode(t, []byte(tt.want))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %s\nwant %s", m.Config, tt.want)
			}
		})
	}
}

func TestMergeDockerConfigRejectsWithoutQuoting(t *testing.T) {
	for _, bad := range []string{`[1,2]`, `{"auths":"s3cr3t"}`, `{"Auths":"s3cr3t"}`, `{"auths":{"h":"s3cr3t"}}`, `{"auths":{"h":{"auth":["s3cr3t"]}}}`, `{"credhelpers":{"h":["s3cr3t"]}}`, `{"credHelpers":{"h":1}}`, `{"credsStore":{"x":"s3cr3t"}}`, `{"auths": {"h": {"auth": "s3cr3t"}`} {
		_, err := MergeDockerConfig([]byte(bad), ecr.Logins{ecrHost: token}, nil, func() string { return "" })
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: error quotes the file: %v", bad, err)
		}
	}
}

func TestMergeAuthFiles(t *testing.T) {
	first := `{"auths":{"quay.io":{"auth":"Zmlyc3Q="},"` + ecrHost + `":{"auth":"b2xk"}},"credHelpers":{"gcr.io":"gcloud","empty.io":""}}`
	second := `{"auths":{"quay.io":{"auth":"c2Vjb25k"},"ghcr.io":{"auth":"Z2g="}},"credsStore":"desktop","credHelpers":{"gcr.io":"other"}}`
	out, err := MergeAuthFiles([][]byte{[]byte(first), nil, []byte(second)}, ecr.Logins{ecrHost: token})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"auths":{"` + ecrHost + `":{"auth":"` + token + `"},"quay.io":{"auth":"Zmlyc3Q="},"ghcr.io":{"auth":"Z2g="}},"credHelpers":{"gcr.io":"gcloud"}}`
	if got := decode(t, out); !reflect.DeepEqual(got, decode(t, []byte(want))) {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// A config that is not valid JSON is named with the line where it breaks, never with a
// piece of it: these files hold credentials.
func TestDecodeClientConfigSyntaxLine(t *testing.T) {
	for data, want := range map[string]string{
		"{\n  \"auths\": {\n    \"x\": {\"auth\": SECRET}\n  }\n}\n": "not valid JSON at line 3",
		"{\"auths\": {\"x\": {\"auth\": \"SECRET\"\n\n":              "not valid JSON at line 1",
		"{\n\"auths\": {},\n\"SECRET\"\n}":                           "not valid JSON at line 4",
		"[\"SECRET\"]":                                               "not a JSON object",
	} {
		_, err := decodeClientConfig([]byte(data))
		if err == nil || err.Error() != want {
			t.Errorf("decodeClientConfig(%q) = %v, want %q", data, err, want)
		}
	}
}
