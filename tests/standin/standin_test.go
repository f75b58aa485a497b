package standin

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func TestMain(m *testing.M) {
	// The SDK must see only what each test configures, not the developer's
	// AWS environment or profiles.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	os.Setenv("AWS_CONFIG_FILE", os.DevNull)
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	os.Exit(m.Run())
}

const (
	testRegion   = "eu-west-1"
	testEndpoint = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	testPassword = "registry-password-1"
	roleA        = "arn:aws:iam::111122223333:role/deploy"
	roleB        = "arn:aws:iam::444455556666:role/path/to/reader"
)

func startServer(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	srv := New(opts)
	url, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	srv.SetRegistry(testRegion, testEndpoint, testPassword)
	return srv, url
}

func awsConfig(t *testing.T, url, region string, creds aws.Credentials, extra ...func(*config.LoadOptions) error) aws.Config {
	t.Helper()
	opts := append([]func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithBaseEndpoint(url),
		config.WithCredentialsProvider(credentials.StaticCredentialsProvider{Value: creds}),
	}, extra...)
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func rootCreds(srv *Server) aws.Credentials {
	id, secret := srv.NewRootKey()
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}
}

func stsCreds(t *testing.T, out any) aws.Credentials {
	t.Helper()
	switch o := out.(type) {
	case *sts.GetSessionTokenOutput:
		return aws.Credentials{AccessKeyID: *o.Credentials.AccessKeyId, SecretAccessKey: *o.Credentials.SecretAccessKey, SessionToken: *o.Credentials.SessionToken}
	case *sts.AssumeRoleOutput:
		return aws.Credentials{AccessKeyID: *o.Credentials.AccessKeyId, SecretAccessKey: *o.Credentials.SecretAccessKey, SessionToken: *o.Credentials.SessionToken}
	}
	t.Fatalf("no credentials in %T", out)
	return aws.Credentials{}
}

// errorCode is the code the SDK surfaces, or "" for success.
func errorCode(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("not an API error: %v", err)
	}
	return apiErr.ErrorCode()
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := errorCode(t, err); got != want {
		t.Fatalf("error code = %q, want %q (err: %v)", got, want, err)
	}
}

func getSessionToken(t *testing.T, cfg aws.Config, in *sts.GetSessionTokenInput) (*sts.GetSessionTokenOutput, error) {
	t.Helper()
	if in == nil {
		in = &sts.GetSessionTokenInput{}
	}
	return sts.NewFromConfig(cfg).GetSessionToken(context.Background(), in)
}

func callerArn(t *testing.T, cfg aws.Config) string {
	t.Helper()
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return *out.Arn
}

func ecrToken(cfg aws.Config) (*ecr.GetAuthorizationTokenOutput, error) {
	return ecr.NewFromConfig(cfg).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
}

// testClock is a Clock the test moves: it stands still, from the real time it was made
// at, until Advance; an After fires once Advance has reached its time. Each After is
// announced on waits (its duration), so a test can tell that a call waits for its delay.
type testClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []testTimer
	waits  chan time.Duration
}

type testTimer struct {
	at time.Time
	c  chan time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Now(), waits: make(chan time.Duration, 64)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	t := testTimer{at: c.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- c.now
	} else {
		c.timers = append(c.timers, t)
	}
	c.mu.Unlock()
	c.waits <- d
	return t.c
}

// Advance moves the clock d on and fires the timers it reaches.
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.now
	}
	c.timers = kept
}

// awaitWait waits until some call waits on the clock, and returns for how long. A minute
// is a safety net: the call is on its way when this is called.
func (c *testClock) awaitWait(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-c.waits:
		return d
	case <-time.After(time.Minute):
		t.Fatal("no call waited on the clock within a minute")
		return 0
	}
}

// await returns what a call sent on done, waiting a minute at most (a safety net).
func await(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the call did not end within a minute")
		return nil
	}
}

func TestSessionTokenThenECR(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))

	if got, want := callerArn(t, root), "arn:aws:iam::123456789012:user/standin"; got != want {
		t.Errorf("root caller = %s, want %s", got, want)
	}

	out, err := getSessionToken(t, root, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
	if err != nil {
		t.Fatal(err)
	}
	creds := stsCreds(t, out)
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || len(creds.AccessKeyID) != 20 || len(creds.SecretAccessKey) != 40 || creds.SessionToken == "" {
		t.Errorf("implausible credentials: id %q, secret length %d, token length %d", creds.AccessKeyID, len(creds.SecretAccessKey), len(creds.SessionToken))
	}
	if left := time.Until(*out.Credentials.Expiration); left < 59*time.Minute || left > time.Hour {
		t.Errorf("credentials expire in %s, want 1h", left)
	}

	session := awsConfig(t, url, testRegion, creds)
	if got, want := callerArn(t, session), "arn:aws:iam::123456789012:user/standin"; got != want {
		t.Errorf("session caller = %s, want %s", got, want)
	}

	tok, err := ecrToken(session)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.AuthorizationData) != 1 {
		t.Fatalf("got %d authorization data, want 1", len(tok.AuthorizationData))
	}
	data := tok.AuthorizationData[0]
	decoded, err := base64.StdEncoding.DecodeString(*data.AuthorizationToken)
	if err != nil || string(decoded) != "AWS:"+testPassword {
		t.Errorf("token decodes to %q (%v), want AWS:%s", decoded, err, testPassword)
	}
	if *data.ProxyEndpoint != testEndpoint {
		t.Errorf("proxyEndpoint = %s, want %s", *data.ProxyEndpoint, testEndpoint)
	}
	if left := time.Until(*data.ExpiresAt); left < 11*time.Hour+59*time.Minute || left > 12*time.Hour {
		t.Errorf("ECR token expires in %s, want 12h", left)
	}

	// Session credentials cannot mint further session tokens, as at AWS.
	_, err = getSessionToken(t, session, nil)
	wantCode(t, err, "AccessDenied")
}

func TestGetSessionTokenDefaultsAndLimits(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))

	out, err := getSessionToken(t, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(*out.Credentials.Expiration); left < 11*time.Hour+59*time.Minute || left > 12*time.Hour {
		t.Errorf("default session lasts %s, want AWS's 12h", left)
	}
	for _, d := range []int32{60, 129601} {
		_, err := getSessionToken(t, root, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(d)})
		wantCode(t, err, "ValidationError")
	}
}

func TestAssumeRoleChain(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))

	outA, err := sts.NewFromConfig(root).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(roleA),
		RoleSessionName: aws.String("first"),
		DurationSeconds: aws.Int32(7200),
		ExternalId:      aws.String("ext"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *outA.AssumedRoleUser.Arn, "arn:aws:sts::111122223333:assumed-role/deploy/first"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %s, want %s", got, want)
	}
	if id := *outA.AssumedRoleUser.AssumedRoleId; !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":first") {
		t.Errorf("AssumedRoleId = %s", id)
	}
	if left := time.Until(*outA.Credentials.Expiration); left < 119*time.Minute || left > 2*time.Hour {
		t.Errorf("role session lasts %s, want 2h", left)
	}
	cfgA := awsConfig(t, url, testRegion, stsCreds(t, outA))
	if got := callerArn(t, cfgA); got != *outA.AssumedRoleUser.Arn {
		t.Errorf("caller = %s, want %s", got, *outA.AssumedRoleUser.Arn)
	}

	// Role chaining: AWS holds chained sessions to one hour.
	_, err = sts.NewFromConfig(cfgA).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleB), RoleSessionName: aws.String("second"), DurationSeconds: aws.Int32(7200),
	})
	wantCode(t, err, "ValidationError")

	outB, err := sts.NewFromConfig(cfgA).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleB), RoleSessionName: aws.String("second"),
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgB := awsConfig(t, url, testRegion, stsCreds(t, outB))
	if got, want := callerArn(t, cfgB), "arn:aws:sts::444455556666:assumed-role/reader/second"; got != want {
		t.Errorf("chained caller = %s, want %s", got, want)
	}
	if _, err := ecrToken(cfgB); err != nil {
		t.Errorf("ECR with chained role credentials: %v", err)
	}

	// AssumeRole from session-token credentials is allowed.
	st, err := getSessionToken(t, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sts.NewFromConfig(awsConfig(t, url, testRegion, stsCreds(t, st))).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleA), RoleSessionName: aws.String("from-session"),
	})
	if err != nil {
		t.Errorf("AssumeRole with session token credentials: %v", err)
	}

	_, err = sts.NewFromConfig(root).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111122223333:user/bob"), RoleSessionName: aws.String("x1"),
	})
	wantCode(t, err, "ValidationError")
}

func TestWrongSecret(t *testing.T) {
	srv, url := startServer(t, Options{})
	creds := rootCreds(srv)
	creds.SecretAccessKey = strings.Repeat("x", 40)
	cfg := awsConfig(t, url, testRegion, creds)

	_, err := getSessionToken(t, cfg, nil)
	wantCode(t, err, "SignatureDoesNotMatch")
	_, err = ecrToken(cfg)
	wantCode(t, err, "InvalidSignatureException")
}

func TestUnknownKey(t *testing.T) {
	_, url := startServer(t, Options{})
	cfg := awsConfig(t, url, testRegion, aws.Credentials{AccessKeyID: "AKIAUNKNOWNUNKNOWN00", SecretAccessKey: strings.Repeat("s", 40)})

	_, err := getSessionToken(t, cfg, nil)
	wantCode(t, err, "InvalidClientTokenId")
	_, err = ecrToken(cfg)
	wantCode(t, err, "UnrecognizedClientException")
}

func TestExpiredCredentialsByClock(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{Clock: clock})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	out, err := getSessionToken(t, root, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	session := awsConfig(t, url, testRegion, stsCreds(t, out))
	if _, err := ecrToken(session); err != nil {
		t.Fatal(err)
	}

	clock.Advance(16 * time.Minute)
	_, err = sts.NewFromConfig(session).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "ExpiredToken")
	_, err = ecrToken(session)
	wantCode(t, err, "ExpiredTokenException")
	// Long-term keys do not expire.
	if _, err := getSessionToken(t, root, nil); err != nil {
		t.Errorf("root key after clock jump: %v", err)
	}
}

func TestExpiredCredentialsByMaxDuration(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{MaxDuration: time.Second, Clock: clock})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	out, err := sts.NewFromConfig(root).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleA), RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatal(err)
	}
	session := awsConfig(t, url, testRegion, stsCreds(t, out))
	// STS gives the expiry in whole seconds.
	if got, want := *out.Credentials.Expiration, clock.Now().Add(time.Second).Truncate(time.Second); !got.Equal(want) {
		t.Errorf("credentials expire at %s, want %s (MaxDuration 1s)", got, want)
	}
	if _, err := ecrToken(session); err != nil {
		t.Fatalf("ECR before the credentials expire: %v", err)
	}
	clock.Advance(time.Second)
	_, err = ecrToken(session)
	wantCode(t, err, "ExpiredTokenException")
}

func TestMFA(t *testing.T) {
	const serial = "arn:aws:iam::123456789012:mfa/standin"
	srv, url := startServer(t, Options{})
	srv.SetMFA(serial, "123456")
	root := awsConfig(t, url, testRegion, rootCreds(srv))

	_, err := getSessionToken(t, root, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String("123456")})
	wantCode(t, err, "")
	_, err = getSessionToken(t, root, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String("654321")})
	wantCode(t, err, "AccessDenied")
	if !strings.Contains(err.Error(), "MultiFactorAuthentication failed with invalid MFA one time pass code.") {
		t.Errorf("message: %v", err)
	}
	_, err = getSessionToken(t, root, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial)})
	wantCode(t, err, "AccessDenied")
	_, err = getSessionToken(t, root, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial + "-other"), TokenCode: aws.String("123456")})
	wantCode(t, err, "AccessDenied")

	assume := func(code string) error {
		_, err := sts.NewFromConfig(root).AssumeRole(context.Background(), &sts.AssumeRoleInput{
			RoleArn: aws.String(roleA), RoleSessionName: aws.String("mfa"), SerialNumber: aws.String(serial), TokenCode: aws.String(code),
		})
		return err
	}
	wantCode(t, assume("123456"), "")
	wantCode(t, assume("000000"), "AccessDenied")
}

func TestSessionTokenRequired(t *testing.T) {
	srv, url := startServer(t, Options{})
	rc := rootCreds(srv)
	out, err := getSessionToken(t, awsConfig(t, url, testRegion, rc), nil)
	if err != nil {
		t.Fatal(err)
	}
	creds := stsCreds(t, out)

	noToken := creds
	noToken.SessionToken = ""
	_, err = sts.NewFromConfig(awsConfig(t, url, testRegion, noToken)).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	_, err = ecrToken(awsConfig(t, url, testRegion, noToken))
	wantCode(t, err, "UnrecognizedClientException")

	wrongToken := creds
	wrongToken.SessionToken = creds.SessionToken[:len(creds.SessionToken)-4] + "AAAA"
	_, err = ecrToken(awsConfig(t, url, testRegion, wrongToken))
	wantCode(t, err, "UnrecognizedClientException")

	// A session token must be covered by the signature.
	unsigned := withTransport(func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", creds.SessionToken) })
	_, err = ecrToken(awsConfig(t, url, testRegion, noToken, unsigned))
	wantCode(t, err, "IncompleteSignatureException")

	// A long-term key does not take a session token.
	rootWithToken := rc
	rootWithToken.SessionToken = creds.SessionToken
	_, err = getSessionToken(t, awsConfig(t, url, testRegion, rootWithToken), nil)
	wantCode(t, err, "InvalidClientTokenId")
}

func TestECRPublic(t *testing.T) {
	srv, url := startServer(t, Options{})
	creds := rootCreds(srv)
	get := func(region string) (*ecrpublic.GetAuthorizationTokenOutput, error) {
		// A per-service BaseEndpoint, as a caller would set it for one client.
		cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region),
			config.WithCredentialsProvider(credentials.StaticCredentialsProvider{Value: creds}))
		if err != nil {
			t.Fatal(err)
		}
		return ecrpublic.NewFromConfig(cfg, func(o *ecrpublic.Options) { o.BaseEndpoint = aws.String(url) }).
			GetAuthorizationToken(context.Background(), &ecrpublic.GetAuthorizationTokenInput{})
	}

	_, err := get("us-east-1")
	wantCode(t, err, "InvalidParameterException")

	srv.SetPublicPassword("public-pw")
	srv.SetTokenTTL(5 * time.Second)
	out, err := get("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	decoded, _ := base64.StdEncoding.DecodeString(*out.AuthorizationData.AuthorizationToken)
	if string(decoded) != "AWS:public-pw" {
		t.Errorf("token decodes to %q", decoded)
	}
	if left := time.Until(*out.AuthorizationData.ExpiresAt); left <= 0 || left > 5*time.Second {
		t.Errorf("public token expires in %s, want 5s", left)
	}

	_, err = get("us-west-2")
	wantCode(t, err, "UnsupportedCommandException")
}

func TestUnconfiguredRegion(t *testing.T) {
	srv, url := startServer(t, Options{})
	_, err := ecrToken(awsConfig(t, url, "ap-south-1", rootCreds(srv)))
	wantCode(t, err, "InvalidParameterException")
}

func TestCounts(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	bad := awsConfig(t, url, testRegion, aws.Credentials{AccessKeyID: "AKIANOBODYNOBODY0000", SecretAccessKey: "x"})

	getSessionToken(t, root, nil)
	getSessionToken(t, root, nil)
	getSessionToken(t, bad, nil)
	ecrToken(root)
	ecrToken(bad)

	want := map[string]int{"sts.GetSessionToken": 3, "ecr.GetAuthorizationToken": 2}
	if got := srv.Calls("sts.GetSessionToken"); got != 3 {
		t.Errorf("Calls(sts.GetSessionToken) = %d, want 3", got)
	}
	if got := srv.CallsByName(); !equalCounts(got, want) {
		t.Errorf("CallsByName = %v, want %v", got, want)
	}
	if got := fetchCalls(t, url); !equalCounts(got, want) {
		t.Errorf("/_standin/calls = %v, want %v", got, want)
	}

	srv.Reset()
	if got := srv.CallsByName(); len(got) != 0 {
		t.Errorf("after Reset: %v", got)
	}
	ecrToken(root)
	resp, err := http.Post(url+"/_standin/reset", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := fetchCalls(t, url); len(got) != 0 {
		t.Errorf("after POST /_standin/reset: %v", got)
	}

	// Counting is safe under concurrent calls.
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sts.NewFromConfig(root).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		}()
	}
	wg.Wait()
	if got := srv.Calls("sts.GetCallerIdentity"); got != 10 {
		t.Errorf("concurrent GetCallerIdentity count = %d, want 10", got)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func fetchCalls(t *testing.T, url string) map[string]int {
	t.Helper()
	resp, err := http.Get(url + "/_standin/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var counts map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&counts); err != nil {
		t.Fatal(err)
	}
	return counts
}

// withTransport gives the SDK an HTTP client that alters each request after
// the SDK has signed it.
func withTransport(alter func(*http.Request)) func(*config.LoadOptions) error {
	return config.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		alter(r)
		return http.DefaultTransport.RoundTrip(r)
	})})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func replaceBody(r *http.Request, old, new string) {
	body, _ := io.ReadAll(r.Body)
	body = bytes.Replace(body, []byte(old), []byte(new), 1)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
}

func TestTamperedRequestRejected(t *testing.T) {
	srv, url := startServer(t, Options{})
	creds := rootCreds(srv)

	// The untampered path through the same client must work, or the cases
	// below prove nothing.
	_, err := getSessionToken(t, awsConfig(t, url, testRegion, creds, withTransport(func(*http.Request) {})),
		&sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
	wantCode(t, err, "")

	cases := []struct {
		name  string
		alter func(*http.Request)
	}{
		{"same-length body change", func(r *http.Request) { replaceBody(r, "DurationSeconds=3600", "DurationSeconds=7200") }},
		{"longer body", func(r *http.Request) { replaceBody(r, "DurationSeconds=3600", "DurationSeconds=36000") }},
		{"signed header", func(r *http.Request) {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=latin1")
		}},
		{"query added", func(r *http.Request) { r.URL.RawQuery = "Action=GetCallerIdentity" }},
		{"payload hash header", func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := awsConfig(t, url, testRegion, creds, withTransport(tc.alter))
			_, err := getSessionToken(t, cfg, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
			wantCode(t, err, "SignatureDoesNotMatch")
		})
	}

	cfg := awsConfig(t, url, testRegion, creds, withTransport(func(r *http.Request) { replaceBody(r, "{}", `{"registryIds":["1"]}`) }))
	_, err = ecrToken(cfg)
	wantCode(t, err, "InvalidSignatureException")

	// Headers the transport adds unsigned, as Go's does, are not a reason to reject.
	cfg = awsConfig(t, url, testRegion, creds, withTransport(func(r *http.Request) { r.Header.Set("X-Unsigned-Extra", "1") }))
	_, err = ecrToken(cfg)
	wantCode(t, err, "")
}

// rawSTS sends a GetCallerIdentity signed at signedAt with the SDK's signer,
// letting alter change the signed request, and returns the error code.
func rawSTS(t *testing.T, url string, creds aws.Credentials, signedAt time.Time, alter func(*http.Request)) (int, string, string) {
	t.Helper()
	body := "Action=GetCallerIdentity&Version=2011-06-15"
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	err = v4.NewSigner().SignHTTP(context.Background(), creds, req, sha256Hex([]byte(body)), "sts", "us-east-1", signedAt)
	if err != nil {
		t.Fatal(err)
	}
	if alter != nil {
		alter(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e queryErrorResponse
	raw, _ := io.ReadAll(resp.Body)
	xml.Unmarshal(raw, &e)
	return resp.StatusCode, e.Error.Code, e.Error.Message
}

func TestSignatureFreshness(t *testing.T) {
	srv, url := startServer(t, Options{})
	creds := rootCreds(srv)

	if status, code, _ := rawSTS(t, url, creds, time.Now(), nil); status != 200 {
		t.Fatalf("fresh request: %d %s", status, code)
	}
	if status, code, _ := rawSTS(t, url, creds, time.Now().Add(-10*time.Minute), nil); status != 200 {
		t.Errorf("10 minutes old: %d %s, want accepted", status, code)
	}
	for _, skew := range []time.Duration{-20 * time.Minute, 20 * time.Minute} {
		status, code, msg := rawSTS(t, url, creds, time.Now().Add(skew), nil)
		if status != 403 || code != "SignatureDoesNotMatch" || !strings.Contains(msg, "Signature expired") {
			t.Errorf("skew %s: %d %s %q", skew, status, code, msg)
		}
	}

	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("20060102")
	status, code, msg := rawSTS(t, url, creds, time.Now(), func(r *http.Request) {
		auth := r.Header.Get("Authorization")
		today := r.Header.Get("X-Amz-Date")[:8]
		r.Header.Set("Authorization", strings.Replace(auth, "/"+today+"/", "/"+yesterday+"/", 1))
	})
	if status != 403 || code != "SignatureDoesNotMatch" || !strings.Contains(msg, "Credential scope") {
		t.Errorf("scope date mismatch: %d %s %q", status, code, msg)
	}

	status, code, _ = rawSTS(t, url, creds, time.Now(), func(r *http.Request) { r.Header.Del("Authorization") })
	if status != 403 || code != "MissingAuthenticationToken" {
		t.Errorf("unsigned: %d %s", status, code)
	}
	status, code, _ = rawSTS(t, url, creds, time.Now(), func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage") })
	if status != 403 || code != "IncompleteSignature" {
		t.Errorf("malformed Authorization: %d %s", status, code)
	}
	if got := srv.Calls("sts.GetCallerIdentity"); got != 7 {
		t.Errorf("GetCallerIdentity counted %d times, want 7", got)
	}
}

func TestAWSEndpointURLEnvironment(t *testing.T) {
	srv, url := startServer(t, Options{})
	id, secret := srv.NewRootKey()
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", id)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_REGION", testRegion)

	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ecrToken(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestLogsKeepSecrets(t *testing.T) {
	var mu sync.Mutex
	var logs strings.Builder
	srv, url := startServer(t, Options{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
	}})
	srv.SetPublicPassword("public-secret-pw")
	rc := rootCreds(srv)
	root := awsConfig(t, url, testRegion, rc)
	out, err := getSessionToken(t, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	session := stsCreds(t, out)
	ecrToken(awsConfig(t, url, testRegion, session))
	bad := session
	bad.SecretAccessKey = "wrong"
	ecrToken(awsConfig(t, url, testRegion, bad))

	// The platform identities: GitHub's token endpoint, web identity, IMDS
	// and container credentials, each also refused once.
	requestURL, requestToken := srv.GitHubOIDC()
	_, gh := githubToken(t, requestURL, requestToken, "sts.amazonaws.com")
	githubToken(t, requestURL, requestToken[:10], "sts.amazonaws.com")
	web, err := assumeWeb(t, url, webRole, "logs", gh, 0)
	if err != nil {
		t.Fatal(err)
	}
	assumeWeb(t, url, webRole, "logs", gh[:len(gh)-4]+"AAAA", 0)
	imdsEnv(t, url)
	ec2rolecreds.New().Retrieve(context.Background())
	imdsRaw(t, "GET", url+"/latest/meta-data/iam/security-credentials/", map[string]string{"X-aws-ec2-metadata-token": "forged"})
	fullURI, containerToken := srv.ContainerCredentials()
	for _, tok := range []string{containerToken, containerToken[:8]} {
		imdsRaw(t, "GET", fullURI, map[string]string{"Authorization": tok})
	}
	secrets := []string{rc.SecretAccessKey, session.SecretAccessKey, session.SessionToken, testPassword, "public-secret-pw", web.SecretAccessKey, web.SessionToken}
	for _, s := range srv.AmbientSecrets() {
		secrets = append(secrets, s.Value)
	}
	if len(secrets) < 7+6 {
		t.Fatalf("only %d secrets handed out", len(secrets))
	}

	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), rc.AccessKeyID) {
		t.Fatalf("logs do not even name the key:\n%s", logs.String())
	}
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain a secret:\n%s", logs.String())
		}
	}
}

// webToken hands the SDK's web identity provider a token held in memory.
type webToken string

func (t webToken) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

const webRole = "arn:aws:iam::210987654321:role/ci-push"

// anonConfig is a config with no credentials at all, as a CI job has before
// it assumes its role: AssumeRoleWithWebIdentity must not need any.
func anonConfig(t *testing.T, url string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(testRegion), config.WithBaseEndpoint(url),
		config.WithCredentialsProvider(aws.AnonymousCredentials{}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// assumeWeb calls AssumeRoleWithWebIdentity the way the SDK's provider does.
func assumeWeb(t *testing.T, url, roleArn, sessionName string, token string, duration time.Duration) (aws.Credentials, error) {
	t.Helper()
	p := stscreds.NewWebIdentityRoleProvider(sts.NewFromConfig(anonConfig(t, url)), roleArn, webToken(token),
		func(o *stscreds.WebIdentityRoleOptions) { o.RoleSessionName, o.Duration = sessionName, duration })
	return p.Retrieve(context.Background())
}

func httpStatus(err error) int {
	var e interface{ HTTPStatusCode() int }
	if errors.As(err, &e) {
		return e.HTTPStatusCode()
	}
	return 0
}

func TestWebIdentityThroughDefaultChain(t *testing.T) {
	srv, url := startServer(t, Options{})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(srv.NewWebIdentityToken("sts.amazonaws.com")), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", url)
	// The SDK builds the default chain's STS client before it reads
	// AWS_ENDPOINT_URL (config.resolveBaseEndpoint runs after
	// resolveCredentials), and that client skips the service lookup when
	// only the global variable is set: without AWS_ENDPOINT_URL_STS the
	// call goes to sts.REGION.amazonaws.com.
	t.Setenv("AWS_ENDPOINT_URL_STS", url)
	t.Setenv("AWS_REGION", testRegion)
	t.Setenv("AWS_ROLE_ARN", webRole)
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile)
	t.Setenv("AWS_ROLE_SESSION_NAME", "gh-1000000001-1")

	// The server holds no keys at all: the call is unsigned.
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.Source != stscreds.WebIdentityProviderName || !strings.HasPrefix(creds.AccessKeyID, "ASIA") {
		t.Errorf("credentials from %s, key %s", creds.Source, creds.AccessKeyID)
	}
	if left := time.Until(creds.Expires); left < 59*time.Minute || left > time.Hour {
		t.Errorf("default web identity session lasts %s, want 1h", left)
	}
	if got, want := callerArn(t, cfg), "arn:aws:sts::210987654321:assumed-role/ci-push/gh-1000000001-1"; got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}
	if _, err := ecrToken(cfg); err != nil {
		t.Errorf("ECR with web identity credentials: %v", err)
	}
	if got := srv.LastSessionName(webRole); got != "gh-1000000001-1" {
		t.Errorf("LastSessionName = %q", got)
	}
	if got := srv.Calls("sts.AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity counted %d times, want 1", got)
	}
}

func TestWebIdentityRejections(t *testing.T) {
	srv, url := startServer(t, Options{})
	good := srv.NewWebIdentityToken("sts.amazonaws.com")
	other := New(Options{}).NewWebIdentityToken("sts.amazonaws.com")
	head, payload, _ := strings.Cut(good, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(payload, ".")[0])
	forgedClaims := strings.Replace(string(claims), `"sub":"repo:av-cli/av:`, `"sub":"repo:evil/av:`, 1)
	forged := head + "." + base64.RawURLEncoding.EncodeToString([]byte(forgedClaims)) + "." + strings.Split(good, ".")[2]
	badSig := good[:len(good)-4] + "AAAA"
	wrongAud := srv.NewWebIdentityToken("https://github.com/av-cli")
	otherIssuer := head + "." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), GitHubIssuer, "https://gitlab.example.com", 1))) + ".c2ln"

	cases := []struct {
		name, role, session, token string
		duration                   time.Duration
		code, message              string
		status                     int
	}{
		{"another server's token", webRole, "s1", other, 0, "InvalidIdentityToken", "could not be validated", 400},
		{"claims changed", webRole, "s1", forged, 0, "InvalidIdentityToken", "could not be validated", 400},
		{"signature changed", webRole, "s1", badSig, 0, "InvalidIdentityToken", "could not be validated", 400},
		{"not a JWT", webRole, "s1", "not-a-jwt", 0, "InvalidIdentityToken", "could not be validated", 400},
		{"audience", webRole, "s1", wrongAud, 0, "InvalidIdentityToken", "Incorrect token audience", 400},
		{"issuer", webRole, "s1", otherIssuer, 0, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://gitlab.example.com", 400},
		{"role ARN", "arn:aws:iam::210987654321:user/ci", "s1", good, 0, "ValidationError", "not a valid IAM role ARN", 400},
		{"account", "arn:aws:iam::2109876543:role/ci", "s1", good, 0, "ValidationError", "not a valid IAM role ARN", 400},
		{"session name too short", webRole, "a", good, 0, "ValidationError", "roleSessionName", 400},
		{"session name too long", webRole, strings.Repeat("a", 65), good, 0, "ValidationError", "roleSessionName", 400},
		{"session name characters", webRole, "run 12", good, 0, "ValidationError", "roleSessionName", 400},
		{"duration too short", webRole, "s1", good, 899 * time.Second, "ValidationError", "durationSeconds", 400},
		{"duration too long", webRole, "s1", good, 43201 * time.Second, "ValidationError", "durationSeconds", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := assumeWeb(t, url, tc.role, tc.session, tc.token, tc.duration)
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), tc.message) || httpStatus(err) != tc.status {
				t.Errorf("got HTTP %d, %v; want %d and %q", httpStatus(err), err, tc.status, tc.message)
			}
		})
	}
	if got := srv.LastSessionName(webRole); got != "" {
		t.Errorf("a rejected call recorded session name %q", got)
	}

	// The good token works at last, for the longest session AWS allows.
	creds, err := assumeWeb(t, url, webRole, "s2", good, 12*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(creds.Expires); left < 12*time.Hour-time.Minute || left > 12*time.Hour {
		t.Errorf("session lasts %s, want 12h", left)
	}
}

func TestWebIdentityExpiryAndMaxDuration(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{MaxDuration: time.Second, WebIdentityTokenTTL: 5 * time.Minute, Clock: clock})
	token := srv.NewWebIdentityToken("sts.amazonaws.com")
	creds, err := assumeWeb(t, url, webRole, "short", token, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(creds.Expires); left > time.Second {
		t.Errorf("credentials last %s despite MaxDuration 1s", left)
	}

	clock.Advance(6 * time.Minute)
	_, err = assumeWeb(t, url, webRole, "late", token, 0)
	wantCode(t, err, "ExpiredTokenException")
	if httpStatus(err) != 400 || !strings.Contains(err.Error(), "Token expired") {
		t.Errorf("expired token: HTTP %d, %v", httpStatus(err), err)
	}
	if got := srv.LastSessionName(webRole); got != "short" {
		t.Errorf("LastSessionName = %q, want short", got)
	}
}

func TestWebIdentityTrust(t *testing.T) {
	srv, url := startServer(t, Options{GitHubRepository: "acme/images", GitHubRef: "refs/heads/release"})
	token := srv.NewWebIdentityToken("sts.amazonaws.com")
	srv.TrustWebIdentity(webRole, "repo:acme/images:ref:refs/heads/*")
	srv.TrustWebIdentity(roleA, "repo:acme/other:*")

	if _, err := assumeWeb(t, url, webRole, "trusted", token, 0); err != nil {
		t.Errorf("trusted sub: %v", err)
	}
	_, err := assumeWeb(t, url, roleA, "untrusted", token, 0)
	wantCode(t, err, "AccessDenied")
	if httpStatus(err) != 403 {
		t.Errorf("untrusted sub: HTTP %d", httpStatus(err))
	}
	for pattern, s := range map[string]string{"a?c": "abc", "a*": "a/b/c", "[x]": "[x]", "a.c": "a.c"} {
		if !globMatch(pattern, s) {
			t.Errorf("%q does not match %q", pattern, s)
		}
	}
	for pattern, s := range map[string]string{"a?c": "ac", "a.c": "abc", "[x]": "x", "repo:a:*": "repo:ab:x"} {
		if globMatch(pattern, s) {
			t.Errorf("%q matches %q", pattern, s)
		}
	}
}

func TestSessionNamesEndpoint(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	for _, name := range []string{"first", "second"} {
		if _, err := sts.NewFromConfig(root).AssumeRole(context.Background(), &sts.AssumeRoleInput{
			RoleArn: aws.String(roleA), RoleSessionName: aws.String(name),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := assumeWeb(t, url, webRole, "web-1", srv.NewWebIdentityToken("sts.amazonaws.com"), 0); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "/_standin/sessions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[roleA] != "second" || got[webRole] != "web-1" {
		t.Errorf("/_standin/sessions = %v", got)
	}
}

// githubToken asks the GitHub OIDC stand-in for a token as
// @actions/core getIDToken does.
func githubToken(t *testing.T, requestURL, bearer, audience string) (int, string) {
	t.Helper()
	if audience != "" {
		requestURL += "&audience=" + url.QueryEscape(audience)
	}
	req, err := http.NewRequest(http.MethodGet, requestURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Count int    `json:"count"`
		Value string `json:"value"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, &body); err != nil || body.Count != len(body.Value) {
			t.Fatalf("answer %s: %v", raw, err)
		}
	}
	return resp.StatusCode, body.Value
}

func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, v) != nil {
			t.Fatalf("part %d is not base64url JSON: %v", i, err)
		}
	}
	if header["typ"] != "JWT" {
		t.Errorf("header %v", header)
	}
	return claims
}

func TestGitHubOIDC(t *testing.T) {
	srv, url := startServer(t, Options{})
	requestURL, requestToken := srv.GitHubOIDC()
	if !strings.HasPrefix(requestURL, url+"/") || !strings.HasSuffix(requestURL, "?api-version=2.0") || requestToken == "" {
		t.Fatalf("GitHubOIDC() = %q, %q", requestURL, requestToken)
	}

	status, token := githubToken(t, requestURL, requestToken, "sts.amazonaws.com")
	if status != 200 {
		t.Fatalf("token request: HTTP %d", status)
	}
	claims := jwtClaims(t, token)
	if claims["aud"] != "sts.amazonaws.com" || claims["iss"] != GitHubIssuer || claims["sub"] != "repo:av-cli/av:ref:refs/heads/main" {
		t.Errorf("claims %v", claims)
	}
	if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp <= iat {
		t.Errorf("exp %v, iat %v", exp, iat)
	}
	creds, err := assumeWeb(t, url, webRole, "gh-run-7", token, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := callerArn(t, awsConfig(t, url, testRegion, creds)), "arn:aws:sts::210987654321:assumed-role/ci-push/gh-run-7"; got != want {
		t.Errorf("caller = %s, want %s", got, want)
	}

	// Without an audience GitHub puts the owner's URL in aud, which the IAM
	// OIDC provider does not list.
	status, token = githubToken(t, requestURL, requestToken, "")
	if status != 200 || jwtClaims(t, token)["aud"] != "https://github.com/av-cli" {
		t.Fatalf("no audience: HTTP %d", status)
	}
	_, err = assumeWeb(t, url, webRole, "gh-run-7", token, 0)
	wantCode(t, err, "InvalidIdentityToken")

	if status, _ := githubToken(t, requestURL, requestToken+"x", "sts.amazonaws.com"); status != 401 {
		t.Errorf("wrong bearer: HTTP %d, want 401", status)
	}
	if status, _ := githubToken(t, requestURL, "", "sts.amazonaws.com"); status != 401 {
		t.Errorf("no bearer: HTTP %d, want 401", status)
	}
	if status, _ := githubToken(t, strings.TrimSuffix(requestURL, "?api-version=2.0")+"?x=1", requestToken, "sts.amazonaws.com"); status != 400 {
		t.Errorf("no api-version: HTTP %d, want 400", status)
	}
	resp, err := http.Post(requestURL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST: HTTP %d, want 405", resp.StatusCode)
	}
	if got := srv.Calls("github.token"); got != 6 {
		t.Errorf("github.token counted %d times, want 6", got)
	}
}

// imdsEnv points the SDK's default chain at the stand-in's IMDS and nothing else.
func imdsEnv(t *testing.T, url string) {
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_REGION", testRegion)
}

func TestIMDSThroughDefaultChain(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{Clock: clock})
	imdsEnv(t, url)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.Source != ec2rolecreds.ProviderName || !strings.HasPrefix(creds.AccessKeyID, "ASIA") || !creds.CanExpire {
		t.Errorf("credentials from %s, key %s", creds.Source, creds.AccessKeyID)
	}
	arn := callerArn(t, cfg)
	if !regexp.MustCompile(`^arn:aws:sts::123456789012:assumed-role/standin-instance/i-0[0-9a-f]{16}$`).MatchString(arn) {
		t.Errorf("caller = %s", arn)
	}
	if _, err := ecrToken(cfg); err != nil {
		t.Errorf("ECR with instance credentials: %v", err)
	}
	want := map[string]int{"imds.token": 1, "imds.roles": 1, "imds.credentials": 1, "sts.GetCallerIdentity": 1, "ecr.GetAuthorizationToken": 1}
	if got := srv.CallsByName(); !equalCounts(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}

	// The same credentials until they near expiry, as IMDS rotates them.
	again, err := ec2rolecreds.New().Retrieve(context.Background())
	if err != nil || again.AccessKeyID != creds.AccessKeyID {
		t.Errorf("second fetch: %s, %v; want %s", again.AccessKeyID, err, creds.AccessKeyID)
	}
	clock.Advance(6*time.Hour - 4*time.Minute)
	rotated, err := ec2rolecreds.New().Retrieve(context.Background())
	if err != nil || rotated.AccessKeyID == creds.AccessKeyID {
		t.Errorf("fetch near expiry: %s, %v; want new credentials", rotated.AccessKeyID, err)
	}

	// Region, for a client that asks IMDS for it.
	t.Setenv("AWS_REGION", "")
	cfg, err = config.LoadDefaultConfig(context.Background(), config.WithEC2IMDSRegion())
	if err != nil || cfg.Region != "us-east-1" {
		t.Errorf("IMDS region = %q, %v", cfg.Region, err)
	}
}

// imdsRaw sends one IMDS request with the given headers.
func imdsRaw(t *testing.T, method, url string, header map[string]string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func TestIMDSRequiresSessionToken(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{Clock: clock})
	creds := url + "/latest/meta-data/iam/security-credentials/"

	// IMDSv1, no token: refused, as on an instance with HttpTokens=required.
	if status, _, _ := imdsRaw(t, "GET", creds, nil); status != 401 {
		t.Errorf("no token: HTTP %d, want 401", status)
	}
	for _, ttl := range []string{"", "0", "21601", "x"} {
		if status, _, _ := imdsRaw(t, "PUT", url+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": ttl}); status != 400 {
			t.Errorf("TTL %q: HTTP %d, want 400", ttl, status)
		}
	}
	if status, _, _ := imdsRaw(t, "PUT", url+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.0.0.1"}); status != 403 {
		t.Errorf("proxied token request: HTTP %d, want 403", status)
	}
	status, token, header := imdsRaw(t, "PUT", url+"/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if status != 200 || token == "" || header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds") != "60" {
		t.Fatalf("token: HTTP %d, TTL header %q", status, header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
	}
	withToken := map[string]string{"X-aws-ec2-metadata-token": token}
	if status, body, _ := imdsRaw(t, "GET", creds, withToken); status != 200 || body != "standin-instance" {
		t.Errorf("role list: HTTP %d %q", status, body)
	}
	if status, _, _ := imdsRaw(t, "GET", creds, map[string]string{"X-aws-ec2-metadata-token": token + "x"}); status != 401 {
		t.Errorf("wrong token: HTTP %d, want 401", status)
	}
	status, body, _ := imdsRaw(t, "GET", creds+"standin-instance", withToken)
	var doc map[string]string
	if status != 200 || json.Unmarshal([]byte(body), &doc) != nil {
		t.Fatalf("credentials: HTTP %d", status)
	}
	for _, k := range []string{"Code", "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated", "Type"} {
		if doc[k] == "" {
			t.Errorf("credentials document lacks %s", k)
		}
	}
	if doc["Code"] != "Success" || doc["Type"] != "AWS-HMAC" {
		t.Errorf("Code %q, Type %q", doc["Code"], doc["Type"])
	}
	if status, _, _ := imdsRaw(t, "GET", creds+"other-role", withToken); status != 404 {
		t.Errorf("another role's credentials: HTTP %d, want 404", status)
	}

	// No instance profile: nothing to list, and the SDK says so.
	srv.SetInstanceRole("")
	if status, _, _ := imdsRaw(t, "GET", creds, withToken); status != 404 {
		t.Errorf("no role: HTTP %d, want 404", status)
	}
	imdsEnv(t, url)
	_, err := ec2rolecreds.New().Retrieve(context.Background())
	if err == nil {
		t.Error("credentials from an instance without a role")
	}

	// The token expires after its TTL.
	clock.Advance(60 * time.Second)
	if status, _, _ := imdsRaw(t, "GET", creds, withToken); status != 401 {
		t.Errorf("expired token: HTTP %d, want 401", status)
	}
	if got, want := srv.CallsByName(), map[string]int{"imds.token": 7, "imds.roles": 6, "imds.credentials": 2}; !equalCounts(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestContainerCredentials(t *testing.T) {
	srv, url := startServer(t, Options{})
	fullURI, token := srv.ContainerCredentials()
	if !strings.HasPrefix(fullURI, url+"/") || token == "" {
		t.Fatalf("ContainerCredentials() = %q, %q", fullURI, token)
	}
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_REGION", testRegion)
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", fullURI)
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || !creds.CanExpire {
		t.Errorf("credentials from %s, key %s", creds.Source, creds.AccessKeyID)
	}
	if arn := callerArn(t, cfg); !strings.HasPrefix(arn, "arn:aws:sts::123456789012:assumed-role/standin-task/eks-standin-") {
		t.Errorf("caller = %s", arn)
	}
	if _, err := ecrToken(cfg); err != nil {
		t.Errorf("ECR with container credentials: %v", err)
	}

	// The token from a file, as EKS Pod Identity hands it over.
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(token), 0o600)
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile)
	cfg, err = config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again, err := cfg.Credentials.Retrieve(context.Background()); err != nil || again.AccessKeyID != creds.AccessKeyID {
		t.Errorf("with the token file: %s, %v; want %s", again.AccessKeyID, err, creds.AccessKeyID)
	}

	// A wrong token gets 401, which the SDK reports.
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", token+"x")
	cfg, err = config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Credentials.Retrieve(context.Background())
	if err == nil || httpStatus(err) != 401 {
		t.Errorf("wrong token: %v (HTTP %d), want 401", err, httpStatus(err))
	}
	if got := srv.Calls("container.credentials"); got < 3 {
		t.Errorf("container.credentials counted %d times, want at least 3", got)
	}
}

func TestAmbientSecrets(t *testing.T) {
	srv, url := startServer(t, Options{})
	web := srv.NewWebIdentityToken("sts.amazonaws.com")
	requestURL, requestToken := srv.GitHubOIDC()
	_, gh := githubToken(t, requestURL, requestToken, "sts.amazonaws.com")
	fullURI, containerToken := srv.ContainerCredentials()
	imdsEnv(t, url)
	instance, err := ec2rolecreds.New().Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", fullURI)
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", containerToken)
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	container, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	have := map[string]bool{}
	for _, s := range srv.AmbientSecrets() {
		if s.What == "" || s.Value == "" {
			t.Errorf("secret %+v", s)
		}
		have[s.Value] = true
	}
	for _, want := range []string{web, gh, requestToken, containerToken, instance.SecretAccessKey, instance.SessionToken, container.SecretAccessKey, container.SessionToken} {
		if !have[want] {
			t.Errorf("AmbientSecrets lacks a secret handed out (length %d)", len(want))
		}
	}
}

// A hung operation is counted and never answered: the client's own deadline ends the call.
// Other operations are answered as before, and so is the hung one once it is released.
func TestHang(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv), config.WithRetryMaxAttempts(1))
	srv.SetHang("sts.GetSessionToken", true)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := sts.NewFromConfig(root).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("GetSessionToken on a hung stand-in: %v, want the client's deadline", err)
	}
	if got := srv.Calls("sts.GetSessionToken"); got != 1 {
		t.Errorf("Calls(sts.GetSessionToken) = %d, want 1", got)
	}
	if _, err := ecrToken(root); err != nil {
		t.Errorf("ECR, not hung: %v", err)
	}

	resp, err := http.Post(url+"/_standin/hang?op=sts.GetSessionToken&on=false", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := getSessionToken(t, root, nil); err != nil {
		t.Errorf("GetSessionToken once released: %v", err)
	}
}

func TestRevokeSessions(t *testing.T) {
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	out, err := getSessionToken(t, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	session := awsConfig(t, url, testRegion, stsCreds(t, out))
	if _, err := ecrToken(session); err != nil {
		t.Fatal(err)
	}
	if n := srv.RevokeSessions(); n != 1 {
		t.Errorf("RevokeSessions revoked %d sessions, want 1", n)
	}
	_, err = sts.NewFromConfig(session).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	wantCode(t, err, "InvalidClientTokenId")
	_, err = ecrToken(session)
	wantCode(t, err, "UnrecognizedClientException")
	// The root key still works, and a new session does.
	out, err = getSessionToken(t, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ecrToken(awsConfig(t, url, testRegion, stsCreds(t, out))); err != nil {
		t.Errorf("a session issued after RevokeSessions: %v", err)
	}
}

func TestSetMaxDuration(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{Clock: clock})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	srv.SetMaxDuration(3 * time.Second)
	out, err := getSessionToken(t, root, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
	if err != nil {
		t.Fatal(err)
	}
	// STS gives the expiry in whole seconds.
	if got, want := aws.ToTime(out.Credentials.Expiration), clock.Now().Add(3*time.Second).Truncate(time.Second); !got.Equal(want) {
		t.Errorf("session expires at %s, want %s (3s)", got, want)
	}
}

func TestDelayAndSpans(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{Clock: clock})
	cfg := awsConfig(t, url, testRegion, rootCreds(srv))
	srv.SetDelay("ecr.GetAuthorizationToken", 200*time.Millisecond)
	start := clock.Now()
	done := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := ecrToken(cfg)
			done <- err
		}()
	}
	// All three wait for their delay, and none is answered until the clock has moved on.
	for range 3 {
		if d := clock.awaitWait(t); d != 200*time.Millisecond {
			t.Errorf("a call waits %s, want the delay of 200ms", d)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("a call was answered before its delay: %v", err)
	default:
	}
	clock.Advance(200 * time.Millisecond)
	for range 3 {
		if err := await(t, done); err != nil {
			t.Error(err)
		}
	}
	if _, err := getSessionToken(t, cfg, nil); err != nil {
		t.Fatal(err)
	}
	spans := srv.Spans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4: %v", len(spans), spans)
	}
	for _, sp := range spans {
		want := time.Duration(0)
		if sp.Name == "ecr.GetAuthorizationToken" {
			want = 200 * time.Millisecond
		}
		if !sp.Start.Equal(start) && !sp.Start.Equal(start.Add(200*time.Millisecond)) || sp.End.Sub(sp.Start) != want {
			t.Errorf("span %+v, want one of %s from %s or 200ms later", sp, want, start.Format("15:04:05.000"))
		}
	}
	if n := MaxOverlap(spans, "ecr.GetAuthorizationToken"); n != 3 {
		t.Errorf("MaxOverlap = %d, want 3", n)
	}
	// Sequential calls do not overlap.
	seq := []Span{{"a", start, start.Add(time.Second)}, {"a", start.Add(time.Second), start.Add(2 * time.Second)}}
	if n := MaxOverlap(seq); n != 1 {
		t.Errorf("MaxOverlap of touching spans = %d, want 1", n)
	}
	srv.Reset()
	if len(srv.Spans()) != 0 {
		t.Error("Reset kept the spans")
	}
}

// A Reset while a call is in flight: the call ends without touching the spans recorded
// after the Reset (the harness resets between an av's runs, with another av running).
func TestResetDuringACall(t *testing.T) {
	clock := newTestClock()
	srv, url := startServer(t, Options{Clock: clock})
	cfg := awsConfig(t, url, testRegion, rootCreds(srv))
	srv.SetDelay("ecr.GetAuthorizationToken", 300*time.Millisecond)
	done := make(chan error, 1)
	go func() { _, err := ecrToken(cfg); done <- err }()
	clock.awaitWait(t) // the call is in flight, waiting for its delay
	srv.Reset()
	clock.Advance(300 * time.Millisecond)
	if err := await(t, done); err != nil {
		t.Fatalf("the call in flight across a Reset failed: %v", err)
	}
	if spans := srv.Spans(); len(spans) != 0 {
		t.Errorf("spans after a Reset: %v", spans)
	}
}
