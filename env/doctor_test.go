package env

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/av-cli/av/env/ecr"
)

// ecrAuth is an ECR login as GetAuthorizationToken returns it: base64("AWS:" + password),
// the password base64 of JSON with the expiry in Unix seconds.
func ecrAuth(payload string, expires time.Time) string {
	inner, _ := json.Marshal(map[string]any{"payload": payload, "datakey": "k", "version": "2", "type": "DATA_KEY", "expiration": expires.Unix()})
	return base64.StdEncoding.EncodeToString([]byte("AWS:" + base64.StdEncoding.EncodeToString(inner)))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func place(t *testing.T, c Checkup, kind PlaceKind, path string) Place {
	t.Helper()
	for _, p := range c.Places {
		if p.Kind == kind && (path == "" || p.Path == path) {
			return p
		}
	}
	t.Fatalf("no %s place %s in %+v", kind, path, c.Places)
	return Place{}
}

func TestCheck(t *testing.T) {
	home := t.TempDir()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	expired, live := now.Add(-time.Hour), now.Add(time.Hour)
	ecrHost := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	writeFile(t, filepath.Join(home, ".docker", "config.json"), fmt.Sprintf(`{
		"auths": {
			"ghcr.io": {"auth": "dXNlcjpnaGNyLXNlY3JldA=="},
			"https://%s": {"auth": %q},
			"public.ecr.aws": {"username": "AWS", "password": "not-decodable"},
			"docker.io": {},
			"quay.io": {"identitytoken": "quay-token"}
		},
		"credsStore": "gone",
		"credHelpers": {"a.example": "here", "b.example": "", "c.example": "gone"}
	}`, ecrHost, ecrAuth("docker-payload", expired)))
	writeFile(t, filepath.Join(home, ".dockercfg"), `{"https://index.docker.io/v1/": {"auth": "dXNlcjpsZWdhY3k=", "email": "x@example.com"}}`)
	writeFile(t, filepath.Join(home, ".config", "containers", "auth.json"), `{"auths": {"quay.io": {"auth": "cm9ib3Q6cXVheQ=="}}}`)
	writeFile(t, filepath.Join(home, ".config", "helm", "registry", "config.json"), `not json`)
	writeFile(t, filepath.Join(home, ".aws", "credentials"), "[dev]\naws_access_key_id = AKIAX\naws_secret_access_key = s3cret\n\n[temp]\naws_access_key_id = ASIAX\naws_secret_access_key = s\naws_session_token = t\n\n[region-only]\nregion = eu-west-1\n")
	writeFile(t, filepath.Join(home, ".ecr", "cache.json"), fmt.Sprintf(`{"Registries": {
		"eu-west-1-abc-123456789012": {"AuthorizationToken": %q, "ExpiresAt": %q, "ProxyEndpoint": "https://%s"},
		"ecr-public-abc": {"AuthorizationToken": %q}
	}, "Version": "1.0"}`, ecrAuth("cache-payload", live), live.Format(time.RFC3339), ecrHost, ecrAuth("public-payload", expired)))
	writeFile(t, filepath.Join(home, ".bashrc"), "alias ll='ls -l'\nexport DOCKER_CONFIG=/elsewhere\n  REGISTRY_AUTH_FILE=/x\nunset HELM_REGISTRY_CONFIG\n# DOCKER_AUTH_CONFIG=commented\n")
	writeFile(t, filepath.Join(home, ".zshrc"), "[ -z \"$AV_PROFILE\" ] && export DOCKER_CONFIG=/guarded\n")
	writeFile(t, filepath.Join(home, ".config", "fish", "config.fish"), "set -gx HELM_REGISTRY_CONFIG /h\n")
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "docker-credential-here"), "")
	vars := map[string]string{
		"HOME":               home,
		"DOCKER_AUTH_CONFIG": `{"auths": {"env.example": {"auth": "dXNlcjplbnY="}}}`,
	}
	c := Check(CheckupOptions{
		Getenv: func(k string) string { return vars[k] },
		LookPath: func(name string) (string, error) {
			if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
				return "", err
			}
			return filepath.Join(bin, name), nil
		},
		Now: now,
	})

	d := place(t, c, PlaceDocker, "")
	exp := expired.UTC()
	want := []Secret{ // in the order of their keys
		{Host: "ghcr.io", Kind: SecretAuth},
		{Host: ecrHost, Kind: SecretECRToken, ECR: true, Expires: &exp, Expired: true},
		{Host: "public.ecr.aws", Kind: SecretECRToken, ECR: true}, // unknown expiry
		{Host: "quay.io", Kind: SecretIdentityToken},
	}
	if !secretsEqual(d.Secrets, want) {
		t.Errorf("docker config secrets:\n%s\nwant\n%s", show(d.Secrets), show(want))
	}
	if d.Store == nil || d.Store.Name != "gone" || d.Store.Installed {
		t.Errorf("credsStore = %+v, want gone, not installed", d.Store)
	}
	wantHelpers := []Helper{{"here", "a.example", true}, {"", "b.example", false}, {"gone", "c.example", false}}
	if !slices.Equal(d.Helpers, wantHelpers) {
		t.Errorf("credHelpers = %+v, want %+v", d.Helpers, wantHelpers)
	}

	if l := place(t, c, PlaceDockerLegacy, ""); !secretsEqual(l.Secrets, []Secret{{Host: "index.docker.io", Kind: SecretAuth}}) {
		t.Errorf("~/.dockercfg: %s", show(l.Secrets))
	}
	if p := place(t, c, PlaceContainersAuth, filepath.Join(home, ".config", "containers", "auth.json")); !p.Exists || !secretsEqual(p.Secrets, []Secret{{Host: "quay.io", Kind: SecretAuth}}) {
		t.Errorf("containers auth.json: %+v", p)
	}
	var ue *UserConfigError
	if h := place(t, c, PlaceHelm, ""); !h.Exists || !errors.As(h.Err, &ue) || strings.Contains(h.Err.Error(), "not json") {
		t.Errorf("a helm config that is not JSON: %+v (%v), want an error naming the file only", h, h.Err)
	}
	aws := place(t, c, PlaceAWSCredentials, "")
	if !secretsEqual(aws.Secrets, []Secret{{Host: "dev", Kind: SecretAWSKey}, {Host: "temp", Kind: SecretAWSSession}}) {
		t.Errorf("~/.aws/credentials: %s", show(aws.Secrets))
	}
	liveUTC := live.UTC()
	if e := place(t, c, PlaceECRHelperCache, filepath.Join(home, ".ecr", "cache.json")); !secretsEqual(e.Secrets, []Secret{
		{Host: ecr.PublicHost, Kind: SecretECRToken, ECR: true, Expires: &exp, Expired: true}, // expiry from the token
		{Host: ecrHost, Kind: SecretECRToken, ECR: true, Expires: &liveUTC},
	}) {
		t.Errorf("ECR helper cache: %s", show(e.Secrets))
	}
	if e := place(t, c, PlaceECRHelperCache, filepath.Join(home, ".cache", "docker-credential-ecr-login", "cache.json")); e.Exists {
		t.Errorf("the newer helper's cache is not there: %+v", e)
	}
	if env := place(t, c, PlaceDockerAuthEnv, ""); !env.Exists || !secretsEqual(env.Secrets, []Secret{{Host: "env.example", Kind: SecretAuth}}) {
		t.Errorf("DOCKER_AUTH_CONFIG: %+v", env)
	}

	wantStartup := []StartupSetting{
		{filepath.Join(home, ".bashrc"), 2, "DOCKER_CONFIG"},
		{filepath.Join(home, ".bashrc"), 3, "REGISTRY_AUTH_FILE"},
		{filepath.Join(home, ".config", "fish", "config.fish"), 1, "HELM_REGISTRY_CONFIG"},
	}
	if !slices.Equal(c.Startup, wantStartup) {
		t.Errorf("start-up settings = %+v, want %+v (the guarded .zshrc passed over)", c.Startup, wantStartup)
	}

	// No secret value anywhere in what Check returns.
	out, _ := json.Marshal(c)
	for _, s := range []string{"dXNlcjpnaGNyLXNlY3JldA", "ghcr-secret", "docker-payload", "cache-payload", "public-payload", "not-decodable", "quay-token", "cm9ib3Q6cXVheQ", "s3cret", "AKIAX", "dXNlcjplbnY", "dXNlcjpsZWdhY3k"} {
		if strings.Contains(string(out), s) {
			t.Errorf("Check's result holds %q: %s", s, out)
		}
	}
}

// Which file each client reads, from the environment and the files there (CLIENTS.md).
func TestCheckClients(t *testing.T) {
	home, rt := t.TempDir(), t.TempDir()
	other := t.TempDir()
	vars := map[string]string{"HOME": home, "XDG_RUNTIME_DIR": rt}
	check := func() map[string][]string {
		c := Check(CheckupOptions{Getenv: func(k string) string { return vars[k] }, LookPath: func(string) (string, error) { return "", errors.New("no") }})
		got := map[string][]string{}
		for _, cl := range c.Clients {
			got[cl.Client] = []string{}
			for _, f := range cl.Files {
				if f.Exists {
					got[cl.Client] = append(got[cl.Client], f.Path)
				}
			}
		}
		return got
	}
	runtimeAuth := filepath.Join(rt, "containers", "auth.json")
	writeFile(t, runtimeAuth, `{}`)
	got := check()
	if !slices.Equal(got["crane"], []string{runtimeAuth}) || !slices.Equal(got["skopeo/podman"], []string{runtimeAuth}) || len(got["docker"]) != 0 {
		t.Errorf("no docker config: %v", got)
	}
	dockerConfig := filepath.Join(home, ".docker", "config.json")
	writeFile(t, dockerConfig, `{}`)
	got = check()
	if !slices.Equal(got["crane"], []string{dockerConfig}) || !slices.Equal(got["skopeo/podman"], []string{runtimeAuth, dockerConfig}) {
		t.Errorf("a docker config: %v", got)
	}
	// crane finds ~/.docker/config.json, and then loads $DOCKER_CONFIG's.
	vars["DOCKER_CONFIG"] = other
	got = check()
	if len(got["crane"]) != 0 || len(got["docker"]) != 0 || len(got["oras"]) != 0 {
		t.Errorf("DOCKER_CONFIG naming a directory without config.json: %v", got)
	}
	vars["REGISTRY_AUTH_FILE"] = filepath.Join(other, "auth.json")
	writeFile(t, vars["REGISTRY_AUTH_FILE"], `{}`)
	got = check()
	if !slices.Equal(got["skopeo/podman"], []string{vars["REGISTRY_AUTH_FILE"]}) {
		t.Errorf("REGISTRY_AUTH_FILE alone for containers/image: %v", got)
	}
}

func TestECRTokenExpiry(t *testing.T) {
	at := time.Unix(1700000000, 0)
	if got := ecrTokenExpiry(authPassword(ecrAuth("p", at))); !got.Equal(at) {
		t.Errorf("expiry = %v, want %v", got, at)
	}
	for _, pw := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("not json")), base64.StdEncoding.EncodeToString([]byte(`{"expiration": "soon"}`))} {
		if got := ecrTokenExpiry(pw); !got.IsZero() {
			t.Errorf("ecrTokenExpiry(%q) = %v, want unknown", pw, got)
		}
	}
}

// Hostile places: a FIFO is refused at once, never waited on; a directory is an error.
func TestCheckHostileFiles(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
	if err := unix.Mkfifo(filepath.Join(home, ".aws", "credentials"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(home, ".ecr", "cache.json"), 0o700)
	done := make(chan Checkup, 1)
	go func() {
		done <- Check(CheckupOptions{Getenv: func(k string) string { return map[string]string{"HOME": home}[k] }})
	}()
	select {
	case c := <-done:
		if p := place(t, c, PlaceAWSCredentials, ""); !p.Exists || p.Err == nil {
			t.Errorf("a FIFO as ~/.aws/credentials: %+v", p)
		}
		if p := place(t, c, PlaceECRHelperCache, filepath.Join(home, ".ecr", "cache.json")); !p.Exists || p.Err == nil {
			t.Errorf("a directory as the ECR cache: %+v", p)
		}
	case <-time.After(10 * time.Second): // a safety net: it should not block at all
		w, _ := os.OpenFile(filepath.Join(home, ".aws", "credentials"), os.O_WRONLY, 0)
		w.Close()
		t.Fatal("Check blocked on a FIFO")
	}
}

// CheckBase and Leftovers tell what Base and Sweep would do, and change nothing.
func TestCheckBaseAndLeftovers(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "")
	root := privateTempDir(t)
	missing := filepath.Join(root, "not-yet")
	if c := CheckBase(missing); c.Err != nil || c.Exists || c.Path != missing || c.Source != BaseOverride || !c.MemoryFS {
		t.Errorf("CheckBase(missing) = %+v", c)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("CheckBase created the directory")
	}
	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	var nd *NoPrivateDirError
	if c := CheckBase(open); !errors.As(c.Err, &nd) || !nd.Override || !c.Exists {
		t.Errorf("CheckBase(0755) = %+v (%v), want Base's refusal", c, c.Err)
	}

	base := filepath.Join(root, "base")
	os.Mkdir(base, 0o700)
	live, err := NewDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Shred()
	dead := filepath.Join(base, runPrefix+"dead")
	os.Mkdir(dead, 0o700)
	writeFile(t, filepath.Join(dead, "containers-auth.json"), "secret")
	shut := filepath.Join(base, runPrefix+"shut")
	os.Mkdir(shut, 0o700)
	os.Chmod(shut, 0)
	defer os.Chmod(shut, 0o700)
	young := filepath.Join(base, newPrefix+"young") // being made by a run right now
	os.Mkdir(young, 0o700)

	got := Leftovers(base)
	var paths []string
	for _, l := range got {
		paths = append(paths, fmt.Sprintf("%s %v", filepath.Base(l.Path), l.Unknown))
	}
	shutUnknown := "true"
	if os.Geteuid() == 0 {
		shutUnknown = "false" // root opens it all the same, and finds its lock free
	}
	if want := []string{runPrefix + "dead false", runPrefix + "shut " + shutUnknown}; !slices.Equal(paths, want) {
		t.Errorf("Leftovers = %q, want %q", paths, want)
	}
	if st, err := os.Stat(shut); err != nil || st.Mode().Perm() != 0 {
		t.Errorf("Leftovers gave the shut directory its permissions back: %v %v", st, err)
	}
	if data, err := os.ReadFile(filepath.Join(dead, "containers-auth.json")); err != nil || string(data) != "secret" {
		t.Errorf("Leftovers touched the dead run's file: %q %v", data, err)
	}
	// The lock was let go: the live run still holds its own, and a sweep can take the dead one.
	Sweep(base)
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the sweep after Leftovers left %s", dead)
	}
	if _, err := os.Stat(live.Path); err != nil {
		t.Errorf("the live run's directory: %v", err)
	}
}

func secretsEqual(a, b []Secret) bool {
	return slices.EqualFunc(a, b, func(x, y Secret) bool {
		return x.Host == y.Host && x.Kind == y.Kind && x.ECR == y.ECR && x.Expired == y.Expired &&
			(x.Expires == nil) == (y.Expires == nil) && (x.Expires == nil || x.Expires.Equal(*y.Expires))
	})
}

func show(s []Secret) string {
	out, _ := json.Marshal(s)
	return string(out)
}
