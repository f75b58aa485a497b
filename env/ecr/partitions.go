package ecr

import (
	"regexp"
	"strings"
)

// partition is an AWS partition as ECR registry hosts see it: which regions it has and
// the domains its registries are under.
type partition struct {
	name string
	// regions is the partition's regionRegex in the SDK's data.
	regions string
	// domains are the DNS suffixes of its registries: ACCOUNT.dkr.ecr.REGION.<domain>. The
	// first is the partition's dnsSuffix; a second is ECR's dual-stack domain (not the
	// partition's dualStackDnsSuffix, which ECR's registries do not use).
	domains []string
}

// partitions are every AWS partition, from the SDK's partition data
// (github.com/aws/aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json; internal, so
// copied here, and TestPartitionsMatchSDK checks the copy against the SDK in go.mod). The
// dual-stack domains are the ECR credential helper's (ecr-login/api ExtractRegistry): the
// SDK's data has none for registries, and the helper has none for the ISO partitions or
// the European Sovereign Cloud.
var partitions = []partition{
	{"aws", `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, []string{"amazonaws.com", "on.aws"}},
	{"aws-cn", `^cn\-\w+\-\d+$`, []string{"amazonaws.com.cn", "on.amazonwebservices.com.cn"}},
	{"aws-eusc", `^eusc\-(de)\-\w+\-\d+$`, []string{"amazonaws.eu"}},
	{"aws-iso", `^us\-iso\-\w+\-\d+$`, []string{"c2s.ic.gov"}},
	{"aws-iso-b", `^us\-isob\-\w+\-\d+$`, []string{"sc2s.sgov.gov"}},
	{"aws-iso-e", `^eu\-isoe\-\w+\-\d+$`, []string{"cloud.adc-e.uk"}},
	{"aws-iso-f", `^us\-isof\-\w+\-\d+$`, []string{"csp.hci.ic.gov"}},
	{"aws-us-gov", `^us\-gov\-\w+\-\d+$`, []string{"amazonaws.com", "on.aws"}},
}

// compiledPartition is a partition with its region pattern compiled.
type compiledPartition struct {
	partition
	regionRE *regexp.Regexp
}

func compilePartitions() []compiledPartition {
	out := make([]compiledPartition, len(partitions))
	for i, p := range partitions {
		out[i] = compiledPartition{p, regexp.MustCompile(p.regions)}
	}
	return out
}

// domainHasRegion tells whether domain is a registry domain of a partition that has region,
// and if the domain is known at all.
func domainHasRegion(ps []compiledPartition, domain, region string) (known, has bool) {
	for _, p := range ps {
		for _, d := range p.domains {
			if d == domain {
				known = true
				if p.regionRE.MatchString(region) {
					return true, true
				}
			}
		}
	}
	return known, false
}

// partitionNames names the partitions that use domain, for an error message.
func partitionNames(domain string) string {
	var names []string
	for _, p := range partitions {
		for _, d := range p.domains {
			if d == domain {
				names = append(names, p.name)
			}
		}
	}
	return strings.Join(names, ", ")
}
