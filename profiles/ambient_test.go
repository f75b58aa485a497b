package profiles

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
)

func TestSessionName(t *testing.T) {
	for _, tt := range []struct {
		name    string
		given   string
		env     map[string]string
		want    string
		wantPre string
	}{
		{name: "given", given: "deploy", want: "deploy"},
		{name: "AWS_ROLE_SESSION_NAME", env: map[string]string{"AWS_ROLE_SESSION_NAME": "from-env"}, want: "from-env"},
		{name: "GitHub run", env: map[string]string{"GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2"}, want: "av-gh-123-2"},
		{name: "GitLab job", env: map[string]string{"CI_JOB_ID": "77"}, want: "av-gitlab-77"},
		{name: "characters STS refuses", given: "a b/c:d", want: "a_b_c_d"},
		{name: "characters STS takes", given: "Az09_+=,.@-", want: "Az09_+=,.@-"},
		{name: "one _ a character", given: "café\xffx", want: "caf__x"},
		{name: "too long", given: strings.Repeat("x", 80), want: strings.Repeat("x", 64)},
		{name: "nothing", wantPre: "av-"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ROLE_SESSION_NAME", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "CI_JOB_ID"} {
				t.Setenv(k, tt.env[k])
			}
			got := sessionName(tt.given)
			if tt.want != "" && got != tt.want {
				t.Errorf("sessionName(%q) = %q, want %q", tt.given, got, tt.want)
			}
			if tt.wantPre != "" && !strings.HasPrefix(got, tt.wantPre) {
				t.Errorf("sessionName(%q) = %q, want prefix %q", tt.given, got, tt.wantPre)
			}
		})
	}
}

func TestGitHubToken(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer request-token" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("api-version") != "2.0" || r.URL.Query().Get("audience") != STSAudience {
			http.Error(w, "bad query "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"count":1,"value":"the.oidc.token"}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	tok, err := gitHubToken(ctx, srv.URL+"/token?api-version=2.0", "request-token", STSAudience)
	if err != nil || tok != "the.oidc.token" {
		t.Fatalf("gitHubToken = %q, %v", tok, err)
	}
	_, err = gitHubToken(ctx, srv.URL+"/token?api-version=2.0", "wrong", STSAudience)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "id-token: write") {
		t.Errorf("a refused request: %v", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error quotes the request token: %v", err)
	}
	if _, err := gitHubToken(ctx, "not a url", "t", STSAudience); err == nil {
		t.Error("a malformed URL was accepted")
	}
}

func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	os.WriteFile(good, []byte("tok\n"), 0o600)
	if tok, err := readTokenFile(good); err != nil || tok != "tok" {
		t.Errorf("readTokenFile = %q, %v", tok, err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := readTokenFile(empty); err == nil {
		t.Error("an empty token file was accepted")
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, maxTokenSize+1), 0o600)
	if _, err := readTokenFile(big); err == nil {
		t.Error("a token file over the cap was accepted")
	}
	if _, err := readTokenFile(dir); err == nil {
		t.Error("a directory was accepted")
	}
}

func TestHasOwnCredentials(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	os.WriteFile(path, []byte(`[default]
region = eu-west-1

[profile role]
role_arn = arn:aws:iam::111111111111:role/x
web_identity_token_file = /tmp/t

[profile process]
credential_process = echo
`), 0o600)
	t.Setenv("AWS_CONFIG_FILE", path)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	v := MemoryVault(context.Background())
	for name, want := range map[string]bool{"default": false, "role": true, "process": true, "nosuch": false} {
		got, err := HasOwnCredentials(cfg, v, name)
		if err != nil || got != want {
			t.Errorf("HasOwnCredentials(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestSSOLoginGate(t *testing.T) {
	kr := keyring.NewArrayKeyring(nil)
	pc := &vault.ProfileConfig{ProfileName: "sso", SSOStartURL: "https://example.awsapps.com/start"}
	g := ssoLoginGate{&vault.SSORoleCredentialsProvider{StartURL: pc.SSOStartURL}, vault.OIDCTokenKeyring{Keyring: kr}, pc}
	_, err := g.RetrieveStsCredentials(context.Background())
	var login *SSOLoginError
	if !errors.As(err, &login) || login.Profile != "sso" || login.StartURL != pc.SSOStartURL {
		t.Fatalf("with no cached SSO token: %v, want an SSOLoginError", err)
	}
}
