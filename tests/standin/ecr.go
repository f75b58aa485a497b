package standin

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

const (
	ecrTargetPrefix    = "AmazonEC2ContainerRegistry_V20150921."
	publicTargetPrefix = "SpencerFrontendService."
	// publicRegion is the only region ECR Public hands out tokens in.
	publicRegion = "us-east-1"
)

type ecrAuthorizationData struct {
	AuthorizationToken string  `json:"authorizationToken"`
	ExpiresAt          float64 `json:"expiresAt"` // epoch seconds, as the JSON protocol sends timestamps
	ProxyEndpoint      string  `json:"proxyEndpoint,omitempty"`
}

type ecrGetAuthorizationTokenResponse struct {
	AuthorizationData []ecrAuthorizationData `json:"authorizationData"`
}

type ecrPublicGetAuthorizationTokenResponse struct {
	AuthorizationData ecrAuthorizationData `json:"authorizationData"`
}

func (s *Server) serveECR(r *request) (any, *awsError) {
	if err := checkJSONCall(r, ecrTargetPrefix); err != nil {
		return nil, err
	}
	region := r.sig.region
	s.mu.Lock()
	reg, ok := s.registries[region]
	ttl := s.tokenTTL
	s.mu.Unlock()
	if !ok {
		return nil, errInvalidParameter(fmt.Sprintf("standin: no registry is configured for region %s", region))
	}
	return ecrGetAuthorizationTokenResponse{
		AuthorizationData: []ecrAuthorizationData{s.authorizationData(reg.password, reg.proxyEndpoint, ttl)},
	}, nil
}

func (s *Server) serveECRPublic(r *request) (any, *awsError) {
	if err := checkJSONCall(r, publicTargetPrefix); err != nil {
		return nil, err
	}
	if r.sig.region != publicRegion {
		return nil, &awsError{status: http.StatusBadRequest, code: "UnsupportedCommandException",
			message: fmt.Sprintf("standin: ECR Public authorization tokens are only issued in %s, not %s", publicRegion, r.sig.region)}
	}
	s.mu.Lock()
	password := s.publicPassword
	ttl := s.tokenTTL
	s.mu.Unlock()
	if password == "" {
		return nil, errInvalidParameter("standin: no ECR Public password is configured")
	}
	return ecrPublicGetAuthorizationTokenResponse{AuthorizationData: s.authorizationData(password, "", ttl)}, nil
}

// checkJSONCall accepts only GetAuthorizationToken under the service's
// target prefix, with a JSON body.
func checkJSONCall(r *request, prefix string) *awsError {
	target := r.http.Header.Get("X-Amz-Target")
	if target != prefix+"GetAuthorizationToken" {
		return errUnknownOperation(fmt.Sprintf("standin: operation %q is not served for %s", target, r.service))
	}
	if len(r.body) > 0 && !json.Valid(r.body) {
		return &awsError{status: http.StatusBadRequest, code: "SerializationException", message: "standin: request body is not valid JSON"}
	}
	return nil
}

// authorizationData mints a token the way ECR does: base64 of "AWS:" and the
// registry password, which docker login splits back into user and password.
func (s *Server) authorizationData(password, proxyEndpoint string, ttl time.Duration) ecrAuthorizationData {
	expires := s.now().Add(ttl)
	return ecrAuthorizationData{
		AuthorizationToken: base64.StdEncoding.EncodeToString([]byte("AWS:" + password)),
		ExpiresAt:          float64(expires.UnixMilli()) / 1000,
		ProxyEndpoint:      proxyEndpoint,
	}
}
