package profiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// helperCreds is what the tests' credential_process prints: a session good for a day.
var helperCreds = fmt.Sprintf(`{"Version":1,"AccessKeyId":"ASIAHELPER","SecretAccessKey":"s","SessionToken":"t","Expiration":%q}`,
	time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339))

// fetchFixture is a vault (opened once per simulated av: each has its own lock
// descriptors, as another process has) and a config file with profiles whose
// credential_process counts its runs in DIR/NAME.runs:
//   - slow: says so (DIR/slow.started), then waits until DIR/release exists;
//   - quick: answers at once;
//   - dev: master keys, with a session cached (STS is unreachable).
type fetchFixture struct {
	t        *testing.T
	dir      string // the vault's, and the helpers' files
	lockDir  string
	cfg      *Config
	vaultDir string
}

func newFetchFixture(t *testing.T) *fetchFixture {
	t.Helper()
	f := &fetchFixture{t: t, dir: t.TempDir(), lockDir: t.TempDir()}
	f.vaultDir = filepath.Join(f.dir, "keys")
	helperFile := filepath.Join(f.dir, "creds.json")
	if err := os.WriteFile(helperFile, []byte(helperCreds), 0o600); err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"slow.sh":  fmt.Sprintf("echo x >> %[1]s/slow.runs; touch %[1]s/slow.started\nwhile [ ! -e %[1]s/release ]; do sleep 0.02; done\ncat %[2]s\n", f.dir, helperFile),
		"quick.sh": fmt.Sprintf("echo x >> %[1]s/quick.runs; cat %[2]s\n", f.dir, helperFile),
	}
	for name, script := range scripts {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := fmt.Sprintf(`[profile dev]
region = eu-west-1

[profile slow]
region = eu-west-1
credential_process = sh %[1]s/slow.sh

[profile quick]
region = eu-west-1
credential_process = sh %[1]s/quick.sh
`, f.dir)
	cfgPath := filepath.Join(f.dir, "config")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgPath)
	t.Setenv("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")
	t.Setenv("AWS_MAX_ATTEMPTS", "1")
	v := f.vault()
	if err := v.credentials().Set("dev", awsCredentials()); err != nil {
		t.Fatal(err)
	}
	putSession(t, v, "dev", time.Now().Add(time.Hour))
	var err error
	if f.cfg, err = LoadConfig(); err != nil {
		t.Fatal(err)
	}
	// However slow the machine, the helpers never get near their bound.
	t.Cleanup(func() { f.release() })
	return f
}

// vault opens the vault again: another av on it.
func (f *fetchFixture) vault() *Vault { return fileVault(f.t, f.vaultDir, f.lockDir) }

func (f *fetchFixture) profile(v *Vault, name string) *Profile {
	f.t.Helper()
	p, err := Lookup(f.cfg, v, name, Options{AWSTimeout: time.Minute})
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// runs counts the runs of the profile's credential_process.
func (f *fetchFixture) runs(name string) int {
	data, _ := os.ReadFile(filepath.Join(f.dir, name+".runs"))
	return strings.Count(string(data), "x")
}

// release lets slow's helper answer.
func (f *fetchFixture) release() { os.WriteFile(filepath.Join(f.dir, "release"), nil, 0o600) }

// startSlow starts a fetch of slow's session on v and waits until its helper runs: the
// fetch then holds slow's fetch lock. Its result comes on the channel.
func (f *fetchFixture) startSlow(v *Vault) <-chan error {
	f.t.Helper()
	done := make(chan error, 1)
	p := f.profile(v, "slow")
	go func() {
		_, err := p.Credentials(context.Background(), CredentialsOptions{})
		done <- err
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(f.dir, "slow.started")); err == nil {
			return done
		}
		select {
		case err := <-done:
			f.t.Fatalf("slow's fetch ended before its helper ran: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			f.t.Fatal("slow's helper never ran")
		}
	}
}

// TestAFetchHoldsUpOnlyItsOwnProfile: while one av fetches a profile's session (its
// credential_process has not answered), other avs read another profile's cached session
// and fetch a third's, and so does another goroutine of the same av; an av that wants the
// same session waits, and past its lock timeout fails naming the profile, the holder and
// what it waits for. Once the helper answers, the waiter reads what it stored: one run of
// the helper in all.
func TestAFetchHoldsUpOnlyItsOwnProfile(t *testing.T) {
	f := newFetchFixture(t)
	// The holder's own waits are brief (its other goroutines' reads), but for the one
	// this test makes it time out.
	holder := f.vault()
	holder.lock.timeout, holder.opts.LockTimeout = time.Second, time.Second
	done := f.startSlow(holder)

	for _, who := range []struct {
		name string
		v    *Vault
	}{{"another av", f.vault()}, {"the same av", holder}} {
		if s, err := f.profile(who.v, "dev").Credentials(context.Background(), CredentialsOptions{}); err != nil || s.Credentials.AccessKeyID != "ASIAEXAMPLE" {
			t.Errorf("%s: dev's cached session while slow's is fetched: %v", who.name, err)
		}
		if _, err := f.profile(who.v, "quick").Credentials(context.Background(), CredentialsOptions{}); err != nil {
			t.Errorf("%s: quick's fetch while slow's is fetched: %v", who.name, err)
		}
	}
	if n := f.runs("quick"); n != 1 {
		t.Errorf("quick's helper ran %d times, want once (the second av read what the first stored)", n)
	}

	// Another av that wants slow's session waits for it, bounded.
	waiter := f.vault()
	_, err := f.profile(waiter, "slow").Credentials(context.Background(), CredentialsOptions{})
	var te *LockTimeoutError
	if !errors.As(err, &te) || te.Profile != "slow" || te.Item != "session" || te.Awaiting != "its credential_process" {
		t.Fatalf("a second fetch of slow's session: %v (%#v), want a LockTimeoutError naming slow and its credential_process", err, te)
	}
	want := `the session of profile "slow" is being fetched by pid ` + strconv.Itoa(os.Getpid())
	if !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), ", waiting for its credential_process: gave up after 200ms") {
		t.Errorf("error %q, want it to begin %q and name what the holder waits for", err, want)
	}
	// So does another goroutine of the holder's av.
	_, err = f.profile(holder, "slow").Credentials(context.Background(), CredentialsOptions{})
	if !errors.As(err, &te) || te.Profile != "slow" || te.Awaiting != "its credential_process" || !strings.Contains(err.Error(), "(this av)") {
		t.Errorf("a second fetch in the holder's av: %v, want a LockTimeoutError naming this av", err)
	}

	// Once the helper answers, a waiter reads the session it stored.
	waiter = f.vault()
	waiter.lock.timeout, waiter.opts.LockTimeout = time.Minute, time.Minute
	got := make(chan error, 1)
	go func() {
		_, err := f.profile(waiter, "slow").Credentials(context.Background(), CredentialsOptions{})
		got <- err
	}()
	f.release()
	if err := <-done; err != nil {
		t.Fatalf("slow's fetch: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	if n := f.runs("slow"); n != 1 {
		t.Errorf("slow's helper ran %d times, want once", n)
	}
	// Nothing is left in the lock directory, nor beside the vault but the vault's own lock
	// file (TestLockFileStays).
	if entries, _ := os.ReadDir(f.lockDir); len(entries) != 0 {
		t.Errorf("left in the lock directory: %v", entries)
	}
	if entries, _ := os.ReadDir(f.dir); len(entries) != 0 {
		for _, e := range entries {
			if strings.Contains(e.Name(), "lock") && e.Name() != ".keys.av-lock" {
				t.Errorf("left beside the vault: %s", e.Name())
			}
		}
	}
}

// TestColdFetchesOfOneProfileFetchOnce: N avs (each its own Vault, so its own lock
// descriptors, as N processes) and N goroutines of one av, started together on a cold
// cache, run the profile's credential_process once.
func TestColdFetchesOfOneProfileFetchOnce(t *testing.T) {
	f := newFetchFixture(t)
	const n = 8
	shared := f.vault()
	shared.lock.timeout, shared.opts.LockTimeout = time.Minute, time.Minute
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range 2 * n {
		v := shared
		if i < n {
			v = f.vault()
			v.lock.timeout, v.opts.LockTimeout = time.Minute, time.Minute
		}
		p := f.profile(v, "quick")
		wg.Go(func() {
			if _, err := p.Credentials(context.Background(), CredentialsOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.runs("quick"); got != 1 {
		t.Errorf("%d cold fetches ran the helper %d times, want once", 2*n, got)
	}
}

// TestFetchHoldNotes: what a fetch waits for is noted in every fetch lock the call holds,
// worded for each, and put back after; the lock file says it too, with the pid and the
// profile, and is gone once let go.
func TestFetchHoldNotes(t *testing.T) {
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	ctx := context.Background()
	outer, err := v.LockFetch(ctx, CacheKey{Kind: "ecr", Profile: "dev", Detail: "d"}, "registry tokens", "ECR")
	if err != nil {
		t.Fatal(err)
	}
	inner, err := v.lockFetch(ctx, fetchKey{id: "sts.GetSessionToken,base,,", profile: "base", item: "session"}, "STS in eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	holds := heldIn(inner.Context(outer.Context(ctx)))
	if len(holds) != 2 || holds[0] != outer || holds[1] != inner {
		t.Fatalf("the context carries %v, want the two holds, outer first", holds)
	}
	restore := awaitingIn(holds, "MFA code", "base")
	if got := outer.note(); got != `the MFA code of profile "base"` {
		t.Errorf("outer note %q", got)
	}
	if got := inner.note(); got != "its MFA code" {
		t.Errorf("inner note %q", got)
	}
	f, err := os.Open(inner.file.path)
	if err != nil {
		t.Fatal(err)
	}
	if s := readStamp(f); s.pid != os.Getpid() || s.profile != "base" || s.awaiting != "its MFA code" {
		t.Errorf("the lock file says %+v", s)
	}
	f.Close()
	restore()
	if outer.note() != "ECR" || inner.note() != "STS in eu-west-1" {
		t.Errorf("notes after: %q, %q", outer.note(), inner.note())
	}
	if strings.Contains(inner.file.path, "base") || filepath.Dir(inner.file.path) != filepath.Dir(v.lock.path) {
		t.Errorf("fetch lock file %s: want it beside the vault's lock, named without the item's name", inner.file.path)
	}
	inner.Release()
	inner.Release()
	outer.Release()
	if _, err := os.Stat(inner.file.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the fetch lock file is left: %v", err)
	}
	if len(v.fetches) != 0 {
		t.Errorf("turns left: %v", v.fetches)
	}
	// Let go, it is had again at once.
	again, err := v.LockFetch(ctx, CacheKey{Kind: "ecr", Profile: "dev", Detail: "d"}, "registry tokens", "ECR")
	if err != nil {
		t.Fatal(err)
	}
	again.Release()
}
