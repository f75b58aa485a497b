package env

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestEnvironStripsInheritedSecrets(t *testing.T) {
	parent := []string{
		"PATH=/usr/bin",
		"HOME=/home/u",
		"AWS_ACCESS_KEY_ID=AKIAOLDOLDOLDOLDOLD1",
		"AWS_SECRET_ACCESS_KEY=old",
		"AWS_SESSION_TOKEN=old",
		"AWS_SECURITY_TOKEN=old",
		"AWS_PROFILE=other",
		"AWS_VAULT_FILE_PASSPHRASE=hunter2",
		"DOCKER_AUTH_CONFIG={}",
		"DOCKER_CONFIG=/home/u/.docker",
		"AWS_ENDPOINT_URL=http://127.0.0.1:1",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://x",
	}
	c := Child{
		Profile: "dev",
		Region:  "eu-west-1",
		Credentials: aws.Credentials{
			AccessKeyID: "ASIANEW", SecretAccessKey: "newsecret", SessionToken: "newtoken",
			CanExpire: true, Expires: time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC),
		},
		Files: Files{DockerConfig: "/dev/shm/x/docker", AuthFile: "/dev/shm/x/a.json", HelmConfig: "/dev/shm/x/h.json"},
	}
	got := map[string][]string{}
	for _, kv := range c.Environ(parent) {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = append(got[k], v)
	}
	want := map[string]string{
		"PATH":                      "/usr/bin",
		"HOME":                      "/home/u",
		"AWS_ENDPOINT_URL":          "http://127.0.0.1:1",
		"AWS_VAULT":                 "dev",
		MarkerVar:                   "dev",
		"AWS_ACCESS_KEY_ID":         "ASIANEW",
		"AWS_SECRET_ACCESS_KEY":     "newsecret",
		"AWS_SESSION_TOKEN":         "newtoken",
		"AWS_CREDENTIAL_EXPIRATION": "2026-11-28T16:00:00Z",
		"AWS_REGION":                "eu-west-1",
		"AWS_DEFAULT_REGION":        "eu-west-1",
		"DOCKER_CONFIG":             "/dev/shm/x/docker",
		"REGISTRY_AUTH_FILE":        "/dev/shm/x/a.json",
		"HELM_REGISTRY_CONFIG":      "/dev/shm/x/h.json",
	}
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v {
			t.Errorf("%s = %q, want exactly [%q]", k, got[k], v)
		}
	}
	for _, k := range []string{"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_VAULT_FILE_PASSPHRASE", "DOCKER_AUTH_CONFIG", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s was passed to the child", k)
		}
	}
}

func TestEnvironWithoutSessionOrRegion(t *testing.T) {
	c := Child{Profile: "p", Credentials: aws.Credentials{AccessKeyID: "AKIA", SecretAccessKey: "s"}}
	for _, kv := range c.Environ(nil) {
		for _, k := range []string{"AWS_SESSION_TOKEN=", "AWS_CREDENTIAL_EXPIRATION=", "AWS_REGION=", "AWS_DEFAULT_REGION="} {
			if strings.HasPrefix(kv, k) {
				t.Errorf("unexpected %s", kv)
			}
		}
	}
}

// AV_REGISTRY is the run's own registry, or not set at all: never one from outside.
func TestEnvironRegistry(t *testing.T) {
	parent := []string{"AV_REGISTRY=111111111111.dkr.ecr.us-east-1.amazonaws.com"}
	host := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	with := (Child{Profile: "p", Region: "eu-west-1", Registry: host}).Environ(parent)
	if n := slices.Index(with, "AV_REGISTRY="+host); n < 0 || slices.Contains(with, parent[0]) {
		t.Errorf("Environ with a registry = %q, want AV_REGISTRY=%s alone", with, host)
	}
	without := (Child{Profile: "p"}).Environ(parent)
	for _, kv := range without {
		if strings.HasPrefix(kv, "AV_REGISTRY=") {
			t.Errorf("Environ without a registry passes %s on", kv)
		}
	}
}

func TestEnvironRegistryOnly(t *testing.T) {
	c := Child{
		Profile:      "ci",
		Region:       "eu-west-1",
		Credentials:  aws.Credentials{AccessKeyID: "ASIAX", SecretAccessKey: "s", SessionToken: "t", CanExpire: true},
		Files:        Files{DockerConfig: "/d", AuthFile: "/a", HelmConfig: "/h"},
		RegistryOnly: true,
	}
	got := c.Environ([]string{"AWS_ACCESS_KEY_ID=inherited", "AWS_SESSION_TOKEN=inherited", "ACTIONS_ID_TOKEN_REQUEST_TOKEN=x", "ACTIONS_ID_TOKEN_REQUEST_URL=y", "PATH=/bin"})
	for _, kv := range got {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "AWS_") && k != "AWS_REGION" && k != "AWS_DEFAULT_REGION" && k != "AWS_VAULT" && kv != "AWS_EC2_METADATA_DISABLED=true" || strings.HasPrefix(k, "ACTIONS_ID_TOKEN") {
			t.Errorf("a registry-only child gets %s", kv)
		}
	}
	// Nor the instance role's: the SDKs would find it on their own.
	for _, want := range []string{"PATH=/bin", "AWS_REGION=eu-west-1", "DOCKER_CONFIG=/d", "AV_PROFILE=ci", "AWS_EC2_METADATA_DISABLED=true"} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %s in %q", want, got)
		}
	}
	if h := c.HandedCredentials(); h != nil {
		t.Errorf("HandedCredentials = %q, want none", h)
	}
}

// TestEnvironPlatform: with the platform's own credentials (a container's), the command
// gets the platform's variables as av got them, and no fixed keys that would run out.
func TestEnvironPlatform(t *testing.T) {
	parent := []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN=platform-token", "AWS_ACCESS_KEY_ID=stale"}
	c := Child{Profile: "default", Credentials: aws.Credentials{AccessKeyID: "AKIDFIXED", SecretAccessKey: "s"}, Platform: true}
	got := strings.Join(c.Environ(parent), "\n")
	for _, want := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.23/v1/credentials", "AWS_CONTAINER_AUTHORIZATION_TOKEN=platform-token"} {
		if !strings.Contains(got, want) {
			t.Errorf("the command lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "AWS_ACCESS_KEY_ID") || strings.Contains(got, "AKIDFIXED") {
		t.Errorf("the command got fixed keys:\n%s", got)
	}
	if h := c.HandedCredentials(); len(h) != 0 {
		t.Errorf("HandedCredentials = %q, want none of av's", h)
	}
}
