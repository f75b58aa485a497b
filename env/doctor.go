package env

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
)

// What av doctor reads: every place on the machine where a registry or AWS credential may
// sit in plain text, which of them each client reads, and what would hide av's files from
// a command. Facts only, never a secret's value: cmd/av words them. Nothing here writes,
// creates or runs anything but `exec.LookPath`.

// PlaceKind names a kind of place a credential may sit.
type PlaceKind string

const (
	PlaceDocker         PlaceKind = "docker-config"      // $DOCKER_CONFIG/config.json, ~/.docker/config.json
	PlaceDockerLegacy   PlaceKind = "dockercfg"          // ~/.dockercfg
	PlaceContainersAuth PlaceKind = "containers-auth"    // $REGISTRY_AUTH_FILE, containers/auth.json
	PlaceHelm           PlaceKind = "helm-registry"      // helm's registry config
	PlaceAWSCredentials PlaceKind = "aws-credentials"    // ~/.aws/credentials
	PlaceECRHelperCache PlaceKind = "ecr-helper-cache"   // the ECR credential helper's cache.json
	PlaceDockerAuthEnv  PlaceKind = "docker-auth-config" // DOCKER_AUTH_CONFIG in the environment
)

// SecretKind is what a plaintext secret is.
type SecretKind string

const (
	SecretAuth          SecretKind = "auth"           // base64 user:password (docker's "auth")
	SecretPassword      SecretKind = "password"       // a "password" member
	SecretIdentityToken SecretKind = "identity-token" // an OAuth refresh token ("identitytoken")
	SecretRegistryToken SecretKind = "registry-token" // a bearer token ("registrytoken")
	SecretECRToken      SecretKind = "ecr-token"      // an ECR authorization token
	SecretAWSKey        SecretKind = "aws-key"        // a long-term access key with its secret
	SecretAWSSession    SecretKind = "aws-session"    // temporary keys with a session token
)

// Secret is one plaintext secret: where it is for, and what it is, never its value.
type Secret struct {
	Host string     `json:"host"` // the registry, or for AWS keys the profile
	Kind SecretKind `json:"kind"`
	ECR  bool       `json:"ecr,omitempty"` // a login for an Amazon ECR registry
	// Expires is when an ECR token stops working, when its content or its file says so.
	Expires *time.Time `json:"expires,omitempty"`
	Expired bool       `json:"expired,omitempty"`
}

// Helper is a docker credential helper a config names.
type Helper struct {
	Name      string `json:"name"`           // as configured ("" is an empty credHelpers value)
	Host      string `json:"host,omitempty"` // the credHelpers key; "" for credsStore
	Installed bool   `json:"installed"`      // docker-credential-NAME is on PATH
}

// Place is one place a credential may sit, and what is there.
type Place struct {
	Kind PlaceKind `json:"kind"`
	Path string    `json:"path"`          // a file, or the variable's name
	Via  string    `json:"via,omitempty"` // the variable that names the path; "" for the default
	// Exists says the file is there (or the variable set).
	Exists bool `json:"exists"`
	// Err says it cannot be read or is not in its format (never quoting it); nil otherwise.
	Err     error    `json:"-"`
	Secrets []Secret `json:"secrets"`
	Store   *Helper  `json:"creds_store,omitempty"`
	Helpers []Helper `json:"cred_helpers,omitempty"`
}

// ClientRead is where one client looks for registry credentials now, outside av.
type ClientRead struct {
	Client string     `json:"client"`
	Files  []FileRead `json:"files"` // in the order the client reads them
	// DockerAuthConfig says DOCKER_AUTH_CONFIG is set, which docker 28.3+ reads before
	// any file.
	DockerAuthConfig bool `json:"docker_auth_config,omitempty"`
	// Store is the credsStore of the file it reads, asked before that file's auths;
	// "" when none, or when the client ignores it.
	Store string `json:"creds_store,omitempty"`
}

// FileRead is one file a client reads.
type FileRead struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
}

// StartupSetting is a line of a shell start-up file that sets one of the variables av
// sets for its command: in a shell av starts (`av PROFILE`), it undoes av's setting.
type StartupSetting struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	Var  string `json:"var"`
}

// Checkup is what av doctor found in the user's files and environment.
type Checkup struct {
	Places  []Place          `json:"places"`
	Clients []ClientRead     `json:"clients"`
	Startup []StartupSetting `json:"startup_files"`
}

// CheckupOptions are where the checkup looks; nil funcs mean the process's own.
type CheckupOptions struct {
	Getenv   func(string) string
	LookPath func(string) (string, error)
	Now      time.Time
}

// Check reads every place a registry or AWS credential may sit, as the clients would find
// them from this environment.
func Check(o CheckupOptions) Checkup {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.LookPath == nil {
		o.LookPath = exec.LookPath
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	getenv, home := o.Getenv, o.Getenv("HOME")
	u := FindUserConfig(getenv)
	xdgConfig := xdgConfigHome(getenv)
	var c Checkup

	docker := o.clientFile(PlaceDocker, u.DockerConfigPath(), via(getenv, "DOCKER_CONFIG"))
	c.Places = append(c.Places, docker)
	legacy := filepath.Join(home, ".dockercfg")
	c.Places = append(c.Places, o.readPlace(PlaceDockerLegacy, legacy, "", o.legacyDockerSecrets))
	// Every containers auth file, read or not while REGISTRY_AUTH_FILE is set: each may
	// hold secrets.
	registryAuth := getenv("REGISTRY_AUTH_FILE")
	if registryAuth != "" {
		c.Places = append(c.Places, o.clientFile(PlaceContainersAuth, registryAuth, "REGISTRY_AUTH_FILE"))
	}
	runtimeAuth, configAuth := containersAuthDefaults(getenv)
	for _, p := range []string{runtimeAuth, configAuth} {
		if p != "" && p != registryAuth {
			c.Places = append(c.Places, o.clientFile(PlaceContainersAuth, p, ""))
		}
	}
	c.Places = append(c.Places, o.clientFile(PlaceHelm, u.HelmFile, via(getenv, "HELM_REGISTRY_CONFIG", "HELM_CONFIG_HOME")))
	credentials := profiles.SharedCredentialsFile(getenv)
	c.Places = append(c.Places, o.readPlace(PlaceAWSCredentials, credentials, via(getenv, "AWS_SHARED_CREDENTIALS_FILE"), awsCredentialSecrets))
	for _, p := range ecrHelperCaches(getenv, home) {
		c.Places = append(c.Places, o.readPlace(PlaceECRHelperCache, p, via(getenv, "AWS_ECR_CACHE_DIR"), o.ecrCacheSecrets))
	}
	env := Place{Kind: PlaceDockerAuthEnv, Path: "DOCKER_AUTH_CONFIG", Secrets: []Secret{}}
	if v := getenv("DOCKER_AUTH_CONFIG"); v != "" {
		env.Exists = true
		o.dockerSecrets(&env, []byte(v))
	}
	c.Places = append(c.Places, env)

	c.Clients = o.clients(getenv, u, docker, legacy, runtimeAuth)
	c.Startup = startupSettings(getenv, home, xdgConfig)
	return c
}

// via names the first of vars that is set: the variable that chose a path.
func via(getenv func(string) string, vars ...string) string {
	for _, v := range vars {
		if getenv(v) != "" {
			return v
		}
	}
	return ""
}

// readPlace reads a place's file (bounded: profiles.ReadCapped) and fills it with what
// secrets reads in it.
func (o CheckupOptions) readPlace(kind PlaceKind, path, via string, secrets func(*Place, []byte)) Place {
	p := Place{Kind: kind, Path: path, Via: via, Secrets: []Secret{}}
	data, err := readUserFile(path)
	switch {
	case err != nil:
		p.Exists, p.Err = true, err
	case data != nil:
		p.Exists = true
		if len(bytes.TrimSpace(data)) > 0 {
			secrets(&p, data)
		}
	}
	return p
}

// clientFile reads a docker-format file: docker's config, a containers auth file, helm's.
func (o CheckupOptions) clientFile(kind PlaceKind, path, via string) Place {
	return o.readPlace(kind, path, via, o.dockerSecrets)
}

// dockerSecrets reads a docker-format config: its auths' secrets, its credsStore and
// credHelpers.
func (o CheckupOptions) dockerSecrets(p *Place, data []byte) {
	c, err := decodeClientConfig(data)
	if err != nil {
		p.Err = &UserConfigError{p.Path, err}
		return
	}
	for _, key := range slices.Sorted(maps.Keys(c.logins)) {
		p.Secrets = append(p.Secrets, o.loginSecrets(placeHost(key), c.logins[key])...)
	}
	if c.store != "" {
		p.Store = &Helper{Name: c.store, Installed: o.installed(c.store)}
	}
	for _, host := range slices.Sorted(maps.Keys(c.helpers)) {
		name := c.helpers[host]
		p.Helpers = append(p.Helpers, Helper{Name: name, Host: placeHost(host), Installed: name != "" && o.installed(name)})
	}
}

// legacyDockerSecrets reads ~/.dockercfg: {"host": {"auth": …, "email": …}}.
func (o CheckupOptions) legacyDockerSecrets(p *Place, data []byte) {
	var entries map[string]login
	if err := json.Unmarshal(data, &entries); err != nil {
		p.Err = &UserConfigError{p.Path, errors.New("not a JSON object of logins")}
		return
	}
	for _, key := range slices.Sorted(maps.Keys(entries)) {
		p.Secrets = append(p.Secrets, o.loginSecrets(placeHost(key), entries[key])...)
	}
}

// placeHost is the registry a key of a user's file names, as the report names it: its
// host (ecr.KeyHost), without the user and password of a URL written with them
// (https://user:password@host), which would otherwise be printed.
// No registry's key holds an "@" otherwise, and a password may hold a "/": all up to the
// last "@" goes.
func placeHost(key string) string {
	if i := strings.LastIndexByte(key, '@'); i >= 0 {
		key = key[i+1:]
	}
	return ecr.KeyHost(key)
}

func (o CheckupOptions) installed(helper string) bool {
	_, err := o.LookPath("docker-credential-" + helper)
	return err == nil
}

// loginSecrets lists the secrets of one login: an ECR login is one token, whatever member
// holds it.
func (o CheckupOptions) loginSecrets(host string, l login) []Secret {
	ecr := isECRHost(host)
	var out []Secret
	for _, m := range []struct {
		kind  SecretKind
		value string
	}{
		{SecretAuth, l.Auth}, {SecretPassword, l.Password},
		{SecretIdentityToken, l.IdentityToken}, {SecretRegistryToken, l.RegistryToken},
	} {
		if m.value == "" {
			continue
		}
		s := Secret{Host: host, Kind: m.kind, ECR: ecr}
		if ecr {
			s.Kind = SecretECRToken
			password := m.value
			if m.kind == SecretAuth {
				password = authPassword(m.value)
			}
			o.expiry(&s, ecrTokenExpiry(password))
		}
		out = append(out, s)
	}
	return out
}

func (o CheckupOptions) expiry(s *Secret, t time.Time) {
	if t.IsZero() {
		return
	}
	t = t.UTC()
	s.Expires, s.Expired = &t, !o.Now.Before(t)
}

// isECRHost reports whether host is an Amazon ECR registry (any partition) or ECR Public.
func isECRHost(host string) bool {
	spec, err := ecr.ParseRegistry(host)
	return err == nil && spec.Host != ""
}

// authPassword is the password of a docker "auth" (base64 "user:password"), "" if it is
// not one.
func authPassword(auth string) string {
	_, password, _ := ecr.SplitAuth(auth)
	return password
}

// ecrTokenExpiry reads the expiry of an ECR password: base64 of a JSON object whose
// "expiration" is in Unix seconds. Zero if it is not one (ECR does not document the
// format: what does not decode is an unknown expiry).
func ecrTokenExpiry(password string) time.Time {
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(password); err == nil {
			break
		}
	}
	if err != nil {
		return time.Time{}
	}
	var token struct {
		Expiration json.Number `json:"expiration"`
	}
	if json.Unmarshal(raw, &token) != nil {
		return time.Time{}
	}
	secs, err := token.Expiration.Int64()
	if err != nil || secs <= 0 || secs > maxExpiry.Unix() {
		// Past the year 9999 is no expiry a token has, and one encoding/json cannot
		// write (av doctor --json would fail).
		return time.Time{}
	}
	return time.Unix(secs, 0)
}

// maxExpiry is the latest expiry taken from a token: the last second encoding/json writes.
var maxExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// awsCredentialSecrets reads the AWS shared credentials file: each profile with a secret
// key (with a session token: temporary keys).
func awsCredentialSecrets(p *Place, data []byte) {
	keys, err := profiles.ReadStoredKeys(data)
	if err != nil {
		p.Err = &UserConfigError{p.Path, err}
		return
	}
	for _, k := range keys {
		s := Secret{Host: k.Profile, Kind: SecretAWSKey}
		if k.Session {
			s.Kind = SecretAWSSession
		}
		p.Secrets = append(p.Secrets, s)
	}
}

// ecrHelperCaches are the amazon-ecr-credential-helper's cache files: cache.json in
// $AWS_ECR_CACHE_DIR, else in ~/.ecr (its releases until 0.10) and in
// $XDG_CACHE_HOME/docker-credential-ecr-login (later ones; ecr-login/config GetCacheDir).
func ecrHelperCaches(getenv func(string) string, home string) []string {
	if dir := getenv("AWS_ECR_CACHE_DIR"); dir != "" {
		if rest, ok := strings.CutPrefix(dir, "~"); ok {
			dir = home + rest
		}
		return []string{filepath.Join(dir, "cache.json")}
	}
	cache := cmp.Or(getenv("XDG_CACHE_HOME"), filepath.Join(home, ".cache"))
	return []string{
		filepath.Join(home, ".ecr", "cache.json"),
		filepath.Join(cache, "docker-credential-ecr-login", "cache.json"),
	}
}

// ecrCacheSecrets reads the ECR credential helper's cache (ecr-login/cache/file.go): a
// RegistryCache, {"Registries": {key: AuthEntry}, "Version": "1.0"}, each entry holding an
// authorization token in plain text for its ProxyEndpoint until ExpiresAt.
func (o CheckupOptions) ecrCacheSecrets(p *Place, data []byte) {
	var cache struct {
		Registries map[string]struct {
			AuthorizationToken string
			ExpiresAt          time.Time
			ProxyEndpoint      string
		}
	}
	if err := json.Unmarshal(data, &cache); err != nil {
		p.Err = &UserConfigError{p.Path, errors.New("not the ECR credential helper's cache format")}
		return
	}
	for _, key := range slices.Sorted(maps.Keys(cache.Registries)) {
		e := cache.Registries[key]
		if e.AuthorizationToken == "" {
			continue
		}
		s := Secret{Host: placeHost(e.ProxyEndpoint), Kind: SecretECRToken, ECR: true}
		if s.Host == "" && strings.HasPrefix(key, "ecr-public") {
			s.Host = ecr.PublicHost
		}
		expires := e.ExpiresAt
		if expires.IsZero() {
			expires = ecrTokenExpiry(authPassword(e.AuthorizationToken))
		}
		o.expiry(&s, expires)
		p.Secrets = append(p.Secrets, s)
	}
}

// clients says which files each client reads now (CLIENTS.md).
func (o CheckupOptions) clients(getenv func(string) string, u UserConfig, docker Place, legacy, runtimeAuth string) []ClientRead {
	exists := func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !st.IsDir()
	}
	file := func(p string) FileRead { return FileRead{Path: p, Exists: exists(p)} }
	store := ""
	if docker.Store != nil {
		store = docker.Store.Name
	}
	dockerFile := file(u.DockerConfigPath())
	out := []ClientRead{{Client: "docker", Files: []FileRead{dockerFile}, DockerAuthConfig: getenv("DOCKER_AUTH_CONFIG") != "", Store: store}}

	// crane (go-containerregistry's authn.DefaultKeychain): the docker config if
	// ~/.docker/config.json or $DOCKER_CONFIG/config.json is there, else the first of
	// REGISTRY_AUTH_FILE and $XDG_RUNTIME_DIR/containers/auth.json that is.
	crane := ClientRead{Client: "crane", Files: []FileRead{}}
	home := getenv("HOME")
	dockerConfigEnv := getenv("DOCKER_CONFIG")
	switch {
	case exists(filepath.Join(home, ".docker", "config.json")) || (dockerConfigEnv != "" && exists(filepath.Join(dockerConfigEnv, "config.json"))):
		crane.Files, crane.Store = []FileRead{dockerFile}, store
	case getenv("REGISTRY_AUTH_FILE") != "" && exists(getenv("REGISTRY_AUTH_FILE")):
		crane.Files = []FileRead{file(getenv("REGISTRY_AUTH_FILE"))}
	case runtimeAuth != "" && exists(runtimeAuth):
		crane.Files = []FileRead{file(runtimeAuth)}
	}
	out = append(out, crane)

	// skopeo, podman, buildah (containers/image): REGISTRY_AUTH_FILE alone, else each
	// default in turn (u.AuthFiles, then ~/.dockercfg), the first naming a host winning;
	// credsStore ignored.
	containers := ClientRead{Client: "skopeo/podman"}
	for _, p := range u.AuthFiles {
		containers.Files = append(containers.Files, file(p))
	}
	if getenv("REGISTRY_AUTH_FILE") == "" {
		containers.Files = append(containers.Files, file(legacy))
	}
	out = append(out, containers)

	// helm 3.18+ (oras-go v2): its registry config, then the docker config.
	out = append(out, ClientRead{Client: "helm", Files: []FileRead{file(u.HelmFile), dockerFile}, Store: store})
	out = append(out, ClientRead{Client: "oras", Files: []FileRead{dockerFile}, Store: store})
	return out
}

// avVars are the variables av sets for its command, DOCKER_AUTH_CONFIG, which it removes,
// and AWS_PROFILE, which the SDKs read before av's credential endpoint: a shell's start-up
// file that sets one undoes av in the shells av starts (the last silently: the shell's
// AWS calls run as that profile, not av's).
var avVars = []string{"DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "HELM_REGISTRY_CONFIG", "DOCKER_AUTH_CONFIG", "AWS_PROFILE"}

// startupPatterns recognise a setting of one of avVars: sh's `VAR=…`, `export VAR=…`
// (declare/typeset -x, readonly) at a line's start, and fish's `set [-gx…] VAR value`.
// Compiled when asked for, not at start-up (see patterns).
var startupPatterns = sync.OnceValues(func() (sh, fish *regexp.Regexp) {
	vars := strings.Join(avVars, "|")
	return regexp.MustCompile(`^\s*(?:export\s+|declare\s+-\w+\s+|typeset\s+-\w+\s+|readonly\s+)?(` + vars + `)=`),
		regexp.MustCompile(`^\s*set\s+(?:-\w+\s+)*(` + vars + `)\s+\S`)
})

// maxStartupFile bounds what is read of a shell's start-up file.
const maxStartupFile = 1 << 20

// StartupSettings finds the lines of the user's shell start-up files (bash, zsh, fish,
// .profile) that would undo av in a shell it starts (avVars): av warns of them as the
// shell starts, as av doctor does.
func StartupSettings(getenv func(string) string) []StartupSetting {
	home := getenv("HOME")
	return startupSettings(getenv, home, xdgConfigHome(getenv))
}

// startupSettings finds the lines of the user's shell start-up files that set one of
// avVars unconditionally. A file that mentions AV_PROFILE is taken to guard its settings
// (`[ -z "$AV_PROFILE" ] && export …`) and is passed over.
func startupSettings(getenv func(string) string, home, xdgConfig string) []StartupSetting {
	zdot := cmp.Or(getenv("ZDOTDIR"), home)
	files := []string{
		filepath.Join(home, ".profile"), filepath.Join(home, ".bash_profile"), filepath.Join(home, ".bash_login"),
		filepath.Join(home, ".bashrc"), filepath.Join(zdot, ".zshenv"), filepath.Join(zdot, ".zprofile"),
		filepath.Join(zdot, ".zshrc"), filepath.Join(xdgConfig, "fish", "config.fish"),
	}
	out := []StartupSetting{}
	for _, f := range files {
		data, err := readUserFile(f)
		if err != nil || data == nil || bytes.Contains(data, []byte(MarkerVar)) {
			continue
		}
		re, fish := startupPatterns()
		if strings.HasSuffix(f, ".fish") {
			re = fish
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, maxStartupFile)
		for n := 1; sc.Scan(); n++ {
			if m := re.FindSubmatch(sc.Bytes()); m != nil {
				out = append(out, StartupSetting{Path: f, Line: n, Var: string(m[1])})
			}
		}
	}
	return out
}
