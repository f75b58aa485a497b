package profiles

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", p)
	return p
}

func TestLoadConfigNeverCreatesTheFile(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", "")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Has("default") || len(cfg.Names()) != 0 {
		t.Errorf("missing config file has profiles: %v", cfg.Names())
	}
	if _, err := os.Stat(filepath.Join(home, ".aws")); !os.IsNotExist(err) {
		t.Errorf("LoadConfig created %s/.aws: %v", home, err)
	}
}

func TestLoadConfigParseErrorNamesOnlyTheFile(t *testing.T) {
	writeConfig(t, "[profile x\naws_secret_access_key = hunter2\n")
	_, err := LoadConfig()
	if err == nil {
		t.Skip("ini accepted the broken file")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Errorf("error quotes the file: %s", got)
	}
}

func TestReadFileEndpoints(t *testing.T) {
	writeConfig(t, `[default]
endpoint_url = https://default.example

[profile vpc]
endpoint_url = https://global.example
services = vpc-endpoints

[profile ignored]
endpoint_url = https://global.example
ignore_configured_endpoint_urls = true

[services vpc-endpoints]
ecr =
  endpoint_url = https://ecr.example
ecr_public =
  endpoint_url = https://ecr-public.example
sts =
  region = eu-west-1
`)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	fe := readFileEndpoints(cfg, "vpc")
	if fe.global != "https://global.example" || fe.ignore {
		t.Errorf("vpc: %+v", fe)
	}
	for sdkID, want := range map[string]string{"ECR": "https://ecr.example", "ECR PUBLIC": "https://ecr-public.example", "STS": ""} {
		got, ok, _ := fe.GetServiceBaseEndpoint(context.Background(), sdkID)
		if got != want || ok != (want != "") {
			t.Errorf("vpc %s: %q %v, want %q", sdkID, got, ok, want)
		}
	}
	if fe := readFileEndpoints(cfg, "default"); fe.global != "https://default.example" {
		t.Errorf("default: %+v", fe)
	}
	if fe := readFileEndpoints(cfg, "ignored"); !fe.ignore {
		t.Errorf("ignored: %+v", fe)
	}
	if fe := readFileEndpoints(cfg, "absent"); fe.global != "" || fe.services != nil {
		t.Errorf("absent: %+v", fe)
	}
}

// hitServer counts the requests it gets and answers each with an AWS-style error.
func hitServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"__type":"ValidationException","message":"stand-in"}`))
	}))
	t.Cleanup(s.Close)
	return s, &hits
}

// TestEndpointPrecedence checks the SDK's order with av's config file reading plugged in:
// AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the services section, then the
// profile's endpoint_url.
func TestEndpointPrecedence(t *testing.T) {
	profileURL, profileHits := hitServer(t)
	serviceURL, serviceHits := hitServer(t)
	globalEnv, globalEnvHits := hitServer(t)
	serviceEnv, serviceEnvHits := hitServer(t)
	writeConfig(t, "[profile p]\nendpoint_url = "+profileURL.URL+"\nservices = s\n[services s]\necr =\n  endpoint_url = "+serviceURL.URL+"\n")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	ecrCall := func() {
		c, err := sdkConfig(context.Background(), cfg, "p", "eu-west-1", 0)
		if err != nil {
			t.Fatal(err)
		}
		ecr.NewFromConfig(c).GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	}
	stsCall := func() {
		c, _ := sdkConfig(context.Background(), cfg, "p", "eu-west-1", 0)
		sts.NewFromConfig(c).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	}

	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_ECR", "")
	os.Unsetenv("AWS_ENDPOINT_URL")
	os.Unsetenv("AWS_ENDPOINT_URL_ECR")
	ecrCall()
	stsCall()
	if serviceHits.Load() == 0 || profileHits.Load() == 0 {
		t.Fatalf("file only: services section got %d, profile endpoint_url got %d; want ECR on the first, STS on the second", serviceHits.Load(), profileHits.Load())
	}

	os.Setenv("AWS_ENDPOINT_URL", globalEnv.URL)
	before := serviceHits.Load()
	ecrCall()
	if globalEnvHits.Load() == 0 || serviceHits.Load() != before {
		t.Errorf("AWS_ENDPOINT_URL set: env got %d, services section got %d more", globalEnvHits.Load(), serviceHits.Load()-before)
	}

	os.Setenv("AWS_ENDPOINT_URL_ECR", serviceEnv.URL)
	ecrCall()
	if serviceEnvHits.Load() == 0 {
		t.Errorf("AWS_ENDPOINT_URL_ECR set: it got no request")
	}
}

func TestClosest(t *testing.T) {
	known := []string{"default", "dev", "production", "staging"}
	for name, want := range map[string]string{"dve": "dev", "prod": "production", "stagin": "staging", "zzzzzz": ""} {
		if got := closest(name, known); got != want {
			t.Errorf("closest(%q) = %q, want %q", name, got, want)
		}
	}
}

// ini would panic mapping "900s" into aws-vault's unsigned duration_seconds, on any
// profile's section, whenever aws-vault lists the profiles.
func TestLoadConfigRefusesADurationWithAUnit(t *testing.T) {
	writeConfig(t, "[profile dev]\nregion = eu-west-1\n\n[profile old]\nduration_seconds = 900s\n")
	_, err := LoadConfig()
	if err == nil || !strings.Contains(err.Error(), `profile "old": duration_seconds is not a whole number of seconds`) {
		t.Fatalf("LoadConfig = %v, want the profile and the key named", err)
	}
	writeConfig(t, "[profile dev]\nduration_seconds = 900\n")
	if _, err := LoadConfig(); err != nil {
		t.Fatalf("LoadConfig(duration_seconds = 900) = %v", err)
	}
}

// aws-vault's ConfigLoader would recurse round a source_profile loop until the stack ran
// out (a fatal error, after growing to a gigabyte).
func TestProfileConfigRefusesASourceProfileLoop(t *testing.T) {
	defer debug.SetMaxStack(debug.SetMaxStack(64 << 20)) // without the check: fail fast
	writeConfig(t, "[profile a]\ninclude_profile = shared\n\n[profile shared]\nsource_profile = b\n\n[profile b]\nsource_profile = default\n\n[default]\nsource_profile = a\n\n[profile self]\nsource_profile = self\n")
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.profileConfig("b", Options{})
	if want := "source_profile goes round in a loop: b → default → a → b"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("profileConfig(b) = %v, want …%s", err, want)
	}
	// A profile that names itself is aws-vault's own case: it ignores the source_profile.
	if _, err := cfg.profileConfig("self", Options{}); err != nil {
		t.Errorf("profileConfig(self) = %v", err)
	}
}
