package ecr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// auth is a docker auth for user AWS.
func auth(password string) string {
	return base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
}

// memStore is a TokenStore in memory. locks lists the store's locks and fetch locks as
// they are taken ("shared", "exclusive", "fetch PROFILE"), and onFetch runs as a fetch lock
// is taken: what another av does while this one waits for it.
type memStore struct {
	items   map[profiles.CacheKey][]byte
	held    profiles.LockMode
	fetches int // fetch locks held
	locks   []string
	writes  int
	onFetch func()
}

func newMemStore() *memStore { return &memStore{items: map[profiles.CacheKey][]byte{}} }

func (s *memStore) Lock(_ context.Context, mode profiles.LockMode) (Section, error) {
	if s.held != 0 {
		return nil, errors.New("sections nest")
	}
	s.locks = append(s.locks, mode.String())
	s.held = mode
	return s, nil
}

func (s *memStore) Unlock() { s.held = 0 }

func (s *memStore) LockFetch(ctx context.Context, k profiles.CacheKey) (context.Context, func(), error) {
	if s.held != 0 {
		return nil, nil, errors.New("a fetch lock awaited inside a section")
	}
	s.locks = append(s.locks, "fetch "+k.Profile)
	s.fetches++
	if s.onFetch != nil {
		s.onFetch()
	}
	return ctx, func() { s.fetches-- }, nil
}

func (s *memStore) ReadCache(k profiles.CacheKey) ([]byte, error) {
	if s.held == 0 {
		return nil, errors.New("read outside a lock")
	}
	d, ok := s.items[k]
	if !ok {
		return nil, profiles.ErrNotCached
	}
	return d, nil
}

func (s *memStore) WriteCache(k profiles.CacheKey, data []byte, _ time.Time, _ string) error {
	if s.held != profiles.Exclusive {
		return fmt.Errorf("write under a %s lock", s.held)
	}
	s.items[k] = data
	s.writes++
	return nil
}

// put stores an entry for profile as another av would have.
func (s *memStore) put(t *testing.T, profile string, tokens map[string]Registry) {
	t.Helper()
	data, err := json.Marshal(cacheEntry{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	s.items[profiles.CacheKey{Kind: TokenKind, Profile: profile, Detail: "id-" + profile}] = data
}

func (s *memStore) entry(t *testing.T, profile string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s.items[profiles.CacheKey{Kind: TokenKind, Profile: profile, Detail: "id-" + profile}], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeMinter mints tokens that live 12 hours, fails the regions in fail, and rejects the
// sessions in reject as ECR rejects a revoked one. With together set, each Mint waits for
// that many calls to be in flight at once, and fails if they never are.
type fakeMinter struct {
	now      func() time.Time
	fail     map[string]error
	reject   map[string]bool // access key IDs
	together int

	mu      sync.Mutex
	mints   []string // "profile-key scope", in call order
	arrived int
	all     chan struct{}
}

func (m *fakeMinter) Mint(_ context.Context, cfg aws.Config, spec RegistrySpec) (Registry, error) {
	creds, _ := cfg.Credentials.Retrieve(context.Background())
	m.mu.Lock()
	m.mints = append(m.mints, creds.AccessKeyID+" "+scope(spec))
	if m.together > 0 {
		if m.all == nil {
			m.all = make(chan struct{})
		}
		if m.arrived++; m.arrived == m.together {
			close(m.all)
		}
	}
	all := m.all
	m.mu.Unlock()
	if all != nil {
		select {
		case <-all:
		case <-time.After(5 * time.Second):
			return Registry{}, fmt.Errorf("%s: the other mints never came while this one was in flight", scope(spec))
		}
	}
	if m.reject[creds.AccessKeyID] {
		return Registry{}, fmt.Errorf("minting: %w", &smithy.GenericAPIError{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."})
	}
	if err := m.fail[scope(spec)]; err != nil {
		return Registry{}, err
	}
	host := "123456789012.dkr.ecr." + spec.Region + ".amazonaws.com"
	if spec.Public {
		host = PublicHost
	}
	return Registry{Host: host, Auth: auth("token-" + scope(spec)), Expires: m.now().Add(12 * time.Hour)}, nil
}

// fakeSource hands out a session, counting retrievals and how they were asked for. A
// renewal (CredentialsOptions.Renew) hands out renewed instead, when set.
type fakeSource struct {
	store   *memStore // its sessions are never asked for inside one of its sections
	key     string
	renewed string
	master  bool
	err     error
	asked   []profiles.CredentialsOptions
	expires time.Time
}

func (s *fakeSource) Credentials(_ context.Context, o profiles.CredentialsOptions) (*profiles.Session, error) {
	s.asked = append(s.asked, o)
	if s.store != nil && s.store.held != 0 {
		return nil, fmt.Errorf("a session asked for holding the store %s", s.store.held)
	}
	if o.Renew && s.renewed != "" {
		s.key = s.renewed
	}
	if s.err != nil {
		return nil, s.err
	}
	c := aws.Credentials{AccessKeyID: s.key, SecretAccessKey: "SECRET-" + s.key, SessionToken: "TOKEN-" + s.key, CanExpire: !s.master, Expires: s.expires}
	if s.master {
		c.SessionToken = ""
	}
	return &profiles.Session{Credentials: c, AWS: aws.Config{Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })}}, nil
}

type fixture struct {
	store   *memStore
	minter  *fakeMinter
	sources map[string]*fakeSource
	now     time.Time
	cache   *TokenCache
}

func newFixture() *fixture {
	f := &fixture{store: newMemStore(), sources: map[string]*fakeSource{}, now: t0}
	clock := func() time.Time { return f.now }
	f.minter = &fakeMinter{now: clock, fail: map[string]error{}}
	f.cache = &TokenCache{Store: f.store, Minter: f.minter, MinTTL: 15 * time.Minute, Now: clock}
	return f
}

func (f *fixture) source(profile string) *fakeSource {
	if s, ok := f.sources[profile]; ok {
		return s
	}
	s := &fakeSource{store: f.store, key: "ASIA" + strings.ToUpper(profile), expires: f.now.Add(time.Hour)}
	f.sources[profile] = s
	return s
}

func (f *fixture) request(specs ...RegistrySpec) TokenRequest {
	return TokenRequest{
		Specs: specs,
		Identity: func(p string) (Identity, error) {
			if p == "missing" {
				return Identity{}, errors.New(`profile "missing" is not in the config`)
			}
			return Identity{Profile: p, Digest: "id-" + p, Source: f.source(p)}, nil
		},
	}
}

func ecrIn(region, profile string) RegistrySpec {
	return RegistrySpec{Region: region, Profile: profile}
}

func TestTokenCacheColdThenWarm(t *testing.T) {
	f := newFixture()
	req := f.request(ecrIn("eu-west-1", "dev"))
	got, err := f.cache.Get(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	host := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	if got.Logins[host] != auth("token-ecr:eu-west-1") || !got.Expires.Equal(t0.Add(12*time.Hour)) {
		t.Fatalf("cold Get = %+v", got)
	}
	if len(f.minter.mints) != 1 || f.store.writes != 1 {
		t.Fatalf("cold: %d mints, %d writes; want 1 and 1", len(f.minter.mints), f.store.writes)
	}
	if want := []string{"shared", "fetch dev", "shared", "exclusive"}; fmt.Sprint(f.store.locks) != fmt.Sprint(want) {
		t.Errorf("cold locks = %v, want %v", f.store.locks, want)
	}

	f.store.locks = nil
	f.now = f.now.Add(time.Hour)
	got2, err := f.cache.Get(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got2.Logins[host] != got.Logins[host] || len(f.minter.mints) != 1 || len(f.sources["dev"].asked) != 1 {
		t.Errorf("warm: minted again (%d mints, %d credential reads)", len(f.minter.mints), len(f.sources["dev"].asked))
	}
	if want := []string{"shared"}; fmt.Sprint(f.store.locks) != fmt.Sprint(want) {
		t.Errorf("warm locks = %v, want only %v", f.store.locks, want)
	}
}

func TestTokenCachePartialFill(t *testing.T) {
	f := newFixture()
	f.store.put(t, "dev", map[string]Registry{
		"ecr:eu-west-1": {Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Auth: auth("cached"), Expires: t0.Add(6 * time.Hour)},
	})
	got, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"), ecrIn("us-west-2", "dev"), RegistrySpec{Host: PublicHost, Region: "us-east-1", Public: true, Profile: "dev"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"ASIADEV ecr-public", "ASIADEV ecr:us-west-2"}; fmt.Sprint(slices.Sorted(slices.Values(f.minter.mints))) != fmt.Sprint(want) {
		t.Errorf("mints = %v, want only the missing scopes %v", f.minter.mints, want)
	}
	if len(f.sources["dev"].asked) != 1 {
		t.Errorf("%d credential reads for one identity, want 1", len(f.sources["dev"].asked))
	}
	if got.Logins["123456789012.dkr.ecr.eu-west-1.amazonaws.com"] != auth("cached") {
		t.Error("the cached token was not used")
	}
	if !got.Expires.Equal(t0.Add(6 * time.Hour)) {
		t.Errorf("Expires = %s, want the earliest token's", got.Expires)
	}
	// Each spec's host, in the request's order: a region's is the one ECR named there
	// (AV_REGISTRY is the first, the profile's own).
	if want := []string{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.us-west-2.amazonaws.com", PublicHost}; !slices.Equal(got.Hosts, want) {
		t.Errorf("Hosts = %v, want %v", got.Hosts, want)
	}
	tokens := f.store.entry(t, "dev")["tokens"].(map[string]any)
	if len(tokens) != 3 {
		t.Errorf("stored %d tokens, want the cached one and the two new", len(tokens))
	}
}

func TestTokenCacheMinTTLBoundary(t *testing.T) {
	for _, tc := range []struct {
		left  time.Duration
		mints int
	}{
		{15 * time.Minute, 1},                 // exactly MinTTL left: too little
		{15*time.Minute + time.Nanosecond, 0}, // just more: used
		{-time.Minute, 1},                     // expired
		{12 * time.Hour, 0},                   // fresh
		{15*time.Minute - time.Nanosecond, 1}, // just less
	} {
		f := newFixture()
		f.store.put(t, "dev", map[string]Registry{"ecr:eu-west-1": {Host: "h", Auth: auth("cached"), Expires: t0.Add(tc.left)}})
		if _, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"))); err != nil {
			t.Fatal(err)
		}
		if len(f.minter.mints) != tc.mints {
			t.Errorf("%s left, MinTTL 15m: %d mints, want %d", tc.left, len(f.minter.mints), tc.mints)
		}
	}
}

func TestTokenCacheNeverStoresCredentials(t *testing.T) {
	for _, master := range []bool{false, true} {
		f := newFixture()
		f.source("dev").master = master
		if _, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"))); err != nil {
			t.Fatal(err)
		}
		for k, data := range f.store.items {
			if strings.Contains(string(data), "SECRET-") || strings.Contains(string(data), "ASIADEV") || strings.Contains(string(data), "TOKEN-") {
				t.Errorf("master=%v: item %v holds credentials: %s", master, k, data)
			}
		}
		if got := f.store.entry(t, "dev"); len(got) != 1 || got["tokens"] == nil {
			t.Errorf("master=%v: stored entry has %v, want tokens only", master, got)
		}
	}
}

func TestTokenCacheRenewalNeverPrompts(t *testing.T) {
	f := newFixture()
	req := f.request(ecrIn("eu-west-1", "dev"), ecrIn("us-west-2", "ops"))
	req.NoPrompt = true
	if _, err := f.cache.Get(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	for name, s := range f.sources {
		if len(s.asked) != 1 || !s.asked[0].NoPrompt {
			t.Errorf("%s: credentials asked for as %+v, want once with NoPrompt", name, s.asked)
		}
	}
	// And a run that may prompt asks so.
	f = newFixture()
	if _, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"))); err != nil {
		t.Fatal(err)
	}
	if a := f.sources["dev"].asked; len(a) != 1 || a[0].NoPrompt {
		t.Errorf("a first run asked for credentials as %+v, want once, prompting allowed", a)
	}
}

func TestTokenCacheFailuresInStableOrder(t *testing.T) {
	var first string
	for i := range 20 {
		f := newFixture()
		f.minter.fail["ecr:us-west-2"] = errors.New("AccessDenied")
		f.minter.fail["ecr:ap-south-1"] = errors.New("AccessDenied")
		f.source("ops").err = errors.New("no credentials")
		specs := []RegistrySpec{ecrIn("us-west-2", "dev"), ecrIn("eu-west-1", "dev"), ecrIn("eu-central-1", "ops"), ecrIn("ap-south-1", "dev")}
		_, err := f.cache.Get(context.Background(), f.request(specs...))
		var me *MintError
		if !errors.As(err, &me) {
			t.Fatalf("err = %v, want a MintError", err)
		}
		want := `registry ECR in us-west-2 (profile "dev"): AccessDenied; ` +
			`registry ECR in eu-central-1 (profile "ops"): no credentials; ` +
			`registry ECR in ap-south-1 (profile "dev"): AccessDenied`
		if err.Error() != want {
			t.Fatalf("err =\n%s\nwant\n%s", err, want)
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("run %d named the failures differently: %s", i, err)
		}
		// What could be minted is stored for the next run.
		if tokens := f.store.entry(t, "dev")["tokens"].(map[string]any); len(tokens) != 1 || tokens["ecr:eu-west-1"] == nil {
			t.Errorf("stored %v, want the one token that was minted", tokens)
		}
	}
}

func TestTokenCacheUnknownProfile(t *testing.T) {
	f := newFixture()
	_, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"), ecrIn("us-west-2", "missing")))
	if err == nil || err.Error() != `registry ECR in us-west-2 (profile "missing"): profile "missing" is not in the config` {
		t.Errorf("err = %v", err)
	}
	if len(f.minter.mints) != 0 {
		t.Error("minted before every profile was found")
	}
}

func TestTokenCacheSeesConcurrentFiller(t *testing.T) {
	f := newFixture()
	// Another av mints and stores while this one waits for the fetch lock.
	f.store.onFetch = func() {
		f.store.put(t, "dev", map[string]Registry{"ecr:eu-west-1": {Host: "h.example", Auth: auth("theirs"), Expires: t0.Add(12 * time.Hour)}})
	}
	got, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev")))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.minter.mints) != 0 || len(f.sources["dev"].asked) != 0 || f.store.writes != 0 {
		t.Errorf("minted %d, read credentials %d times, wrote %d: the other av's token was not seen", len(f.minter.mints), len(f.sources["dev"].asked), f.store.writes)
	}
	if got.Logins["h.example"] != auth("theirs") {
		t.Errorf("logins = %v, want the other av's token", got.Logins)
	}
}

func TestTokenCacheUnreadableItem(t *testing.T) {
	f := newFixture()
	f.store.items[profiles.CacheKey{Kind: TokenKind, Profile: "dev", Detail: "id-dev"}] = []byte(`{"tokens": SECRET-garbage`)
	if _, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"))); err != nil {
		t.Fatal(err)
	}
	if len(f.minter.mints) != 1 {
		t.Errorf("an unreadable item: %d mints, want 1", len(f.minter.mints))
	}
}

func TestTokenCacheOldItemWithCredentials(t *testing.T) {
	// Items written by av before sessions moved to profiles held credentials too.
	f := newFixture()
	k := profiles.CacheKey{Kind: TokenKind, Profile: "dev", Detail: "id-dev"}
	f.store.items[k] = []byte(`{"credentials":{"AccessKeyID":"ASIAOLD","SecretAccessKey":"SECRET-old"},"tokens":{"ecr:us-west-2":{"Host":"h","Auth":"` + auth("x") + `","Expires":"` + t0.Add(time.Hour).Format(time.RFC3339) + `"}}}`)
	if _, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"))); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(f.store.items[k]), "SECRET-old") {
		t.Error("the rewritten item still holds the old credentials")
	}
}

func TestScope(t *testing.T) {
	for _, tt := range []struct {
		spec RegistrySpec
		want string
	}{
		{RegistrySpec{Region: "eu-west-1"}, "ecr:eu-west-1"},
		{RegistrySpec{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Region: "eu-west-1"}, "ecr:eu-west-1"},
		{RegistrySpec{Host: "210987654321.dkr.ecr.eu-west-1.amazonaws.com", Region: "eu-west-1", Profile: "other"}, "ecr:eu-west-1"},
		{RegistrySpec{Host: PublicHost, Region: "us-east-1", Public: true}, "ecr-public"},
	} {
		if got := scope(tt.spec); got != tt.want {
			t.Errorf("scope(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestFresh(t *testing.T) {
	now := t0
	for _, tt := range []struct {
		expires time.Time
		minTTL  time.Duration
		want    bool
	}{
		{now.Add(time.Hour), 15 * time.Minute, true},
		{now.Add(15 * time.Minute), 15 * time.Minute, false},
		{now.Add(time.Second), 0, true},
		{now, 0, false},
		{now.Add(-time.Minute), -5 * time.Minute, false}, // never an expired token
		{time.Time{}, 0, false},                          // no token at all
	} {
		if got := fresh(tt.expires, now, tt.minTTL); got != tt.want {
			t.Errorf("fresh(%s left, min %s) = %v", tt.expires.Sub(now), tt.minTTL, got)
		}
	}
}

func TestRegistrySpecFor(t *testing.T) {
	if got := (RegistrySpec{Region: "eu-west-1"}).For("dev").Profile; got != "dev" {
		t.Errorf("an entry naming no profile is for %q, want the run's", got)
	}
	if got := (RegistrySpec{Region: "eu-west-1", Profile: "ops"}).For("dev").Profile; got != "ops" {
		t.Errorf("an entry naming ops is for %q", got)
	}
}

// Five registries of two identities, cold: every token is minted at once (the minter
// fails unless all five calls are in flight together), each identity's session is read
// once, and the run's order of registries still decides the error's.
func TestTokenCacheMintsConcurrently(t *testing.T) {
	f := newFixture()
	f.minter.together = 5
	specs := []RegistrySpec{ecrIn("eu-west-1", "dev"), ecrIn("us-west-2", "dev"), ecrIn("ap-south-1", "dev"),
		{Host: PublicHost, Region: "us-east-1", Public: true, Profile: "dev"}, ecrIn("eu-west-1", "shared")}
	got, err := f.cache.Get(context.Background(), f.request(specs...))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Logins) != 4 || len(f.minter.mints) != 5 || f.store.writes != 2 {
		t.Errorf("%d logins, %d mints, %d writes; want 4, 5 and 2", len(got.Logins), len(f.minter.mints), f.store.writes)
	}
	for _, p := range []string{"dev", "shared"} {
		if n := len(f.sources[p].asked); n != 1 {
			t.Errorf("profile %s: %d credential reads, want 1", p, n)
		}
	}

	// Several failures, whatever order the concurrent mints end in: the run's order.
	for range 20 {
		f := newFixture()
		f.minter.together = 5
		f.minter.fail["ecr-public"] = errors.New("public down")
		f.minter.fail["ecr:us-west-2"] = errors.New("west down")
		f.minter.fail["ecr:eu-west-1"] = errors.New("eu down")
		_, err := f.cache.Get(context.Background(), f.request(specs...))
		want := `registry ECR in eu-west-1 (profile "dev"): eu down; registry ECR in us-west-2 (profile "dev"): west down; ` +
			`registry public.ecr.aws (profile "dev"): public down; registry ECR in eu-west-1 (profile "shared"): eu down`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
		// What was minted is stored all the same.
		if got := f.store.entry(t, "dev")["tokens"].(map[string]any); len(got) != 1 || got["ecr:ap-south-1"] == nil {
			t.Fatalf("stored %v, want only the token that was minted", got)
		}
	}
}

// A cached session that ECR rejects is renewed once, and the tokens minted with the new
// one; a session rejected again, or master keys, are not renewed (again).
func TestTokenCacheRenewsARejectedSession(t *testing.T) {
	f := newFixture()
	src := f.source("dev")
	src.renewed = "ASIARENEWED"
	f.minter.reject = map[string]bool{"ASIADEV": true}
	got, err := f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"), ecrIn("us-west-2", "dev")))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Logins) != 2 {
		t.Errorf("%d logins, want 2", len(got.Logins))
	}
	if len(src.asked) != 2 || src.asked[0].Renew || !src.asked[1].Renew {
		t.Errorf("credential reads %+v, want one, then one renewal", src.asked)
	}
	if want := []string{"ASIADEV ecr:eu-west-1", "ASIADEV ecr:us-west-2", "ASIARENEWED ecr:eu-west-1", "ASIARENEWED ecr:us-west-2"}; fmt.Sprint(slices.Sorted(slices.Values(f.minter.mints))) != fmt.Sprint(want) {
		t.Errorf("mints = %v, want %v", f.minter.mints, want)
	}

	// The renewed session is rejected too: one renewal only, and the run fails naming ECR's answer.
	f = newFixture()
	src = f.source("dev")
	src.renewed = "ASIARENEWED"
	f.minter.reject = map[string]bool{"ASIADEV": true, "ASIARENEWED": true}
	_, err = f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev")))
	if err == nil || !strings.Contains(err.Error(), "UnrecognizedClientException") || len(src.asked) != 2 || len(f.minter.mints) != 2 {
		t.Errorf("err = %v after %d credential reads and %d mints; want ECR's answer after 2 and 2", err, len(src.asked), len(f.minter.mints))
	}

	// Master keys are not a cached session: nothing to renew.
	f = newFixture()
	src = f.source("dev")
	src.master = true
	f.minter.reject = map[string]bool{"ASIADEV": true}
	if _, err = f.cache.Get(context.Background(), f.request(ecrIn("eu-west-1", "dev"))); err == nil || len(src.asked) != 1 {
		t.Errorf("master keys: err = %v after %d credential reads; want a failure after 1", err, len(src.asked))
	}
}
