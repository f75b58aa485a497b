package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// fakeSource hands out a session, counting retrievals and how they were asked for.
type fakeSource struct {
	key     string
	master  bool
	err     error
	asked   []profiles.CredentialsOptions
	expires time.Time
}

func (s *fakeSource) Credentials(_ context.Context, o profiles.CredentialsOptions) (*profiles.Session, error) {
	s.asked = append(s.asked, o)
	if s.err != nil {
		return nil, s.err
	}
	c := aws.Credentials{AccessKeyID: s.key, SecretAccessKey: "SECRET-" + s.key, SessionToken: "TOKEN-" + s.key, CanExpire: !s.master, Expires: s.expires}
	if s.master {
		c.SessionToken = ""
	}
	return &profiles.Session{Credentials: c, AWS: aws.Config{Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })}}, nil
}

func startTestServer(t *testing.T, src CredentialSource, o ServerOptions) *CredentialServer {
	t.Helper()
	o.Source = src
	s, err := StartCredentialServer(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func get(t *testing.T, url, token string) (*http.Response, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

// The SDK's own container-credentials client gets the session through the endpoint.
func TestCredentialServerServesTheSDK(t *testing.T) {
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	src := &fakeSource{key: "ASIADEV", expires: exp}
	var served []string
	s := startTestServer(t, src, ServerOptions{Served: func(c aws.Credentials) { served = append(served, c.AccessKeyID) }})
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("URL %s is not on loopback", s.URL)
	}
	if raw := len(s.Token) * 6 / 8; raw < 32 {
		t.Errorf("token of %d bytes, want at least 32", raw)
	}
	p := endpointcreds.New(s.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = s.Token })
	c, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIADEV" || c.SecretAccessKey != "SECRET-ASIADEV" || c.SessionToken != "TOKEN-ASIADEV" || !c.CanExpire || !c.Expires.Equal(exp) {
		t.Errorf("got %+v", c)
	}
	if len(src.asked) != 1 || !src.asked[0].NoPrompt {
		t.Errorf("asked %+v, want once, never prompting", src.asked)
	}
	if fmt.Sprint(served) != "[ASIADEV]" {
		t.Errorf("served %v", served)
	}
}

// Without the token, with a wrong one, or to another path: no credentials.
func TestCredentialServerRefuses(t *testing.T) {
	src := &fakeSource{key: "ASIADEV", expires: time.Now().Add(time.Hour)}
	s := startTestServer(t, src, ServerOptions{})
	base := strings.TrimSuffix(s.URL, credentialsPath)
	for _, tc := range []struct {
		what, url, token string
		status           int
	}{
		{"no token", s.URL, "", http.StatusUnauthorized},
		{"a wrong token", s.URL, s.Token[:len(s.Token)-1] + "x", http.StatusUnauthorized},
		{"a prefix of the token", s.URL, s.Token[:10], http.StatusUnauthorized},
		{"Bearer and the token", s.URL, "Bearer " + s.Token, http.StatusUnauthorized},
		{"another path, no token", base + "/", "", http.StatusUnauthorized},
		{"another path", base + "/v2/credentials", s.Token, http.StatusNotFound},
		{"a path below", s.URL + "/x", s.Token, http.StatusNotFound},
	} {
		resp, body := get(t, tc.url, tc.token)
		if resp.StatusCode != tc.status || body["AccessKeyId"] != "" || body["SecretAccessKey"] != "" {
			t.Errorf("%s: %d %v, want %d and no credentials", tc.what, resp.StatusCode, body, tc.status)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL, nil)
	req.Header.Set("Authorization", s.Token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %v %v", resp, err)
	}
	if len(src.asked) != 0 {
		t.Errorf("credentials were read %d times for refused requests", len(src.asked))
	}
	if s.Close() != nil {
		t.Error("Close failed")
	}
	if _, err := http.Get(s.URL); err == nil {
		t.Error("the endpoint still answers after Close")
	}
}

// A renewal that needs an MFA code: an error the SDK reports, not retried, and told to
// Failed; an AWS failure is a 5xx.
func TestCredentialServerFailures(t *testing.T) {
	src := &fakeSource{err: fmt.Errorf("getting credentials: %w", profiles.ErrNeedsMFA)}
	var failed []error
	s := startTestServer(t, src, ServerOptions{Failed: func(err error) { failed = append(failed, err) }})
	p := endpointcreds.New(s.URL, func(o *endpointcreds.Options) { o.AuthorizationToken = s.Token })
	_, err := p.Retrieve(context.Background())
	if err == nil || !strings.Contains(err.Error(), "RenewalNeedsAPerson") || !strings.Contains(err.Error(), "MFA code") {
		t.Errorf("err = %v", err)
	}
	if len(src.asked) != 1 || len(failed) != 1 || !errors.Is(failed[0], profiles.ErrNeedsMFA) {
		t.Errorf("asked %d times, failed %v: want once, not retried", len(src.asked), failed)
	}
	src.err = errors.New("STS is down")
	if resp, body := get(t, s.URL, s.Token); resp.StatusCode != http.StatusBadGateway || body["code"] != "CredentialsUnavailable" {
		t.Errorf("an AWS failure: %d %v", resp.StatusCode, body)
	}
}

// Master keys (--no-session) come with an Expiration, which botocore needs.
func TestCredentialServerStaticKeys(t *testing.T) {
	s := startTestServer(t, &fakeSource{key: "AKIADEV", master: true}, ServerOptions{})
	resp, body := get(t, s.URL, s.Token)
	if resp.StatusCode != http.StatusOK || body["Token"] != "" || body["Expiration"] == "" {
		t.Errorf("%d %v", resp.StatusCode, body)
	}
}

// blockingSource answers once release is closed, after telling started.
type blockingSource struct {
	started, release chan struct{}
	done             chan error
}

func newBlockingSource() *blockingSource {
	return &blockingSource{started: make(chan struct{}), release: make(chan struct{}), done: make(chan error, 1)}
}

// askInBackground asks s for credentials, with its token, on a goroutine of its own; the
// answer is dropped.
func askInBackground(s *CredentialServer) {
	go func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
		req.Header.Set("Authorization", s.Token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

func (b *blockingSource) Credentials(ctx context.Context, _ profiles.CredentialsOptions) (*profiles.Session, error) {
	close(b.started)
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	b.done <- ctx.Err()
	return nil, errors.New("ended")
}

// Close cuts off a request being answered and waits for it: after Close, nothing uses the
// source any more.
func TestCredentialServerCloseWaitsForRequests(t *testing.T) {
	src := newBlockingSource()
	s, err := StartCredentialServer(ServerOptions{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	askInBackground(s)
	<-src.started
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case err := <-src.done:
		if err == nil {
			t.Error("the request in flight went on after Close")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the request in flight")
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}

// slowSource takes delay to answer (a renewal's STS call, a wait for the vault's lock),
// unless its context ends first; it tells on done how each call ended.
type slowSource struct {
	delay time.Duration
	done  chan error
}

func (s *slowSource) Credentials(ctx context.Context, _ profiles.CredentialsOptions) (*profiles.Session, error) {
	select {
	case <-time.After(s.delay):
		s.done <- nil
		c := aws.Credentials{AccessKeyID: "ASIASLOW", SecretAccessKey: "S", SessionToken: "T", CanExpire: true, Expires: time.Now().Add(time.Hour)}
		return &profiles.Session{Credentials: c}, nil
	case <-ctx.Done():
		s.done <- ctx.Err()
		return nil, ctx.Err()
	}
}

// The SDKs wait little for a container endpoint (botocore 2 s, the JS SDK 1 s) and ask
// again: a renewal slower than that must go on when the client gives up, so the next
// attempt finds the session it got, rather than be cut off and begun again each time.
func TestCredentialServerRenewalOutlivesAClientThatGivesUp(t *testing.T) {
	src := &slowSource{delay: 500 * time.Millisecond, done: make(chan error, 4)}
	var failed []error
	var mu sync.Mutex
	s := startTestServer(t, src, ServerOptions{Failed: func(err error) { mu.Lock(); failed = append(failed, err); mu.Unlock() }})
	impatient := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
	req.Header.Set("Authorization", s.Token)
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the slow answer came within the client's timeout")
	}
	select {
	case err := <-src.done:
		if err != nil {
			t.Errorf("the renewal was cut off when the client gave up: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the renewal never ended")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 0 {
		t.Errorf("a client giving up was taken for a failed renewal: %v", failed)
	}
}

// A request that Close cuts off (the command ended while its SDK asked) is no failed
// renewal: av says nothing of it on its way out.
func TestCredentialServerCloseIsNoFailure(t *testing.T) {
	src := newBlockingSource()
	var mu sync.Mutex
	var failed []error
	s, err := StartCredentialServer(ServerOptions{Source: src, Failed: func(err error) { mu.Lock(); failed = append(failed, err); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	askInBackground(s)
	<-src.started
	s.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 0 {
		t.Errorf("Close was reported as a failed renewal: %v", failed)
	}
}
