package ecr

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultMinTTL is how much life a registry token must have left to be used, and so how
// long before its expiry a running command's token is renewed: long enough for one slow
// push that read the token just before.
const DefaultMinTTL = 15 * time.Minute

// TokenStore keeps registry tokens between runs, under locks that every av on the same
// store shares: a profiles.Vault (VaultStore).
type TokenStore interface {
	// Lock holds the store's lock in mode until the Section's Unlock.
	Lock(ctx context.Context, mode profiles.LockMode) (Section, error)
	// LockFetch holds the fetch lock of k's item, taking no lock on the store, until the
	// returned release: one run at a time mints an identity's tokens, and the others wait
	// for it, not for the store. The context it returns carries the hold, for the fetches
	// made under it (profiles.FetchHold.Context).
	LockFetch(ctx context.Context, k profiles.CacheKey) (context.Context, func(), error)
}

// Section is a hold on the store's lock: its reads and writes take no lock of their own.
// *profiles.Section is one.
type Section interface {
	// ReadCache returns an item's data, or profiles.ErrNotCached.
	ReadCache(k profiles.CacheKey) ([]byte, error)
	// WriteCache replaces an item, good until expires.
	WriteCache(k profiles.CacheKey, data []byte, expires time.Time, label string) error
	Unlock()
}

// VaultStore is the TokenStore of a vault.
func VaultStore(v *profiles.Vault) TokenStore { return vaultStore{v} }

type vaultStore struct{ v *profiles.Vault }

func (s vaultStore) Lock(ctx context.Context, mode profiles.LockMode) (Section, error) {
	sec, err := s.v.Lock(ctx, mode)
	if err != nil {
		return nil, err
	}
	return sec, nil
}

func (s vaultStore) LockFetch(ctx context.Context, k profiles.CacheKey) (context.Context, func(), error) {
	h, err := s.v.LockFetch(ctx, k, "registry tokens", "ECR")
	if err != nil {
		return nil, nil, err
	}
	return h.Context(ctx), h.Release, nil
}

// Minter asks AWS for one registry token with a session's credentials: AWSMinter.
type Minter interface {
	Mint(ctx context.Context, cfg aws.Config, spec RegistrySpec) (Registry, error)
}

// CredentialSource gives a profile's AWS session: profiles.Profile, which caches sessions
// itself (the token cache keeps tokens only).
type CredentialSource interface {
	Credentials(ctx context.Context, o profiles.CredentialsOptions) (*profiles.Session, error)
}

// Identity is a principal that registry tokens are minted for.
type Identity struct {
	Profile string // the profile's name
	// Digest tells apart identities that one profile name may stand for over time (its
	// role, its source chain, its endpoints): profiles.Profile.Identity.
	Digest string
	Source CredentialSource
}

// AWSMinter mints with ECR's and ECR Public's GetAuthorizationToken.
type AWSMinter struct{}

// Mint mints spec's token.
func (AWSMinter) Mint(ctx context.Context, cfg aws.Config, spec RegistrySpec) (Registry, error) {
	if spec.Public {
		return MintPublic(ctx, cfg)
	}
	return Mint(ctx, cfg, spec.Region)
}

// TokenCache owns the algorithm at the heart of av: registry tokens are read from the
// store holding its lock shared; when one is missing or has too little life left, the
// identity's fetch lock is taken, the store read again (another av may have filled it
// meanwhile), and only what is still missing is minted, holding no lock on the store, and
// stored, holding it exclusive. Of N avs started together on a cold cache, one mints (once
// per identity and scope) while the others wait, then read what it stored; runs of other
// identities never wait for it.
type TokenCache struct {
	Store  TokenStore
	Minter Minter
	// MinTTL: a cached token with this much life left, or less, is minted again.
	MinTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// TokenRequest is what one run logs in to.
type TokenRequest struct {
	// Specs are the registries, each with its Profile set (RegistrySpec.For).
	Specs []RegistrySpec
	// Identity looks up a profile that Specs name.
	Identity func(profile string) (Identity, error)
	// NoPrompt: nothing may ask on the terminal (a renewal while the command runs).
	NoPrompt bool
}

// Tokens are a run's registry logins.
type Tokens struct {
	Logins  Logins
	Expires time.Time // the earliest expiry among them
	// Hosts are the registries' hosts in the order of the request's Specs: for a region
	// entry, the host ECR named for the identity there (ACCOUNT.dkr.ecr.REGION.DOMAIN, in
	// the region's partition).
	Hosts []string
}

// MintError names every registry that could not be logged in to, in the order the run
// lists them, each with its profile and cause.
type MintError struct{ Failures []RegistryFailure }

// RegistryFailure is one registry that could not be logged in to.
type RegistryFailure struct {
	Spec RegistrySpec
	Err  error
}

func (e *MintError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = fmt.Sprintf("registry %s (profile %q): %v", f.Spec, f.Spec.Profile, f.Err)
	}
	return strings.Join(parts, "; ")
}

// Unwrap gives the causes to errors.Is and errors.As.
func (e *MintError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// TokenKind is the profiles.CacheKey kind of av's registry token items: "av.ecr" sessions
// to aws-vault; `av list` shows them as registry tokens.
const TokenKind = "ecr"

// cacheEntry is what av keeps in the vault for one identity: its registry tokens by scope.
// Credentials are never kept here: sessions are profiles' to cache, and master keys are
// never copied. (Items written before held credentials too; those are ignored, and dropped
// at the next write.)
type cacheEntry struct {
	Tokens map[string]Registry `json:"tokens,omitempty"` // by scope: "ecr:REGION", "ecr-public"
}

// expires is when no token in the entry is usable any more.
func (e *cacheEntry) expires() time.Time {
	var t time.Time
	for _, r := range e.Tokens {
		if r.Expires.After(t) {
			t = r.Expires
		}
	}
	return t
}

// scope names what a token is good for: ECR in one region (every account's registry there
// that the identity may use), or ECR Public.
func scope(s RegistrySpec) string {
	if s.Public {
		return "ecr-public"
	}
	return "ecr:" + s.Region
}

// want is one identity a run needs tokens for.
type want struct {
	id     Identity
	specs  []RegistrySpec // in the run's order
	scopes []string       // distinct, sorted: the order they are minted in
	entry  *cacheEntry
}

func (w *want) key() profiles.CacheKey {
	return profiles.CacheKey{Kind: TokenKind, Profile: w.id.Profile, Detail: w.id.Digest}
}

// Get returns the tokens for every spec of r, from the store when they have more than
// MinTTL left, else minted and stored. Registries that fail are named together in a
// *MintError; the tokens that were minted are stored all the same.
func (c *TokenCache) Get(ctx context.Context, r TokenRequest) (Tokens, error) {
	wants, err := c.plan(r)
	if err != nil {
		return Tokens{}, err
	}
	short, err := c.look(ctx, wants)
	if err != nil {
		return Tokens{}, err
	}
	if len(short) > 0 {
		failures, err := c.fetch(ctx, short, r.NoPrompt)
		if err != nil {
			return Tokens{}, err
		}
		if len(failures) > 0 {
			return Tokens{}, c.mintError(r.Specs, failures)
		}
	}
	return c.assemble(r.Specs, wants), nil
}

// look reads the entries of wants in one shared section, and returns those that are not
// ready.
func (c *TokenCache) look(ctx context.Context, wants []*want) ([]*want, error) {
	sec, err := c.Store.Lock(ctx, profiles.Shared)
	if err != nil {
		return nil, err
	}
	defer sec.Unlock()
	var short []*want
	for _, w := range wants {
		if w.entry, err = c.readEntry(sec, w.key()); err != nil {
			return nil, err
		}
		if !c.ready(w, c.now()) {
			short = append(short, w)
		}
	}
	return short, nil
}

// fetch mints what wants lack under their fetch locks, taken in the order of their keys
// (two runs that need the same identities never each hold one the other awaits), after
// looking again: another av may have stored them while this one waited.
func (c *TokenCache) fetch(ctx context.Context, wants []*want, noPrompt bool) ([]RegistryFailure, error) {
	sorted := slices.SortedFunc(slices.Values(wants), func(a, b *want) int {
		ka, kb := a.key(), b.key()
		return cmp.Or(cmp.Compare(ka.Profile, kb.Profile), cmp.Compare(ka.Detail, kb.Detail))
	})
	for _, w := range sorted {
		held, release, err := c.Store.LockFetch(ctx, w.key())
		if err != nil {
			return nil, err
		}
		defer release()
		ctx = held
	}
	short, err := c.look(ctx, wants)
	if err != nil || len(short) == 0 {
		return nil, err
	}
	return c.fill(ctx, short, noPrompt)
}

func (c *TokenCache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// plan groups the specs by profile, in the order the run lists them.
func (c *TokenCache) plan(r TokenRequest) ([]*want, error) {
	var wants []*want
	byName := map[string]*want{}
	for _, s := range r.Specs {
		if s.Profile == "" {
			return nil, fmt.Errorf("registry %s names no profile", s)
		}
		w, ok := byName[s.Profile]
		if !ok {
			id, err := r.Identity(s.Profile)
			if err != nil {
				return nil, &MintError{Failures: []RegistryFailure{{Spec: s, Err: err}}}
			}
			w = &want{id: id}
			byName[s.Profile] = w
			wants = append(wants, w)
		}
		w.specs = append(w.specs, s)
		if sc := scope(s); !slices.Contains(w.scopes, sc) {
			w.scopes = append(w.scopes, sc)
		}
	}
	for _, w := range wants {
		slices.Sort(w.scopes)
	}
	return wants, nil
}

// readEntry reads an identity's item: none, or one that does not parse, is empty.
func (c *TokenCache) readEntry(sec Section, k profiles.CacheKey) (*cacheEntry, error) {
	e := &cacheEntry{}
	data, err := sec.ReadCache(k)
	if errors.Is(err, profiles.ErrNotCached) {
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	if json.Unmarshal(data, e) != nil {
		// Never the parse error: it may quote a token.
		log.Printf("ignoring an unreadable cache item for profile %q", k.Profile)
		return &cacheEntry{}, nil
	}
	return e, nil
}

// ready reports whether w's entry has every token w needs, with more than MinTTL left.
func (c *TokenCache) ready(w *want, now time.Time) bool {
	for _, sc := range w.scopes {
		if !fresh(w.entry.Tokens[sc].Expires, now, c.MinTTL) {
			return false
		}
	}
	return true
}

// fresh reports whether something expiring at expires has more than minTTL left (a
// negative minTTL counts as none: never an expired token).
func fresh(expires, now time.Time, minTTL time.Duration) bool {
	return expires.Sub(now) > max(minTTL, 0)
}

// maxMints bounds the GetAuthorizationToken calls in flight at once.
const maxMints = 8

// mint is one token to mint: a scope of an identity.
type mint struct {
	w    *want
	sc   string
	sess *profiles.Session
	reg  Registry
	err  error
}

// fill mints what the wants lack, holding no lock on the store, and stores their entries,
// holding it exclusive. The identities' sessions are got one after another (one may prompt
// for an MFA code),
// and each identity's tokens are minted as soon as its session is there, all at once: a
// cold run with K registries waits for about one ECR round trip, not K. A session that
// ECR rejects (a stale cache) is renewed once, as profiles says (renewRejected), and its
// tokens minted again. What could not be minted is returned as failures; an error is one
// of the store's.
func (c *TokenCache) fill(ctx context.Context, wants []*want, noPrompt bool) ([]RegistryFailure, error) {
	opts := profiles.CredentialsOptions{NoPrompt: noPrompt}
	var failures []RegistryFailure
	var mints []*mint
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxMints)
	start := func(batch []*mint) {
		for _, m := range batch {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				m.reg, m.err = c.mintOne(ctx, m)
			})
		}
	}
	for _, w := range wants {
		if w.entry.Tokens == nil {
			w.entry.Tokens = map[string]Registry{}
		}
		now := c.now()
		var need []string
		for _, sc := range w.scopes {
			if !fresh(w.entry.Tokens[sc].Expires, now, c.MinTTL) {
				need = append(need, sc)
			}
		}
		if len(need) == 0 {
			continue
		}
		sess, err := w.id.Source.Credentials(ctx, opts)
		if err != nil {
			// Every registry of this identity that still needs a token fails alike.
			for _, sc := range need {
				failures = append(failures, RegistryFailure{Spec: w.specFor(sc), Err: err})
			}
			continue
		}
		batch := make([]*mint, len(need))
		for i, sc := range need {
			batch[i] = &mint{w: w, sc: sc, sess: sess}
		}
		mints = append(mints, batch...)
		start(batch)
	}
	wg.Wait()
	start(renewRejected(ctx, mints, opts))
	wg.Wait()

	minted := map[*want]int{}
	for _, m := range mints {
		if m.err != nil {
			failures = append(failures, RegistryFailure{Spec: m.w.specFor(m.sc), Err: m.err})
			continue
		}
		log.Printf("minted a token for %s in %s with profile %q, expires %s", m.reg.Host, m.w.specFor(m.sc).Region, m.w.id.Profile, m.reg.Expires.Format(time.RFC3339))
		m.w.entry.Tokens[m.sc] = m.reg
		minted[m.w]++
	}
	if len(minted) == 0 {
		return failures, nil
	}
	sec, err := c.Store.Lock(ctx, profiles.Exclusive)
	if err != nil {
		return nil, err
	}
	defer sec.Unlock()
	for _, w := range wants {
		if minted[w] == 0 {
			continue
		}
		if err := c.store(sec, w); err != nil {
			return nil, err
		}
	}
	return failures, nil
}

// renewRejected renews the sessions that ECR rejected though profiles would renew them
// (profiles.Session.Renewal: a cached session, stale after a key rotation or a
// revocation), once per identity whatever the number of its mints that failed, and
// returns the mints to try again, each with its identity's new session. A mint whose
// identity could not be renewed keeps its failure: the first such mint reports the
// renewal's error, the others ECR's rejection.
func renewRejected(ctx context.Context, mints []*mint, o profiles.CredentialsOptions) []*mint {
	var again []*mint
	renewed := map[*want]*profiles.Session{} // nil: the renewal failed
	for _, m := range mints {
		renew, ok := m.sess.Renewal(m.err, o)
		if !ok {
			continue
		}
		sess, tried := renewed[m.w]
		if !tried {
			log.Printf("ECR rejected profile %q's cached session: renewing it", m.w.id.Profile)
			var err error
			if sess, err = m.w.id.Source.Credentials(ctx, renew); err != nil {
				m.err = err
				renewed[m.w] = nil
				continue
			}
			renewed[m.w] = sess
		}
		if sess != nil {
			m.sess = sess
			again = append(again, m)
		}
	}
	return again
}

// mintOne mints m's token with its session.
func (c *TokenCache) mintOne(ctx context.Context, m *mint) (Registry, error) {
	cfg, err := m.sess.Config(ctx)
	if err != nil {
		return Registry{}, err
	}
	return c.Minter.Mint(ctx, cfg, m.w.specFor(m.sc))
}

// store writes w's entry, without the tokens that have expired.
func (c *TokenCache) store(sec Section, w *want) error {
	e, now := w.entry, c.now()
	for sc, r := range e.Tokens {
		if !r.Expires.After(now) {
			delete(e.Tokens, sc)
		}
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return sec.WriteCache(w.key(), data, e.expires(), "av registry tokens")
}

// specFor is the first spec of w with scope sc: the one its errors name.
func (w *want) specFor(sc string) RegistrySpec {
	for _, s := range w.specs {
		if scope(s) == sc {
			return s
		}
	}
	return RegistrySpec{}
}

// mintError orders failures as the run lists its registries, whatever order they were
// found in, so the message is the same from run to run.
func (c *TokenCache) mintError(specs []RegistrySpec, failures []RegistryFailure) error {
	index := func(s RegistrySpec) int {
		return slices.IndexFunc(specs, func(t RegistrySpec) bool { return t == s })
	}
	slices.SortStableFunc(failures, func(a, b RegistryFailure) int { return cmp.Compare(index(a.Spec), index(b.Spec)) })
	return &MintError{Failures: failures}
}

// assemble builds the logins for every spec from the wants' entries.
func (c *TokenCache) assemble(specs []RegistrySpec, wants []*want) Tokens {
	t := Tokens{Logins: Logins{}}
	byName := map[string]*want{}
	for _, w := range wants {
		for _, s := range w.specs {
			byName[s.Profile] = w
		}
	}
	for _, s := range specs {
		reg := byName[s.Profile].entry.Tokens[scope(s)]
		host := s.Host
		if host == "" {
			host = reg.Host
		}
		t.Logins[host] = reg.Auth
		t.Hosts = append(t.Hosts, host)
		if t.Expires.IsZero() || reg.Expires.Before(t.Expires) {
			t.Expires = reg.Expires
		}
	}
	return t
}
