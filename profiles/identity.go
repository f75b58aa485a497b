package profiles

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"sort"
	"strconv"

	"github.com/99designs/aws-vault/v7/vault"
)

// endpointVars are the SDK settings that send a profile's calls elsewhere (LocalStack, a
// VPC endpoint, another partition): a token minted there is no good here.
var endpointVars = []string{
	"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_ECR", "AWS_ENDPOINT_URL_ECR_PUBLIC",
	"AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
	"AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
}

// identity digests what decides the principal a profile's credentials stand for, and where
// its tokens come from. Durations and the region are left out: they change neither.
func identity(pc *vault.ProfileConfig, opts Options, fe fileEndpoints) string {
	h := sha256.New()
	put := func(k, v string) {
		if v != "" {
			fmt.Fprintf(h, "%s=%q\n", k, v)
		}
	}
	// profileConfig refuses source_profile loops; the bound only guards against a surprise.
	for c, depth := pc, 0; c != nil && depth < 32; c, depth = c.SourceProfile, depth+1 {
		put("profile", c.ProfileName)
		put("role_arn", c.RoleARN)
		put("external_id", c.ExternalID)
		put("role_session_name", c.RoleSessionName)
		put("source_identity", c.SourceIdentity)
		put("mfa_serial", c.MfaSerial)
		put("sso_session", c.SSOSession)
		put("sso_start_url", c.SSOStartURL)
		put("sso_account_id", c.SSOAccountID)
		put("sso_role_name", c.SSORoleName)
		put("web_identity_token_file", c.WebIdentityTokenFile)
		put("web_identity_token_process", c.WebIdentityTokenProcess)
		put("credential_process", c.CredentialProcess)
		putSorted(h, "session_tags", c.SessionTags)
		for _, t := range c.TransitiveSessionTags {
			put("transitive_session_tag", t)
		}
		if c.SourceProfile == c {
			break
		}
	}
	put("no_session", strconv.FormatBool(opts.NoSession))
	for _, k := range endpointVars {
		put(k, os.Getenv(k))
	}
	put("endpoint_url", fe.global)
	putSorted(h, "services", fe.services)
	put("ignore_configured_endpoint_urls", strconv.FormatBool(fe.ignore))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

func putSorted(h hash.Hash, name string, m map[string]string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s.%s=%q\n", name, k, m[k])
	}
}
