package main

import "testing"

func TestShellWord(t *testing.T) {
	for in, want := range map[string]string{
		"dev":           "dev",
		"prod-eu_1.a@b": "prod-eu_1.a@b",
		"my profile":    "'my profile'",
		"it's":          `'it'\''s'`,
		"$(rm -rf ~)":   "'$(rm -rf ~)'",
		"dev\x1b[2J":    `"dev\x1b[2J"`,
		"tab\there":     `"tab\there"`,
		"bad\xffutf8":   `"bad\xffutf8"`,
		"":              "''",
		"\u202eevil":    `"\u202eevil"`,
	} {
		if got := shellWord(in); got != want {
			t.Errorf("shellWord(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"dev":         "dev",
		"my profile":  "my profile", // prose needs no shell quoting
		"it's":        "it's",
		"café":        "café",
		"dev\x1b[2J":  `"dev\x1b[2J"`,
		"tab\there":   `"tab\there"`,
		"bad\xffutf8": `"bad\xffutf8"`,
		"\u202eevil":  `"\u202eevil"`,
		"":            "",
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %s, want %s", in, got, want)
		}
	}
}
