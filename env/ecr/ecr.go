package ecr

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
)

// Registry is one registry's credentials as the clients want them.
type Registry struct {
	Host    string    // bare host[:port], no scheme, no path
	Auth    string    // base64("AWS:" + password), as GetAuthorizationToken returns it
	Expires time.Time // when the token stops working
}

// Mint asks ECR for a registry token in region, with the credentials and endpoint
// settings in cfg. The host is the one ECR names in proxyEndpoint.
func Mint(ctx context.Context, cfg aws.Config, region string) (Registry, error) {
	if region == "" {
		return Registry{}, errors.New("no region for the ECR token")
	}
	client := awsecr.NewFromConfig(cfg, func(o *awsecr.Options) { o.Region = region })
	out, err := client.GetAuthorizationToken(ctx, &awsecr.GetAuthorizationTokenInput{})
	if t := timeout(err); t != nil {
		return Registry{}, t
	}
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

// timeout is err's profiles.TimeoutError, if it is one, without the SDK's "operation
// error ECR: GetAuthorizationToken, …" around it: it names the service and the region.
func timeout(err error) error {
	var t *profiles.TimeoutError
	if errors.As(err, &t) {
		return t
	}
	return nil
}

// registryHost strips the scheme and any path from ECR's proxyEndpoint: the clients key
// their credentials by bare host, in lower case as Logins keys are (KeyHost), and a host
// outside docker's grammar for one (letters, digits, dots and dashes, or a bracketed IPv6
// address, then an optional port) is not one any client would look up.
func registryHost(endpoint string) (string, error) {
	h := endpoint
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	h = strings.ToLower(h)
	if !patterns().host.MatchString(h) {
		return "", fmt.Errorf("proxyEndpoint %q does not name a registry host", endpoint)
	}
	return h, nil
}

func validAuth(auth string) bool {
	user, pass, ok := SplitAuth(auth)
	return ok && user != "" && pass != ""
}

// PublicHost is ECR Public's registry. Its tokens come from ecr-public in us-east-1.
const PublicHost = "public.ecr.aws"

const publicRegion = "us-east-1"

// MintPublic asks ECR Public for a token for public.ecr.aws.
func MintPublic(ctx context.Context, cfg aws.Config) (Registry, error) {
	client := ecrpublic.NewFromConfig(cfg, func(o *ecrpublic.Options) { o.Region = publicRegion })
	out, err := client.GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
	if t := timeout(err); t != nil {
		return Registry{}, t
	}
	if err != nil {
		return Registry{}, fmt.Errorf("minting an ECR Public token: %w", err)
	}
	if out.AuthorizationData == nil || !validAuth(aws.ToString(out.AuthorizationData.AuthorizationToken)) {
		return Registry{}, errors.New("minting an ECR Public token: the answer has no usable token")
	}
	return Registry{
		Host:    PublicHost,
		Auth:    aws.ToString(out.AuthorizationData.AuthorizationToken),
		Expires: aws.ToTime(out.AuthorizationData.ExpiresAt),
	}, nil
}

// RegistrySpec is one registry a run logs in to, from av_registries in the profile or
// --registry: ENTRY[=PROFILE], where ENTRY is an ECR registry host, public.ecr.aws, or a
// region (the registry ECR names for the identity in that region).
type RegistrySpec struct {
	Host    string // the registry host; "" for a region entry (ECR's proxyEndpoint names it)
	Region  string // where the token is minted
	Public  bool   // ECR Public
	Profile string // whose credentials mint it; "" means the run's profile
}

// For returns the spec with its profile set: an entry that names no profile is minted
// with the run's.
func (s RegistrySpec) For(run string) RegistrySpec {
	if s.Profile == "" {
		s.Profile = run
	}
	return s
}

func (s RegistrySpec) String() string {
	name := s.Host
	if name == "" {
		name = "ECR in " + s.Region
	}
	return name
}

// registryPatterns recognise registry entries.
type registryPatterns struct {
	// ecrHost: ACCOUNT.dkr.ecr[-fips].REGION.DOMAIN, and dual-stack
	// ACCOUNT.dkr-ecr[-fips].REGION.DOMAIN. Like the ECR credential helper, either
	// separator is taken with any domain; the domain must be a partition's that has REGION.
	ecrHost     *regexp.Regexp
	region      *regexp.Regexp
	profileName *regexp.Regexp
	partitions  []compiledPartition
	host        *regexp.Regexp // a registry host[:port] in lower case (registryHost)
}

// patterns are compiled on first use, not at start-up: every av run pays for package
// initialisation, and most parse no registry entry.
var patterns = sync.OnceValue(func() registryPatterns {
	return registryPatterns{
		ecrHost: regexp.MustCompile(`^[0-9]{12}\.dkr[.-]ecr(-fips)?\.([a-z0-9-]+)\.([a-z0-9.-]+)$`),
		// Two letters, or four (eusc-de-east-1), then words and a number: every
		// partition's regions (partitions), and any the SDK does not know yet.
		region:      regexp.MustCompile(`^[a-z]{2}([a-z]{2})?(-[a-z]+)+-[0-9]+$`),
		profileName: regexp.MustCompile(`^[A-Za-z0-9_.@+-]+$`),
		partitions:  compilePartitions(),
		host:        regexp.MustCompile(`^([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:[0-9]+)?$`),
	}
})

// publicHosts are ECR Public's registry, IPv4 and dual-stack.
var publicHosts = []string{PublicHost, "ecr-public.aws.com"}

// ParseRegistry reads one ENTRY[=PROFILE].
func ParseRegistry(entry string) (RegistrySpec, error) {
	p := patterns()
	target, profile, hasProfile := strings.Cut(strings.TrimSpace(entry), "=")
	target = strings.ToLower(strings.TrimSpace(target))
	profile = strings.TrimSpace(profile)
	if hasProfile && !p.profileName.MatchString(profile) {
		return RegistrySpec{}, fmt.Errorf("registry %q: %q is not a profile name", entry, profile)
	}
	spec := RegistrySpec{Profile: profile}
	m := p.ecrHost.FindStringSubmatch(target)
	known, has := false, false
	if m != nil {
		known, has = domainHasRegion(p.partitions, m[3], m[2])
	}
	switch {
	case slices.Contains(publicHosts, target):
		spec.Host, spec.Region, spec.Public = target, publicRegion, true
	case known && !has:
		return RegistrySpec{}, fmt.Errorf("registry %q: %s is not a region of %s (%s)", entry, m[2], m[3], partitionNames(m[3]))
	case known:
		spec.Host, spec.Region = target, m[2]
	case p.region.MatchString(target):
		spec.Region = target
	default:
		return RegistrySpec{}, fmt.Errorf("registry %q is not an ECR registry host (ACCOUNT.dkr.ecr.REGION.amazonaws.com), public.ecr.aws or a region", entry)
	}
	if !p.region.MatchString(spec.Region) {
		return RegistrySpec{}, fmt.Errorf("registry %q: %q is not a region", entry, spec.Region)
	}
	return spec, nil
}

// ParseRegistries reads a list of entries separated by commas or white space.
func ParseRegistries(list string) ([]RegistrySpec, error) {
	var specs []RegistrySpec
	for _, f := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		s, err := ParseRegistry(f)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	return specs, nil
}
