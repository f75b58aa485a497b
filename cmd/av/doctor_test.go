package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/av-cli/av/env"
	"github.com/av-cli/av/profiles"
)

// doctorHome seeds a HOME with what the tools leave behind, and returns it with the
// secret values in it.
func doctorHome(t *testing.T) (home string, secrets []string) {
	t.Helper()
	home = t.TempDir()
	ecrPassword := base64.StdEncoding.EncodeToString([]byte(`{"payload":"ecr-payload-secret","version":"2","type":"DATA_KEY","expiration":1700000000}`))
	ecrAuth := base64.StdEncoding.EncodeToString([]byte("AWS:" + ecrPassword))
	plainAuth := base64.StdEncoding.EncodeToString([]byte("octocat:ghcr-password-secret"))
	files := map[string]string{
		".docker/config.json": fmt.Sprintf(`{"auths": {"ghcr.io": {"auth": %q}, "123456789012.dkr.ecr.eu-west-1.amazonaws.com": {"auth": %q}}, "credsStore": "no-such-helper"}`, plainAuth, ecrAuth),
		".aws/credentials":    "[dev]\naws_access_key_id = AKIAKEYIDSECRET\naws_secret_access_key = aws-secret-key-secret\n",
	}
	for name, data := range files {
		p := filepath.Join(home, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home, []string{ecrPassword, ecrAuth, "ecr-payload-secret", plainAuth, "ghcr-password-secret", "AKIAKEYIDSECRET", "aws-secret-key-secret"}
}

func doctorOn(t *testing.T, home string) diagnosis {
	t.Helper()
	vars := map[string]string{"HOME": home}
	return diagnose(doctorFacts{
		Checkup:    env.Check(env.CheckupOptions{Getenv: func(k string) string { return vars[k] }, LookPath: func(string) (string, error) { return "", os.ErrNotExist }}),
		Vault:      profiles.CheckVault(profiles.VaultOptions{Backend: "file", FileDir: filepath.Join(home, ".awsvault", "keys")}),
		RuntimeDir: env.CheckBase(filepath.Join(home, "rt")),
	}, home)
}

// The --json document, read back as a script would read it.
func TestDoctorJSON(t *testing.T) {
	home, secrets := doctorHome(t)
	d := doctorOn(t, home)
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(out), s) {
			t.Errorf("the JSON holds a secret, %q", s)
		}
	}
	var doc struct {
		Attention bool `json:"attention"`
		Findings  []struct {
			Kind, Path, Problem, Fix string
		} `json:"findings"`
		Places []struct {
			Kind    string `json:"kind"`
			Path    string `json:"path"`
			Exists  bool   `json:"exists"`
			Secrets []struct {
				Host, Kind, Expires string
				ECR, Expired        bool
			} `json:"secrets"`
			Store *struct {
				Name      string `json:"name"`
				Installed bool   `json:"installed"`
			} `json:"creds_store"`
		} `json:"places"`
		Clients []struct {
			Client string `json:"client"`
			Files  []struct {
				Path   string `json:"path"`
				Exists bool   `json:"exists"`
			} `json:"files"`
		} `json:"clients"`
		Vault struct {
			Backend string `json:"backend"`
			Opens   string `json:"opens"`
		} `json:"vault"`
		RuntimeDir struct {
			Path   string `json:"path"`
			Source string `json:"source"`
			Exists bool   `json:"exists"`
		} `json:"runtime_dir"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if !doc.Attention {
		t.Error("attention = false, with plaintext secrets in HOME")
	}
	var kinds []string
	for _, f := range doc.Findings {
		kinds = append(kinds, f.Kind)
		if f.Problem == "" || f.Fix == "" {
			t.Errorf("finding %s without its problem or fix: %+v", f.Kind, f)
		}
	}
	// The missing credsStore first: until it is fixed, `docker logout` removes nothing, so
	// the fixes after it, which log out, say they wait for it.
	if want := []string{"missing-helper", "expired-ecr-tokens", "plaintext-logins", "aws-keys"}; !slices.Equal(kinds, want) {
		t.Errorf("finding kinds = %q, want %q", kinds, want)
	}
	if f := doc.Findings[0]; !strings.HasSuffix(f.Fix, "; do this first: until then `docker logout` cannot remove this file's logins (it says it does)") {
		t.Errorf("the credsStore's fix = %q, want it to say it comes first", f.Fix)
	}
	for _, f := range doc.Findings[1:3] {
		if !strings.Contains(f.Fix, "docker logout") || !strings.HasSuffix(f.Fix, "; first fix \"credsStore\" (above): until docker-credential-no-such-helper runs, a logout leaves the entry where it is") {
			t.Errorf("%s's fix = %q, want it to wait for the credsStore's", f.Kind, f.Fix)
		}
	}
	docker := doc.Places[0]
	if docker.Kind != "docker-config" || docker.Path != filepath.Join(home, ".docker", "config.json") || !docker.Exists || len(docker.Secrets) != 2 {
		t.Fatalf("places[0] = %+v", docker)
	}
	if s := docker.Secrets[0]; s.Host != "123456789012.dkr.ecr.eu-west-1.amazonaws.com" || s.Kind != "ecr-token" || !s.ECR || !s.Expired || s.Expires != "2023-11-14T22:13:20Z" {
		t.Errorf("the expired ECR token = %+v", s)
	}
	if s := docker.Secrets[1]; s.Host != "ghcr.io" || s.Kind != "auth" || s.ECR || s.Expires != "" {
		t.Errorf("the ghcr.io login = %+v", s)
	}
	if docker.Store == nil || docker.Store.Name != "no-such-helper" || docker.Store.Installed {
		t.Errorf("creds_store = %+v", docker.Store)
	}
	if len(doc.Clients) != 5 || doc.Clients[1].Client != "crane" || len(doc.Clients[1].Files) != 1 || !doc.Clients[1].Files[0].Exists {
		t.Errorf("clients = %+v", doc.Clients)
	}
	if doc.Vault.Backend != "file" || doc.Vault.Opens != "no-vault" {
		t.Errorf("vault = %+v", doc.Vault)
	}
	if doc.RuntimeDir.Source != "override" || doc.RuntimeDir.Exists || doc.RuntimeDir.Path != filepath.Join(home, "rt") {
		t.Errorf("runtime_dir = %+v", doc.RuntimeDir)
	}
	if _, err := os.Stat(filepath.Join(home, "rt")); !os.IsNotExist(err) {
		t.Error("doctor made the runtime directory")
	}
}

// The report for people: each finding with its fix, no secret, no colour off a terminal;
// and av ends with status 1 and no error line.
func TestDoctorText(t *testing.T) {
	home, secrets := doctorHome(t)
	d := doctorOn(t, home)
	var buf bytes.Buffer
	d.print(&buf, home, false)
	text := buf.String()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("the report holds a secret, %q", s)
		}
	}
	for _, want := range []string{
		"1 ECR entry in ~/.docker/config.json is expired: 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		"fix: remove it (`docker logout 123456789012.dkr.ecr.eu-west-1.amazonaws.com`), av logs in per command",
		"fix: move these keys into the vault with `av add dev`, then delete ~/.aws/credentials",
		"4 things need attention:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the report lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Error("colour without a terminal")
	}
	buf.Reset()
	d.print(&buf, home, true)
	if !strings.Contains(buf.String(), "\x1b[31;1m4 things need attention:\x1b[0m") {
		t.Errorf("no colour on a terminal:\n%s", buf.String())
	}

	err := quiet{fmt.Errorf("av doctor: %d finding(s)", len(d.Findings))}
	if got := exitStatus(err); got.Code != 1 {
		t.Errorf("exit status = %+v, want 1", got)
	}
	buf.Reset()
	printError(&buf, err)
	if buf.Len() != 0 {
		t.Errorf("printError printed %q for the findings: the report has said it", buf.String())
	}

	clean := doctorOn(t, t.TempDir())
	if clean.Attention || len(clean.Findings) != 0 {
		t.Errorf("a clean HOME: %+v", clean.Findings)
	}
}

// Names from a user's file are printed as names, never as terminal control sequences.
func TestDoctorHostileNames(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths": {"evil\u001b]0;pwned\u0007.example": {"auth": "dTpw"}}}`), 0o600)
	var buf bytes.Buffer
	doctorOn(t, home).print(&buf, home, false)
	if strings.ContainsAny(buf.String(), "\x1b\x07") {
		t.Errorf("a control character reached the report:\n%q", buf.String())
	}
}

// An ECR token whose expiry is past the year 9999 (hostile, or garbled) is an unknown
// expiry: --json still prints the report (encoding/json refuses such a time).
func TestDoctorJSONFarExpiry(t *testing.T) {
	home := t.TempDir()
	password := base64.StdEncoding.EncodeToString([]byte(`{"payload":"p","expiration":99999999999999}`))
	auth := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(fmt.Sprintf(`{"auths": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": {"auth": %q}}}`, auth)), 0o600)
	d := doctorOn(t, home)
	if _, err := json.Marshal(d); err != nil {
		t.Fatalf("--json fails: %v", err)
	}
	var buf bytes.Buffer
	d.print(&buf, home, false)
	if !strings.Contains(buf.String(), "unknown expiry") {
		t.Errorf("a token expiring after 9999 is not an unknown expiry:\n%s", buf.String())
	}
}

// An auths key written as a URL with credentials (https://user:password@host) is named by
// its host alone: the password in it never reaches the report.
func TestDoctorKeyWithUserinfo(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
	os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(`{"auths": {"https://octocat:Key-Password-Secret@ghcr.io/v2/": {"auth": "dTpw"}}}`), 0o600)
	os.WriteFile(filepath.Join(home, ".dockercfg"), []byte(`{"https://u:Legacy-Password-Secret/x@quay.io": {"auth": "dTpw"}}`), 0o600)
	d := doctorOn(t, home)
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	d.print(&buf, home, false)
	for _, s := range []string{"password-secret", "octocat"} {
		if strings.Contains(strings.ToLower(string(out)+buf.String()), strings.ToLower(s)) {
			t.Errorf("%q reached the report:\n%s\n%s", s, buf.String(), out)
		}
	}
	if !strings.Contains(buf.String(), "ghcr.io (auth)") || !strings.Contains(buf.String(), "quay.io (auth)") {
		t.Errorf("the hosts are not named:\n%s", buf.String())
	}
}

// A Secret Service vault that opens but cannot store (its collection missing, no desktop
// session to create it): a finding with the fix, and "backends here" lists only those that
// work.
func TestDoctorVaultCannotStore(t *testing.T) {
	home := t.TempDir()
	v := profiles.VaultCheck{
		Backend: "secret-service", Chosen: true,
		Available: []string{"secret-service", "keyctl", "file"}, Working: []string{"file"},
		Opens: profiles.VaultCannotStore,
		Err:   &profiles.NoPrompterError{Collection: "awsvault", Existing: []string{"login", "session"}},
	}
	d := diagnose(doctorFacts{Vault: v, RuntimeDir: env.CheckBase(filepath.Join(home, "rt"))}, home)
	i := slices.IndexFunc(d.Findings, func(f finding) bool { return f.Kind == "vault" })
	if i < 0 {
		t.Fatalf("no vault finding in %+v", d.Findings)
	}
	if f := d.Findings[i]; !strings.HasPrefix(f.Problem, "av cannot store keys in the vault: the Secret Service has no collection \"awsvault\"") ||
		!strings.HasPrefix(f.Fix, "`export AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME=login`") {
		t.Errorf("finding %+v", f)
	}
	if line := vaultLine(v, home); line != "secret-service backend (AWS_VAULT_BACKEND): opens, but cannot store keys; backends here: file" {
		t.Errorf("vault line %q", line)
	}
}
