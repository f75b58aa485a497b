package standin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"time"
)

const stsVersion = "2011-06-15"

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type getSessionTokenResponse struct {
	XMLName     xml.Name       `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetSessionTokenResponse"`
	Credentials stsCredentials `xml:"GetSessionTokenResult>Credentials"`
	RequestID   string         `xml:"ResponseMetadata>RequestId"`
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		AssumedRoleUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string
		}
		Credentials stsCredentials
	} `xml:"AssumeRoleResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

type getCallerIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result  struct {
		Arn     string
		UserID  string `xml:"UserId"`
		Account string
	} `xml:"GetCallerIdentityResult"`
	RequestID string `xml:"ResponseMetadata>RequestId"`
}

// Session lengths AWS allows, in seconds. Role sessions are allowed up to the
// largest MaxSessionDuration a role can have; role chaining is held to an hour.
const (
	minSessionSeconds       = 900
	maxSessionTokenSeconds  = 129600
	defSessionTokenSeconds  = 43200
	maxRoleSessionSeconds   = 43200
	defRoleSessionSeconds   = 3600
	maxChainedRoleSeconds   = 3600
	chainedRoleLimitMessage = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
)

var (
	roleArnPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):role/(?:[\x21-\x7e]*/)?([\w+=,.@-]{1,64})$`)
	roleSessionPattern = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
)

func (s *Server) serveSTS(r *request) (any, *awsError) {
	if v := r.params.Get("Version"); v != stsVersion {
		return nil, errUnknownOperation(fmt.Sprintf("Could not find operation %s for version %s", r.action, v))
	}
	switch r.action {
	case "GetCallerIdentity":
		var resp getCallerIdentityResponse
		resp.Result.Arn = r.caller.arn
		resp.Result.UserID = r.caller.userID
		resp.Result.Account = r.caller.account
		resp.RequestID = r.id
		return resp, nil
	case "GetSessionToken":
		return s.getSessionToken(r)
	case "AssumeRole":
		return s.assumeRole(r)
	case "AssumeRoleWithWebIdentity":
		return s.assumeRoleWithWebIdentity(r)
	}
	return nil, errUnknownOperation(fmt.Sprintf("Could not find operation %s for version %s", r.action, stsVersion))
}

func (s *Server) getSessionToken(r *request) (any, *awsError) {
	if r.caller.temporary {
		return nil, errAccessDenied("Cannot call GetSessionToken with session credentials")
	}
	seconds, err := durationSeconds(r.params, defSessionTokenSeconds, maxSessionTokenSeconds)
	if err != nil {
		return nil, err
	}
	if err := s.checkMFA(r.params); err != nil {
		return nil, err
	}
	// Session-token credentials still act as the IAM user.
	who := r.caller
	who.role = false
	resp := getSessionTokenResponse{RequestID: r.id}
	resp.Credentials = s.issue(who, seconds)
	return resp, nil
}

func (s *Server) assumeRole(r *request) (any, *awsError) {
	roleArn, sessionName := r.params.Get("RoleArn"), r.params.Get("RoleSessionName")
	account, roleName, err := checkRoleParams(roleArn, sessionName)
	if err != nil {
		return nil, err
	}
	seconds, err := durationSeconds(r.params, defRoleSessionSeconds, maxRoleSessionSeconds)
	if err != nil {
		return nil, err
	}
	if r.caller.role && seconds > maxChainedRoleSeconds {
		return nil, errValidation(chainedRoleLimitMessage)
	}
	if err := s.checkMFA(r.params); err != nil {
		return nil, err
	}

	who := roleSession(roleArn, account, roleName, sessionName)
	resp := assumeRoleResponse{RequestID: r.id}
	resp.Result.AssumedRoleUser.AssumedRoleID = who.userID
	resp.Result.AssumedRoleUser.Arn = who.arn
	resp.Result.Credentials = s.issue(who, seconds)
	s.recordSession(roleArn, sessionName)
	return resp, nil
}

// checkRoleParams validates RoleArn and RoleSessionName as STS does and
// returns the role's account and name.
func checkRoleParams(roleArn, sessionName string) (account, roleName string, err *awsError) {
	if roleArn == "" {
		return "", "", errValidation("1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null")
	}
	if sessionName == "" {
		return "", "", errValidation("1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null")
	}
	m := roleArnPattern.FindStringSubmatch(roleArn)
	if m == nil {
		return "", "", errValidation(fmt.Sprintf("standin: %s is not a valid IAM role ARN", roleArn))
	}
	if !roleSessionPattern.MatchString(sessionName) {
		return "", "", errValidation(fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", sessionName))
	}
	return m[1], m[2], nil
}

// roleSession is who acts with a role session's credentials.
func roleSession(roleArn, account, roleName, sessionName string) caller {
	return caller{
		arn:     fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, roleName, sessionName),
		userID:  roleID(roleArn) + ":" + sessionName,
		account: account,
		role:    true,
	}
}

func (s *Server) recordSession(roleArn, sessionName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessionNames[roleArn] = sessionName
}

// durationSeconds reads DurationSeconds, holding it to AWS's limits rather
// than clamping: a request AWS would refuse must fail here too.
func durationSeconds(params url.Values, def, max int) (int, *awsError) {
	v := params.Get("DurationSeconds")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errValidation(fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", v))
	}
	if n < minSessionSeconds {
		return 0, errValidation(fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, minSessionSeconds))
	}
	if n > max {
		return 0, errValidation(fmt.Sprintf("1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, max))
	}
	return n, nil
}

func (s *Server) checkMFA(params url.Values) *awsError {
	serial := params.Get("SerialNumber")
	if serial == "" {
		return nil
	}
	s.mu.Lock()
	want, known := s.mfa[serial]
	s.mu.Unlock()
	if !known {
		return errAccessDenied("MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.")
	}
	if subtle.ConstantTimeCompare([]byte(params.Get("TokenCode")), []byte(want)) != 1 {
		return errAccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
	}
	return nil
}

// issue creates temporary credentials for who, valid for seconds (or
// Options.MaxDuration if shorter).
func (s *Server) issue(who caller, seconds int) stsCredentials {
	lifetime := time.Duration(seconds) * time.Second
	s.mu.Lock()
	maxDuration := s.maxDuration
	s.mu.Unlock()
	if maxDuration > 0 && lifetime > maxDuration {
		lifetime = maxDuration
	}
	token := make([]byte, 160)
	rand.Read(token)
	now := s.now()
	key := &tempKey{
		secret:  randomString(secretChars, 40),
		token:   base64.StdEncoding.EncodeToString(token),
		issued:  now,
		expires: now.Add(lifetime),
		caller:  who,
	}
	key.caller.accessKey = "ASIA" + randomString(upperAlnum, 16)
	key.caller.temporary = true

	s.mu.Lock()
	s.temps[key.caller.accessKey] = key
	s.mu.Unlock()

	return stsCredentials{
		AccessKeyID:     key.caller.accessKey,
		SecretAccessKey: key.secret,
		SessionToken:    key.token,
		Expiration:      key.expires.UTC().Format(time.RFC3339),
	}
}

// roleID derives a stable AROA… id from the role ARN, so that every session
// of a role shares it as at AWS.
func roleID(roleArn string) string {
	sum := sha256.Sum256([]byte(roleArn))
	return "AROA" + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
