package ecr

import (
	"encoding/base64"
	"reflect"
	"testing"
)

func TestParseRegistry(t *testing.T) {
	tests := []struct {
		in   string
		want RegistrySpec
	}{
		{"123456789012.dkr.ecr.eu-west-1.amazonaws.com", RegistrySpec{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Region: "eu-west-1"}},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", RegistrySpec{Host: "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", Region: "cn-north-1"}},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", RegistrySpec{Host: "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", Region: "us-gov-west-1"}},
		{"123456789012.dkr-ecr.us-east-2.on.aws", RegistrySpec{Host: "123456789012.dkr-ecr.us-east-2.on.aws", Region: "us-east-2"}},
		{"123456789012.DKR.ECR.eu-west-1.amazonaws.com=shared", RegistrySpec{Host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com", Region: "eu-west-1", Profile: "shared"}},
		{"public.ecr.aws", RegistrySpec{Host: "public.ecr.aws", Region: "us-east-1", Public: true}},
		{"us-west-2", RegistrySpec{Region: "us-west-2"}},
		{" ap-southeast-1 = base-images ", RegistrySpec{Region: "ap-southeast-1", Profile: "base-images"}},
	}
	for _, tt := range tests {
		got, err := ParseRegistry(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRegistry(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "docker.io", "12345.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr..amazonaws.com", "us-west", "eu-west-1=", "eu-west-1=a b", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"} {
		if got, err := ParseRegistry(bad); err == nil {
			t.Errorf("ParseRegistry(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestParseRegistries(t *testing.T) {
	got, err := ParseRegistries("us-west-2=shared,\n  public.ecr.aws  123456789012.dkr.ecr.eu-west-1.amazonaws.com")
	if err != nil || len(got) != 3 || got[0].Profile != "shared" || !got[1].Public || got[2].Region != "eu-west-1" {
		t.Errorf("ParseRegistries = %+v, %v", got, err)
	}
	if got, err := ParseRegistries(""); err != nil || len(got) != 0 {
		t.Errorf("ParseRegistries(\"\") = %+v, %v", got, err)
	}
}

// TestParseRegistryPartitions: the registry hosts of every AWS partition, as the ECR
// credential helper (ecr-login/api ExtractRegistry) knows them, name their region.
func TestParseRegistryPartitions(t *testing.T) {
	const acct = "123456789012"
	hosts := []struct{ host, region string }{
		// aws and aws-us-gov: IPv4, FIPS, dual-stack, dual-stack FIPS.
		{acct + ".dkr.ecr.us-east-1.amazonaws.com", "us-east-1"},
		{acct + ".dkr.ecr-fips.us-west-2.amazonaws.com", "us-west-2"},
		{acct + ".dkr-ecr.us-west-2.on.aws", "us-west-2"},
		{acct + ".dkr-ecr-fips.us-west-2.on.aws", "us-west-2"},
		{acct + ".dkr.ecr.mx-central-1.amazonaws.com", "mx-central-1"},
		{acct + ".dkr.ecr.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
		{acct + ".dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"},
		{acct + ".dkr-ecr.us-gov-east-1.on.aws", "us-gov-east-1"},
		{acct + ".dkr-ecr-fips.us-gov-east-1.on.aws", "us-gov-east-1"},
		// aws-cn, and its dual-stack hosts (the helper writes them with either separator).
		{acct + ".dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"},
		{acct + ".dkr.ecr.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1"},
		{acct + ".dkr-ecr.cn-north-1.on.amazonwebservices.com.cn", "cn-north-1"},
		{acct + ".dkr.ecr.cn-north-1.on.amazonwebservices.com.cn", "cn-north-1"},
		{acct + ".dkr-ecr.cn-northwest-1.on.amazonwebservices.com.cn", "cn-northwest-1"},
		// aws-eusc, the AWS European Sovereign Cloud.
		{acct + ".dkr.ecr.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1"},
		// The ISO partitions.
		{acct + ".dkr.ecr.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"},
		{acct + ".dkr.ecr.us-iso-west-1.c2s.ic.gov", "us-iso-west-1"},
		{acct + ".dkr.ecr-fips.us-iso-east-1.c2s.ic.gov", "us-iso-east-1"},
		{acct + ".dkr.ecr.us-isob-east-1.sc2s.sgov.gov", "us-isob-east-1"},
		{acct + ".dkr.ecr.eu-isoe-west-1.cloud.adc-e.uk", "eu-isoe-west-1"},
		{acct + ".dkr.ecr.us-isof-south-1.csp.hci.ic.gov", "us-isof-south-1"},
		{acct + ".dkr.ecr.us-isof-east-1.csp.hci.ic.gov", "us-isof-east-1"},
	}
	for _, h := range hosts {
		got, err := ParseRegistry(h.host)
		if want := (RegistrySpec{Host: h.host, Region: h.region}); err != nil || got != want {
			t.Errorf("ParseRegistry(%q) = %+v, %v; want %+v", h.host, got, err, want)
		}
	}

	// A region of each partition, on its own: ECR's registry there for the identity.
	for _, region := range []string{"us-east-1", "us-gov-west-1", "cn-north-1", "eusc-de-east-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1"} {
		if got, err := ParseRegistry(region); err != nil || got != (RegistrySpec{Region: region}) {
			t.Errorf("ParseRegistry(%q) = %+v, %v", region, got, err)
		}
	}

	// ECR Public's dual-stack host is ECR Public too.
	if got, err := ParseRegistry("ecr-public.aws.com"); err != nil || got != (RegistrySpec{Host: "ecr-public.aws.com", Region: "us-east-1", Public: true}) {
		t.Errorf("ParseRegistry(ecr-public.aws.com) = %+v, %v", got, err)
	}

	for _, bad := range []string{
		// A region under another partition's domain: no such registry.
		acct + ".dkr.ecr.eu-west-1.amazonaws.com.cn",
		acct + ".dkr.ecr.cn-north-1.amazonaws.com",
		acct + ".dkr.ecr.us-east-1.c2s.ic.gov",
		acct + ".dkr.ecr.us-iso-east-1.sc2s.sgov.gov",
		acct + ".dkr.ecr.eusc-de-east-1.amazonaws.com",
		acct + ".dkr.ecr.eu-west-1.amazonaws.eu",
		acct + ".dkr-ecr.cn-north-1.on.aws",
		// Look-alikes, as in the helper's tests.
		acct + ".dkr.ecr.cn-north-1.on.aws.com.cn",
		acct + ".dkr.ecr.us-west-2.amazonaws.com.fake.example.com",
		acct + ".dkr.ecr-fips.us-gov-west-1.amazonaws.com.fake.example.com",
		acct + ".dkr.ecr.us-iso-east-1.ic.gov",
		acct + ".dkr.ecr.us-isof-south-1.hci.ic.gov",
		acct + ".dkr_ecr.us-west-2.on.aws",
		"dkr.ecr.eusc-de-east-1.amazonaws.eu",
		"ecr-public.aws.com.cn",
	} {
		if got, err := ParseRegistry(bad); err == nil {
			t.Errorf("ParseRegistry(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestRegistryHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"},
		{"https://123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"},
		{"http://127.0.0.1:5000", "127.0.0.1:5000"},
		{"127.0.0.1:5000/v2/", "127.0.0.1:5000"},
		{"https://123456789012.DKR.ECR.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com"}, // keyed in lower case, as Logins are
		{"http://[::1]:5000/", "[::1]:5000"},
	}
	for _, tt := range tests {
		got, err := registryHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("registryHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "https://", "https:///path", "https://user@host", "https://host?x=1", "https://host\x00", "https://host:port", "https://host name", "https://\"host\""} {
		if got, err := registryHost(bad); err == nil {
			t.Errorf("registryHost(%q) = %q, want an error", bad, got)
		}
	}
}

func TestValidAuth(t *testing.T) {
	good := base64.StdEncoding.EncodeToString([]byte("AWS:pw"))
	if !validAuth(good) {
		t.Errorf("validAuth(base64 AWS:pw) = false")
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString([]byte("nocolon")), base64.StdEncoding.EncodeToString([]byte("AWS:"))} {
		if validAuth(bad) {
			t.Errorf("validAuth(%q) = true", bad)
		}
	}
}
