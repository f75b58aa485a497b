package profiles

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// Options shape how a profile's credentials are obtained, as aws-vault exec's flags do.
type Options struct {
	Region    string        // overrides the profile's region (--region)
	Duration  time.Duration // session length (--duration); zero means the profile's or aws-vault's default
	NoSession bool          // skip GetSessionToken for master credentials (--no-session)
	MFAToken  string        // the MFA code, instead of a prompt (--mfa-token)
	// AWSTimeout bounds each AWS call, all its attempts together; zero means
	// DefaultAWSTimeout.
	AWSTimeout time.Duration
}

// Session is what a resolved profile gives: credentials and an AWS config that honours
// the SDK's endpoint settings, ready for more clients (ECR).
type Session struct {
	Profile     string
	Region      string
	Credentials aws.Credentials
	// AWS is the SDK config, once Config has built it (or as a caller set it).
	AWS aws.Config

	load func(ctx context.Context) (aws.Config, error) // builds AWS; nil once built
	mu   sync.Mutex                                    // guards load and AWS
}

// Config returns an SDK config with the session's credentials, ready for more clients
// (ECR). It is built on first use: a warm run, whose tokens are cached, needs none, and
// loading the SDK's settings costs about a millisecond.
func (s *Session) Config(ctx context.Context) (aws.Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.load != nil {
		c, err := s.load(ctx)
		if err != nil {
			return aws.Config{}, err
		}
		s.AWS, s.load = c, nil
	}
	return s.AWS, nil
}

// NoCredentialsError says the vault holds nothing that could produce the profile's credentials.
type NoCredentialsError struct{ Profile string }

func (e *NoCredentialsError) Error() string {
	return fmt.Sprintf("no credentials for profile %q in the vault", e.Profile)
}

// UnknownProfileError says the profile is neither in the AWS config nor in the vault.
type UnknownProfileError struct {
	Profile    string
	ConfigPath string
	Suggestion string // the closest known name, if any
}

func (e *UnknownProfileError) Error() string {
	return fmt.Sprintf("profile %q is not in %s nor in the vault", e.Profile, e.ConfigPath)
}

// exists reports whether a profile is defined in the config file or has credentials in
// the vault (aws-vault accepts both).
func exists(cfg *Config, v *Vault, name string) (bool, error) {
	if cfg.Has(name) {
		return true, nil
	}
	return v.HasCredentials(name)
}

// Profile is a profile as the config file and the vault's list of names define it, before
// any secret is read: enough to name its region and what its credentials would be.
type Profile struct {
	Name   string
	Region string
	// Identity is a digest of everything that decides which credentials the profile gives
	// (its source_profile chain, roles, MFA device, SSO account and role, --no-session, the
	// STS and ECR endpoints): two runs with the same Identity get the same principal, so a
	// registry token minted for one serves the other.
	Identity string

	cfg  *Config
	v    *Vault
	opts Options

	mu   sync.Mutex // guards last alone (see keep)
	last *Session   // the last session Credentials returned, reused while fresh

	ambient *ambientSource // set for the job's own identity (OpenAmbient), not the vault's
}

// Lookup finds a profile in the config file or the vault and reads its settings. It
// decrypts nothing.
func Lookup(cfg *Config, v *Vault, name string, opts Options) (*Profile, error) {
	found, err := exists(cfg, v, name)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, &UnknownProfileError{Profile: name, ConfigPath: cfg.Path, Suggestion: closest(name, cfg.Names())}
	}
	pc, err := cfg.profileConfig(name, opts)
	if err != nil {
		return nil, err
	}
	return &Profile{
		Name:     name,
		Region:   pc.Region,
		Identity: identity(pc, opts, readFileEndpoints(cfg, name)),
		cfg:      cfg,
		v:        v,
		opts:     opts,
	}, nil
}

// CredentialsOptions shape one retrieval of a profile's credentials.
type CredentialsOptions struct {
	// NoPrompt fails instead of asking for an MFA code on the terminal: a renewal while
	// the command runs must not take the terminal from it. mfa_process still works.
	NoPrompt bool
	// Renew: AWS rejected the session Credentials last gave, though it had not expired
	// (Session.Renewal): that session is dropped and a new one got (its source profile's
	// session too, only if STS rejects that one as well).
	Renew bool
}

// Rejected reports whether AWS refused err's call because its session is not (or no
// longer) valid: the key behind it was rotated, the session revoked, or the endpoint that
// issued it restarted. A cached session that gets this answer is of no use any more.
func Rejected(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	switch api.ErrorCode() {
	case "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException":
		return true
	}
	return false
}

// Renewal says whether s should be renewed now that a call made with it failed with err,
// and how: when AWS rejected it (Rejected) though it can expire, s is a cached session
// that went stale before its time (a key rotation, a revocation), and Credentials with the
// options returned (o, plus Renew) drops it and gets a new one. Master keys, or any other
// failure, are not renewed: asking again would get the same keys, or the same answer.
// The caller renews a profile once for the calls that failed together, and a renewed
// session that is rejected in turn is AWS's answer, not a reason to renew again.
func (s *Session) Renewal(err error, o CredentialsOptions) (CredentialsOptions, bool) {
	if s == nil || !s.Credentials.CanExpire || !Rejected(err) {
		return CredentialsOptions{}, false
	}
	o.Renew = true
	return o, true
}

// Credentials returns the profile's credentials as `aws-vault exec` gets them: from the
// session cache in the vault when a session there has more than aws-vault's AWS_MIN_TTL
// left, else from STS (or SSO, web identity, credential_process), caching the new session.
//
// The cache is looked in holding the vault's lock shared. A session missing is fetched
// holding that session's fetch lock and no lock on the vault (lookThenFetch), so of N avs
// started together one calls STS and the others read what it stored, while runs of other
// profiles go on. Within this process the last session is kept and reused by the same
// rule.
//
// A cached session that AWS rejects on the way (STS refusing the source session of a
// role, say) is dropped, with the rest of the chain's, and the chain is fetched again,
// once: a stale cache heals itself. Renew drops the profile's own session, which another
// service rejected, and gets a new one from its source's (dropped in turn, as above, only
// if STS rejects that too).
func (p *Profile) Credentials(ctx context.Context, o CredentialsOptions) (*Session, error) {
	if s := p.lastSession(); s != nil && !o.Renew && time.Until(s.Credentials.Expires) > minTTL() {
		return s, nil
	}
	if o.Renew {
		// Its own session only: its source profile's (an MFA session, which other profiles
		// use too) is dropped below only if STS rejects that one as well.
		p.keep(nil)
		n, err := p.dropSessions(ctx, false)
		if err != nil {
			return nil, err
		}
		log.Printf("profile %q: its session was rejected: dropped %d cached sessions", p.Name, n)
	}
	s, err := p.lookThenFetch(ctx, o)
	if Rejected(err) {
		n, derr := p.dropSessions(ctx, true)
		if derr == nil && n > 0 {
			log.Printf("profile %q: a cached session was rejected: dropped %d cached sessions, fetching again", p.Name, n)
			s, err = p.lookThenFetch(ctx, o)
		}
	}
	if err != nil {
		return nil, err
	}
	if s.Credentials.CanExpire {
		// Master keys are read from their own item each time: never kept.
		p.keep(s)
	}
	return s, nil
}

// lookThenFetch is the double-checked lock of the session cache (doc.go, "The vault and
// its lock"): the whole chain is looked for in the cache in one shared Section, calling no
// AWS service, so a warm run shares the vault with every other reader; only if a session
// is missing is the chain retrieved again outside any Section, each cached session in it
// under its own fetch lock (cachedSession).
func (p *Profile) lookThenFetch(ctx context.Context, o CredentialsOptions) (*Session, error) {
	p.v.passphraseFirst()
	sec, err := p.v.Lock(ctx, Shared)
	if err != nil {
		return nil, err
	}
	s, err := p.retrieve(ctx, o, sec, true)
	sec.Unlock()
	if !errors.Is(err, ErrNotCached) {
		return s, err
	}
	return p.retrieve(ctx, o, nil, false)
}

// lastSession is the session Credentials last returned, if it keeps it.
func (p *Profile) lastSession() *Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// keep makes s the session Credentials reuses while it is fresh. p.mu is never held
// while a lock is waited for: a token renewal holds its tokens' fetch lock and asks the
// profile, while the credential endpoint asks the profile, which takes the session's
// fetch lock and the vault's. Two calls that miss together are made one by the session's
// fetch lock.
func (p *Profile) keep(s *Session) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = s
}

// dropSessions removes the cached sessions the profile's chain would use, holding the
// vault's lock exclusive, and counts them: every one with all, else only the profile's own
// (the last the chain reads, its source profiles' coming first). It counts only those that
// had more than minTTL left: a session too old to be used cannot be why AWS refused a
// call. It calls no AWS service.
func (p *Profile) dropSessions(ctx context.Context, all bool) (int, error) {
	in, err := p.v.Lock(ctx, Exclusive)
	if err != nil {
		return 0, err
	}
	defer in.Unlock()
	c, err := p.newChain(ctx, in, "", true) // loads no SDK settings: it calls no AWS service
	if err != nil {
		return 0, err
	}
	c.drop = true
	if p.ambient != nil {
		c.ambientProvider(p)
	} else {
		pc, err := p.cfg.profileConfig(p.Name, p.opts)
		if err != nil {
			return 0, err
		}
		if _, err := c.provider(pc); err != nil {
			return 0, err
		}
	}
	keys := c.dropKeys
	if !all && len(keys) > 0 {
		keys = keys[len(keys)-1:]
	}
	dropped := 0
	for _, k := range keys {
		n, err := in.kr.removeSessions(k, c.minTTL)
		dropped += n
		if err != nil {
			return dropped, err
		}
	}
	return dropped, nil
}

func (p *Profile) retrieve(ctx context.Context, o CredentialsOptions, sec *Section, cacheOnly bool) (*Session, error) {
	if p.ambient != nil {
		return p.retrieveAmbient(ctx, sec, cacheOnly)
	}
	// Read afresh on each call: the chain below edits it (chained MFA).
	pc, err := p.cfg.profileConfig(p.Name, p.opts)
	if err != nil {
		return nil, err
	}
	if o.NoPrompt {
		for c, depth := pc, 0; c != nil && depth < 32; c, depth = c.SourceProfile, depth+1 {
			// A --mfa-token code is spent once used: AWS refuses it a second time.
			c.MfaToken = ""
		}
	}
	c, err := p.newChain(ctx, sec, pc.Region, cacheOnly)
	if err != nil {
		return nil, err
	}
	c.noPrompt = o.NoPrompt
	provider, err := c.provider(pc)
	if err != nil {
		return nil, err
	}
	creds, err := provider.Retrieve(ctx)
	if errors.Is(err, ErrNotCached) {
		return nil, err
	}
	var timeout *TimeoutError
	if errors.As(err, &timeout) {
		// Without the SDK's "operation error STS: GetSessionToken, …" around it.
		err = timeout
	}
	var lockWait *LockTimeoutError
	if errors.As(err, &lockWait) {
		// It names the profile whose session another run is fetching, and the run.
		return nil, lockWait
	}
	err = vaultCause(err, p.v)
	if err != nil {
		return nil, fmt.Errorf("getting credentials for profile %q: %w", p.Name, err)
	}
	return p.session(pc.Region, creds), nil
}

func (p *Profile) retrieveAmbient(ctx context.Context, sec *Section, cacheOnly bool) (*Session, error) {
	c, err := p.newChain(ctx, sec, p.Region, cacheOnly)
	if err != nil {
		return nil, err
	}
	creds, err := c.ambientProvider(p).Retrieve(ctx)
	if errors.Is(err, ErrNotCached) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("getting the job's credentials (%s): %w", p.ambient.what, err)
	}
	return p.session(p.Region, creds), nil
}

// newChain is the chain that resolves p's credentials in region: inside sec (a look, or
// dropSessions), or with sec nil outside any Section (a fetch: each read and write of the
// vault takes the lock for itself). Looking in the cache (cacheOnly) calls no AWS client:
// the SDK's settings are loaded only to fetch.
func (p *Profile) newChain(ctx context.Context, sec *Section, region string, cacheOnly bool) (*chain, error) {
	kr := p.v.view(ctx)
	if sec != nil {
		kr = sec.kr
	}
	c := &chain{ctx: ctx, v: p.v, kr: kr, cfg: p.cfg, opts: p.opts, minTTL: minTTL(), cacheOnly: cacheOnly, holds: heldIn(ctx)}
	if !cacheOnly {
		var err error
		if c.base, err = sdkConfig(ctx, p.cfg, p.Name, region, p.opts.AWSTimeout); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// session is the Session of creds, got in region; its SDK config is loaded when first
// asked for (Session.Config).
func (p *Profile) session(region string, creds aws.Credentials) *Session {
	load := func(ctx context.Context) (aws.Config, error) {
		c, err := sdkConfig(ctx, p.cfg, p.Name, region, p.opts.AWSTimeout)
		c.Credentials = aws.NewCredentialsCache(staticProvider{creds})
		return c, err
	}
	return &Session{Profile: p.Name, Region: region, Credentials: creds, load: load}
}

// sdkConfig builds the SDK configuration every client of the run uses, so all of them
// honour AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, and endpoint_url (and the services
// section) of the profile in the config file, and every call they make is bounded by
// timeout (boundCalls). aws-vault's vault package builds its aws.Config by hand and
// ignores them.
func sdkConfig(ctx context.Context, cfg *Config, profile, region string, timeout time.Duration) (aws.Config, error) {
	// Credentials come from the vault; this keeps the SDK from resolving its own chain
	// (environment, ~/.aws/credentials, IMDS).
	c, err := loadSDK(ctx, region, timeout, config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	if err != nil {
		return aws.Config{}, err
	}
	fe := readFileEndpoints(cfg, profile)
	if !fe.ignore && c.BaseEndpoint == nil && fe.global != "" {
		c.BaseEndpoint = aws.String(fe.global)
	}
	// After the SDK's environment source, so the env vars keep precedence.
	c.ConfigSources = append(c.ConfigSources, fe)
	return c, nil
}

// loadSDK loads the SDK's settings as every client av makes needs them, with opts added:
// in region (us-east-1 if none), from the environment but never from the shared files (the
// config file is aws-vault's to interpret, see fileEndpoints, and the job's identity is
// no profile's; the caller consumes AWS_PROFILE, with which the SDK insists on finding
// that profile there), its warnings to --debug, and every call bounded by timeout
// (boundCalls).
func loadSDK(ctx context.Context, region string, timeout time.Duration, opts ...func(*config.LoadOptions) error) (aws.Config, error) {
	c, err := config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{
		config.WithRegion(cmp.Or(region, "us-east-1")),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithLogger(sdkLogger),
	}, opts...)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the SDK settings: %w", err)
	}
	boundCalls(&c, timeout)
	return c, nil
}

// chain builds the provider for a profile exactly as vault.TempCredentialsCreator does,
// with the STS and SSO clients built from the SDK's config instead of by hand.
type chain struct {
	ctx        context.Context // of the Credentials call: it ends an MFA prompt too
	v          *Vault
	kr         *vaultKeyring // the vault: inside the call's Section, or outside any (newChain)
	cfg        *Config
	base       aws.Config
	opts       Options
	minTTL     time.Duration
	cacheOnly  bool // fail with ErrNotCached rather than fetch a session
	noPrompt   bool // CredentialsOptions.NoPrompt
	chainedMfa string
	// drop: building the chain lists, in dropKeys, each cached session it would read, in
	// the order it reads them (dropSessions).
	drop     bool
	dropKeys []vault.SessionMetadata

	mu sync.Mutex // guards holds
	// holds are the fetch locks the call holds, outer first: the caller's (heldIn), then
	// those of the sessions being fetched (cachedSession). What the fetch waits for is
	// noted in each (await).
	holds []*FetchHold
}

// await notes in the fetch locks the call holds that it now waits for what (see
// awaitingIn), until the returned function puts the notes back.
func (c *chain) await(what, profile string) (restore func()) {
	c.mu.Lock()
	holds := slices.Clone(c.holds)
	c.mu.Unlock()
	return awaitingIn(holds, what, profile)
}

// holding adds h to the fetch locks the call holds, until the returned function.
func (c *chain) holding(h *FetchHold) (done func()) {
	c.mu.Lock()
	c.holds = append(slices.Clip(c.holds), h)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.holds = slices.DeleteFunc(slices.Clone(c.holds), func(x *FetchHold) bool { return x == h })
		c.mu.Unlock()
	}
}

func (c *chain) client(region string, creds aws.CredentialsProvider) aws.Config {
	cfg := c.base.Copy()
	cfg.Region = c.region(region)
	cfg.Credentials = creds
	return cfg
}

func (c *chain) stsClient(pc *vault.ProfileConfig, creds aws.CredentialsProvider) *sts.Client {
	return sts.NewFromConfig(c.client(pc.Region, creds))
}

// region is where a client made by c.client(region, …) goes.
func (c *chain) region(region string) string {
	return cmp.Or(region, c.base.Region)
}

// cached puts a session provider behind aws-vault's session cache (cachedSession).
// service names what it calls ("STS in eu-west-1"), for its errors and for a waiter on its
// fetch lock; "" for a provider that calls no AWS service (a helper notes itself).
func (c *chain) cached(kind string, pc *vault.ProfileConfig, mfaSerial, service string, p vault.StsSessionProvider) aws.CredentialsProvider {
	key := vault.SessionMetadata{
		Type:        kind,
		ProfileName: pc.ProfileName,
		MfaSerial:   mfaSerial,
	}
	if c.drop {
		c.dropKeys = append(c.dropKeys, key)
	}
	return &cachedSession{c: c, key: key, provider: gate{p, service}, window: c.minTTL, service: service}
}

// cachedSession is aws-vault's CachedSessionProvider (the same item, read and written
// through SessionKeyring, with the same expiry window) with av's locks: a look reads the
// cache inside the call's Section, or in a shared Section of its own; a session missing
// is fetched under the session's fetch lock, after looking again (another run may have
// stored it while this one waited), holding no lock on the vault while its provider runs
// (a helper, a prompt, STS), and stored in an exclusive Section of its own. With
// c.cacheOnly a miss is ErrNotCached.
type cachedSession struct {
	c        *chain
	key      vault.SessionMetadata
	provider vault.StsSessionProvider
	window   time.Duration
	service  string
}

func (p *cachedSession) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return retrieveSession(ctx, p)
}

func (p *cachedSession) RetrieveStsCredentials(ctx context.Context) (*ststypes.Credentials, error) {
	if creds, err := p.look(ctx); creds != nil || err != nil {
		return creds, err
	}
	if p.c.cacheOnly || p.c.kr.sec != nil {
		// Inside a Section nothing is fetched: a Section is never held across a fetch.
		return nil, ErrNotCached
	}
	hold, err := p.c.v.lockFetch(ctx, sessionFetchKey(p.key), p.service)
	if err != nil {
		return nil, err
	}
	defer hold.Release()
	defer p.c.holding(hold)()
	if p.service != "" {
		// The fetches that wait for this one (a role's, registry tokens') wait for it too.
		defer p.c.await(p.service, "")()
	}
	if creds, err := p.look(ctx); creds != nil || err != nil {
		return creds, err
	}
	creds, err := p.provider.RetrieveStsCredentials(ctx)
	if err != nil {
		return nil, err
	}
	sec, err := p.c.v.Lock(ctx, Exclusive)
	if err != nil {
		return nil, err
	}
	defer sec.Unlock()
	if err := (&vault.SessionKeyring{Keyring: sec.kr}).Set(p.key, creds); err != nil {
		return nil, err
	}
	return creds, nil
}

// look reads the cached session: nil if there is none with more than the window left.
// As aws-vault's CachedSessionProvider, a session that does not read is none (it is
// fetched again and replaced); the lock not being had is an error.
func (p *cachedSession) look(ctx context.Context) (*ststypes.Credentials, error) {
	kr := p.c.kr
	if kr.sec == nil {
		sec, err := p.c.v.Lock(ctx, Shared)
		if err != nil {
			return nil, err
		}
		defer sec.Unlock()
		kr = sec.kr
	}
	creds, err := (&vault.SessionKeyring{Keyring: kr}).Get(p.key)
	if err != nil || creds == nil || creds.Expiration == nil || creds.AccessKeyId == nil || time.Until(*creds.Expiration) < p.window {
		return nil, nil
	}
	log.Printf("Re-using cached credentials %s from %s, expires in %s", vault.FormatKeyForDisplay(*creds.AccessKeyId), p.key.Type, time.Until(*creds.Expiration).String())
	return creds, nil
}

// gate stands before a session provider: the errors of the calls it lets through name the
// service and its region, as ECR's do (the SDK's name the operation only).
type gate struct {
	vault.StsSessionProvider
	service string
}

func (g gate) RetrieveStsCredentials(ctx context.Context) (*ststypes.Credentials, error) {
	creds, err := g.StsSessionProvider.RetrieveStsCredentials(ctx)
	var call *smithy.OperationError
	if err != nil && g.service != "" && errors.As(err, &call) {
		err = fmt.Errorf("calling %s: %w", g.service, err)
	}
	return creds, err
}

// SSOLoginError says an SSO profile needs a browser login, where nobody can do one (no
// terminal, or the command has it).
type SSOLoginError struct{ Profile, StartURL string }

func (e *SSOLoginError) Error() string {
	return fmt.Sprintf("profile %q needs an SSO login at %s, and there is no terminal to do it from", e.Profile, e.StartURL)
}

// ssoLoginGate lets an SSO provider fetch role credentials only with a cached SSO token.
type ssoLoginGate struct {
	*vault.SSORoleCredentialsProvider
	tokens vault.OIDCTokenKeyring
	pc     *vault.ProfileConfig
}

func (g ssoLoginGate) RetrieveStsCredentials(ctx context.Context) (*ststypes.Credentials, error) {
	if _, err := g.tokens.Get(g.pc.SSOStartURL); err != nil {
		return nil, &SSOLoginError{Profile: g.pc.ProfileName, StartURL: g.pc.SSOStartURL}
	}
	return g.SSORoleCredentialsProvider.RetrieveStsCredentials(ctx)
}

// roleSessionType is the session type of a role assumed without MFA. aws-vault assumes
// such a role on every run and caches nothing; av caches it, so that make -j8 assumes it
// once, under its own type (aws-vault lists it, and clears it with the profile's sessions)
// and keyed by the profile's identity digest, so a changed role_arn is never served an old
// role's session.
const roleSessionType = cacheTypePrefix + "sts.AssumeRole"

func (c *chain) provider(pc *vault.ProfileConfig) (aws.CredentialsProvider, error) {
	stored, err := c.kr.hasCredentials(pc.ProfileName)
	if err != nil {
		return nil, err
	}
	switch {
	case stored || pc.HasSourceProfile():
		return c.withSession(pc, stored)
	case pc.HasSSOStartURL():
		log.Printf("profile %q: using SSO role credentials", pc.ProfileName)
		cfg := c.client(pc.SSORegion, aws.AnonymousCredentials{})
		p := &vault.SSORoleCredentialsProvider{
			OIDCClient:     ssooidc.NewFromConfig(cfg),
			OIDCTokenCache: vault.OIDCTokenKeyring{Keyring: c.kr},
			StartURL:       pc.SSOStartURL,
			SSOClient:      sso.NewFromConfig(cfg),
			AccountID:      pc.SSOAccountID,
			RoleName:       pc.SSORoleName,
			UseStdout:      pc.SSOUseStdout,
		}
		var sp vault.StsSessionProvider = p
		if c.noPrompt || !HaveTerminal() {
			// aws-vault would open a browser and wait minutes for a person to approve.
			sp = ssoLoginGate{p, vault.OIDCTokenKeyring{Keyring: c.kr}, pc}
		}
		return c.cached("sso.GetRoleCredentials", pc, pc.SSOStartURL, "SSO in "+c.region(pc.SSORegion), sp), nil
	case pc.HasWebIdentity() && pc.WebIdentityTokenFile == "":
		log.Printf("profile %q: using web identity from its web_identity_token_process", pc.ProfileName)
		name, process := pc.ProfileName, pc.WebIdentityTokenProcess
		w := &webIdentity{
			what:         "web_identity_token_process",
			roleARN:      pc.RoleARN,
			sessionName:  pc.RoleSessionName,
			duration:     pc.AssumeRoleDuration,
			tokenProcess: process,
			token: func(ctx context.Context) (string, error) {
				return helper{what: "web_identity_token_process", profile: name, process: process, bound: c.helperBound(), noTerminal: c.noPrompt, awaiting: c.await}.run(ctx)
			},
			sts: c.stsClient(pc, aws.AnonymousCredentials{}),
		}
		return c.cached("sts.AssumeRoleWithWebIdentity", pc, "", "STS in "+c.region(pc.Region), w), nil
	case pc.HasWebIdentity():
		log.Printf("profile %q: using web identity", pc.ProfileName)
		p := &vault.AssumeRoleWithWebIdentityProvider{
			StsClient:            c.stsClient(pc, aws.AnonymousCredentials{}),
			RoleARN:              pc.RoleARN,
			RoleSessionName:      pc.RoleSessionName,
			WebIdentityTokenFile: pc.WebIdentityTokenFile,
			Duration:             pc.AssumeRoleDuration,
		}
		return c.cached("sts.AssumeRoleWithWebIdentity", pc, "", "STS in "+c.region(pc.Region), p), nil
	case pc.HasCredentialProcess():
		log.Printf("profile %q: using credential process", pc.ProfileName)
		p := &credentialProcess{helper{what: "credential_process", profile: pc.ProfileName, process: pc.CredentialProcess, bound: c.helperBound(), noTerminal: c.noPrompt, awaiting: c.await}}
		return c.cached("credential_process", pc, "", "", p), nil
	}
	return nil, &NoCredentialsError{Profile: pc.ProfileName}
}

// helperBound bounds a credential_process or web_identity_token_process: one AWS call's.
func (c *chain) helperBound() time.Duration { return cmp.Or(c.opts.AWSTimeout, DefaultAWSTimeout) }

// credentialProcess is aws-vault's CredentialProcessProvider, with the process run under
// the call's context (helper.run): a hung one is bounded and killed, never waited for.
type credentialProcess struct{ helper }

func (p *credentialProcess) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return retrieveSession(ctx, p)
}

func (p *credentialProcess) RetrieveStsCredentials(ctx context.Context) (*ststypes.Credentials, error) {
	out, err := p.helper.run(ctx)
	if err != nil {
		return nil, err
	}
	var creds ststypes.Credentials
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		// Never the parse error: it may quote the output, which holds secrets.
		return nil, fmt.Errorf("profile %q: its credential_process printed no JSON credentials", p.profile)
	}
	var missing []string
	for name, v := range map[string]bool{"AccessKeyId": creds.AccessKeyId == nil, "SecretAccessKey": creds.SecretAccessKey == nil, "SessionToken": creds.SessionToken == nil, "Expiration": creds.Expiration == nil} {
		if v {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("profile %q: the JSON credentials of its credential_process lack %s", p.profile, strings.Join(missing, ", "))
	}
	return &creds, nil
}

func (c *chain) sourceCredentials(pc *vault.ProfileConfig, stored bool) (aws.CredentialsProvider, error) {
	if stored {
		log.Printf("profile %q: using stored credentials", pc.ProfileName)
		return vault.NewMasterCredentialsProvider(c.kr.credentials(), pc.ProfileName), nil
	}
	log.Printf("profile %q: sourcing credentials from profile %q", pc.ProfileName, pc.SourceProfile.ProfileName)
	return c.provider(pc.SourceProfile)
}

func (c *chain) withSession(pc *vault.ProfileConfig, stored bool) (aws.CredentialsProvider, error) {
	source, err := c.sourceCredentials(pc, stored)
	if err != nil {
		return nil, err
	}
	if pc.HasRole() {
		if pc.MfaSerial != "" && pc.MfaSerial == c.chainedMfa {
			// The source session was already made with this MFA device: no second prompt.
			pc.MfaSerial = ""
		}
		log.Printf("profile %q: using AssumeRole", pc.ProfileName)
		p := &vault.AssumeRoleProvider{
			StsClient:         c.stsClient(pc, source),
			RoleARN:           pc.RoleARN,
			RoleSessionName:   pc.RoleSessionName,
			ExternalID:        pc.ExternalID,
			Duration:          pc.AssumeRoleDuration,
			Tags:              pc.SessionTags,
			TransitiveTagKeys: pc.TransitiveSessionTags,
			SourceIdentity:    pc.SourceIdentity,
			Mfa:               c.mfa(pc),
		}
		if pc.MfaSerial != "" {
			return c.cached("sts.AssumeRole", pc, pc.MfaSerial, "STS in "+c.region(pc.Region), p), nil
		}
		return c.cached(roleSessionType, pc, identity(pc, c.opts, readFileEndpoints(c.cfg, pc.ProfileName)), "STS in "+c.region(pc.Region), p), nil
	}
	if _, master := source.(*vault.KeyringProvider); master {
		if ok, reason := c.canUseGetSessionToken(pc); !ok {
			log.Printf("profile %q: skipping GetSessionToken because %s", pc.ProfileName, reason)
			return source, nil
		}
		c.chainedMfa = pc.MfaSerial
		log.Printf("profile %q: using GetSessionToken", pc.ProfileName)
		p := &vault.SessionTokenProvider{
			StsClient: c.stsClient(pc, source),
			Duration:  pc.GetSessionTokenDuration(),
			Mfa:       c.mfa(pc),
		}
		return c.cached("sts.GetSessionToken", pc, pc.MfaSerial, "STS in "+c.region(pc.Region), p), nil
	}
	return source, nil
}

// roleChainingMaximumDuration is AWS's limit on a role session made from another role session.
const roleChainingMaximumDuration = time.Hour

func (c *chain) canUseGetSessionToken(pc *vault.ProfileConfig) (bool, string) {
	if c.opts.NoSession {
		return false, "sessions are disabled"
	}
	if !pc.IsChained() {
		return true, ""
	}
	from := pc.ChainedFromProfile
	switch {
	case !from.HasMfaSerial():
		return false, fmt.Sprintf("profile '%s' has no MFA serial defined", from.ProfileName)
	case !pc.HasMfaSerial():
		return false, fmt.Sprintf("profile '%s' has no MFA serial defined", pc.ProfileName)
	case from.MfaSerial != pc.MfaSerial:
		return false, fmt.Sprintf("MFA serial doesn't match profile '%s'", from.ProfileName)
	case from.AssumeRoleDuration > roleChainingMaximumDuration:
		return false, fmt.Sprintf("duration %s in profile '%s' is greater than the AWS maximum %s for chaining MFA", from.AssumeRoleDuration, from.ProfileName, roleChainingMaximumDuration)
	}
	return true, ""
}

// minTTL is aws-vault's expiry window for cached sessions: AWS_MIN_TTL, else 5 minutes.
func minTTL() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("AWS_MIN_TTL")); err == nil {
		return d
	}
	return 5 * time.Minute
}

type staticProvider struct{ creds aws.Credentials }

func (s staticProvider) Retrieve(context.Context) (aws.Credentials, error) { return s.creds, nil }

// closest returns the known name nearest to name (a typo), or "".
func closest(name string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if strings.HasPrefix(k, name) || strings.HasPrefix(name, k) {
			return k
		}
		if d := editDistance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
