package profiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The differential test: av's chain (credentials.go) against aws-vault v7.2.0's
// vault.NewTempCredentialsProvider, on the same config file and the same vault. Each builds
// its tree of providers (nothing is retrieved, no request leaves); both trees are walked
// into the list of calls a retrieval would make, source first, and the list must be the
// same, but for the differences a case names. Each named difference must change
// aws-vault's list (a difference av no longer makes fails, as does one it makes unnamed).
// The list of differences is in doc.go.

// step is one provider of a chain: a call a retrieval would make, source first.
type step struct {
	Kind     string        // master keys, GetSessionToken, AssumeRole, AssumeRoleWithWebIdentity, SSO GetRoleCredentials, credential_process
	Of       string        // whose: the keys' name, the role, the SSO account and role, the command
	Detail   string        // the call's other inputs
	MFA      string        // the device it asks a code for
	Duration time.Duration // the session it asks for
	Endpoint string        // where its client sends the call
	Cache    string        // the cached session item it reads and fills; "" if none
	Gate     string        // what av puts before the call
}

func (s step) String() string {
	return fmt.Sprintf("%s %s [%s] mfa=%q %s → %s cache=%q gate=%q", s.Kind, s.Of, s.Detail, s.MFA, s.Duration, s.Endpoint, s.Cache, s.Gate)
}

// chainView is what a chain does: its steps, and why it skipped GetSessionToken where it
// had master keys (as its log says: both log the same reasons).
type chainView struct {
	Steps   []step
	Skipped []string
}

func (v chainView) String() string {
	var b strings.Builder
	for _, s := range v.Steps {
		fmt.Fprintf(&b, "\n\t%s", s)
	}
	for _, r := range v.Skipped {
		fmt.Fprintf(&b, "\n\tskipped GetSessionToken because %s", r)
	}
	return b.String()
}

func (v chainView) equal(w chainView) bool {
	return slices.Equal(v.Steps, w.Steps) && slices.Equal(v.Skipped, w.Skipped)
}

func (v chainView) clone() chainView {
	return chainView{Steps: slices.Clone(v.Steps), Skipped: slices.Clone(v.Skipped)}
}

// difference is one of av's deliberate differences: apply turns aws-vault's chain into av's.
type difference struct {
	why   string
	apply func(v *chainView)
}

// Role ARNs and MFA devices of the cases: a role's last path element is its profile's name.
const (
	mfaAlice = "arn:aws:iam::111111111111:mfa/alice"
	mfaBob   = "arn:aws:iam::111111111111:mfa/bob"
)

func roleARN(profile string) string { return "arn:aws:iam::222222222222:role/" + profile }

// identityDigest stands in the walk for the profile's identity digest that keys av's role
// sessions: which digest it is, is TestIdentity's business.
const identityDigest = "<identity digest>"

// cachesRole: av caches the role session of profile, assumed without MFA.
func cachesRole(profile string) difference {
	return difference{
		why: "av caches a role session without MFA, under its own type and keyed by the profile's identity; aws-vault assumes the role again on every run",
		apply: func(v *chainView) {
			for i, s := range v.Steps {
				if s.Kind == "AssumeRole" && s.Of == roleARN(profile) && s.Cache == "" && s.MFA == "" {
					v.Steps[i].Cache = cacheName(roleSessionType, profile, identityDigest, minTTL())
				}
			}
		},
	}
}

// ssoGate: av fetches SSO role credentials only with a cached SSO token.
var ssoGate = difference{
	why: "with no terminal, or renewing while the command runs, av fails with SSOLoginError where aws-vault would open a browser and wait for a person",
	apply: func(v *chainView) {
		for i, s := range v.Steps {
			if s.Kind == "SSO GetRoleCredentials" {
				v.Steps[i].Gate = "a cached SSO token"
			}
		}
	},
}

// ssoGateWithoutTTY is ssoGate where av has no terminal (in CI, under setsid).
func ssoGateWithoutTTY() []difference {
	if HaveTerminal() {
		return nil
	}
	return []difference{ssoGate}
}

// endpoints replaces the endpoint of every call of service with url.
func endpoints(why, service, url string) difference {
	return difference{
		why: why,
		apply: func(v *chainView) {
			for i, s := range v.Steps {
				if strings.HasPrefix(s.Endpoint, service+" ") {
					v.Steps[i].Endpoint = service + " " + url
				}
			}
		},
	}
}

var (
	noRegionIsUSEast1 = endpoints("av sends the calls of a profile with no region to us-east-1; aws-vault builds its clients with no region, and the SDK refuses their calls",
		"STS", "https://sts.us-east-1.amazonaws.com")
	stsEndpointFromEnv = endpoints("av's clients honour AWS_ENDPOINT_URL_STS (and the SDK's other endpoint settings); aws-vault's hand-built clients ignore them",
		"STS", "http://127.0.0.1:4566")
	stsEndpointFromFile = endpoints("av's clients honour the profile's endpoint_url and services section; aws-vault's ignore them",
		"STS", "http://127.0.0.1:4567")
	legacySTSIsRegional = endpoints("av calls STS's regional endpoint even with sts_regional_endpoints = legacy (the SDK has dropped the setting); aws-vault sends the calls of 16 regions to sts.amazonaws.com",
		"STS", "https://sts.eu-west-1.amazonaws.com")
)

// diffCase is one config shape, resolved by both chains.
type diffCase struct {
	name     string
	config   string   // ~/.aws/config
	stored   []string // profiles whose master keys are in the vault
	profile  string
	opts     Options
	noPrompt bool              // CredentialsOptions.NoPrompt (aws-vault has none)
	env      map[string]string // more environment
	want     []string          // the step kinds both chains make, source first: a check on the case itself
	differs  []difference
}

func TestChainIsAWSVaults(t *testing.T) {
	cases := []diffCase{{
		name:    "stored keys",
		config:  "[profile dev]\nregion = eu-west-1\n",
		stored:  []string{"dev"},
		profile: "dev",
		want:    []string{"master keys", "GetSessionToken"},
	}, {
		name:    "stored keys with MFA",
		config:  "[profile dev]\nregion = eu-west-1\nmfa_serial = " + mfaAlice + "\n",
		stored:  []string{"dev"},
		profile: "dev",
		want:    []string{"master keys", "GetSessionToken"},
	}, {
		name:    "keys in the vault only, no region",
		stored:  []string{"solo"},
		profile: "solo",
		want:    []string{"master keys", "GetSessionToken"},
		differs: []difference{noRegionIsUSEast1},
	}, {
		name: "source_profile without a role",
		config: `[profile base]
region = eu-west-1

[profile app]
source_profile = base
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "app",
		want:    []string{"master keys", "GetSessionToken"},
	}, {
		name: "role without MFA",
		config: `[profile base]
region = eu-west-1

[profile deploy]
source_profile = base
role_arn = ` + roleARN("deploy") + `
external_id = ext-1
role_session_name = ci
session_tags = team=infra,env=prod
transitive_session_tags = team
source_identity = alice
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "deploy",
		want:    []string{"master keys", "AssumeRole"},
		differs: []difference{cachesRole("deploy")},
	}, {
		name: "role with MFA",
		config: `[profile base]
region = eu-west-1

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaAlice + `
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "admin",
		want:    []string{"master keys", "AssumeRole"},
	}, {
		name: "chained MFA that matches",
		config: `[profile base]
region = eu-west-1
mfa_serial = ` + mfaAlice + `

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaAlice + `
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "admin",
		want:    []string{"master keys", "GetSessionToken", "AssumeRole"},
		// The role is assumed with the MFA session, so without a device: aws-vault caches
		// no role session then.
		differs: []difference{cachesRole("admin")},
	}, {
		name: "chained MFA that does not match",
		config: `[profile base]
region = eu-west-1
mfa_serial = ` + mfaAlice + `

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaBob + `
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "admin",
		want:    []string{"master keys", "AssumeRole"},
	}, {
		name: "chained role over an hour",
		config: `[profile base]
region = eu-west-1
mfa_serial = ` + mfaAlice + `

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaAlice + `
duration_seconds = 7200
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "admin",
		want:    []string{"master keys", "AssumeRole"},
	}, {
		name: "role from a role",
		config: `[profile base]
region = eu-west-1
mfa_serial = ` + mfaAlice + `

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaAlice + `
region = eu-west-1

[profile readonly]
source_profile = admin
role_arn = ` + roleARN("readonly") + `
region = eu-central-1
`,
		stored:  []string{"base"},
		profile: "readonly",
		want:    []string{"master keys", "GetSessionToken", "AssumeRole", "AssumeRole"},
		differs: []difference{cachesRole("admin"), cachesRole("readonly")},
	}, {
		name: "--no-session",
		config: `[profile dev]
region = eu-west-1
mfa_serial = ` + mfaAlice + `
`,
		stored:  []string{"dev"},
		profile: "dev",
		opts:    Options{NoSession: true},
		want:    []string{"master keys"},
	}, {
		name: "--no-session with a role",
		config: `[profile base]
region = eu-west-1
mfa_serial = ` + mfaAlice + `

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaAlice + `
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "admin",
		opts:    Options{NoSession: true},
		want:    []string{"master keys", "AssumeRole"},
	}, {
		name: "--region and --duration",
		config: `[profile base]
region = eu-west-1

[profile admin]
source_profile = base
role_arn = ` + roleARN("admin") + `
mfa_serial = ` + mfaAlice + `
region = eu-west-1
`,
		stored:  []string{"base"},
		profile: "admin",
		opts:    Options{Region: "ap-southeast-2", Duration: 2 * time.Hour, MFAToken: "123456"},
		want:    []string{"master keys", "AssumeRole"},
	}, {
		name: "SSO, renewing",
		config: `[profile sso]
sso_start_url = https://example.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 333333333333
sso_role_name = Developer
region = eu-central-1
`,
		profile:  "sso",
		noPrompt: true,
		want:     []string{"SSO GetRoleCredentials"},
		differs:  []difference{ssoGate},
	}, {
		name: "SSO session",
		config: `[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = eu-west-1

[profile sso]
sso_session = corp
sso_account_id = 333333333333
sso_role_name = Developer
region = eu-central-1
`,
		profile: "sso",
		want:    []string{"SSO GetRoleCredentials"},
		differs: ssoGateWithoutTTY(),
	}, {
		name: "role from SSO",
		config: `[profile sso]
sso_start_url = https://example.awsapps.com/start
sso_region = eu-west-1
sso_account_id = 333333333333
sso_role_name = Developer
region = eu-central-1

[profile ops]
source_profile = sso
role_arn = ` + roleARN("ops") + `
region = eu-central-1
`,
		profile: "ops",
		want:    []string{"SSO GetRoleCredentials", "AssumeRole"},
		differs: append([]difference{cachesRole("ops")}, ssoGateWithoutTTY()...),
	}, {
		name: "web identity",
		config: `[profile ci]
role_arn = ` + roleARN("ci") + `
web_identity_token_file = /var/run/token
role_session_name = build
duration_seconds = 900
region = eu-west-1
`,
		profile: "ci",
		want:    []string{"AssumeRoleWithWebIdentity"},
	}, {
		name: "web identity token process",
		config: `[profile ci]
role_arn = ` + roleARN("ci") + `
web_identity_token_process = get-token --audience sts
region = eu-west-1
`,
		profile: "ci",
		want:    []string{"AssumeRoleWithWebIdentity"},
	}, {
		name: "credential_process",
		config: `[profile ext]
credential_process = /usr/local/bin/creds --profile ext
region = eu-west-1
`,
		profile: "ext",
		want:    []string{"credential_process"},
	}, {
		name:    "AWS_ENDPOINT_URL_STS",
		config:  "[profile dev]\nregion = eu-west-1\n",
		stored:  []string{"dev"},
		profile: "dev",
		env:     map[string]string{"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:4566"},
		want:    []string{"master keys", "GetSessionToken"},
		differs: []difference{stsEndpointFromEnv},
	}, {
		name: "endpoint_url in the profile",
		config: `[profile dev]
region = eu-west-1
services = local

[services local]
sts =
  endpoint_url = http://127.0.0.1:4567
`,
		stored:  []string{"dev"},
		profile: "dev",
		want:    []string{"master keys", "GetSessionToken"},
		differs: []difference{stsEndpointFromFile},
	}, {
		name:    "sts_regional_endpoints = legacy",
		config:  "[profile dev]\nregion = eu-west-1\nsts_regional_endpoints = legacy\n",
		stored:  []string{"dev"},
		profile: "dev",
		want:    []string{"master keys", "GetSessionToken"},
		differs: []difference{legacySTSIsRegional},
	}}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			isolateAWSEnv(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			path := writeConfig(t, c.config)
			v := MemoryVault(context.Background())
			for _, name := range c.stored {
				if err := v.credentials().Set(name, awsCredentials()); err != nil {
					t.Fatal(err)
				}
			}

			av := avChain(t, v, c)
			up := awsVaultChain(t, path, v.kr, c)

			t.Logf("av's chain:%s", av)
			if kinds := kindsOf(up); !slices.Equal(kinds, c.want) {
				t.Fatalf("aws-vault's chain is %v, the case expects %v: the case is wrong%s", kinds, c.want, up)
			}
			want := up.clone()
			for _, d := range c.differs {
				before := want.clone()
				d.apply(&want)
				if want.equal(before) {
					t.Errorf("the difference %q changes nothing in aws-vault's chain: the case names a difference that is not there", d.why)
				}
			}
			if !av.equal(want) {
				var named []string
				for _, d := range c.differs {
					named = append(named, "\n\t"+d.why)
				}
				t.Errorf("av's chain:%s\naws-vault's chain:%s\nwith the differences named (%d):%s\nwould be:%s",
					av, up, len(named), strings.Join(named, ""), want)
			}
		})
	}
}

// isolateAWSEnv unsets what would change either chain from the developer's environment.
func isolateAWSEnv(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range append([]string{
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_MFA_SERIAL",
		"AWS_ASSUME_ROLE_TTL", "AWS_SESSION_TOKEN_TTL", "AWS_CHAINED_SESSION_TOKEN_TTL",
		"AWS_VAULT_PROMPT", "AWS_SHARED_CREDENTIALS_FILE",
	}, endpointVars...) {
		t.Setenv(k, "")
	}
}

// avChain builds av's chain for c as Profile.retrieve does (a fetch, not a cache-only
// look), and walks it.
func avChain(t *testing.T, v *Vault, c diffCase) chainView {
	t.Helper()
	var p aws.CredentialsProvider
	logged := captureLog(func() {
		cfg, err := LoadConfig()
		if err != nil {
			t.Fatal(err)
		}
		pc, err := cfg.profileConfig(c.profile, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		awsCfg, err := sdkConfig(context.Background(), cfg, c.profile, pc.Region, 0)
		if err != nil {
			t.Fatal(err)
		}
		ch := &chain{ctx: context.Background(), kr: v.kr, cfg: cfg, base: awsCfg, opts: c.opts, minTTL: minTTL(), noPrompt: c.noPrompt}
		if p, err = ch.provider(pc); err != nil {
			t.Fatalf("av's chain: %v", err)
		}
	})
	return chainView{Steps: (&walker{t: t, kr: v.kr}).walk(p), Skipped: skipReasons(logged)}
}

// awsVaultChain builds aws-vault's chain for c as `aws-vault exec` does, and walks it.
func awsVaultChain(t *testing.T, path string, kr keyring.Keyring, c diffCase) chainView {
	t.Helper()
	var p aws.CredentialsProvider
	logged := captureLog(func() {
		f, err := vault.LoadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		// The ProfileConfig cli/exec.go makes of its flags.
		base := vault.ProfileConfig{
			Region:                            c.opts.Region,
			MfaToken:                          c.opts.MFAToken,
			MfaPromptMethod:                   "terminal",
			NonChainedGetSessionTokenDuration: c.opts.Duration,
			AssumeRoleDuration:                c.opts.Duration,
		}
		pc, err := vault.NewConfigLoader(base, f, c.profile).GetProfileConfig(c.profile)
		if err != nil {
			t.Fatal(err)
		}
		if p, err = vault.NewTempCredentialsProvider(pc, &vault.CredentialKeyring{Keyring: kr}, c.opts.NoSession, false); err != nil {
			t.Fatalf("aws-vault's chain: %v", err)
		}
	})
	return chainView{Steps: (&walker{t: t, kr: kr}).walk(p), Skipped: skipReasons(logged)}
}

func kindsOf(v chainView) []string {
	var kinds []string
	for _, s := range v.Steps {
		kinds = append(kinds, s.Kind)
	}
	return kinds
}

// captureLog returns what fn logs: both chains log their decisions, and only there say
// why they skipped GetSessionToken.
func captureLog(fn func()) string {
	var buf bytes.Buffer
	prev, flags := log.Writer(), log.Flags()
	log.SetOutput(&buf)
	log.SetFlags(0)
	defer func() {
		log.SetOutput(prev)
		log.SetFlags(flags)
	}()
	fn()
	return buf.String()
}

var digest = regexp.MustCompile(`^[0-9a-f]{24}$`)

var skipLine = regexp.MustCompile(`(?m)skipping GetSessionToken because (.*)$`)

func skipReasons(logged string) []string {
	var reasons []string
	for _, m := range skipLine.FindAllStringSubmatch(logged, -1) {
		reasons = append(reasons, m[1])
	}
	return reasons
}

// walker turns a tree of providers into its steps, source first. kr is the vault's
// keyring: a provider reading another is named so.
type walker struct {
	t  *testing.T
	kr keyring.Keyring
}

func (w *walker) walk(p any) []step {
	w.t.Helper()
	switch p := p.(type) {
	case nil, aws.AnonymousCredentials:
		// The STS client of a web identity signs nothing.
		return nil
	case *vault.KeyringProvider:
		s := step{Kind: "master keys", Of: p.CredentialsName}
		if p.Keyring == nil || p.Keyring.Keyring != w.kr {
			s.Detail = "another keyring"
		}
		return []step{s}
	case *vault.CachedSessionProvider:
		var kr keyring.Keyring
		if p.Keyring != nil {
			kr = p.Keyring.Keyring
		}
		return w.cached(p.SessionProvider, p.SessionKey, p.ExpiryWindow, kr)
	case *cachedSession:
		// av's port of CachedSessionProvider: the same item and window, with av's locks.
		return w.cached(p.provider, p.key, p.window, p.c.kr)
	case gate:
		// av's: a cache-only look fails before it; its errors name the service. Neither
		// changes what is called.
		return w.walk(p.StsSessionProvider)
	case ssoLoginGate:
		steps := w.walk(p.SSORoleCredentialsProvider)
		steps[len(steps)-1].Gate = "a cached SSO token"
		if p.tokens.Keyring != w.kr {
			steps[len(steps)-1].Gate += " in another keyring"
		}
		return steps
	case *vault.SessionTokenProvider:
		return append(w.walk(p.StsClient.Options().Credentials), step{
			Kind:     "GetSessionToken",
			MFA:      p.MfaSerial,
			Duration: p.Duration,
			Endpoint: w.stsEndpoint(p.StsClient),
		})
	case *vault.AssumeRoleProvider:
		return append(w.walk(p.StsClient.Options().Credentials), step{
			Kind: "AssumeRole",
			Of:   p.RoleARN,
			Detail: fmt.Sprintf("session=%q external_id=%q source_identity=%q tags=%v transitive=%v",
				p.RoleSessionName, p.ExternalID, p.SourceIdentity, p.Tags, p.TransitiveTagKeys),
			MFA:      p.MfaSerial,
			Duration: p.Duration,
			Endpoint: w.stsEndpoint(p.StsClient),
		})
	case *vault.AssumeRoleWithWebIdentityProvider:
		return append(w.walk(p.StsClient.Options().Credentials), step{
			Kind: "AssumeRoleWithWebIdentity",
			Of:   p.RoleARN,
			Detail: fmt.Sprintf("session=%q token_file=%q token_process=%q external_id=%q",
				p.RoleSessionName, p.WebIdentityTokenFile, p.WebIdentityTokenProcess, p.ExternalID),
			Duration: p.Duration,
			Endpoint: w.stsEndpoint(p.StsClient),
		})
	case *vault.SSORoleCredentialsProvider:
		tokens := "no SSO token cache"
		if k, ok := p.OIDCTokenCache.(vault.OIDCTokenKeyring); ok && k.Keyring == w.kr {
			tokens = "SSO tokens in the vault"
		} else if p.OIDCTokenCache != nil {
			tokens = fmt.Sprintf("SSO tokens in %T", p.OIDCTokenCache)
		}
		return []step{{
			Kind:     "SSO GetRoleCredentials",
			Of:       p.AccountID + "/" + p.RoleName,
			Detail:   fmt.Sprintf("start=%s stdout=%v oidc_region=%q %s", p.StartURL, p.UseStdout, p.OIDCClient.Options().Region, tokens),
			Endpoint: w.ssoEndpoint(p.SSOClient),
		}}
	case *vault.CredentialProcessProvider:
		return []step{{Kind: "credential_process", Of: p.CredentialProcess}}
	case *credentialProcess:
		// av's port: the same process and protocol, run under the call's context.
		return []step{{Kind: "credential_process", Of: p.process}}
	case *webIdentity:
		// av's, for a web_identity_token_process run under the call's context.
		return append(w.walk(p.sts.Options().Credentials), step{
			Kind: "AssumeRoleWithWebIdentity",
			Of:   p.roleARN,
			Detail: fmt.Sprintf("session=%q token_file=%q token_process=%q external_id=%q",
				p.sessionName, "", p.tokenProcess, ""),
			Duration: p.duration,
			Endpoint: w.stsEndpoint(p.sts),
		})
	}
	w.t.Errorf("the walk knows no %T: add it", p)
	return []step{{Kind: fmt.Sprintf("%T", p)}}
}

// cached is the steps of a provider behind the session cache: its item is the last step's.
func (w *walker) cached(provider any, k vault.SessionMetadata, window time.Duration, kr keyring.Keyring) []step {
	w.t.Helper()
	steps := w.walk(provider)
	if len(steps) == 0 {
		w.t.Fatalf("a cached session provider before nothing (%T)", provider)
	}
	mfa := k.MfaSerial
	if k.Type == roleSessionType && digest.MatchString(mfa) {
		mfa = identityDigest
	}
	last := &steps[len(steps)-1]
	last.Cache = cacheName(k.Type, k.ProfileName, mfa, window)
	if kr == nil || kr != w.kr {
		last.Cache += " in another keyring"
	}
	return steps
}

func cacheName(kind, profile, mfa string, window time.Duration) string {
	return fmt.Sprintf("%s profile=%s mfa=%s window=%s", kind, profile, mfa, window)
}

// errEndpointSeen ends a call once its request is built, before it is sent.
var errEndpointSeen = errors.New("endpoint seen")

// fakeKeys sign the calls stsEndpoint builds, in place of the chain's source (whose
// Retrieve could call STS).
var fakeKeys = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "fake"}, nil
})

// stsEndpoint is where c sends its calls: a call is built, signed with fakeKeys, and
// stopped before it is sent.
func (w *walker) stsEndpoint(c *sts.Client) string {
	var url string
	_, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		o.Credentials = fakeKeys
		o.HTTPClient = noNetwork{w.t}
		o.APIOptions = append(slices.Clip(o.APIOptions), seeEndpoint(&url))
	})
	return "STS " + w.endpointOrWhy(url, err)
}

// ssoEndpoint is stsEndpoint for the SSO client.
func (w *walker) ssoEndpoint(c *sso.Client) string {
	var url string
	in := &sso.GetRoleCredentialsInput{AccessToken: aws.String("t"), AccountId: aws.String("1"), RoleName: aws.String("r")}
	_, err := c.GetRoleCredentials(context.Background(), in, func(o *sso.Options) {
		o.HTTPClient = noNetwork{w.t}
		o.APIOptions = append(slices.Clip(o.APIOptions), seeEndpoint(&url))
	})
	return "SSO " + w.endpointOrWhy(url, err)
}

// endpointOrWhy is the endpoint a call was stopped at, or "no region" where the SDK
// refused to build a call without one. Any other failure is the walk's own.
func (w *walker) endpointOrWhy(url string, err error) string {
	switch {
	case errors.Is(err, errEndpointSeen):
		return url
	case err != nil && strings.Contains(err.Error(), "Missing Region"):
		return "no region"
	}
	w.t.Errorf("building a call to find its endpoint: %v", err)
	return "?"
}

// seeEndpoint stops a call at the end of its finalize step, its endpoint resolved, and
// keeps the endpoint.
func seeEndpoint(url *string) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("test.SeeEndpoint",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					*url = req.URL.Scheme + "://" + req.URL.Host
				}
				return middleware.FinalizeOutput{}, middleware.Metadata{}, errEndpointSeen
			}), middleware.After)
	}
}

// noNetwork fails the test if a request gets past seeEndpoint.
type noNetwork struct{ t *testing.T }

func (n noNetwork) Do(r *http.Request) (*http.Response, error) {
	n.t.Errorf("a request was sent to %s", r.URL.Host)
	return nil, errors.New("this test sends nothing")
}
