package ecr

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// FuzzParseRegistry: an entry av accepts names a region and, unless it is a region entry, a
// bare lower-case host (the key the clients and Logins use); an ECR host's region is the
// one in its name; and the spec written back as an entry parses to the same spec. A bad entry
// is an error, never a panic.
func FuzzParseRegistry(f *testing.F) {
	for _, s := range []string{
		"us-west-2", "public.ecr.aws=x", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com=ci", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
		"123456789012.dkr-ecr.us-east-2.on.aws", " ap-southeast-1 = base-images ", "123456789012.DKR.ECR.eu-west-1.amazonaws.com=shared",
		"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1=", "docker.io", "us-west-2=a=b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, entry string) {
		spec, err := ParseRegistry(entry)
		if err != nil {
			return
		}
		if !patterns().region.MatchString(spec.Region) {
			t.Fatalf("%q gave region %q", entry, spec.Region)
		}
		if spec.Profile != "" && !patterns().profileName.MatchString(spec.Profile) {
			t.Fatalf("%q gave profile %q", entry, spec.Profile)
		}
		if spec.Public != (spec.Host == PublicHost) {
			t.Fatalf("%q: Public = %v for host %q", entry, spec.Public, spec.Host)
		}
		if spec.Host != "" {
			if KeyHost(spec.Host) != spec.Host {
				t.Fatalf("%q gave host %q, which the clients key as %q", entry, spec.Host, KeyHost(spec.Host))
			}
			if !spec.Public && !strings.Contains(spec.Host, "."+spec.Region+".") {
				t.Fatalf("%q: host %q, region %q", entry, spec.Host, spec.Region)
			}
		}
		again := spec.String()
		if spec.Host == "" {
			again = spec.Region
		}
		if spec.Profile != "" {
			again += "=" + spec.Profile
		}
		if back, err := ParseRegistry(again); err != nil || back != spec {
			t.Fatalf("%q → %+v → %q → %+v, %v", entry, spec, again, back, err)
		}
	})
}

// FuzzParseRegistries: a list is its entries, each parsed alone, in order.
func FuzzParseRegistries(f *testing.F) {
	for _, s := range []string{
		"", "us-west-2=shared,\n  public.ecr.aws  123456789012.dkr.ecr.eu-west-1.amazonaws.com",
		"eu-west-1,,eu-west-2", "\n\tus-east-1 = ops\n\tus-east-2", "eu-west-1,nonsense",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		specs, err := ParseRegistries(list)
		if err != nil {
			return
		}
		fields := strings.FieldsFunc(list, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
		var want []RegistrySpec
		for _, field := range fields {
			s, err := ParseRegistry(field)
			if err != nil {
				t.Fatalf("%q accepted, but its entry %q alone is not: %v", list, field, err)
			}
			want = append(want, s)
		}
		if !reflect.DeepEqual(specs, want) {
			t.Fatalf("%q = %+v, want %+v", list, specs, want)
		}
	})
}

// FuzzRegistryHost: ECR's proxyEndpoint, whatever it holds, gives a bare lower-case host the
// clients key their credentials by, or an error; and that host, as an endpoint again, gives
// itself back.
func FuzzRegistryHost(f *testing.F) {
	for _, s := range []string{
		"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", "https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/",
		"http://127.0.0.1:5000", "127.0.0.1:5000/v2/", "https://user@host", "https:///path", "",
		"http://[::1]:5000/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, endpoint string) {
		host, err := registryHost(endpoint)
		if err != nil {
			return
		}
		if host == "" || KeyHost(host) != host {
			t.Fatalf("%q gave host %q, which the clients key as %q", endpoint, host, KeyHost(host))
		}
		for _, r := range host {
			if r <= ' ' || r >= 0x7f || strings.ContainsRune(`"\@/?#`, r) {
				t.Fatalf("%q gave host %q, holding %q", endpoint, host, r)
			}
		}
		if back, err := registryHost("https://" + host + "/"); err != nil || back != host {
			t.Fatalf("%q → %q → %q, %v", endpoint, host, back, err)
		}
	})
}
