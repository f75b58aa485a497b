package profiles

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/99designs/aws-vault/v7/prompt"
)

func TestReadLine(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"123456\n", "123456"},
		{"123456\r\n", "123456"},
		{"pass phrase with spaces\nmore", "pass phrase with spaces"},
		{"no newline at the end", "no newline at the end"},
	} {
		// One byte at a time, as a terminal may hand a line over.
		got, err := readLine(iotest.OneByteReader(strings.NewReader(tt.in)))
		if err != nil || got != tt.want {
			t.Errorf("readLine(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := readLine(strings.NewReader("")); err != io.EOF {
		t.Errorf("readLine of nothing: %v, want EOF", err)
	}
}

func TestMFAPromptMethod(t *testing.T) {
	// aws-vault registers zenity, kdialog, ykman… only where their programs are installed.
	prompt.Methods["av-test-gui"] = func(string) (string, error) { return "", nil }
	defer delete(prompt.Methods, "av-test-gui")
	for _, tt := range []struct{ env, want string }{
		{"", ttyPromptMethod},
		{"terminal", ttyPromptMethod}, // aws-vault's cannot be interrupted: av's stands in
		{"no-such-method", ttyPromptMethod},
		{"av-test-gui", "av-test-gui"},
	} {
		t.Setenv("AWS_VAULT_PROMPT", tt.env)
		if got := mfaPromptMethod(); got != tt.want {
			t.Errorf("AWS_VAULT_PROMPT=%q: %q, want %q", tt.env, got, tt.want)
		}
	}
}
