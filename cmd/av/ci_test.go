package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/av-cli/av/env/ecr"
)

func TestMasker(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("AWS:the-password"))
	var out bytes.Buffer
	m := ciMasks(func(k string) string { return map[string]string{"GITHUB_ACTIONS": "true"}[k] }, &out)
	m.add(ecr.Logins{"b.example": auth, "a.example": auth}, []string{"AKIAKEY", "secret", ""})
	m.add(ecr.Logins{"a.example": auth}, nil) // a renewal with the same token: nothing new
	want := "::add-mask::" + auth + "\n::add-mask::the-password\n::add-mask::AKIAKEY\n::add-mask::secret\n"
	if out.String() != want {
		t.Errorf("mask lines:\n%s\nwant:\n%s", out.String(), want)
	}

	out.Reset()
	m = ciMasks(func(string) string { return "" }, &out)
	m.add(ecr.Logins{"a.example": auth}, []string{"secret"})
	if out.Len() != 0 {
		t.Errorf("masks printed off GitHub Actions: %q", out.String())
	}

	out.Reset()
	m = ciMasks(func(string) string { return "true" }, &out)
	m.add(nil, []string{"two\nlines"})
	if strings.Contains(out.String(), "two") {
		t.Errorf("a value with a line break was printed: %q", out.String())
	}

	// Once the command runs, it may be mid-line: each batch starts on a fresh line.
	out.Reset()
	m = ciMasks(func(string) string { return "true" }, &out)
	m.started()
	if !m.add(ecr.Logins{"a.example": auth}, nil) || out.String() != "\n::add-mask::"+auth+"\n::add-mask::the-password\n" {
		t.Errorf("a renewal's masks: %q", out.String())
	}
	if m.add(ecr.Logins{"a.example": auth}, nil) {
		t.Errorf("a token masked already was masked again")
	}
}
