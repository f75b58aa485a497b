package env

import (
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// MarkerVar is set in the child to the profile name, so a nested av (and a shell prompt)
// can tell it runs inside av.
const MarkerVar = "AV_PROFILE"

// RegistryVar is set in the child to the profile's own ECR registry host, the one ECR
// names for its account and region, so a script can `docker push "$AV_REGISTRY/app:v1"`
// without knowing its account.
const RegistryVar = "AV_REGISTRY"

// stripped are never inherited by the child: credentials of any kind (they would beat the
// ones av sets), the vault's own passphrase, and DOCKER_AUTH_CONFIG (docker 28.3+ prefers it
// to every file av writes).
var stripped = []string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"AWS_CREDENTIAL_EXPIRATION", "AWS_CREDENTIAL_FILE", "AWS_DEFAULT_PROFILE", "AWS_PROFILE",
	"AWS_SDK_LOAD_CONFIG",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
	"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_VAULT_FILE_PASSPHRASE",
	"DOCKER_AUTH_CONFIG",
}

// Child describes what the child is given on top of the parent's environment.
type Child struct {
	Profile string
	Region  string
	// Registry is the profile's own ECR registry host (RegistryVar); "" for a profile
	// with no region, which has none.
	Registry    string
	Credentials aws.Credentials
	Files       Files
	// RegistryOnly gives the command no AWS credentials at all (--registry-only): only the
	// registry files and the region.
	RegistryOnly bool
	// Endpoint, if set, gives the command the credential endpoint instead of keys.
	Endpoint *CredentialServer
	// Platform gives the command the platform's own credentials as it would find them
	// without av (the container endpoint's variables, or nothing for an instance role),
	// instead of keys: its SDK renews them, where fixed keys would run out.
	Platform bool
}

// platformVars are the container credentials' variables, passed on with Platform.
var platformVars = []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"}

// registryOnlyStripped are also kept from a registry-only command: what would let it get AWS
// credentials of its own from the job's identity.
var registryOnlyStripped = []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}

// HandedCredentials lists the secrets the command's environment holds (none for a
// registry-only command): the access key id, secret key and session token, or the
// endpoint's token.
func (c Child) HandedCredentials() []string {
	if c.RegistryOnly || (c.Platform && c.Endpoint == nil) {
		return nil // the platform's, as the job has them: not av's to mask
	}
	if c.Endpoint != nil {
		return []string{c.Endpoint.Token}
	}
	return []string{c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey, c.Credentials.SessionToken}
}

// Environ returns the child's environment: parent minus every inherited credential and
// secret, plus what `aws-vault exec` sets, the three registry variables and the marker.
func (c Child) Environ(parent []string) []string {
	drop := setOf(stripped)
	set := [][2]string{
		{"AWS_VAULT", c.Profile},
		{MarkerVar, c.Profile},
		{"DOCKER_CONFIG", c.Files.DockerConfig},
		{"REGISTRY_AUTH_FILE", c.Files.AuthFile},
		{"HELM_REGISTRY_CONFIG", c.Files.HelmConfig},
	}
	if c.RegistryOnly {
		for _, k := range registryOnlyStripped {
			drop[k] = true
		}
		// Nor an instance role's, which the SDKs would find on their own.
		set = append(set, [2]string{"AWS_EC2_METADATA_DISABLED", "true"})
	} else if c.Endpoint != nil {
		set = append(set,
			[2]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", c.Endpoint.URL},
			[2]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN", c.Endpoint.Token})
	} else if c.Platform {
		for _, k := range platformVars {
			delete(drop, k)
		}
	} else {
		set = append(set,
			[2]string{"AWS_ACCESS_KEY_ID", c.Credentials.AccessKeyID},
			[2]string{"AWS_SECRET_ACCESS_KEY", c.Credentials.SecretAccessKey})
		if c.Credentials.SessionToken != "" {
			set = append(set, [2]string{"AWS_SESSION_TOKEN", c.Credentials.SessionToken})
		}
		if c.Credentials.CanExpire {
			set = append(set, [2]string{"AWS_CREDENTIAL_EXPIRATION", c.Credentials.Expires.UTC().Format(time.RFC3339)})
		}
	}
	if c.Region != "" {
		// Most SDKs read AWS_REGION; boto3 and the AWS CLI v1 read AWS_DEFAULT_REGION.
		set = append(set, [2]string{"AWS_REGION", c.Region}, [2]string{"AWS_DEFAULT_REGION", c.Region})
	}
	// An AV_REGISTRY from outside is never the run's: set anew, or not at all.
	drop[RegistryVar] = true
	if c.Registry != "" {
		set = append(set, [2]string{RegistryVar, c.Registry})
	}
	for _, kv := range set {
		drop[kv[0]] = true
	}

	out := without(parent, drop)
	for _, kv := range set {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

// withoutSecrets is parent minus every variable of stripped: the environment of a program
// av runs for itself (a docker credential store), which is not the command and gets none
// of the credentials or the passphrase av's own environment may hold (a CI job's keys).
func withoutSecrets(parent []string) []string {
	return without(parent, setOf(stripped))
}

// without is environ minus the variables drop holds.
func without(environ []string, drop map[string]bool) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

func setOf(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}
