package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultMinTTL is how much life a registry token must have left to be used, and so how
// long before its expiry a running command's token is renewed: long enough for one slow
// push that read the token just before.
const DefaultMinTTL = 15 * time.Minute

// LoginOptions say what a run logs in to, and how fresh its tokens must be.
type LoginOptions struct {
	Vault *profiles.Vault
	// Lookup finds a profile by name: the run's, or one a registry entry names.
	Lookup func(name string) (*profiles.Profile, error)
	Run    string // the run's profile: the command gets its credentials
	Specs  []RegistrySpec
	// MinTTL: a cached token with less life left is minted again.
	MinTTL time.Duration
	// SessionMinTTL: cached credentials with less life left are fetched again
	// (aws-vault's AWS_MIN_TTL).
	SessionMinTTL time.Duration
	// Renewal: the command runs and has its credentials; only tokens are wanted, and
	// nothing may prompt on the terminal.
	Renewal bool
}

// Login is what a run hands its command.
type Login struct {
	Credentials aws.Credentials // the run profile's; empty for a renewal
	Logins      Logins
	Expires     time.Time // the earliest expiry among the tokens
}

// cacheKind names av's items in the vault: "av.ecr" sessions to aws-vault.
const cacheKind = "ecr"

// cacheEntry is what av keeps in the vault for one profile identity: its registry tokens
// and, when they are temporary, the credentials it gives. With both in one item, a warm run
// decrypts one item (about 3 ms with the file backend), not aws-vault's session too.
type cacheEntry struct {
	Credentials *aws.Credentials `json:"credentials,omitempty"`
	// Master says the profile's credentials are the vault's master keys (--no-session, or
	// no session possible): they are read from their own item on each run, never copied.
	Master bool                `json:"master,omitempty"`
	Tokens map[string]Registry `json:"tokens,omitempty"` // by scope: "ecr:REGION", "ecr-public"
}

// expires is when nothing in the entry is usable any more.
func (e *cacheEntry) expires() time.Time {
	var t time.Time
	if e.Credentials != nil && e.Credentials.Expires.After(t) {
		t = e.Credentials.Expires
	}
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

// want is one profile a run needs something from.
type want struct {
	p      *profiles.Profile
	scopes map[string]RegistrySpec // scope → the first spec that needs it
	creds  bool                    // the command gets this profile's credentials
	entry  *cacheEntry
	got    aws.Credentials // the credentials, once known
}

func (w *want) key() profiles.CacheKey {
	return profiles.CacheKey{Kind: cacheKind, Profile: w.p.Name, Detail: w.p.Identity}
}

// LogIn gets the run's registry tokens and the run profile's credentials: from av's cache in
// the vault when they have enough life left, else from AWS, then caches them. Reads hold the
// vault's lock shared; whatever is missing is fetched holding it exclusive, after looking
// again: of N avs started together on a cold cache, one calls STS and ECR (once per
// identity and region) while the others wait, then read what it stored.
func LogIn(ctx context.Context, o LoginOptions) (*Login, error) {
	wants, err := o.plan()
	if err != nil {
		return nil, err
	}
	now := time.Now()

	unlock, err := o.Vault.Lock(ctx, profiles.Shared)
	if err != nil {
		return nil, err
	}
	for _, w := range wants {
		if w.entry, err = readEntry(o.Vault, w.key()); err != nil {
			unlock()
			return nil, err
		}
	}
	unlock()

	var short []*want
	for _, w := range wants {
		if !o.ready(w, now) {
			short = append(short, w)
		}
	}
	if len(short) > 0 {
		unlock, err := o.Vault.Lock(ctx, profiles.Exclusive)
		if err != nil {
			return nil, err
		}
		defer unlock()
		now = time.Now()
		for _, w := range short {
			// Another av may have stored it while this one waited.
			if w.entry, err = readEntry(o.Vault, w.key()); err != nil {
				return nil, err
			}
			if o.ready(w, now) {
				continue
			}
			if err := o.fill(ctx, w, now); err != nil {
				return nil, err
			}
		}
	}
	// Master keys are never cached: read from their own item.
	for _, w := range wants {
		if w.creds && w.got.AccessKeyID == "" {
			sess, err := w.p.Credentials(ctx, profiles.CredentialsOptions{})
			if err != nil {
				return nil, err
			}
			w.got = sess.Credentials
		}
	}
	return o.assemble(wants), nil
}

// plan looks up every profile the run needs, in order: the run's first.
func (o *LoginOptions) plan() ([]*want, error) {
	run, err := o.Lookup(o.Run)
	if err != nil {
		return nil, err
	}
	byName := map[string]*want{o.Run: {p: run, scopes: map[string]RegistrySpec{}, creds: !o.Renewal}}
	wants := []*want{byName[o.Run]}
	for _, s := range o.Specs {
		name := s.Profile
		if name == "" {
			name = o.Run
		}
		w, ok := byName[name]
		if !ok {
			p, err := o.Lookup(name)
			if err != nil {
				return nil, fmt.Errorf("registry %s (profile %q): %w", s, name, err)
			}
			w = &want{p: p, scopes: map[string]RegistrySpec{}}
			byName[name] = w
			wants = append(wants, w)
		}
		if _, ok := w.scopes[scope(s)]; !ok {
			w.scopes[scope(s)] = s
		}
	}
	return wants, nil
}

// readEntry reads a profile's cache item: none, or one that does not parse, is empty.
func readEntry(v *profiles.Vault, k profiles.CacheKey) (*cacheEntry, error) {
	e := &cacheEntry{}
	data, err := v.ReadCache(k)
	if errors.Is(err, profiles.ErrNotCached) {
		return e, nil
	}
	if err != nil {
		return nil, err
	}
	if json.Unmarshal(data, e) != nil {
		// Never the parse error: it may quote a token.
		log.Printf("ignoring an unreadable cache item for profile %s", k.Profile)
		return &cacheEntry{}, nil
	}
	return e, nil
}

// ready reports whether the cache gives w everything it needs, and takes its credentials.
func (o *LoginOptions) ready(w *want, now time.Time) bool {
	for sc := range w.scopes {
		if !fresh(w.entry.Tokens[sc].Expires, now, o.MinTTL) {
			return false
		}
	}
	if !w.creds {
		return true
	}
	if c := w.entry.Credentials; c != nil && c.CanExpire && fresh(c.Expires, now, o.SessionMinTTL) {
		w.got = *c
		return true
	}
	// Master keys: ready, read after the locked sections.
	return w.entry.Master
}

// fresh reports whether something expiring at expires has more than minTTL left (a
// negative minTTL counts as none: never an expired token).
func fresh(expires, now time.Time, minTTL time.Duration) bool {
	return expires.Sub(now) > max(minTTL, 0)
}

// fill fetches what w lacks (credentials, tokens) and stores the entry. It runs holding
// the vault's lock exclusive.
func (o *LoginOptions) fill(ctx context.Context, w *want, now time.Time) error {
	e := w.entry
	if e.Tokens == nil {
		e.Tokens = map[string]Registry{}
	}
	var sess *profiles.Session
	session := func() (*profiles.Session, error) {
		if sess != nil {
			return sess, nil
		}
		var err error
		if c := e.Credentials; c != nil && c.CanExpire && fresh(c.Expires, now, o.SessionMinTTL) {
			sess, err = w.p.WithCredentials(ctx, *c)
		} else {
			sess, err = w.p.Credentials(ctx, profiles.CredentialsOptions{NoPrompt: o.Renewal})
		}
		return sess, err
	}
	if w.creds {
		s, err := session()
		if err != nil {
			return o.credentialsError(w, err)
		}
		w.got = s.Credentials
	}
	for sc, spec := range w.scopes {
		if fresh(e.Tokens[sc].Expires, now, o.MinTTL) {
			continue
		}
		s, err := session()
		if err != nil {
			return o.credentialsError(w, err)
		}
		var reg Registry
		if spec.Public {
			reg, err = MintECRPublic(ctx, s.AWS)
		} else {
			reg, err = MintECR(ctx, s.AWS, spec.Region)
		}
		if err != nil {
			return fmt.Errorf("registry %s (profile %q): %w", spec, w.p.Name, err)
		}
		log.Printf("minted a token for %s in %s with profile %s, expires %s", reg.Host, spec.Region, w.p.Name, reg.Expires.Format(time.RFC3339))
		e.Tokens[sc] = reg
	}
	if sess == nil {
		return nil
	}
	e.Master = !sess.Credentials.CanExpire
	e.Credentials = nil
	if !e.Master {
		c := sess.Credentials
		e.Credentials = &c
	}
	for sc, r := range e.Tokens {
		if !r.Expires.After(now) {
			delete(e.Tokens, sc)
		}
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return o.Vault.WriteCache(w.key(), data, e.expires(), "av registry tokens")
}

// credentialsError keeps the run profile's errors as they are (the user named that
// profile) and says which registry needed another's.
func (o *LoginOptions) credentialsError(w *want, err error) error {
	if w.p.Name == o.Run {
		return err
	}
	for _, s := range w.scopes {
		return fmt.Errorf("registry %s (profile %q): %w", s, w.p.Name, err)
	}
	return err
}

// assemble builds the logins for every spec from the wants' entries.
func (o *LoginOptions) assemble(wants []*want) *Login {
	l := &Login{Logins: Logins{}}
	byName := map[string]*want{}
	for _, w := range wants {
		byName[w.p.Name] = w
	}
	l.Credentials = byName[o.Run].got
	for _, s := range o.Specs {
		name := s.Profile
		if name == "" {
			name = o.Run
		}
		reg := byName[name].entry.Tokens[scope(s)]
		host := s.Host
		if host == "" {
			host = reg.Host
		}
		l.Logins[host] = reg.Auth
		if l.Expires.IsZero() || reg.Expires.Before(l.Expires) {
			l.Expires = reg.Expires
		}
	}
	return l
}
