package env

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestScope(t *testing.T) {
	for _, tt := range []struct {
		spec RegistrySpec
		want string
	}{
		{RegistrySpec{Region: "eu-west-1"}, "ecr:eu-west-1"},
		{RegistrySpec{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Region: "eu-west-1"}, "ecr:eu-west-1"},
		{RegistrySpec{Host: "210987654321.dkr.ecr.eu-west-1.amazonaws.com", Region: "eu-west-1", Profile: "other"}, "ecr:eu-west-1"},
		{RegistrySpec{Host: PublicHost, Region: "us-east-1", Public: true}, "ecr-public"},
		{RegistrySpec{Region: "us-east-1"}, "ecr:us-east-1"},
	} {
		if got := scope(tt.spec); got != tt.want {
			t.Errorf("scope(%+v) = %q, want %q", tt.spec, got, tt.want)
		}
	}
}

func TestFresh(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		expires time.Time
		minTTL  time.Duration
		want    bool
	}{
		{now.Add(time.Hour), 15 * time.Minute, true},
		{now.Add(15 * time.Minute), 15 * time.Minute, false},
		{now.Add(10 * time.Minute), 15 * time.Minute, false},
		{now.Add(time.Second), 0, true},
		{now, 0, false},
		{now.Add(-time.Minute), -5 * time.Minute, false}, // never an expired token
		{time.Time{}, 0, false},                          // no token at all
	} {
		if got := fresh(tt.expires, now, tt.minTTL); got != tt.want {
			t.Errorf("fresh(%s left, min %s) = %v", tt.expires.Sub(now), tt.minTTL, got)
		}
	}
}

func TestCacheEntryExpires(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	e := cacheEntry{
		Credentials: &aws.Credentials{CanExpire: true, Expires: now.Add(time.Hour)},
		Tokens: map[string]Registry{
			"ecr:eu-west-1": {Expires: now.Add(12 * time.Hour)},
			"ecr-public":    {Expires: now.Add(6 * time.Hour)},
		},
	}
	if got := e.expires(); !got.Equal(now.Add(12 * time.Hour)) {
		t.Errorf("expires = %s, want the latest part's expiry", got)
	}
	if got := (&cacheEntry{}).expires(); !got.IsZero() {
		t.Errorf("an empty entry expires %s", got)
	}
}
