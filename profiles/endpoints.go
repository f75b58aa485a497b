package profiles

import (
	"context"
	"os"
	"strings"

	ini "gopkg.in/ini.v1"
)

// fileEndpoints are a profile's endpoint settings in the AWS config file: endpoint_url,
// the services section it names, and ignore_configured_endpoint_urls.
//
// av cannot let the SDK load the profile itself: the SDK also validates the profile's
// credential settings and fails on ordinary aws-vault profiles (a role whose source
// profile's keys are in the vault, not in ~/.aws/credentials). So av reads these keys
// here and plugs them into the SDK's own resolution, keeping its order: service-specific
// env var, AWS_ENDPOINT_URL, the services section, then the profile's endpoint_url.
type fileEndpoints struct {
	global   string
	services map[string]string // keyed as in the services section: sts, ecr, ecr_public, sso_oidc
	ignore   bool
}

// readFileEndpoints reads the endpoint settings of profile from the config file. A
// missing file or profile gives none.
func readFileEndpoints(cfg *Config, profile string) fileEndpoints {
	var fe fileEndpoints
	f, s := cfg.profileSection(profile)
	if s == nil {
		return fe
	}
	fe.global = strings.TrimSpace(s.Key("endpoint_url").String())
	fe.ignore = strings.EqualFold(strings.TrimSpace(s.Key("ignore_configured_endpoint_urls").String()), "true")
	if name := strings.TrimSpace(s.Key("services").String()); name != "" && f.HasSection("services "+name) {
		fe.services = map[string]string{}
		for _, k := range f.Section("services " + name).Keys() {
			for _, nested := range k.NestedValues() {
				nk, nv, ok := strings.Cut(nested, "=")
				if ok && strings.EqualFold(strings.TrimSpace(nk), "endpoint_url") {
					fe.services[strings.ToLower(k.Name())] = strings.TrimSpace(nv)
				}
			}
		}
	}
	if strings.EqualFold(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		fe.ignore = true
	}
	return fe
}

// GetServiceBaseEndpoint answers the SDK's per-service lookup (configsources.ServiceBaseEndpointProvider).
func (fe fileEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if fe.ignore {
		return "", false, nil
	}
	v, ok := fe.services[strings.ReplaceAll(strings.ToLower(sdkID), " ", "_")]
	return v, ok && v != "", nil
}

// GetIgnoreConfiguredEndpoints answers the SDK's opt-out lookup.
func (fe fileEndpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return fe.ignore, fe.ignore, nil
}

// profileSection is the config file's section for profile ([profile NAME], or [default]),
// with aws-vault's parse options. A missing file or section gives nil.
func (c *Config) profileSection(profile string) (*ini.File, *ini.Section) {
	f := c.ini()
	if f == nil {
		return nil, nil
	}
	name := "profile " + profile
	if profile == "default" && !f.HasSection(name) {
		name = "default"
	}
	if !f.HasSection(name) {
		return f, nil
	}
	return f, f.Section(name)
}

// AVSetting returns the value of an av_ key in the profile's own section, with its nested
// lines (the AWS CLI's "key =" followed by indented lines) joined by newlines. The AWS CLI,
// the SDKs and aws-vault ignore keys they do not know, so av keeps its settings there.
func (c *Config) AVSetting(profile, key string) string {
	_, s := c.profileSection(profile)
	if s == nil || !s.HasKey(key) {
		return ""
	}
	k := s.Key(key)
	return strings.TrimSpace(strings.Join(append([]string{k.String()}, k.NestedValues()...), "\n"))
}
