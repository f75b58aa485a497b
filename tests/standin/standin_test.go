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
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
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

func (s *Server) testOnlySetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.testOnlyNow = now
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
	srv, url := startServer(t, Options{})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	out, err := getSessionToken(t, root, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	session := awsConfig(t, url, testRegion, stsCreds(t, out))
	if _, err := ecrToken(session); err != nil {
		t.Fatal(err)
	}

	srv.testOnlySetNow(func() time.Time { return time.Now().Add(16 * time.Minute) })
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
	srv, url := startServer(t, Options{MaxDuration: time.Second})
	root := awsConfig(t, url, testRegion, rootCreds(srv))
	out, err := sts.NewFromConfig(root).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(roleA), RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(3600),
	})
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(*out.Credentials.Expiration); left > time.Second {
		t.Errorf("credentials last %s despite MaxDuration 1s", left)
	}
	time.Sleep(1100 * time.Millisecond)
	_, err = ecrToken(awsConfig(t, url, testRegion, stsCreds(t, out)))
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

	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), rc.AccessKeyID) {
		t.Fatalf("logs do not even name the key:\n%s", logs.String())
	}
	for _, secret := range []string{rc.SecretAccessKey, session.SecretAccessKey, session.SessionToken, testPassword, "public-secret-pw"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs contain a secret:\n%s", logs.String())
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
