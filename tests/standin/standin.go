// Package standin is the project's AWS stand-in: an HTTP server for
// end-to-end tests that speaks the real AWS wire protocols of STS (query
// protocol) and ECR / ECR Public (JSON 1.1), so that unmodified
// aws-sdk-go-v2 clients pointed at it with AWS_ENDPOINT_URL or BaseEndpoint
// work against it.
//
// It checks every SigV4 signature itself, issues temporary credentials that
// really expire, enforces MFA codes the test configures, mints ECR
// authorization tokens from passwords the test configures, and counts every
// call so tests can assert how often the code under test went to AWS.
//
// One server serves every service: the service is taken from the SigV4
// credential scope (sts, ecr, ecr-public), the operation from the STS Action
// parameter or the X-Amz-Target header.
//
// It also stands in for the places a CI job or a cloud machine takes its
// identity from, each at its own path on the same server:
//
//   - STS AssumeRoleWithWebIdentity, unsigned as the SDK sends it, accepting
//     only web identity tokens this server issued (NewWebIdentityToken, or the
//     GitHub endpoint below) whose aud is an audience the IAM OIDC provider
//     lists (Options.WebIdentityAudiences);
//   - the GitHub Actions OIDC token endpoint (GitHubOIDC), as
//     ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN name it;
//   - EC2 instance metadata, IMDSv2 only, under /latest/ (point
//     AWS_EC2_METADATA_SERVICE_ENDPOINT at the server's URL), serving the
//     credentials of an instance role (SetInstanceRole);
//   - container credentials (ECS, EKS Pod Identity) at /v1/credentials
//     (ContainerCredentials), serving a task role's credentials.
//
// Credentials from all of them are temporary keys the server issued, good
// for STS and ECR calls like any others.
//
// Besides these it answers, without authentication, GET /_standin/calls
// with the call counts as a JSON object, GET /_standin/sessions with the
// last RoleSessionName accepted for each role ARN as a JSON object, and
// POST /_standin/reset by clearing the counts, and
// POST /_standin/hang?op=NAME&on=true|false by SetHang.
package standin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Addr is where Start listens; default 127.0.0.1:0.
	Addr string
	// AccountID is the account of the IAM user that owns the root keys;
	// default 123456789012.
	AccountID string
	// UserName is that IAM user's name; default "standin".
	UserName string
	// MaxDuration, if set, caps the lifetime of issued STS credentials
	// whatever DurationSeconds asked for, so tests can get credentials that
	// expire in seconds without breaking AWS's 900-second minimum.
	MaxDuration time.Duration
	// TokenTTL is the lifetime of ECR authorization tokens; default 12h.
	TokenTTL time.Duration
	// WebIdentityAudiences are the client IDs of the IAM OIDC provider for
	// GitHub Actions: AssumeRoleWithWebIdentity accepts a token only if its
	// aud is one of them. Default ["sts.amazonaws.com"], what
	// configure-aws-credentials and the AWS docs register.
	WebIdentityAudiences []string
	// WebIdentityTokenTTL is the lifetime of issued web identity tokens;
	// default 1h (GitHub's last minutes, but a slow test must not see one
	// expire unless it asks for that).
	WebIdentityTokenTTL time.Duration
	// GitHubRepository and GitHubRef describe the job whose tokens the
	// server issues; they make the sub claim
	// "repo:<GitHubRepository>:ref:<GitHubRef>". Defaults "av-cli/av" and
	// "refs/heads/main".
	GitHubRepository, GitHubRef string
	// InstanceRegion is what IMDS answers for placement/region; default
	// us-east-1.
	InstanceRegion string
	// Logf, if set, receives one line per request. Lines carry access key
	// IDs but never secrets, session tokens or passwords.
	Logf func(format string, args ...any)
	// Clock is the time the server goes by: it issues and expires
	// credentials, tokens and IMDS sessions by it, times its calls' spans
	// by it, and waits by it (SetDelay). Default the real clock. A
	// request's signature is judged by the real clock whatever Clock says:
	// the SDK signs with that.
	Clock Clock
}

// Clock is where a Server takes the time from (Options.Clock).
type Clock interface {
	Now() time.Time
	// After sends the time once d has passed, as time.After does.
	After(d time.Duration) <-chan time.Time
}

// realClock is time's own clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Server is the stand-in. It is an http.Handler; Start also serves it.
type Server struct {
	opts   Options
	userID string // the AIDA… id of the IAM user behind the root keys

	mu             sync.Mutex
	roots          map[string]string // access key id -> secret
	temps          map[string]*tempKey
	mfa            map[string]string // serial -> the code that passes
	registries     map[string]registry
	publicPassword string
	tokenTTL       time.Duration
	calls          map[string]int
	sessionNames   map[string]string        // role ARN -> last RoleSessionName accepted
	hang           map[string]bool          // operations never answered (SetHang)
	delay          map[string]time.Duration // operations answered this late (SetDelay)
	spans          []Span                   // every AWS call's start and end, in start order
	spansReset     int                      // Reset's count: a call begun before one is not recorded after it
	maxDuration    time.Duration            // Options.MaxDuration, or SetMaxDuration's
	closed         chan struct{}            // closed by Close: hung calls end
	closeOnce      sync.Once
	url            string // set by Start

	oidc      oidcState
	instance  ambientRole          // the EC2 instance role
	container ambientRole          // the ECS / EKS Pod Identity task role
	imdsToken map[string]time.Time // IMDSv2 session token -> expiry
	ambientMu sync.Mutex           // held while instance or container credentials rotate

	httpServer *http.Server
}

type registry struct {
	proxyEndpoint string
	password      string
}

// tempKey is a set of credentials issued by GetSessionToken or AssumeRole.
// Expired ones are kept so that they are reported as expired, not unknown.
type tempKey struct {
	secret  string
	token   string
	issued  time.Time
	expires time.Time
	caller  caller
	revoked bool // RevokeSessions: unknown from now on
}

// caller is who signed a request.
type caller struct {
	accessKey string
	arn       string
	userID    string
	account   string
	temporary bool // signed with issued credentials
	role      bool // signed with an assumed role's credentials
}

// New returns a Server with no keys, registries or MFA devices configured.
func New(opts Options) *Server {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	if opts.UserName == "" {
		opts.UserName = "standin"
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 12 * time.Hour
	}
	if len(opts.WebIdentityAudiences) == 0 {
		opts.WebIdentityAudiences = []string{"sts.amazonaws.com"}
	}
	if opts.WebIdentityTokenTTL <= 0 {
		opts.WebIdentityTokenTTL = time.Hour
	}
	if opts.GitHubRepository == "" {
		opts.GitHubRepository = "av-cli/av"
	}
	if opts.GitHubRef == "" {
		opts.GitHubRef = "refs/heads/main"
	}
	if opts.InstanceRegion == "" {
		opts.InstanceRegion = "us-east-1"
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	return &Server{
		opts:         opts,
		userID:       "AIDA" + randomString(upperAlnum, 17),
		roots:        map[string]string{},
		temps:        map[string]*tempKey{},
		mfa:          map[string]string{},
		registries:   map[string]registry{},
		tokenTTL:     opts.TokenTTL,
		calls:        map[string]int{},
		sessionNames: map[string]string{},
		hang:         map[string]bool{},
		delay:        map[string]time.Duration{},
		maxDuration:  opts.MaxDuration,
		closed:       make(chan struct{}),
		oidc:         newOIDCState(),
		instance: ambientRole{
			roleArn: fmt.Sprintf("arn:aws:iam::%s:role/%s", opts.AccountID, defaultInstanceRole),
			session: "i-0" + randomString(lowerHex, 16),
		},
		container: ambientRole{
			roleArn: fmt.Sprintf("arn:aws:iam::%s:role/%s", opts.AccountID, defaultContainerRole),
			session: "eks-standin-" + randomString(lowerHex, 8),
			token:   randomString(secretChars, 48),
		},
		imdsToken: map[string]time.Time{},
	}
}

// Start listens on Options.Addr and serves in the background. It returns the
// base URL to use as the AWS endpoint, e.g. http://127.0.0.1:41234.
func (s *Server) Start() (string, error) {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return "", err
	}
	s.httpServer = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	s.mu.Lock()
	s.url = url
	s.mu.Unlock()
	go s.httpServer.Serve(ln)
	return url, nil
}

// URL is the base URL Start returned; it panics before Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.url == "" {
		panic("standin: URL before Start")
	}
	return s.url
}

// Close stops a server started with Start.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	if s.httpServer == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.httpServer.Shutdown(ctx)
}

// AddRootKey registers a long-term access key, as if it belonged to the IAM
// user Options.UserName.
func (s *Server) AddRootKey(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots[id] = secret
}

// NewRootKey generates and registers a long-term access key.
func (s *Server) NewRootKey() (id, secret string) {
	id, secret = "AKIA"+randomString(upperAlnum, 16), randomString(secretChars, 40)
	s.AddRootKey(id, secret)
	return id, secret
}

// SetMFA registers an MFA device: a call that names serial as SerialNumber
// passes only with code as TokenCode. Naming an unregistered serial fails,
// as it does against AWS.
func (s *Server) SetMFA(serial, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfa[serial] = code
}

// SetRegistry sets what ECR GetAuthorizationToken returns when signed for
// region: the registry's proxyEndpoint and a token carrying password.
func (s *Server) SetRegistry(region, proxyEndpoint, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.registries[region] = registry{proxyEndpoint: proxyEndpoint, password: password}
}

// SetPublicPassword sets the password in ECR Public authorization tokens.
func (s *Server) SetPublicPassword(password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.publicPassword = password
}

// SetTokenTTL sets the lifetime of ECR and ECR Public authorization tokens
// minted from now on.
func (s *Server) SetTokenTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenTTL = d
}

// Calls reports how many calls, accepted or rejected, named the operation
// name, written "service.Action", e.g. "sts.GetSessionToken".
func (s *Server) Calls(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[name]
}

// CallsByName returns a copy of all call counts.
func (s *Server) CallsByName() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// SetHang makes calls to the operation name ("sts.GetSessionToken",
// "ecr.GetAuthorizationToken") hang, or answer again: a hung call is counted,
// then never answered (nor its connection closed) until the client gives up or
// the server is closed, as an endpoint behind a black-holing network would.
func (s *Server) SetHang(name string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang[name] = on
}

// SetDelay makes the stand-in answer calls to the operation name (or every AWS
// call, for "*") only after d by Options.Clock, as a distant region would; 0
// answers at once.
// The wait starts when the call has been read, and ends early if the client
// gives up.
func (s *Server) SetDelay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[name] = d
}

// SetMaxDuration caps the lifetime of STS credentials issued from now on, as
// Options.MaxDuration does; 0 removes the cap.
func (s *Server) SetMaxDuration(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxDuration = d
}

// RevokeSessions makes every set of temporary credentials issued so far
// unknown, as rotating the key they came from, or a restarted stand-in, would:
// calls signed with them fail with InvalidClientTokenId (STS) or
// UnrecognizedClientException (ECR). Root keys keep working.
func (s *Server) RevokeSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, k := range s.temps {
		if !k.revoked {
			k.revoked = true
			n++
		}
	}
	return n
}

// Span is one AWS call as the stand-in served it, timed by Options.Clock.
type Span struct {
	Name       string // "service.Action"
	Start, End time.Time
}

// Spans returns every AWS call served so far (not the control, IMDS, container
// or OIDC endpoints), in the order they started.
func (s *Server) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.spans)
}

// MaxOverlap is the largest number of the calls named in names (every call,
// if none) that were in flight at one instant.
func MaxOverlap(spans []Span, names ...string) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, sp := range spans {
		if len(names) > 0 && !slices.Contains(names, sp.Name) {
			continue
		}
		edges = append(edges, edge{sp.Start, 1}, edge{sp.End, -1})
	}
	// Ends before starts at the same instant: touching is not overlapping.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	most, cur := 0, 0
	for _, e := range edges {
		cur += e.delta
		most = max(most, cur)
	}
	return most
}

// LastSessionName is the RoleSessionName of the last AssumeRole or
// AssumeRoleWithWebIdentity call accepted for roleArn, or "" if none was.
func (s *Server) LastSessionName(roleArn string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessionNames[roleArn]
}

// SessionNames returns a copy of the last RoleSessionName accepted for each
// role ARN.
func (s *Server) SessionNames() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.sessionNames))
	for k, v := range s.sessionNames {
		out[k] = v
	}
	return out
}

// IssuedSecrets returns the secret key and session token of every set of
// temporary credentials STS issued so far (GetSessionToken, AssumeRole,
// AssumeRoleWithWebIdentity; expired ones too), for tests that check where
// they end up.
func (s *Server) IssuedSecrets() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Secret, 0, 2*len(s.temps))
	for _, k := range s.temps {
		out = append(out, Secret{"an STS session's secret key", k.secret}, Secret{"an STS session token", k.token})
	}
	return out
}

// count adds a call to name.
func (s *Server) count(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[name]++
}

// Reset clears the call counts and spans; keys, registries and MFA devices stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	s.spans = nil
	s.spansReset++
}

// now is Options.Clock's time.
func (s *Server) now() time.Time { return s.opts.Clock.Now() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// request is one AWS call being served.
type request struct {
	http    *http.Request
	body    []byte
	id      string
	service string
	action  string
	params  url.Values // STS parameters
	sig     sigHeader
	sigErr  error
	caller  caller
}

func (r *request) name() string { return r.service + "." + r.action }

// jsonProtocol tells which error format the client expects.
func (r *request) jsonProtocol() bool { return r.service != "sts" }

const maxBody = 1 << 20

// ServeHTTP serves the AWS endpoints and the /_standin/ control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	switch p := hr.URL.Path; {
	case strings.HasPrefix(p, "/_standin/"):
		s.serveControl(w, hr)
		return
	case strings.HasPrefix(p, "/latest/"):
		s.serveIMDS(w, hr)
		return
	case p == containerPath:
		s.serveContainer(w, hr)
		return
	case p == githubOIDCPath:
		s.serveGitHubOIDC(w, hr)
		return
	}

	body, err := io.ReadAll(io.LimitReader(hr.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "cannot read request body", http.StatusBadRequest)
		return
	}
	r := &request{http: hr, body: body, id: newRequestID()}
	r.identify()
	s.mu.Lock()
	s.calls[r.name()]++
	hang := s.hang[r.name()]
	delay, ok := s.delay[r.name()]
	if !ok {
		delay = s.delay["*"]
	}
	span, resets := len(s.spans), s.spansReset
	s.spans = append(s.spans, Span{Name: r.name(), Start: s.now()})
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.spansReset == resets {
			s.spans[span].End = s.now()
		}
		s.mu.Unlock()
	}()
	if delay > 0 {
		select {
		case <-s.opts.Clock.After(delay):
		case <-hr.Context().Done():
			return
		case <-s.closed:
			return
		}
	}
	if hang {
		s.logf("standin: %s %s key=%s -> hung", r.id, r.name(), r.sig.accessKey)
		select {
		case <-hr.Context().Done():
		case <-s.closed:
		}
		return
	}

	status, outcome := s.serve(w, r)
	s.logf("standin: %s %s key=%s -> %d %s", r.id, r.name(), r.sig.accessKey, status, outcome)
}

// identify works out service and action before authenticating, so that
// rejected calls are counted under the operation they were meant for.
func (r *request) identify() {
	hr := r.http
	auth := hr.Header.Get("Authorization")
	if auth == "" {
		r.sigErr = errors.New("missing")
	} else {
		r.sig, r.sigErr = parseSigHeader(auth)
	}
	target := hr.Header.Get("X-Amz-Target")
	switch {
	case r.sigErr == nil:
		r.service = r.sig.service
	case target != "":
		r.service = "ecr"
		if strings.HasPrefix(target, publicTargetPrefix) {
			r.service = "ecr-public"
		}
	default:
		r.service = "sts"
	}

	if r.service == "sts" {
		r.params = hr.URL.Query()
		if hr.Method == http.MethodPost {
			form, _ := url.ParseQuery(string(r.body))
			for k, v := range form {
				r.params[k] = append(r.params[k], v...)
			}
		}
		r.action = r.params.Get("Action")
	} else if _, op, ok := strings.Cut(target, "."); ok {
		r.action = op
	}
	if r.action == "" {
		r.action = "Unknown"
	}
}

func (s *Server) serve(w http.ResponseWriter, r *request) (int, string) {
	// AssumeRoleWithWebIdentity needs no AWS credentials: the SDK sends it
	// unsigned, and the token is the proof. A signed one is checked as usual.
	if !(r.service == "sts" && r.action == "AssumeRoleWithWebIdentity" && r.http.Header.Get("Authorization") == "") {
		if err := s.authenticate(r); err != nil {
			return s.fail(w, r, err)
		}
	}
	var (
		result any
		err    *awsError
	)
	switch r.service {
	case "sts":
		result, err = s.serveSTS(r)
	case "ecr":
		result, err = s.serveECR(r)
	case "ecr-public":
		result, err = s.serveECRPublic(r)
	default:
		err = errUnknownOperation(fmt.Sprintf("standin: service %q is not served here", r.service))
	}
	if err != nil {
		return s.fail(w, r, err)
	}
	if r.jsonProtocol() {
		writeJSON(w, http.StatusOK, r.id, result)
	} else {
		writeXML(w, http.StatusOK, r.id, result)
	}
	return http.StatusOK, "ok"
}

func (s *Server) fail(w http.ResponseWriter, r *request, e *awsError) (int, string) {
	if r.jsonProtocol() {
		writeJSONError(w, r.id, e)
		return http.StatusBadRequest, e.jsonName()
	}
	writeQueryError(w, r.id, e)
	return e.status, e.code
}

// authenticate checks the request's SigV4 signature against the key it names
// and sets r.caller.
func (s *Server) authenticate(r *request) *awsError {
	if r.http.Header.Get("Authorization") == "" {
		return errMissingAuth()
	}
	if r.sigErr != nil {
		return errIncompleteSignature(r.sigErr.Error())
	}
	token := r.http.Header.Get("X-Amz-Security-Token")

	s.mu.Lock()
	rootSecret, isRoot := s.roots[r.sig.accessKey]
	temp, isTemp := s.temps[r.sig.accessKey]
	s.mu.Unlock()

	var secret string
	switch {
	case isRoot && token == "":
		secret = rootSecret
		r.caller = caller{
			accessKey: r.sig.accessKey,
			arn:       fmt.Sprintf("arn:aws:iam::%s:user/%s", s.opts.AccountID, s.opts.UserName),
			userID:    s.userID,
			account:   s.opts.AccountID,
		}
	case isTemp && token == temp.token && !temp.revoked:
		if !r.sig.signs("x-amz-security-token") {
			return errIncompleteSignature("The request signature does not cover the X-Amz-Security-Token header.")
		}
		secret = temp.secret
		r.caller = temp.caller
	default:
		// A missing or mismatched session token makes the key unknown, as
		// it does at AWS.
		return errInvalidToken()
	}

	if err := checkSignature(r.http, r.body, r.sig, secret, time.Now()); err != nil {
		return err
	}
	if isTemp && !s.now().Before(temp.expires) {
		return errExpiredToken()
	}
	return nil
}

// serveControl answers the unauthenticated endpoints for test processes that
// only know the stand-in's URL.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_standin/calls" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.CallsByName())
	case r.URL.Path == "/_standin/sessions" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.SessionNames())
	case r.URL.Path == "/_standin/reset" && r.Method == http.MethodPost:
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_standin/revoke" && r.Method == http.MethodPost:
		s.RevokeSessions()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/_standin/hang" && r.Method == http.MethodPost && r.URL.Query().Get("op") != "":
		s.SetHang(r.URL.Query().Get("op"), r.URL.Query().Get("on") != "false")
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

const (
	upperAlnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	lowerHex    = "0123456789abcdef"
)

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		// Modulo bias is irrelevant for test credentials.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
