package pbes2

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dvsekhvalnov/jose2go/base64url"
)

// FuzzItemHeader reads arbitrary file items' headers ahead of the decrypt, as Start does.
// Whatever the file holds, nothing panics, and a header the derivation ahead accepts is one
// jose2go reads the same way, with the same salt and rounds as the decrypt's key management
// (Params) takes from it, within MaxRounds: a key derived ahead is the key the decrypt wants.
func FuzzItemHeader(f *testing.F) {
	header := func(h string) string { return base64.RawURLEncoding.EncodeToString([]byte(h)) }
	for _, seed := range []string{
		// A real item's header, as keyring writes it through jose2go.
		"eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJjcmVhdGVkIjoiZ29sZGVuIiwiZW5jIjoiQTI1NkdDTSIsInAyYyI6ODE5MiwicDJzIjoiZGdrY0E1U3pBMWJCcmpfUSJ9.efuGcqqdpkP83x0houJpYYGZMZN2l94Xbzvq-nEPJ18hEZ6GnOo1gA.hLb7Gb9uBHECYH09.VAQhMqpb.iiTaCK-naXyfUVrYFPij0Q",
		header(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":"dGhpcyBpcyBzYWx0"}`) + ".k.i.c.t",
		header(`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192.0,"p2s":"dGhpcyBpcyBzYWx0"}`) + ".k.i.c.t",
		header(`{"alg":"PBES2-HS256+A128KW","p2c":16777217,"p2s":""}`) + ".....",
		header(`{"alg":"PBES2-HS512+A256KW","p2c":8192,"p2s":"c2FsdA"}`) + ".",
		header(`{"alg":"dir","enc":"A256GCM"}`) + "..iv.c.t",
		"not a JWE", "", ".", "e30.",
	} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	path := filepath.Join(dir, "item")
	f.Fuzz(func(t *testing.T, item []byte) {
		if err := os.WriteFile(path, item, 0o600); err != nil {
			t.Fatal(err)
		}
		salt, rounds, ok := itemSalt(path)
		if !ok {
			return
		}
		if rounds < 1 || rounds > MaxRounds {
			t.Fatalf("rounds %d ahead", rounds)
		}
		if !bytes.HasPrefix(salt, append([]byte(Alg), 0)) {
			t.Fatalf("salt %q ahead lacks the algorithm's name", salt)
		}
		// The header as jose2go reads it (compact.Parse, then json into a map).
		encoded, _, _ := strings.Cut(string(item), ".")
		raw, err := base64url.Decode(encoded)
		if err != nil {
			t.Fatalf("read ahead, but jose2go cannot decode the header: %v", err)
		}
		var h map[string]any
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatalf("read ahead, but jose2go cannot parse the header: %v", err)
		}
		if h["alg"] != Alg {
			t.Fatalf("read ahead, but jose2go takes alg %v", h["alg"])
		}
		s, r, err := Params(h)
		if err != nil || r != rounds || !bytes.Equal(s, salt) {
			t.Fatalf("ahead: %d rounds of salt %q; the decrypt: %d rounds of %q, %v", rounds, salt, r, s, err)
		}
	})
}

// FuzzParams: whatever a header holds, Params gives a salt and rounds within bounds, or an
// error, never a panic.
func FuzzParams(f *testing.F) {
	for _, seed := range []string{
		`{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":"dGhpcyBpcyBzYWx0"}`,
		`{"p2c":1e300,"p2s":"x"}`, `{"p2c":-1,"p2s":""}`, `{"p2c":8192.5,"p2s":""}`, `{"p2c":"8192","p2s":"c2FsdA"}`,
		`{"p2c":8192,"p2s":7}`, `{"p2c":8192,"p2s":"!!"}`, `{}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, header []byte) {
		var h map[string]any
		if json.Unmarshal(header, &h) != nil {
			return
		}
		salt, rounds, err := Params(h)
		if err != nil {
			return
		}
		if rounds < 1 || rounds > MaxRounds || !bytes.HasPrefix(salt, append([]byte(Alg), 0)) {
			t.Fatalf("%s: %d rounds, salt %q", header, rounds, salt)
		}
	})
}
