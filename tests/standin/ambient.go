package standin

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The roles whose credentials IMDS and the container endpoint serve, in
// Options.AccountID, unless SetInstanceRole or SetContainerRole says otherwise.
const (
	defaultInstanceRole  = "standin-instance"
	defaultContainerRole = "standin-task"
)

// containerPath is where container credentials are served, the path EKS Pod
// Identity's agent uses (http://169.254.170.23/v1/credentials).
const containerPath = "/v1/credentials"

// Instance and task role credentials last 6 hours, as EC2's do, unless
// Options.MaxDuration is shorter; a fetch within refreshBefore of the expiry
// gets new ones, as IMDS rotates them well before they expire.
const (
	ambientSeconds = 6 * 3600
	refreshBefore  = 5 * time.Minute
)

// IMDS limits on the session token's TTL, in seconds.
const (
	minIMDSTokenTTL = 1
	maxIMDSTokenTTL = 21600
)

// ambientRole is a role whose credentials the platform hands out: the
// current set, and every set handed out (for AmbientSecrets).
type ambientRole struct {
	roleArn string // "" for none attached
	session string // the session name AWS gives it: the instance or task id
	token   string // the container endpoint's authorization token
	current *tempKey
	issued  []*tempKey
}

// ambientCredentials returns the role's current credentials, issuing new
// ones when there are none or they are near expiry. Concurrent callers get
// the same set, as from IMDS. s.mu must not be held.
func (s *Server) ambientCredentials(role *ambientRole) (*tempKey, error) {
	s.ambientMu.Lock()
	defer s.ambientMu.Unlock()
	s.mu.Lock()
	roleArn, current := role.roleArn, role.current
	s.mu.Unlock()
	if current != nil && s.now().Add(refreshBefore).Before(current.expires) {
		return current, nil
	}
	m := roleArnPattern.FindStringSubmatch(roleArn)
	if m == nil {
		return nil, fmt.Errorf("no role")
	}
	creds := s.issue(roleSession(roleArn, m[1], m[2], role.session), ambientSeconds)
	s.mu.Lock()
	defer s.mu.Unlock()
	key := s.temps[creds.AccessKeyID]
	role.current = key
	role.issued = append(role.issued, key)
	return key, nil
}

// SetInstanceRole attaches roleArn to the stand-in's EC2 instance: IMDS
// serves its credentials. "" detaches it (IMDS then answers 404, as for an
// instance without an instance profile). The default is
// arn:aws:iam::<AccountID>:role/standin-instance. Sessions of the role are
// named after the instance id, as at AWS (…:assumed-role/ROLE/i-0…).
func (s *Server) SetInstanceRole(roleArn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instance.roleArn, s.instance.current = roleArn, nil
}

// SetContainerRole sets the role whose credentials the container endpoint
// serves; default arn:aws:iam::<AccountID>:role/standin-task.
func (s *Server) SetContainerRole(roleArn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.container.roleArn, s.container.current = roleArn, nil
}

// ContainerCredentials returns what an ECS task or an EKS pod with Pod
// Identity finds in AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN. A GET of fullURI with the header
// "Authorization: <authToken>" answers the task role's temporary
// credentials as {AccessKeyId, SecretAccessKey, Token, Expiration,
// AccountId, RoleArn}; any other Authorization gets 401. Calls are counted
// as "container.credentials". Valid after Start.
func (s *Server) ContainerCredentials() (fullURI, authToken string) {
	return s.URL() + containerPath, s.container.token
}

// Secret is a secret the stand-in handed out, named for error messages.
type Secret struct {
	What  string // e.g. "a web identity token"
	Value string
}

// AmbientSecrets returns every secret the stand-in has handed out as a
// platform's identity: each web identity token issued (NewWebIdentityToken
// and the GitHub endpoint), the GitHub request token, and the secret key
// and session token of every set of instance (IMDS) and container
// credentials served. Credentials from STS calls are not among them.
func (s *Server) AmbientSecrets() []Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Secret{
		{"the GitHub OIDC request token", s.oidc.requestToken},
		{"the container authorization token", s.container.token},
	}
	for _, t := range s.oidc.issued {
		out = append(out, Secret{"a web identity token", t})
	}
	for _, k := range s.instance.issued {
		out = append(out, Secret{"an instance (IMDS) secret key", k.secret}, Secret{"an instance (IMDS) session token", k.token})
	}
	for _, k := range s.container.issued {
		out = append(out, Secret{"a container secret key", k.secret}, Secret{"a container session token", k.token})
	}
	return out
}

// serveIMDS answers the instance metadata service as an instance with
// IMDSv2 required (HttpTokens=required) does: PUT /latest/api/token for a
// session token, and GETs that carry it.
func (s *Server) serveIMDS(w http.ResponseWriter, r *http.Request) {
	name, status := s.imds(w, r)
	s.logf("standin: %s %s %s -> %d", name, r.Method, r.URL.Path, status)
}

func (s *Server) imds(w http.ResponseWriter, r *http.Request) (string, int) {
	text := func(name string, status int, body string) (string, int) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		w.Write([]byte(body))
		return name, status
	}
	const credsPrefix = "/latest/meta-data/iam/security-credentials/"
	name := "imds.metadata"
	switch {
	case r.URL.Path == "/latest/api/token":
		name = "imds.token"
	case r.URL.Path == credsPrefix:
		name = "imds.roles"
	case strings.HasPrefix(r.URL.Path, credsPrefix):
		name = "imds.credentials"
	}
	s.count(name)

	if name == "imds.token" {
		if r.Method != http.MethodPut {
			return text(name, http.StatusMethodNotAllowed, "")
		}
		// IMDS refuses token requests that went through a proxy.
		if r.Header.Get("X-Forwarded-For") != "" {
			return text(name, http.StatusForbidden, "")
		}
		ttl, err := strconv.Atoi(r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		if err != nil || ttl < minIMDSTokenTTL || ttl > maxIMDSTokenTTL {
			return text(name, http.StatusBadRequest, "")
		}
		token := "AQAEA" + randomString(secretChars, 51) + "=="
		s.mu.Lock()
		s.imdsToken[token] = s.now().Add(time.Duration(ttl) * time.Second)
		s.mu.Unlock()
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", strconv.Itoa(ttl))
		return text(name, http.StatusOK, token)
	}

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return text(name, http.StatusMethodNotAllowed, "")
	}
	s.mu.Lock()
	expires, ok := s.imdsToken[r.Header.Get("X-Aws-Ec2-Metadata-Token")]
	valid := ok && s.now().Before(expires)
	roleArn := s.instance.roleArn
	s.mu.Unlock()
	if !valid {
		return text(name, http.StatusUnauthorized, "")
	}

	roleName := ""
	if m := roleArnPattern.FindStringSubmatch(roleArn); m != nil {
		roleName = m[2]
	}
	switch {
	case name == "imds.roles" && roleName != "":
		return text(name, http.StatusOK, roleName)
	case name == "imds.credentials" && roleName != "" && strings.TrimPrefix(r.URL.Path, credsPrefix) == roleName:
		key, err := s.ambientCredentials(&s.instance)
		if err != nil {
			return text(name, http.StatusNotFound, "")
		}
		body, _ := json.Marshal(map[string]string{
			"Code":            "Success",
			"LastUpdated":     key.issued.UTC().Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     key.caller.accessKey,
			"SecretAccessKey": key.secret,
			"Token":           key.token,
			"Expiration":      key.expires.UTC().Format(time.RFC3339),
		})
		return text(name, http.StatusOK, string(body))
	case r.URL.Path == "/latest/meta-data/iam/info" && roleName != "":
		m := roleArnPattern.FindStringSubmatch(roleArn)
		body, _ := json.Marshal(map[string]string{
			"Code":               "Success",
			"LastUpdated":        s.now().UTC().Format(time.RFC3339),
			"InstanceProfileArn": fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s", m[1], roleName),
			"InstanceProfileId":  "AIPA" + roleID(roleArn)[4:],
		})
		return text(name, http.StatusOK, string(body))
	case r.URL.Path == "/latest/meta-data/placement/region":
		return text(name, http.StatusOK, s.opts.InstanceRegion)
	case r.URL.Path == "/latest/meta-data/instance-id":
		return text(name, http.StatusOK, s.instance.session)
	case r.URL.Path == "/latest/dynamic/instance-identity/document":
		body, _ := json.MarshalIndent(map[string]any{
			"accountId":        s.opts.AccountID,
			"architecture":     "x86_64",
			"availabilityZone": s.opts.InstanceRegion + "a",
			"imageId":          "ami-0" + strings.Repeat("0", 16),
			"instanceId":       s.instance.session,
			"instanceType":     "t3.micro",
			"pendingTime":      s.now().UTC().Format(time.RFC3339),
			"privateIp":        "10.0.0.10",
			"region":           s.opts.InstanceRegion,
			"version":          "2017-09-30",
		}, "", "  ")
		return text(name, http.StatusOK, string(body))
	}
	return text(name, http.StatusNotFound, "")
}

// serveContainer answers the container credentials endpoint.
func (s *Server) serveContainer(w http.ResponseWriter, r *http.Request) {
	s.count("container.credentials")
	status := s.containerCredentials(w, r)
	s.logf("standin: container.credentials %s -> %d", r.Method, status)
}

func (s *Server) containerCredentials(w http.ResponseWriter, r *http.Request) int {
	fail := func(status int, code, msg string) int {
		writeJSONStatus(w, status, map[string]string{"code": code, "message": msg})
		return status
	}
	if r.Method != http.MethodGet {
		return fail(http.StatusMethodNotAllowed, "MethodNotAllowed", "the credentials endpoint takes GET")
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(s.container.token)) != 1 {
		return fail(http.StatusUnauthorized, "AccessDenied", "the Authorization header does not hold the container's token")
	}
	key, err := s.ambientCredentials(&s.container)
	if err != nil {
		return fail(http.StatusNotFound, "NotFound", "no role is associated with this container")
	}
	s.mu.Lock()
	roleArn := s.container.roleArn
	s.mu.Unlock()
	writeJSONStatus(w, http.StatusOK, map[string]string{
		"RoleArn":         roleArn,
		"AccessKeyId":     key.caller.accessKey,
		"SecretAccessKey": key.secret,
		"Token":           key.token,
		"AccountId":       key.caller.account,
		"Expiration":      key.expires.UTC().Format(time.RFC3339),
	})
	return http.StatusOK
}
