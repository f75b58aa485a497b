package profiles

import (
	"cmp"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go/logging"
)

// Ambient credentials are the identity a machine gives its jobs, not the vault's: keys in the
// environment, a web identity (OIDC) token, container credentials, an instance role. They
// are what the AWS SDKs' default chain resolves, and what av uses in CI.
//
// Parallel avs of one job share what they get (a web identity session, registry tokens) in
// a cache of their own: a file-backend vault in the runtime directory whose key is derived
// from a secret only that job holds (its keys, its token, its OIDC request token). Another
// job on the same runner, even of the same user, finds a directory it cannot name nor
// decrypt; nothing is kept in plaintext.

// AmbientOptions say where ambient credentials come from and where they are cached.
type AmbientOptions struct {
	// Name labels the run (AWS_VAULT, AV_PROFILE); its section of the config file, if there
	// is one, gives the region and av's settings.
	Name string
	// Region overrides the profile's region, AWS_REGION and AWS_DEFAULT_REGION.
	Region string
	// RoleARN is a role to assume with a web identity token: the job's GitHub Actions OIDC
	// token, or AWS_WEB_IDENTITY_TOKEN_FILE's. Empty: AWS_ROLE_ARN with
	// AWS_WEB_IDENTITY_TOKEN_FILE, else the SDK's default chain.
	RoleARN string
	// SessionName names the role session; empty means AWS_ROLE_SESSION_NAME, else one that
	// names the CI run (GitHub's run id and attempt), else "av-" and the time.
	SessionName string
	Duration    time.Duration // the role session's length; zero means STS's default (1h)
	// CacheDir is the user's private runtime directory, where the job's cache and its lock
	// live. Empty means no cache (each run gets its own).
	CacheDir    string
	LockTimeout time.Duration
	// AWSTimeout bounds each call for credentials (the container or instance endpoint, the
	// OIDC token, STS), as Options.AWSTimeout; zero means DefaultAWSTimeout.
	AWSTimeout time.Duration
}

// GitHub Actions' OIDC token request, as the runner gives it to a job with
// `permissions: id-token: write`.
const (
	gitHubTokenURLVar   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	gitHubTokenTokenVar = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
	// STSAudience is the audience AWS's IAM OIDC providers expect of a GitHub token.
	STSAudience = "sts.amazonaws.com"
)

// NoWebIdentityTokenError says a role was to be assumed with a web identity and the job
// has no token to give.
type NoWebIdentityTokenError struct{ RoleARN string }

func (e *NoWebIdentityTokenError) Error() string {
	return fmt.Sprintf("no web identity token to assume %s with: neither GitHub Actions' OIDC token request (%s) nor AWS_WEB_IDENTITY_TOKEN_FILE is set", e.RoleARN, gitHubTokenURLVar)
}

// NoAmbientCredentialsError says the SDK's default chain found no credentials.
type NoAmbientCredentialsError struct{ Err error }

func (e *NoAmbientCredentialsError) Error() string {
	return "the environment gives no AWS credentials (none in AWS_ACCESS_KEY_ID, a web identity, container or instance credentials)"
}

func (e *NoAmbientCredentialsError) Unwrap() error { return e.Err }

// ambientSource is how an ambient profile gets its credentials.
type ambientSource struct {
	what string // for --debug: "environment", "web identity (GitHub Actions OIDC)", ...
	// sdk is the default chain's provider (nil for a web identity).
	sdk aws.CredentialsProvider
	// web is the web identity role (nil for the default chain).
	web *webIdentity
	// platform: the credentials are the platform's own (a container's, an instance's),
	// which the command's SDK finds and renews itself.
	platform bool
}

// OpenAmbient resolves the ambient identity and opens its cache. It reads what needs no
// network (environment, token files) and asks the SDK's chain for its credentials (the
// container or instance endpoint, a local call); a role to assume is assumed later, by
// Profile.Credentials, through the cache.
func OpenAmbient(ctx context.Context, cfg *Config, o AmbientOptions) (*Vault, *Profile, error) {
	pc := &vault.ProfileConfig{ProfileName: o.Name}
	if cfg.Has(o.Name) {
		var err error
		if pc, err = cfg.profileConfig(o.Name, Options{Region: o.Region}); err != nil {
			return nil, nil, err
		}
	}
	pc.Region = cmp.Or(o.Region, pc.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))

	src, secret, err := resolveAmbient(ctx, o, pc.Region)
	if err != nil {
		return nil, nil, err
	}
	log.Printf("credentials from the %s", src.what)

	// The cache's key: only this job's secret and the role it assumes open it.
	key, err := hkdf.Key(sha256.New, secret, nil, "av ambient cache v1\x00"+o.RoleARN, 32)
	if err != nil {
		return nil, nil, err
	}
	v, err := openAmbientCache(ctx, o, key)
	if err != nil {
		return nil, nil, err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("identity"))
	p := &Profile{
		Name:     o.Name,
		Region:   pc.Region,
		Identity: hex.EncodeToString(mac.Sum(nil)[:12]) + "." + identity(&vault.ProfileConfig{}, Options{}, fileEndpoints{}),
		cfg:      cfg,
		v:        v,
		opts:     Options{Region: o.Region, Duration: o.Duration, AWSTimeout: o.AWSTimeout},
		ambient:  src,
	}
	return v, p, nil
}

// AmbientSource says, for --debug, where an ambient profile's credentials come from ("" for
// a profile of the vault).
func (p *Profile) AmbientSource() string {
	if p.ambient == nil {
		return ""
	}
	return p.ambient.what
}

func resolveAmbient(ctx context.Context, o AmbientOptions, region string) (*ambientSource, []byte, error) {
	// With no shared files, a profile named by AWS_DEFAULT_PROFILE (which the SDK reads as
	// AWS_PROFILE) could only fail: the job's identity is no profile's.
	if p, ok := os.LookupEnv("AWS_DEFAULT_PROFILE"); ok {
		os.Unsetenv("AWS_DEFAULT_PROFILE")
		defer os.Setenv("AWS_DEFAULT_PROFILE", p)
	}
	roleARN, tokenFile := o.RoleARN, os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE")
	envKeys := os.Getenv("AWS_ACCESS_KEY_ID") != "" && os.Getenv("AWS_SECRET_ACCESS_KEY") != ""
	if roleARN == "" && !envKeys && tokenFile != "" {
		// The SDK's own order: keys in the environment first, then a web identity.
		roleARN = os.Getenv("AWS_ROLE_ARN")
	}
	if roleARN != "" {
		return resolveWebIdentity(ctx, o, roleARN, tokenFile)
	}

	// The SDK's own chain, without the shared files: the job's identity is the platform's,
	// never a profile of the user's files (and a FIFO there would hold av deaf to
	// signals): keys in the environment, a web identity, container or instance credentials.
	c, err := loadSDK(ctx, region, o.AWSTimeout)
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, orDefaultDuration(o.AWSTimeout, DefaultAWSTimeout))
	defer cancel()
	creds, err := c.Credentials.Retrieve(rctx)
	if err != nil {
		return nil, nil, &NoAmbientCredentialsError{Err: err}
	}
	what := sourceName(creds.Source)
	src := &ambientSource{what: what, sdk: c.Credentials, platform: what == sourceInstance || what == sourceContainer}
	return src, []byte(creds.AccessKeyID + "\x00" + creds.SecretAccessKey + "\x00" + creds.SessionToken), nil
}

// sdkLogger sends the SDK's own warnings ("falling back to IMDSv1") to --debug: av's
// stderr has one line per error.
var sdkLogger = logging.LoggerFunc(func(_ logging.Classification, format string, v ...any) {
	log.Printf("SDK: "+format, v...)
})

// sourceName words the SDK's credential source names.
// The platform's own credentials, as --debug names them.
const (
	sourceInstance  = "instance metadata (instance role)"
	sourceContainer = "container credentials endpoint"
)

// PlatformRenews reports whether the profile's credentials are the platform's own (an
// instance role, a container's credentials: CodeBuild, ECS, EKS Pod Identity), which the
// command's SDK would find and renew by itself: fixed keys would run out in a long job
// where the same job without av goes on.
func (p *Profile) PlatformRenews() bool { return p.ambient != nil && p.ambient.platform }

func sourceName(s string) string {
	switch {
	case strings.HasPrefix(s, "EnvConfigCredentials"):
		return "environment (AWS_ACCESS_KEY_ID)"
	case strings.HasPrefix(s, "SharedConfigCredentials"):
		return "shared credentials file"
	case strings.Contains(s, "EC2RoleProvider"):
		return sourceInstance
	case strings.Contains(s, "ecs") || strings.Contains(s, "Endpoint"):
		return sourceContainer
	case strings.Contains(s, "WebIdentity"):
		return "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)"
	case strings.Contains(s, "Process"):
		return "credential process"
	}
	return "SDK default chain (" + s + ")"
}

func resolveWebIdentity(ctx context.Context, o AmbientOptions, roleARN, tokenFile string) (*ambientSource, []byte, error) {
	w := &webIdentity{roleARN: roleARN, sessionName: sessionName(o.SessionName), duration: o.Duration}
	var secret []byte
	switch reqURL, reqToken := os.Getenv(gitHubTokenURLVar), os.Getenv(gitHubTokenTokenVar); {
	case tokenFile != "":
		tok, err := readTokenFile(tokenFile)
		if err != nil {
			return nil, nil, err
		}
		// The file is read again at each assume: EKS and others rotate it.
		w.token = func(context.Context) (string, error) { return readTokenFile(tokenFile) }
		w.what = "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)"
		secret = []byte(tok)
	case reqURL != "" && reqToken != "":
		timeout := orDefaultDuration(o.AWSTimeout, DefaultAWSTimeout)
		w.token = func(ctx context.Context) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			return gitHubToken(ctx, reqURL, reqToken, STSAudience)
		}
		w.what = "web identity (GitHub Actions OIDC)"
		// A new OIDC token each time; the request token stands for the job.
		secret = []byte(reqURL + "\x00" + reqToken)
	default:
		return nil, nil, &NoWebIdentityTokenError{RoleARN: roleARN}
	}
	return &ambientSource{what: w.what + ", role " + roleARN, web: w}, secret, nil
}

// maxTokenSize bounds what av reads of a token file or a token endpoint's answer.
const maxTokenSize = 64 << 10

func readTokenFile(path string) (string, error) {
	data, err := ReadCapped(path, ReadOptions{Limit: maxTokenSize})
	if err != nil {
		return "", fmt.Errorf("reading the web identity token file %q: %w", path, err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("the web identity token file %q is empty", path)
	}
	return tok, nil
}

// gitHubToken asks the Actions runtime for the job's OIDC token, as
// actions/toolkit's core.getIDToken does.
func gitHubToken(ctx context.Context, reqURL, reqToken, audience string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%s is not a URL", gitHubTokenURLVar)
	}
	if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
		// The request token is the job's: never in clear over a network.
		return "", fmt.Errorf("%s is plain http to another machine: av sends the job's request token over https only", gitHubTokenURLVar)
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The URL carries no secret: it may be named.
		return "", fmt.Errorf("asking GitHub Actions for the job's OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenSize))
	if err != nil {
		return "", fmt.Errorf("asking GitHub Actions for the job's OIDC token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("asking GitHub Actions for the job's OIDC token: %s (does the job have `permissions: id-token: write`?)", resp.Status)
	}
	var answer struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(body, &answer) != nil || answer.Value == "" {
		return "", errors.New("asking GitHub Actions for the job's OIDC token: the answer holds no token")
	}
	return answer.Value, nil
}

// sessionName is the role session's name: given, else AWS_ROLE_SESSION_NAME, else one that
// names the CI run, so CloudTrail tells which run did what.
func sessionName(given string) string {
	name := cmp.Or(given, os.Getenv("AWS_ROLE_SESSION_NAME"))
	if name == "" {
		if id := os.Getenv("GITHUB_RUN_ID"); id != "" {
			name = "av-gh-" + id + "-" + cmp.Or(os.Getenv("GITHUB_RUN_ATTEMPT"), "1")
		} else if id := os.Getenv("CI_JOB_ID"); id != "" {
			name = "av-gitlab-" + id
		} else {
			name = fmt.Sprintf("av-%d", time.Now().Unix())
		}
	}
	name = strings.Map(sessionNameRune, name)
	if len(name) > 64 {
		name = name[:64]
	}
	return name
}

// sessionNameRune keeps a character STS takes in a role session's name ([\w+=,.@-]) and
// turns any other, and each byte of invalid UTF-8, into _. A function, not a regexp in a
// package variable: that was compiled at start-up in every run (GODEBUG=inittrace=1).
func sessionNameRune(r rune) rune {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', strings.ContainsRune("_+=,.@-", r):
		return r
	}
	return '_'
}

// webIdentity assumes a role with a web identity token, as aws-vault's
// AssumeRoleWithWebIdentityProvider does with a token that need not come from a file.
type webIdentity struct {
	what        string
	roleARN     string
	sessionName string
	duration    time.Duration
	token       func(context.Context) (string, error)
	sts         *sts.Client // set by the chain
	// tokenProcess is the web_identity_token_process that token runs, if it does.
	tokenProcess string
}

func (w *webIdentity) Retrieve(ctx context.Context) (aws.Credentials, error) {
	return retrieveSession(ctx, w)
}

// retrieveSession is a session provider's Retrieve: its STS credentials, as the SDK's.
func retrieveSession(ctx context.Context, p interface {
	RetrieveStsCredentials(context.Context) (*ststypes.Credentials, error)
}) (aws.Credentials, error) {
	c, err := p.RetrieveStsCredentials(ctx)
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{
		AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration),
	}, nil
}

func (w *webIdentity) RetrieveStsCredentials(ctx context.Context) (*ststypes.Credentials, error) {
	tok, err := w.token(ctx)
	if err != nil {
		return nil, err
	}
	// With no name given, one that will hopefully be unique, as aws-vault names it.
	session := cmp.Or(w.sessionName, fmt.Sprint(time.Now().UTC().UnixNano()))
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(w.roleARN),
		RoleSessionName:  aws.String(session),
		WebIdentityToken: aws.String(tok),
	}
	if w.duration > 0 {
		in.DurationSeconds = aws.Int32(int32(w.duration.Seconds()))
	}
	out, err := w.sts.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("assuming %s with a web identity: %w", w.roleARN, err)
	}
	log.Printf("assumed %s with a web identity, session %s", w.roleARN, session)
	return out.Credentials, nil
}

// ambientProvider is the chain's provider for an ambient profile.
func (c *chain) ambientProvider(p *Profile) aws.CredentialsProvider {
	src := p.ambient
	if src.web == nil {
		// The SDK's chain caches and renews its own credentials (a container's or an
		// instance's rotate), and they are a local call away: av keeps none.
		return src.sdk
	}
	w := *src.web
	w.sts = sts.NewFromConfig(c.client(p.Region, aws.AnonymousCredentials{}))
	return c.cached("sts.AssumeRoleWithWebIdentity", &vault.ProfileConfig{ProfileName: ambientCacheProfile}, w.roleARN, "STS in "+c.region(p.Region), &w)
}

// ambientCacheProfile is the profile name an ambient cache files its items under: whatever
// a Makefile calls its profiles, in CI they are all the job's one identity.
const ambientCacheProfile = "ambient"

// CacheName is the profile name the profile's cached items are filed under.
func (p *Profile) CacheName() string {
	if p.ambient != nil {
		return ambientCacheProfile
	}
	return p.Name
}

// ambientCacheMaxAge: a job's cache left behind by a self-hosted runner is removed once
// nothing in it can still be used (registry tokens and role sessions live 12 hours at most).
const ambientCacheMaxAge = 13 * time.Hour

const ambientCachePrefix = ".ambient-"

// openAmbientCache opens the job's cache, a file-backend vault named and keyed by key.
func openAmbientCache(ctx context.Context, o AmbientOptions, key []byte) (*Vault, error) {
	passphrase := base64.RawStdEncoding.EncodeToString(key)
	v := newVault(ctx, string(keyring.FileBackend))
	v.passphrase, v.hasPassphrase = passphrase, true
	if o.CacheDir == "" {
		v.store = keyring.NewArrayKeyring(nil)
		return v, nil
	}
	sweepStale(o.CacheDir, ambientCachePrefix, ambientCacheMaxAge)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("directory"))
	v.fileDir = filepath.Join(o.CacheDir, ambientCachePrefix+hex.EncodeToString(mac.Sum(nil)[:10]))
	v.ambientCache = true
	if err := os.Mkdir(v.fileDir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("creating the job's credential cache: %w", err)
	}
	// Touched on each use: the sweep removes only caches no run has used for a long time.
	now := time.Now()
	os.Chtimes(v.fileDir, now, now)
	v.lock = &vaultLock{path: lockPath(o.CacheDir, "ambient\x00"+v.fileDir), timeout: orDefaultDuration(o.LockTimeout, DefaultLockTimeout)}
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          v.fileDir,
		FilePasswordFunc: v.filePassphrase,
	})
	if err != nil {
		return nil, fmt.Errorf("opening the job's credential cache: %w", err)
	}
	v.store = kr
	return v, nil
}

// DropIfEmpty removes the job's cache directory if nothing was stored in it (a run that
// failed before it got any token): bad input leaves nothing behind. A parallel run that
// stores into it later makes it again.
func (v *Vault) DropIfEmpty() {
	if v.ambientCache {
		os.Remove(v.fileDir) // fails, as it should, unless empty
	}
}
