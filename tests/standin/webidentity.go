package standin

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitHubIssuer is the iss of GitHub Actions' OIDC tokens, the one OIDC
// provider the stand-in's accounts have.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// githubOIDCPath is where the stand-in serves the Actions runtime's token
// endpoint. The real one is a long per-job path on pipelines.actions.githubusercontent.com.
const githubOIDCPath = "/_apis/distributedtask/hubs/Actions/plans/standin/jobs/standin/idtoken"

// Web identity tokens are at most this long, as STS's WebIdentityToken
// parameter allows.
const (
	minWebIdentityToken = 4
	maxWebIdentityToken = 20000
)

// oidcState is the stand-in's OIDC provider: the key its tokens are signed
// with, the Actions request token, and every token issued (secrets the tests
// look for where they must not be).
type oidcState struct {
	key          []byte
	requestToken string
	issued       []string
	trust        map[string]string // role ARN -> sub pattern its trust policy allows
}

func newOIDCState() oidcState {
	key := make([]byte, 32)
	rand.Read(key)
	return oidcState{key: key, requestToken: randomString(secretChars, 64), trust: map[string]string{}}
}

// jwtHeader says honestly what signs the token: an HMAC only the stand-in
// knows. GitHub signs with RS256; no client of the token checks it.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT","kid":"standin"}`))

// webIdentityClaims are the claims of a GitHub Actions OIDC token that the
// stand-in sets (GitHub sets more).
type webIdentityClaims struct {
	JTI             string `json:"jti"`
	Sub             string `json:"sub"`
	Aud             string `json:"aud"`
	Ref             string `json:"ref"`
	Repository      string `json:"repository"`
	RepositoryOwner string `json:"repository_owner"`
	RunID           string `json:"run_id"`
	RunAttempt      string `json:"run_attempt"`
	EventName       string `json:"event_name"`
	Iss             string `json:"iss"`
	Nbf             int64  `json:"nbf"`
	Exp             int64  `json:"exp"`
	Iat             int64  `json:"iat"`
}

// NewWebIdentityToken issues a web identity token as GitHub Actions' OIDC
// provider would for the job Options.GitHubRepository at Options.GitHubRef:
// a JWT whose aud claim is audience, whose sub is
// "repo:<repository>:ref:<ref>", whose iss is GitHubIssuer, and which
// expires after Options.WebIdentityTokenTTL. AssumeRoleWithWebIdentity
// accepts it if audience is one of Options.WebIdentityAudiences.
func (s *Server) NewWebIdentityToken(audience string) string {
	now := s.now()
	owner, _, _ := strings.Cut(s.opts.GitHubRepository, "/")
	claims := webIdentityClaims{
		JTI:             newRequestID(),
		Sub:             "repo:" + s.opts.GitHubRepository + ":ref:" + s.opts.GitHubRef,
		Aud:             audience,
		Ref:             s.opts.GitHubRef,
		Repository:      s.opts.GitHubRepository,
		RepositoryOwner: owner,
		RunID:           "1000000001",
		RunAttempt:      "1",
		EventName:       "push",
		Iss:             GitHubIssuer,
		Nbf:             now.Add(-5 * time.Second).Unix(),
		Exp:             now.Add(s.opts.WebIdentityTokenTTL).Unix(),
		Iat:             now.Unix(),
	}
	payload, _ := json.Marshal(claims)
	signed := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(payload)
	token := signed + "." + base64.RawURLEncoding.EncodeToString(s.jwtSignature(signed))

	s.mu.Lock()
	s.oidc.issued = append(s.oidc.issued, token)
	s.mu.Unlock()
	return token
}

func (s *Server) jwtSignature(signed string) []byte {
	mac := hmac.New(sha256.New, s.oidc.key)
	mac.Write([]byte(signed))
	return mac.Sum(nil)
}

// TrustWebIdentity restricts who may assume roleArn with a web identity, as
// the role's trust policy would with a StringLike condition on
// token.actions.githubusercontent.com:sub: the token's sub must match
// subPattern, where * matches any run of characters and ? one character.
// Roles never named here trust every token the server issued.
func (s *Server) TrustWebIdentity(roleArn, subPattern string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oidc.trust[roleArn] = subPattern
}

// GitHubOIDC returns what a GitHub Actions job with `permissions: id-token:
// write` finds in ACTIONS_ID_TOKEN_REQUEST_URL and
// ACTIONS_ID_TOKEN_REQUEST_TOKEN. The URL already holds a query
// (?api-version=2.0); clients append &audience=AUD. A GET of it with
// "Authorization: Bearer <requestToken>" answers {"count":N,"value":JWT},
// where the JWT is a web identity token as NewWebIdentityToken makes, for
// the audience asked (GitHub's default, https://github.com/<owner>, if none
// is). A missing or wrong bearer token gets 401. Calls are counted as
// "github.token". Valid after Start.
func (s *Server) GitHubOIDC() (requestURL, requestToken string) {
	return s.URL() + githubOIDCPath + "?api-version=2.0", s.oidc.requestToken
}

func (s *Server) serveGitHubOIDC(w http.ResponseWriter, r *http.Request) {
	s.count("github.token")
	status, outcome := s.githubToken(w, r)
	s.logf("standin: github.token %s -> %d %s", r.URL.Query().Get("audience"), status, outcome)
}

func (s *Server) githubToken(w http.ResponseWriter, r *http.Request) (int, string) {
	fail := func(status int, msg string) (int, string) {
		writeJSONStatus(w, status, map[string]string{"message": msg})
		return status, msg
	}
	if r.Method != http.MethodGet {
		return fail(http.StatusMethodNotAllowed, "the token endpoint takes GET")
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(bearer), []byte(s.oidc.requestToken)) != 1 {
		return fail(http.StatusUnauthorized, "the bearer token is not this job's ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2.0" {
		return fail(http.StatusBadRequest, "api-version=2.0 is required")
	}
	audience := q.Get("audience")
	if audience == "" {
		// What GitHub puts in aud when the job asks for none.
		owner, _, _ := strings.Cut(s.opts.GitHubRepository, "/")
		audience = "https://github.com/" + owner
	}
	token := s.NewWebIdentityToken(audience)
	writeJSONStatus(w, http.StatusOK, map[string]any{"count": len(token), "value": token})
	return http.StatusOK, "ok"
}

func writeJSONStatus(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

type assumeRoleWithWebIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleWithWebIdentityResponse"`
	Result  struct {
		SubjectFromWebIdentityToken string
		Audience                    string
		AssumedRoleUser             struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string
		}
		Credentials stsCredentials
		Provider    string
	} `xml:"AssumeRoleWithWebIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

func errInvalidIdentityToken(msg string) *awsError {
	return &awsError{status: http.StatusBadRequest, code: "InvalidIdentityToken", message: msg}
}

const couldNotValidate = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."

func (s *Server) assumeRoleWithWebIdentity(r *request) (any, *awsError) {
	token := r.params.Get("WebIdentityToken")
	if token == "" {
		return nil, errValidation("1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member must not be null")
	}
	if len(token) < minWebIdentityToken || len(token) > maxWebIdentityToken {
		return nil, errValidation(fmt.Sprintf("1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length between %d and %d", minWebIdentityToken, maxWebIdentityToken))
	}
	roleArn, sessionName := r.params.Get("RoleArn"), r.params.Get("RoleSessionName")
	account, roleName, err := checkRoleParams(roleArn, sessionName)
	if err != nil {
		return nil, err
	}
	seconds, err := durationSeconds(r.params, defRoleSessionSeconds, maxRoleSessionSeconds)
	if err != nil {
		return nil, err
	}
	claims, err := s.verifyWebIdentityToken(token)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	pattern, restricted := s.oidc.trust[roleArn]
	s.mu.Unlock()
	if restricted && !globMatch(pattern, claims.Sub) {
		return nil, errAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
	}

	who := roleSession(roleArn, account, roleName, sessionName)
	resp := assumeRoleWithWebIdentityResponse{RequestID: r.id}
	resp.Result.SubjectFromWebIdentityToken = claims.Sub
	resp.Result.Audience = claims.Aud
	resp.Result.Provider = claims.Iss
	resp.Result.AssumedRoleUser.AssumedRoleID = who.userID
	resp.Result.AssumedRoleUser.Arn = who.arn
	resp.Result.Credentials = s.issue(who, seconds)
	s.recordSession(roleArn, sessionName)
	return resp, nil
}

// verifyWebIdentityToken checks a token as STS checks an OIDC token: an
// issuer the account has a provider for, that provider's signature, an
// audience in the provider's client ID list, and the expiry.
func (s *Server) verifyWebIdentityToken(token string) (webIdentityClaims, *awsError) {
	var claims webIdentityClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return claims, errInvalidIdentityToken(couldNotValidate)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		return claims, errInvalidIdentityToken(couldNotValidate)
	}
	if claims.Iss != GitHubIssuer {
		return claims, errInvalidIdentityToken(fmt.Sprintf("No OpenIDConnect provider found in your account for %s", claims.Iss))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, s.jwtSignature(parts[0]+"."+parts[1])) {
		return claims, errInvalidIdentityToken(couldNotValidate)
	}
	if !slices.Contains(s.opts.WebIdentityAudiences, claims.Aud) {
		return claims, errInvalidIdentityToken("Incorrect token audience")
	}
	if now := s.now().Unix(); now >= claims.Exp {
		return claims, &awsError{status: http.StatusBadRequest, code: "ExpiredTokenException",
			message: "Token expired: current date/time " + strconv.FormatInt(now, 10) + " must be before the expiration date/time " + strconv.FormatInt(claims.Exp, 10)}
	}
	return claims, nil
}

// globMatch matches IAM's StringLike wildcards: * any run of characters
// (slashes too), ? any one character, everything else literally.
func globMatch(pattern, s string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\*`, `.*`)
	re = strings.ReplaceAll(re, `\?`, `.`)
	return regexp.MustCompile(`^(?s:` + re + `)$`).MatchString(s)
}
