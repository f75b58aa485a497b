// Script commands and setup for the platform identities a CI job or a cloud machine has,
// served by each script's stand-in: GitHub Actions' OIDC token endpoint, web identity
// tokens for STS's AssumeRoleWithWebIdentity, EC2 instance metadata (IMDSv2) and
// container credentials.
//
// The setup only says where they are. No script gets AWS_ROLE_ARN,
// AWS_WEB_IDENTITY_TOKEN_FILE, AWS_CONTAINER_*, AWS_EC2_METADATA_* or ACTIONS_ID_TOKEN_*:
// a script that wants one of these identities sets the platform's variables from these:
//
//	STANDIN_URL            the stand-in's base URL (also $AWS_ENDPOINT_URL)
//	GH_OIDC_URL            for ACTIONS_ID_TOKEN_REQUEST_URL (holds ?api-version=2.0)
//	GH_OIDC_REQUEST_TOKEN  for ACTIONS_ID_TOKEN_REQUEST_TOKEN
//	WEB_IDENTITY_TOKEN     a token STS accepts (aud sts.amazonaws.com), for a token file
//	WEB_IDENTITY_BAD_TOKEN a well-formed token STS refuses (not issued by this stand-in)
//	IMDS_ENDPOINT          for AWS_EC2_METADATA_SERVICE_ENDPOINT
//	CONTAINER_CREDS_URI    for AWS_CONTAINER_CREDENTIALS_FULL_URI
//	CONTAINER_CREDS_TOKEN  for AWS_CONTAINER_AUTHORIZATION_TOKEN
//
// The SDK's default chain builds its web identity STS client before it reads
// AWS_ENDPOINT_URL, and that client honours only AWS_ENDPOINT_URL_STS: the setup does not
// set it, so a script shows whether av sends the call to the endpoint the user configured.
package tests

import (
	"os"
	"regexp"

	"github.com/av-cli/av/tests/standin"
	"github.com/rogpeppe/go-internal/testscript"
)

// ambientKeys are the variables setupAmbient exports.
var ambientKeys = []string{"STANDIN_URL", "GH_OIDC_URL", "GH_OIDC_REQUEST_TOKEN", "WEB_IDENTITY_TOKEN",
	"WEB_IDENTITY_BAD_TOKEN", "IMDS_ENDPOINT", "CONTAINER_CREDS_URI", "CONTAINER_CREDS_TOKEN"}

// platformKeys are the variables through which the SDK and CI platforms hand a job its
// identity; scripts set them, and `status` and `parallel` pass them on.
var platformKeys = []string{"AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_ECR",
	"AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_DISABLED",
	"AWS_SHARED_CREDENTIALS_FILE",
	"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
	"CI", "GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_REPOSITORY", "GITHUB_WORKFLOW", "GITHUB_JOB",
	"GITLAB_CI", "CI_JOB_ID", "CODEBUILD_BUILD_ID"}

// badTokenKey holds WEB_IDENTITY_BAD_TOKEN, a secret too though no STS accepts it.
type badTokenKey struct{}

func setupAmbient(e *testscript.Env) error {
	srv := e.Values[standinKey{}].(*standin.Server)
	ghURL, ghToken := srv.GitHubOIDC()
	containerURI, containerToken := srv.ContainerCredentials()
	// A token from another stand-in has every claim right and a signature this one
	// did not make, as a token from a forged or foreign provider would.
	bad := standin.New(standin.Options{}).NewWebIdentityToken("sts.amazonaws.com")
	e.Values[badTokenKey{}] = bad
	for k, v := range map[string]string{
		"STANDIN_URL":            srv.URL(),
		"GH_OIDC_URL":            ghURL,
		"GH_OIDC_REQUEST_TOKEN":  ghToken,
		"WEB_IDENTITY_TOKEN":     srv.NewWebIdentityToken("sts.amazonaws.com"),
		"WEB_IDENTITY_BAD_TOKEN": bad,
		"IMDS_ENDPOINT":          srv.URL(),
		"CONTAINER_CREDS_URI":    containerURI,
		"CONTAINER_CREDS_TOKEN":  containerToken,
	} {
		e.Setenv(k, v)
	}
	return nil
}

// ambientSecrets are what nosecrets looks for besides the vault's secrets: every token and
// key the stand-in handed out as a platform identity so far, and the bad token.
func ambientSecrets(ts *testscript.TestScript) []standin.Secret {
	return append(standinOf(ts).AmbientSecrets(),
		standin.Secret{What: "the bad web identity token", Value: ts.Value(badTokenKey{}).(string)})
}

// sessionname ROLE_ARN REGEXP: the last session the stand-in's STS accepted for ROLE_ARN
// (AssumeRole or AssumeRoleWithWebIdentity) has a RoleSessionName that REGEXP matches
// whole. `! sessionname ROLE_ARN .+` holds if none was.
func cmdSessionName(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		badUsage(ts, "sessionname")
	}
	re, err := regexp.Compile(`^(?:` + args[1] + `)$`)
	ts.Check(err)
	got := standinOf(ts).LastSessionName(args[0])
	if re.MatchString(got) == neg {
		ts.Fatalf("last session name for %s is %q; want %sa match of %s", args[0], got, map[bool]string{true: "not ", false: ""}[neg], args[1])
	}
}

// webtoken FILE [AUDIENCE]: write to FILE (mode 0600) a fresh web identity token as
// GitHub Actions issues, with aud AUDIENCE (default sts.amazonaws.com; STS accepts no
// other).
func cmdWebToken(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		badUsage(ts, "webtoken")
	}
	audience := "sts.amazonaws.com"
	if len(args) == 2 {
		audience = args[1]
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(standinOf(ts).NewWebIdentityToken(audience)), 0o600))
}

// trustweb ROLE_ARN SUB_PATTERN: ROLE_ARN's trust policy lets only web identities whose
// sub claim matches SUB_PATTERN (IAM's StringLike: * and ?) assume it. The setup's tokens
// have sub repo:av-cli/av:ref:refs/heads/main.
func cmdTrustWeb(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		badUsage(ts, "trustweb")
	}
	standinOf(ts).TrustWebIdentity(args[0], args[1])
}

// instancerole ROLE_ARN|none: the role whose credentials IMDS serves (default
// arn:aws:iam::123456789012:role/standin-instance), or none attached.
func cmdInstanceRole(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		badUsage(ts, "instancerole")
	}
	role := args[0]
	if role == "none" {
		role = ""
	}
	standinOf(ts).SetInstanceRole(role)
}
