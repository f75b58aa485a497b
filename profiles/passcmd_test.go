package profiles

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// passVault opens a pass vault whose pass is the script body (a stand-in for pass: it
// sees the arguments in "$@", the item on stdin, the store in PASSWORD_STORE_DIR).
func passVault(t *testing.T, body string, bound time.Duration) (v *Vault, dir string) {
	t.Helper()
	dir = t.TempDir()
	store := filepath.Join(dir, "store")
	if err := os.MkdirAll(filepath.Join(store, "pre"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(store, ".gpg-id"), []byte("av@test.invalid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	v, err := OpenVault(context.Background(), VaultOptions{Backend: "pass", PassCmd: pass, PassDir: store, PassPrefix: "pre", Lock: inDir(t.TempDir()), HelperTimeout: bound})
	if err != nil {
		t.Fatal(err)
	}
	return v, dir
}

// TestPassWritesAsKeyring: av's pass writes run pass as keyring's backend does: the same
// arguments, store and item.
func TestPassWritesAsKeyring(t *testing.T) {
	v, dir := passVault(t, `echo "$*" >> "$(dirname "$0")/calls"; echo "$PASSWORD_STORE_DIR" >> "$(dirname "$0")/calls"; cat > "$(dirname "$0")/item"`+"\n", time.Minute)
	item := keyring.Item{Key: "sts.GetSessionToken,ZGV2,,1", Data: []byte(`{"secret":1}`), Label: "l", Description: "d"}
	if err := v.kr.Set(item); err != nil {
		t.Fatal(err)
	}
	var got keyring.Item
	data, _ := os.ReadFile(filepath.Join(dir, "item"))
	if err := json.Unmarshal(data, &got); err != nil || got.Key != item.Key || string(got.Data) != string(item.Data) || got.Label != "l" || got.Description != "d" {
		t.Errorf("pass was fed %q, want the item's JSON", data)
	}
	// Removing an item that is not there runs nothing; one that is runs pass rm.
	if err := v.kr.Remove("nosuch"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("removing a missing item: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "store", "pre", "dev.gpg"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := v.kr.Remove("dev"); err != nil {
		t.Fatal(err)
	}
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	store := filepath.Join(dir, "store")
	if want := "insert -m -f pre/" + item.Key + "\n" + store + "\nrm -f pre/dev\n" + store + "\n"; string(calls) != want {
		t.Errorf("pass ran as\n%s\nwant\n%s", calls, want)
	}
}

// TestPassWriteThatHangsIsBounded: a write runs pass holding the vault's lock exclusive;
// a pass (or its gpg) that hangs is stopped at its bound, with what it started, and the
// lock is free again.
func TestPassWriteThatHangsIsBounded(t *testing.T) {
	v, dir := passVault(t, `sleep 5 & echo $! > "$(dirname "$0")/child.pid"; wait`+"\n", 300*time.Millisecond)
	err := v.kr.Set(keyring.Item{Key: "dev", Data: []byte("x")})
	var te *HelperTimeoutError
	if !errors.As(err, &te) || te.What != "pass insert" || te.Profile != "" {
		t.Fatalf("a write whose pass hangs: %v, want a HelperTimeoutError naming pass insert", err)
	}
	if !strings.Contains(err.Error(), "the vault's pass insert did not finish within 300ms") {
		t.Errorf("error %q", err)
	}
	// What pass started goes with it: its process group, or, where av has a terminal and
	// pass shares av's group, its descendants.
	checkGone(t, filepath.Join(dir, "child.pid"))
	s, err := v.Lock(context.Background(), Exclusive)
	if err != nil {
		t.Fatalf("the vault stayed locked: %v", err)
	}
	s.Unlock()
}

// TestPassReadsAsKeyring: av's pass reads run `pass show PREFIX/KEY` as keyring's backend
// does, and take its JSON for the item.
func TestPassReadsAsKeyring(t *testing.T) {
	item := keyring.Item{Key: "dev", Data: []byte(`{"secret":1}`), Label: "l"}
	data, _ := json.Marshal(item)
	v, dir := passVault(t, `echo "$*" >> "$(dirname "$0")/calls"; printf '%s' '`+string(data)+`'`+"\n", time.Minute)
	if _, err := v.kr.Get("dev"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("reading a missing item: %v, want ErrKeyNotFound", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "store", "pre", "dev.gpg"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := v.kr.Get("dev")
	if err != nil || string(got.Data) != string(item.Data) || got.Label != "l" {
		t.Fatalf("Get = %+v, %v; want the item", got, err)
	}
	if calls, _ := os.ReadFile(filepath.Join(dir, "calls")); string(calls) != "show pre/dev\n" {
		t.Errorf("pass ran as %q, want show pre/dev", calls)
	}
}

// TestPassReadThatHangsIsBounded: a read runs pass (gpg, perhaps waiting for a pinentry)
// holding the vault's lock shared; one that hangs is stopped at its bound with what it
// started, and says so.
func TestPassReadThatHangsIsBounded(t *testing.T) {
	v, dir := passVault(t, `sleep 5 & echo $! > "$(dirname "$0")/child.pid"; wait`+"\n", 300*time.Millisecond)
	if v.pass.readBound < MFAProcessTimeout {
		t.Errorf("a read's bound is %v, want that of a helper waiting for a person (%v)", v.pass.readBound, MFAProcessTimeout)
	}
	v.pass.readBound = 300 * time.Millisecond
	if err := os.WriteFile(filepath.Join(dir, "store", "pre", "dev.gpg"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := v.kr.Get("dev")
	var te *HelperTimeoutError
	if !errors.As(err, &te) || te.What != "pass show" {
		t.Fatalf("a read whose pass hangs: %v, want a HelperTimeoutError naming pass show", err)
	}
	checkGone(t, filepath.Join(dir, "child.pid"))
}

// checkGone fails t if the process whose pid pidFile holds (pass's child) still runs. It
// was sent SIGKILL, which the kernel acts on a moment later: it waits for that, a bounded
// while (a safety net, not a timing assertion). A zombie counts as gone.
func checkGone(t *testing.T, pidFile string) {
	t.Helper()
	pid, _ := os.ReadFile(pidFile)
	p := strings.TrimSpace(string(pid))
	if p == "" {
		return
	}
	alive := func() bool {
		state, err := os.ReadFile("/proc/" + p + "/stat")
		return err == nil && !strings.Contains(string(state), ") Z ")
	}
	for end := time.Now().Add(5 * time.Second); alive() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive() {
		t.Errorf("pass's child %s is still running", p)
	}
}
