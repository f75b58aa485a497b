package ecr

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestPartitionsMatchSDK checks the partitions table against the partition data of the
// SDK that go.mod requires: a new partition, or a changed region pattern or domain, fails
// here until the table has it.
func TestPartitionsMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Fatalf("finding the SDK's module directory: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the SDK's partition data: %v (run go mod download)", err)
	}
	var data struct {
		Partitions []struct {
			ID          string `json:"id"`
			RegionRegex string `json:"regionRegex"`
			Regions     map[string]struct{}
			Outputs     struct {
				DNSSuffix string `json:"dnsSuffix"`
			} `json:"outputs"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(raw, &data); err != nil {
		t.Fatal(err)
	}
	ours := map[string]partition{}
	for _, p := range partitions {
		ours[p.name] = p
	}
	ps := compilePartitions()
	for _, sdk := range data.Partitions {
		p, ok := ours[sdk.ID]
		if !ok {
			t.Errorf("partition %s (%s) is missing from the table", sdk.ID, sdk.Outputs.DNSSuffix)
			continue
		}
		delete(ours, sdk.ID)
		if p.regions != sdk.RegionRegex || p.domains[0] != sdk.Outputs.DNSSuffix {
			t.Errorf("partition %s: table has %s under %s, the SDK %s under %s", sdk.ID, p.regions, p.domains[0], sdk.RegionRegex, sdk.Outputs.DNSSuffix)
		}
		// Every region the SDK lists (but its pseudo-regions such as aws-global) is a
		// region to the parser, and its registry host parses.
		for region := range sdk.Regions {
			if strings.HasSuffix(region, "-global") {
				continue
			}
			if !patterns().region.MatchString(region) {
				t.Errorf("region %s of %s is not a region to ParseRegistry", region, sdk.ID)
			}
			if _, has := domainHasRegion(ps, sdk.Outputs.DNSSuffix, region); !has {
				t.Errorf("region %s is not in partition %s's domain %s", region, sdk.ID, sdk.Outputs.DNSSuffix)
			}
			host := "123456789012.dkr.ecr." + region + "." + sdk.Outputs.DNSSuffix
			if spec, err := ParseRegistry(host); err != nil || spec.Region != region {
				t.Errorf("ParseRegistry(%s) = %+v, %v", host, spec, err)
			}
		}
	}
	for name := range ours {
		t.Errorf("partition %s is not in the SDK's data", name)
	}
}
