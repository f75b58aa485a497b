package profiles

import "testing"

// The Secret Service escapes a collection's name in its object path as keyring unescapes
// it: "aws vault" is /org/freedesktop/secrets/collection/aws_20vault.
func TestUnescapeBusPath(t *testing.T) {
	for in, want := range map[string]string{"login": "login", "aws_20vault": "aws vault", "a_2db": "a-b", "x_": "x_", "x_z": "x_z", "x_zz": "x_zz"} {
		if got := unescapeBusPath(in); got != want {
			t.Errorf("unescapeBusPath(%q) = %q, want %q", in, got, want)
		}
	}
}
