package profiles

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseBool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
		ok   bool
	}{
		{"true", true, true},
		{"TRUE", true, true},
		{" Yes ", true, true},
		{"on", true, true},
		{"On", true, true},
		{"1", true, true},
		{"false", false, true},
		{"False", false, true},
		{"no", false, true},
		{"OFF", false, true},
		{"\t0\n", false, true},
		{"", false, false},
		{"ture", false, false},
		{"y", false, false},
		{"2", false, false},
		{"enabled", false, false},
		{"true false", false, false},
	} {
		got, err := ParseBool(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	_, err := ParseBool("ture")
	if want := `"ture" is not a boolean (true/false, yes/no, on/off, 1/0)`; err == nil || err.Error() != want {
		t.Errorf("ParseBool(ture) error = %v, want %s", err, want)
	}
	// A word from a file is quoted: it cannot drive the terminal the error is printed on.
	if _, err := ParseBool("\x1b[2Jyes"); err == nil || err.Error() != `"\x1b[2Jyes" is not a boolean (true/false, yes/no, on/off, 1/0)` {
		t.Errorf("ParseBool(escape) error = %v", err)
	}
}

func TestAVBool(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(`
[profile dev]
av_registry_only = ture
av_ecs_server = Off
av_empty =

[profile ci]
av_registry_only = YES
av_ecs_server =
  on

[default]
av_registry_only = 1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", path)
	cfg, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		profile, key string
		value, set   bool
		err          string
	}{
		{"dev", "av_registry_only", false, true, `profile "dev": av_registry_only: "ture" is not a boolean (true/false, yes/no, on/off, 1/0)`},
		{"dev", "av_ecs_server", false, true, ""},
		{"dev", "av_empty", false, false, ""}, // empty means unset
		{"dev", "av_missing", false, false, ""},
		{"ci", "av_registry_only", true, true, ""},
		{"ci", "av_ecs_server", true, true, ""}, // a nested line, as the AWS CLI writes them
		{"default", "av_registry_only", true, true, ""},
		{"nosuch", "av_registry_only", false, false, ""},
	} {
		value, set, err := cfg.AVBool(tc.profile, tc.key)
		if value != tc.value || set != tc.set || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("AVBool(%s, %s) = %v, %v, %v; want %v, %v, %q", tc.profile, tc.key, value, set, err, tc.value, tc.set, tc.err)
		}
	}
}
