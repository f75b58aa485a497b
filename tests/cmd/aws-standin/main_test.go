package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestMain(m *testing.M) {
	// Service-specific AWS_ENDPOINT_URL_* variables would override the
	// endpoint the test sets, so the developer's AWS environment stays out.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys")
	passwordFile := filepath.Join(dir, "password")
	readyFile := filepath.Join(dir, "ready")
	platformFile := filepath.Join(dir, "platform")
	if err := os.WriteFile(passwordFile, []byte("pw-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr bytes.Buffer
	stdout := &announcer{written: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{
			"-root-key-file", keyFile,
			"-password-file", passwordFile,
			"-region-registry", "eu-west-1=http://127.0.0.1:5000",
			"-token-ttl", "30s",
			"-ready-file", readyFile,
			"-platform-file", platformFile,
		}, stdout, &stderr)
	}()

	// run prints the URL once it has written the ready and platform files. A minute is a
	// safety net: a stand-in starts in milliseconds.
	select {
	case <-stdout.written:
	case err := <-done:
		t.Fatalf("run exited early: %v\n%s", err, stderr.String())
	case <-time.After(time.Minute):
		t.Fatal("no URL printed within a minute")
	}
	b, err := os.ReadFile(readyFile)
	if err != nil {
		t.Fatalf("no ready file once the URL is printed: %v", err)
	}
	url := string(b)

	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	keyLine, _ := os.ReadFile(keyFile)
	key := strings.Fields(string(keyLine))
	if len(key) != 2 || !strings.HasPrefix(key[0], "AKIA") {
		t.Fatalf("key file holds %d fields", len(key))
	}

	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("eu-west-1"),
		config.WithBaseEndpoint(url),
		config.WithSharedConfigFiles(nil), config.WithSharedCredentialsFiles(nil),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key[0], key[1], "")))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sts.NewFromConfig(cfg).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Credentials = credentials.NewStaticCredentialsProvider(*st.Credentials.AccessKeyId, *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken)
	before := time.Now()
	tok, err := ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	data := tok.AuthorizationData[0]
	if decoded, _ := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken)); string(decoded) != "AWS:pw-from-file" {
		t.Errorf("token decodes to %q", decoded)
	}
	if aws.ToString(data.ProxyEndpoint) != "http://127.0.0.1:5000" {
		t.Errorf("proxyEndpoint %q", aws.ToString(data.ProxyEndpoint))
	}
	// Minted between before and after, to live 30s. ECR gives the expiry in seconds, a
	// float: the SDK's milliseconds may be one short.
	earliest := before.Add(30 * time.Second).Truncate(time.Millisecond).Add(-time.Millisecond)
	if exp := *data.ExpiresAt; exp.Before(earliest) || exp.After(after.Add(30*time.Second)) {
		t.Errorf("token expires at %s, want 30s after it was minted, between %s and %s", exp, before, after)
	}

	// The platform identities: the file names them, and they answer.
	platform := readPlatformFile(t, platformFile)
	req, _ := http.NewRequest(http.MethodGet, platform["CONTAINER_CREDS_URI"], nil)
	req.Header.Set("Authorization", platform["CONTAINER_CREDS_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("container credentials: HTTP %d", resp.StatusCode)
	}
	web, err := sts.NewFromConfig(cfg).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/ci"), RoleSessionName: aws.String("ci"),
		WebIdentityToken: aws.String(platform["WEB_IDENTITY_TOKEN"]),
	})
	if err != nil {
		t.Fatal(err)
	}
	if platform["IMDS_ENDPOINT"] != url || !strings.HasPrefix(platform["GH_OIDC_URL"], url+"/") || platform["GH_OIDC_REQUEST_TOKEN"] == "" {
		t.Errorf("platform file: %v", platform)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(platformFile); !os.IsNotExist(err) {
		t.Errorf("platform file left behind: %v", err)
	}
	if got := strings.TrimSpace(stdout.String()); got != url {
		t.Errorf("stdout %q, want the URL %q", got, url)
	}
	for _, secret := range []string{key[1], "pw-from-file", *st.Credentials.SecretAccessKey, *st.Credentials.SessionToken,
		*web.Credentials.SecretAccessKey, platform["WEB_IDENTITY_TOKEN"], platform["GH_OIDC_REQUEST_TOKEN"], platform["CONTAINER_CREDS_TOKEN"]} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("stderr shows a secret:\n%s", stderr.String())
		}
	}
	if _, err := os.Stat(readyFile); !os.IsNotExist(err) {
		t.Errorf("ready file left behind: %v", err)
	}

	// A second run reads the key file it wrote instead of replacing it.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if err := run(ctx2, []string{"-root-key-file", keyFile}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(keyFile); !bytes.Equal(again, keyLine) {
		t.Error("key file rewritten")
	}
}

// announcer is run's stdout: it keeps what run prints, and closes written at the first
// write (the URL, printed once the stand-in serves).
type announcer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func (a *announcer) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.buf.Len() == 0 && len(p) > 0 {
		close(a.written)
	}
	return a.buf.Write(p)
}

func (a *announcer) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.String()
}

func readPlatformFile(t *testing.T, path string) map[string]string {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("platform file mode %v, want 0600", info.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || v == "" {
			t.Fatalf("platform file line %q", line)
		}
		out[k] = v
	}
	if len(out) != 6 {
		t.Errorf("platform file has %d lines, want 6", len(out))
	}
	return out
}

func TestRunRejectsBadKeyFile(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(keyFile, []byte("AKIAONLYANID\n"), 0o600)
	err := run(context.Background(), []string{"-root-key-file", keyFile}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "keys:1") {
		t.Fatalf("err = %v", err)
	}
}
