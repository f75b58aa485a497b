package env

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"golang.org/x/sys/unix"
)

// Registry is one registry's credentials as the clients want them.
type Registry struct {
	Host    string    // bare host[:port], no scheme, no path
	Auth    string    // base64("AWS:" + password), as GetAuthorizationToken returns it
	Expires time.Time // when the token stops working
}

// MintECR asks ECR for a registry token in region, with the credentials and endpoint
// settings in cfg. The host is the one ECR names in proxyEndpoint.
func MintECR(ctx context.Context, cfg aws.Config, region string) (Registry, error) {
	if region == "" {
		return Registry{}, errors.New("no region for the ECR token: set region in the profile or pass --region")
	}
	client := ecr.NewFromConfig(cfg, func(o *ecr.Options) { o.Region = region })
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return Registry{}, fmt.Errorf("minting an ECR token in %s: %w", region, err)
	}
	if len(out.AuthorizationData) == 0 {
		return Registry{}, fmt.Errorf("minting an ECR token in %s: the answer has no authorization data", region)
	}
	d := out.AuthorizationData[0]
	host, err := registryHost(aws.ToString(d.ProxyEndpoint))
	if err != nil {
		return Registry{}, fmt.Errorf("minting an ECR token in %s: %w", region, err)
	}
	auth := aws.ToString(d.AuthorizationToken)
	if !validAuth(auth) {
		// Never quote the token, even a malformed one.
		return Registry{}, fmt.Errorf("minting an ECR token in %s: the token is not base64 of user:password", region)
	}
	return Registry{Host: host, Auth: auth, Expires: aws.ToTime(d.ExpiresAt)}, nil
}

// registryHost strips the scheme and any path from ECR's proxyEndpoint: the clients key
// their credentials by bare host.
func registryHost(endpoint string) (string, error) {
	h := endpoint
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	if h == "" || strings.ContainsAny(h, " \t\n@") {
		return "", fmt.Errorf("proxyEndpoint %q does not name a registry host", endpoint)
	}
	return h, nil
}

func validAuth(auth string) bool {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	return ok && user != "" && pass != ""
}

// Files are the paths the child's clients read, all inside the run directory.
type Files struct {
	DockerConfig string // a directory holding config.json (DOCKER_CONFIG)
	AuthFile     string // containers-auth.json (REGISTRY_AUTH_FILE)
	HelmConfig   string // helm's registry config (HELM_REGISTRY_CONFIG)
}

// authsFile is the shape every client reads: {"auths": {host: {"auth": ...}}}.
type authsFile struct {
	Auths map[string]authEntry `json:"auths"`
}

type authEntry struct {
	Auth string `json:"auth"`
}

// WriteRegistryFiles writes the docker, containers and helm files for regs, each mode 0600,
// created exclusively and complete before it returns: the child starts after, so it never
// sees a half-written file.
func (d *Dir) WriteRegistryFiles(regs []Registry) (Files, error) {
	f := Files{
		DockerConfig: filepath.Join(d.Path, "docker"),
		AuthFile:     filepath.Join(d.Path, "containers-auth.json"),
		HelmConfig:   filepath.Join(d.Path, "helm-registry.json"),
	}
	if err := os.Mkdir(f.DockerConfig, 0o700); err != nil {
		return Files{}, fmt.Errorf("creating the docker config directory: %w", err)
	}
	doc := authsFile{Auths: map[string]authEntry{}}
	for _, r := range regs {
		doc.Auths[r.Host] = authEntry{Auth: r.Auth}
	}
	data, err := json.MarshalIndent(doc, "", "\t")
	if err != nil {
		return Files{}, err
	}
	data = append(data, '\n')
	for _, p := range []string{filepath.Join(f.DockerConfig, "config.json"), f.AuthFile, f.HelmConfig} {
		if err := writeExclusive(p, data); err != nil {
			return Files{}, fmt.Errorf("writing %s: %w", filepath.Base(p), err)
		}
	}
	return f, nil
}

func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
