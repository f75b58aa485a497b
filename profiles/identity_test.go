package profiles

import (
	"testing"
	"time"
)

// TestIdentity: what changes the principal (or where tokens come from) changes the
// identity; the region and session length do not.
func TestIdentity(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "")
	writeConfig(t, `[profile base]
region = eu-west-1

[profile deploy]
source_profile = base
role_arn = arn:aws:iam::222222222222:role/deploy

[profile other]
source_profile = base
role_arn = arn:aws:iam::333333333333:role/deploy
`)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	id := func(name string, o Options) string {
		t.Helper()
		pc, err := cfg.profileConfig(name, o)
		if err != nil {
			t.Fatal(err)
		}
		return identity(pc, o, readFileEndpoints(cfg, name))
	}
	deploy := id("deploy", Options{})
	for what, other := range map[string]string{
		"another role":      id("other", Options{}),
		"another profile":   id("base", Options{}),
		"without a session": id("deploy", Options{NoSession: true}),
	} {
		if other == deploy {
			t.Errorf("%s: same identity %s", what, deploy)
		}
	}
	if got := id("deploy", Options{Region: "us-east-1", Duration: 2 * time.Hour}); got != deploy {
		t.Errorf("region and duration changed the identity: %s, want %s", got, deploy)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
	if got := id("deploy", Options{}); got == deploy {
		t.Errorf("another endpoint kept the identity %s", got)
	}
}
