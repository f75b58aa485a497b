package env

import (
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
