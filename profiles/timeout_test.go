package profiles

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Every client av makes from sdkConfig gives up on an endpoint that never answers, with a
// TimeoutError naming the service, the operation and the region: STS (sessions, roles, web
// identity), SSO and SSO OIDC, ECR.
func TestEveryClientGivesUpOnAHungEndpoint(t *testing.T) {
	release := make(chan struct{})
	// The server notices a client that gave up only once it has read the request's body:
	// the handlers hold on until the test ends.
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hung.Close()
	defer close(release)
	writeConfig(t, "[profile p]\nregion = eu-west-1\n")
	t.Setenv("AWS_ENDPOINT_URL", hung.URL)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	const total = 300 * time.Millisecond
	c, err := sdkConfig(context.Background(), cfg, "p", "eu-west-1", total)
	if err != nil {
		t.Fatal(err)
	}
	c.Credentials = aws.NewCredentialsCache(staticProvider{aws.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "x"}})
	ctx := context.Background()
	for _, tt := range []struct {
		service, operation string
		call               func() error
	}{
		{"STS", "GetSessionToken", func() error {
			_, err := sts.NewFromConfig(c).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
			return err
		}},
		{"STS", "AssumeRoleWithWebIdentity", func() error {
			_, err := sts.NewFromConfig(c).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s"), WebIdentityToken: aws.String("t")})
			return err
		}},
		{"SSO", "GetRoleCredentials", func() error {
			_, err := sso.NewFromConfig(c).GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{AccessToken: aws.String("t"), AccountId: aws.String("123456789012"), RoleName: aws.String("r")})
			return err
		}},
		{"SSO OIDC", "CreateToken", func() error {
			_, err := ssooidc.NewFromConfig(c).CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: aws.String("c"), ClientSecret: aws.String("s"), GrantType: aws.String("g")})
			return err
		}},
		{"ECR", "GetAuthorizationToken", func() error {
			_, err := ecr.NewFromConfig(c).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
			return err
		}},
	} {
		err := tt.call()
		var te *TimeoutError
		if !errors.As(err, &te) {
			t.Errorf("%s %s on a hung endpoint: %v, want a TimeoutError", tt.service, tt.operation, err)
			continue
		}
		want := TimeoutError{Service: tt.service, Operation: tt.operation, Region: "eu-west-1", Timeout: total}
		if *te != want {
			t.Errorf("%s %s: %+v, want %+v", tt.service, tt.operation, *te, want)
		}
	}
}

// The caller's own end (Ctrl-C) is not a timeout.
func TestCancelIsNotATimeout(t *testing.T) {
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hung.Close()
	defer close(release)
	writeConfig(t, "[profile p]\n")
	t.Setenv("AWS_ENDPOINT_URL", hung.URL)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := sdkConfig(context.Background(), cfg, "p", "eu-west-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c.Credentials = aws.NewCredentialsCache(staticProvider{aws.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "x"}})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err = sts.NewFromConfig(c).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	var te *TimeoutError
	if errors.As(err, &te) || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled call: %v, want context.Canceled and no TimeoutError", err)
	}
}

// A timeout that is not positive means the default, not "give up at once" (cmp.Or would
// keep a negative one).
func TestOrDefaultDuration(t *testing.T) {
	for _, tc := range []struct{ v, want time.Duration }{
		{0, DefaultLockTimeout},
		{-time.Second, DefaultLockTimeout},
		{time.Second, time.Second},
	} {
		if got := orDefaultDuration(tc.v, DefaultLockTimeout); got != tc.want {
			t.Errorf("orDefaultDuration(%s) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

// loadSDK never reads the shared files, and keeps the SDK's own chain for the job's
// identity (the environment's keys) unless told otherwise.
func TestLoadSDK(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIAFROMTHEFILE\naws_secret_access_key = file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_DEFAULT_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	ctx := context.Background()

	c, err := loadSDK(ctx, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "us-east-1" {
		t.Errorf("region %q, want us-east-1 when none is given", c.Region)
	}
	if got, err := c.Credentials.Retrieve(ctx); err == nil {
		t.Errorf("the SDK's chain read the shared credentials file: %s", got.AccessKeyID)
	}

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMTHEENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
	c, err = loadSDK(ctx, "eu-west-1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Credentials.Retrieve(ctx); err != nil || got.AccessKeyID != "AKIAFROMTHEENV" || c.Region != "eu-west-1" {
		t.Errorf("the job's keys: %q in %q, %v", got.AccessKeyID, c.Region, err)
	}
	// sdkConfig's clients get the vault's credentials, never the SDK's chain.
	c, err = sdkConfig(ctx, &Config{}, "dev", "eu-west-1", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Credentials.Retrieve(ctx); got.AccessKeyID != "" {
		t.Errorf("sdkConfig's credentials: %q, want none (anonymous)", got.AccessKeyID)
	}
}
