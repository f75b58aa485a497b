package profiles

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func stateOf(t *testing.T, states []BackendState, name string) BackendState {
	t.Helper()
	for _, s := range states {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no %s among %+v", name, states)
	return BackendState{}
}

// TestBackends: with no session bus, the bus backends are listed as needing one; keyctl,
// as aws-vault opens it, never opens; the file backend always works; pass works only with
// its program and a store that has a gpg key.
func TestBackends(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "disabled:")
	store := t.TempDir()
	bin := t.TempDir()
	pass := filepath.Join(bin, "pass")
	if err := os.WriteFile(pass, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	o := VaultOptions{PassDir: store, PassCmd: pass}
	states := Backends(o)
	if runtime.GOOS == "linux" {
		if s := stateOf(t, states, "secret-service"); s.Problem != BackendNoBus {
			t.Errorf("secret-service with no bus: %+v", s)
		}
		if s := stateOf(t, states, "keyctl"); s.Problem != BackendKeyctlScope {
			t.Errorf("keyctl: %+v", s)
		}
	}
	if s := stateOf(t, states, "file"); s.Problem != BackendWorks {
		t.Errorf("file: %+v", s)
	}
	if s := stateOf(t, states, "pass"); s.Problem != BackendNoGPGKey || s.Dir != store {
		t.Errorf("pass with an empty store: %+v", s)
	}
	if err := os.WriteFile(filepath.Join(store, ".gpg-id"), []byte("av@test.invalid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(t, Backends(o), "pass"); s.Problem != BackendWorks {
		t.Errorf("pass with a gpg key: %+v", s)
	}
	o.PassCmd = filepath.Join(bin, "no-such-pass")
	if s := stateOf(t, Backends(o), "pass"); s.Problem != BackendNoProgram {
		t.Errorf("pass with no program: %+v", s)
	}
	if w := Working(Backends(o)); len(w) == 0 || w[len(w)-1] != "file" {
		t.Errorf("Working = %q, want file last", w)
	}
}

// TestOpenVaultSaysWhy: keyring says only "not available"; av's errors say why, and carry
// the backends for the hint.
func TestOpenVaultSaysWhy(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "disabled:")
	bin := t.TempDir()
	pass := filepath.Join(bin, "pass")
	if err := os.WriteFile(pass, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var oe *OpenError
	_, err := OpenVault(context.Background(), VaultOptions{Backend: "pass", PassCmd: pass, PassDir: t.TempDir()})
	if !errors.As(err, &oe) || !errors.Is(err, errNoGPGKey) || len(oe.States()) == 0 {
		t.Errorf("pass with no gpg key: %v", err)
	}
	if runtime.GOOS != "linux" {
		return
	}
	_, err = OpenVault(context.Background(), VaultOptions{Backend: "keyctl"})
	if !errors.As(err, &oe) || !errors.Is(err, errKeyctlScope) {
		t.Errorf("keyctl: %v", err)
	}
	var be *BackendError
	_, err = OpenVault(context.Background(), VaultOptions{Backend: "secret-service"})
	if !errors.As(err, &be) || !be.NeedsBus || len(be.Backends) == 0 {
		t.Errorf("secret-service with no bus: %v", err)
	}
}
