package env

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/av-cli/av/env/ecr"
)

// fakeStore is a user's credential store: the hosts its list gives, changed by the test.
type fakeStore struct {
	mu    sync.Mutex
	hosts []string
	lists int
}

func (s *fakeStore) set(hosts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hosts = hosts
}

func (s *fakeStore) list(string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lists++
	return slices.Clone(s.hosts), nil
}

// followed is a run's files made from the configs of a user whose HOME is home, with
// logins, and that user's docker config.json.
type followed struct {
	Files
	home, userConfig string
	store            *fakeStore
}

func newFollowed(t *testing.T, userConfig string, logins ecr.Logins) *followed {
	t.Helper()
	home := t.TempDir()
	r := &followed{home: home, userConfig: filepath.Join(home, ".docker", "config.json"), store: &fakeStore{}}
	if userConfig != "" {
		r.saveUser(t, userConfig)
	}
	d, err := NewDir(privateTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shred() })
	r.Files, _, err = d.WriteRegistryFiles(FilesOptions{Logins: logins, User: readUser(t, home), ListStore: r.store.list, DetectStore: noStore})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// saveUser writes the user's config.json as docker saves it: a new file renamed over the
// old one.
func (r *followed) saveUser(t *testing.T, content string) {
	t.Helper()
	os.MkdirAll(filepath.Dir(r.userConfig), 0o700)
	tmp := r.userConfig + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, r.userConfig); err != nil {
		t.Fatal(err)
	}
}

// follow is one look at the user's configs, as Follow takes every Interval.
func (r *followed) follow(t *testing.T, force bool) {
	t.Helper()
	if err := r.Files.follow(context.Background(), force, r.store.list); err != nil {
		t.Fatal(err)
	}
}

func (r *followed) dockerConfig() string { return filepath.Join(r.DockerConfig, "config.json") }

// runConfig is one of the run's files, decoded.
type runConfig struct {
	Auths       map[string]map[string]string `json:"auths"`
	CredHelpers map[string]string            `json:"credHelpers"`
	CredsStore  string                       `json:"credsStore"`
	PSFormat    string                       `json:"psFormat"`
}

func readRun(t *testing.T, path string) runConfig {
	t.Helper()
	var c runConfig
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	return c
}

// loginInside does what `docker login` inside the run does to the run's config.json: it
// adds an auths entry, and saves the file in docker's own layout.
func loginInside(t *testing.T, path, host, auth string) {
	t.Helper()
	var doc map[string]any
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["auths"].(map[string]any)[host] = map[string]string{"auth": auth}
	out, _ := json.MarshalIndent(doc, "", "  ")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFollowCredsStore: with a credsStore, a `docker login R2` made outside during the run
// (the helper holds it; config.json gains an empty auths entry) gives the run's files a
// credHelpers entry for R2, and `docker logout R2` takes it away; av's ECR logins and a
// login made inside the run stay through both.
func TestFollowCredsStore(t *testing.T) {
	ecrLogin := ecr.Logins{"123456789012.dkr.ecr.eu-west-1.amazonaws.com": auth("token")}
	r := newFollowed(t, `{"credsStore": "teststore"}`, ecrLogin)
	r.follow(t, false) // nothing changed: nothing to do
	if c := readRun(t, r.dockerConfig()); c.CredHelpers["r2.example"] != "" {
		t.Fatalf("the run's config.json has a helper for r2.example before any login: %+v", c)
	}
	loginInside(t, r.dockerConfig(), "inside.example", auth("mine"))

	// docker login r2.example, outside.
	r.store.set("r2.example")
	r.saveUser(t, `{"auths": {"r2.example": {}}, "credsStore": "teststore"}`)
	r.follow(t, false)
	c := readRun(t, r.dockerConfig())
	if c.CredHelpers["r2.example"] != "teststore" {
		t.Errorf("after a login outside, the run's config.json has no helper for r2.example: %+v", c)
	}
	if c.CredsStore != "" {
		t.Errorf("the run's config.json got a credsStore: %+v", c)
	}
	for _, p := range []string{r.dockerConfig(), r.AuthFile, r.HelmConfig} {
		if got := readRun(t, p).Auths["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]["auth"]; got != auth("token") {
			t.Errorf("%s: av's ECR login changed: %q", filepath.Base(p), got)
		}
	}
	if _, ok := readRun(t, r.AuthFile).Auths["r2.example"]; !ok {
		t.Errorf("containers-auth.json does not name r2.example (it reads the docker config's auths)")
	}
	if c.Auths["inside.example"]["auth"] != auth("mine") {
		t.Errorf("the login made inside the run was lost: %+v", c.Auths)
	}

	// docker logout r2.example, outside.
	r.store.set()
	r.saveUser(t, `{"auths": {}, "credsStore": "teststore"}`)
	r.follow(t, false)
	c = readRun(t, r.dockerConfig())
	if _, ok := c.CredHelpers["r2.example"]; ok {
		t.Errorf("after a logout outside, the run's config.json keeps a helper for r2.example: %+v", c)
	}
	if _, ok := c.Auths["r2.example"]; ok {
		t.Errorf("after a logout outside, the run's config.json keeps r2.example's entry: %+v", c)
	}
	if c.Auths["inside.example"]["auth"] != auth("mine") {
		t.Errorf("the login made inside the run was lost at the second merge: %+v", c.Auths)
	}
	if c.Auths["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]["auth"] != auth("token") {
		t.Errorf("av's ECR login changed: %+v", c.Auths)
	}
}

// TestFollowPlainAuths: without a store, a login made outside (its auth in the user's
// config.json, which did not exist when the run started) reaches the run's docker and
// containers files; a login again with another password changes it there; a logout takes
// it away. A user's entry for av's own ECR host never replaces av's token.
func TestFollowPlainAuths(t *testing.T) {
	ecrHost := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	r := newFollowed(t, "", ecr.Logins{ecrHost: auth("token")})

	r.saveUser(t, `{"auths": {"r2.example": {"auth": "`+auth("one")+`"}, "`+ecrHost+`": {"auth": "`+auth("stale")+`"}}}`)
	r.follow(t, false)
	for _, p := range []string{r.dockerConfig(), r.AuthFile} {
		c := readRun(t, p)
		if c.Auths["r2.example"]["auth"] != auth("one") {
			t.Errorf("%s: the login made outside did not arrive: %+v", filepath.Base(p), c.Auths)
		}
		if c.Auths[ecrHost]["auth"] != auth("token") {
			t.Errorf("%s: av's ECR login was replaced by the user's", filepath.Base(p))
		}
	}

	r.saveUser(t, `{"auths": {"r2.example": {"auth": "`+auth("second")+`"}}}`)
	r.follow(t, false)
	if got := readRun(t, r.dockerConfig()).Auths["r2.example"]["auth"]; got != auth("second") {
		t.Errorf("a second login outside did not replace the first: %q", got)
	}

	r.saveUser(t, `{"auths": {}}`)
	r.follow(t, false)
	for _, p := range []string{r.dockerConfig(), r.AuthFile} {
		c := readRun(t, p)
		if _, ok := c.Auths["r2.example"]; ok {
			t.Errorf("%s: the logout outside did not arrive: %+v", filepath.Base(p), c.Auths)
		}
		if c.Auths[ecrHost]["auth"] != auth("token") {
			t.Errorf("%s: av's ECR login went with the user's entry", filepath.Base(p))
		}
	}
}

// TestFollowCommandWins: an entry the command changed itself keeps the command's value
// when the user changes it outside too; the user's other changes (a setting, another
// login) still arrive.
func TestFollowCommandWins(t *testing.T) {
	r := newFollowed(t, `{"auths": {"shared.example": {"auth": "`+auth("user")+`"}}, "psFormat": "a"}`, ecr.Logins{"ecr.example": auth("token")})
	loginInside(t, r.dockerConfig(), "shared.example", auth("command"))
	r.saveUser(t, `{"auths": {"shared.example": {"auth": "`+auth("user2")+`"}, "other.example": {"auth": "`+auth("o")+`"}}, "psFormat": "bb"}`)
	r.follow(t, false)
	c := readRun(t, r.dockerConfig())
	if c.Auths["shared.example"]["auth"] != auth("command") {
		t.Errorf("the command's own login to shared.example was replaced: %+v", c.Auths)
	}
	if c.Auths["other.example"]["auth"] != auth("o") || c.PSFormat != "bb" {
		t.Errorf("the user's other changes did not arrive: %+v", c)
	}
}

// TestFollowTrigger: the user's configs are read again only when one of them changed, or
// when asked (a renewal): a store that gained a login without config.json changing shows
// then. A file that would not change is not replaced.
func TestFollowTrigger(t *testing.T) {
	r := newFollowed(t, `{"credsStore": "teststore"}`, ecr.Logins{"ecr.example": auth("token")})
	before := inode(t, r.dockerConfig())
	lists := r.store.lists
	r.follow(t, false)
	if r.store.lists != lists {
		t.Errorf("the store was listed again with no change to the user's configs")
	}
	r.store.set("r3.example") // `docker-credential-teststore store` by hand
	r.follow(t, false)
	if _, ok := readRun(t, r.dockerConfig()).CredHelpers["r3.example"]; ok {
		t.Fatal("a change of the store alone was seen with no change to the user's files")
	}
	if inode(t, r.dockerConfig()) != before {
		t.Errorf("the run's config.json was replaced with no change")
	}
	r.follow(t, true)
	if _, ok := readRun(t, r.dockerConfig()).CredHelpers["r3.example"]; !ok {
		t.Errorf("a renewal's look did not see the store's new login")
	}
	// The renewal asks for that look.
	if err := r.Renew(context.Background(), ecr.Logins{"ecr.example": auth("new")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.state.relist:
	default:
		t.Errorf("a renewal did not ask for a new look at the user's configs")
	}
	c := readRun(t, r.dockerConfig())
	if c.Auths["ecr.example"]["auth"] != auth("new") || c.CredHelpers["r3.example"] != "teststore" {
		t.Errorf("after the renewal: %+v", c)
	}
}

// TestFollowBrokenUserConfig: a user's config caught half-written (or broken) is reported
// once, and the run keeps its files; once fixed, it is merged.
func TestFollowBrokenUserConfig(t *testing.T) {
	r := newFollowed(t, `{}`, ecr.Logins{"ecr.example": auth("token")})
	before, _ := os.ReadFile(r.dockerConfig())
	r.saveUser(t, `{"auths": {"r2.example": {"auth": "c2VjcmV0`)
	err := r.Files.follow(context.Background(), false, r.store.list)
	if err == nil || !strings.Contains(err.Error(), "not valid JSON at line 1") || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Errorf("follow of a broken config = %v", err)
	}
	if err := r.Files.follow(context.Background(), false, r.store.list); err != nil {
		t.Errorf("the same broken config was reported twice: %v", err)
	}
	if after, _ := os.ReadFile(r.dockerConfig()); string(after) != string(before) {
		t.Errorf("the run's config.json changed")
	}
	r.saveUser(t, `{"auths": {"r2.example": {"auth": "`+auth("x")+`"}}}`)
	r.follow(t, false)
	if readRun(t, r.dockerConfig()).Auths["r2.example"]["auth"] != auth("x") {
		t.Errorf("the fixed config was not merged")
	}
}

// TestFollowContext: a `docker context use` made outside reaches the run, and is not
// carried back as if the command had made it; one the command makes is.
func TestFollowContext(t *testing.T) {
	r := newFollowed(t, `{"currentContext": "a"}`, ecr.Logins{"ecr.example": auth("token")})
	start := readUser(t, r.home)
	r.saveUser(t, `{"currentContext": "bb"}`)
	r.follow(t, false)
	if data, _ := os.ReadFile(r.dockerConfig()); currentContext(data) != "bb" {
		t.Fatalf("the outside `docker context use` did not arrive: %s", data)
	}
	r.saveUser(t, `{"currentContext": "ccc"}`) // after the run's last look
	if err := r.KeepCurrentContext(start); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(r.userConfig); currentContext(data) != "ccc" {
		t.Errorf("the run carried back a context it did not choose: %s", data)
	}
}

// TestFollowHungHelper: Follow lists the stores without the files' lock, so a helper that
// hangs holds up no renewal; and it ends with its context.
func TestFollowHungHelper(t *testing.T) {
	r := newFollowed(t, `{"credsStore": "teststore"}`, ecr.Logins{"ecr.example": auth("token")})
	listing := make(chan struct{})
	release := make(chan struct{})
	hung := func(string) ([]string, error) {
		close(listing)
		<-release
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, FollowOptions{Files: r.Files, Interval: time.Millisecond, ListStore: hung, Warn: func(err error) { t.Error(err) }})
	}()
	r.saveUser(t, `{"credsStore": "teststore", "psFormat": "x"}`)
	safety := time.After(time.Minute) // a safety net, not a timing
	select {
	case <-listing:
	case <-safety:
		t.Fatal("Follow never listed the store after the user's config changed")
	}
	renewed := make(chan error, 1)
	go func() { renewed <- r.Renew(context.Background(), ecr.Logins{"ecr.example": auth("new")}) }()
	select {
	case err := <-renewed:
		if err != nil {
			t.Fatal(err)
		}
	case <-safety:
		t.Fatal("a renewal waited for a hung credential helper")
	}
	cancel()
	close(release)
	select {
	case <-done:
	case <-safety:
		t.Fatal("Follow did not end with its context")
	}
}

// TestFollowLoop: Follow sees a change of the user's config by itself.
func TestFollowLoop(t *testing.T) {
	r := newFollowed(t, `{}`, ecr.Logins{"ecr.example": auth("token")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, FollowOptions{Files: r.Files, Interval: 5 * time.Millisecond, ListStore: r.store.list, Warn: func(err error) { t.Error(err) }})
	}()
	defer func() { cancel(); <-done }()
	r.saveUser(t, `{"auths": {"r2.example": {"auth": "`+auth("x")+`"}}}`)
	waitForDockerLogin(t, r, "r2.example", "Follow never merged the user's new login")
}

// waitForDockerLogin waits until the run's Docker config has a login for host, and fails
// t with failure after a minute (a safety net, not a timing).
func waitForDockerLogin(t *testing.T, r *followed, host, failure string) {
	t.Helper()
	for i := 0; ; i++ {
		data, _ := os.ReadFile(r.dockerConfig())
		if strings.Contains(string(data), host) {
			return
		}
		if i == 6000 {
			t.Fatal(failure)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// FuzzThreeWay: with no change on the user's side, the run's file stays as the command
// left it; with no change by the command, it becomes the user's side; and an error never
// quotes a file.
func FuzzThreeWay(f *testing.F) {
	f.Add(`{"auths": {"a": {"auth": "eA=="}}, "psFormat": "x"}`, `{"auths": {}}`, `{"auths": {"b": {}}, "credHelpers": {"b": "pass"}}`)
	f.Add(`{"credsStore": "pass", "Auths": {"a": null}}`, `{"credHelpers": {"a": ""}}`, `{}`)
	f.Add(`{"auths": {"a": {"auth": "eA=="}}}`, `{"auths": {"a": {"auth": "eA=="}}, "x": [1, {"y": 2}]}`, `{"x": [1, {"y": 3}]}`)
	f.Fuzz(func(t *testing.T, cur, base, next string) {
		if _, err := decodeClientConfig([]byte(base)); err != nil {
			return // the user's sides are av's own files: always valid
		}
		if _, err := decodeClientConfig([]byte(next)); err != nil {
			return
		}
		c, err := decodeClientConfig([]byte(cur))
		if err != nil {
			if _, err2 := threeWay([]byte(cur), []byte(base), []byte(next)); err2 == nil || !slices.Contains(mergeErrors, fixedError(err2)) {
				t.Fatalf("threeWay of a broken file: %v", err2)
			}
			return
		}
		same := func(what string, got []byte, want clientConfig, store string) {
			g, err := decodeClientConfig(got)
			if err != nil {
				t.Fatalf("%s: the output does not decode: %v", what, err)
			}
			if g.store != store || !sameMembers(g.doc, want.doc) || !sameMembers(g.auths, want.auths) || !maps.Equal(g.helpers, want.helpers) {
				t.Fatalf("%s:\ngot  %s", what, got)
			}
		}
		out, err := threeWay([]byte(cur), []byte(base), []byte(base))
		if err != nil {
			t.Fatal(err)
		}
		same("no change on the user's side", out, c, c.store)
		b, _ := decodeClientConfig([]byte(base))
		n, _ := decodeClientConfig([]byte(next))
		if out, err = threeWay([]byte(base), []byte(base), []byte(next)); err != nil {
			t.Fatal(err)
		}
		same("no change by the command", out, n, b.store)
	})
}

func sameMembers(x, y map[string]json.RawMessage) bool {
	return maps.EqualFunc(x, y, func(a, b json.RawMessage) bool { return sameValue(a, b) })
}

// A read that blocks (a config on a hung NFS mount) gives way when ctx ends, as it does
// on Ctrl-C or SIGTERM; a read that returns is returned as it is.
func TestInterruptible(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	defer close(release)
	got := make(chan error, 1)
	go func() {
		_, err := Interruptible(ctx, func() (int, error) { <-release; return 1, nil })
		got <- err
	}()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("a blocked read after the end of ctx: %v, want context.Canceled", err)
	}
	v, err := Interruptible(context.Background(), func() (string, error) { return "read", nil })
	if v != "read" || err != nil {
		t.Errorf("Interruptible = %q, %v", v, err)
	}
}

// A Follow started late (LookFirst) looks at once, not an Interval later: a login made
// before it started reaches the run's files although the Interval is an hour.
func TestFollowLookFirst(t *testing.T) {
	r := newFollowed(t, `{}`, ecr.Logins{"ecr.example": auth("token")})
	r.saveUser(t, `{"auths": {"r2.example": {"auth": "`+auth("x")+`"}}}`)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, FollowOptions{Files: r.Files, Interval: time.Hour, LookFirst: true, ListStore: r.store.list, Warn: func(err error) { t.Error(err) }})
	}()
	defer func() { cancel(); <-done }()
	waitForDockerLogin(t, r, "r2.example", "Follow did not look as it started")
}
