package profiles

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
	"github.com/aws/aws-sdk-go-v2/aws"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// fileVault opens a file-backend vault in a fresh directory, with its lock file in lockDir
// ("" for none).
func fileVault(t *testing.T, dir, lockDir string) *Vault {
	t.Helper()
	t.Setenv(PassphraseVar, "test-passphrase")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	v, err := OpenVault(context.Background(), VaultOptions{Backend: "file", FileDir: dir, Lock: inDir(lockDir), LockTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCacheItemsAreAWSVaultSessions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	v := fileVault(t, dir, t.TempDir())
	k := CacheKey{Kind: "ecr", Profile: "dev", Detail: "abc"}
	if _, err := v.readCache(k); !errors.Is(err, ErrNotCached) {
		t.Fatalf("ReadCache of an empty vault: %v, want ErrNotCached", err)
	}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := v.writeCache(k, []byte("one"), exp, "test"); err != nil {
		t.Fatal(err)
	}
	if err := v.writeCache(k, []byte("two"), exp.Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	got, err := v.readCache(k)
	if err != nil || string(got) != "two" {
		t.Fatalf("ReadCache = %q, %v; want the latest item", got, err)
	}
	if other, err := v.readCache(CacheKey{Kind: "ecr", Profile: "dev", Detail: "xyz"}); !errors.Is(err, ErrNotCached) {
		t.Errorf("another identity's ReadCache = %q, %v", other, err)
	}

	keys, _ := v.store.Keys()
	if len(keys) != 1 {
		t.Fatalf("vault holds %q, want one item (the old one replaced)", keys)
	}
	// aws-vault takes it for a session of the profile, never for master credentials.
	m, err := vault.NewSessionKeyFromString(keys[0])
	if err != nil || m.Type != "av.ecr" || m.ProfileName != "dev" || !m.Expiration.Equal(exp.Add(time.Hour)) {
		t.Errorf("item %q parses as session %+v, %v", keys[0], m, err)
	}
	creds, _ := (&vault.CredentialKeyring{Keyring: v.store}).Keys()
	if len(creds) != 0 {
		t.Errorf("aws-vault lists %q as master credentials", creds)
	}
	if n, err := (&vault.SessionKeyring{Keyring: v.store}).RemoveForProfile("dev"); n != 1 || err != nil {
		t.Errorf("aws-vault's RemoveForProfile removed %d, %v", n, err)
	}
}

func TestReadCacheSkipsExpiredItems(t *testing.T) {
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), "")
	k := CacheKey{Kind: "ecr", Profile: "dev"}
	if err := v.writeCache(k, []byte("old"), time.Now().Add(-time.Minute), "test"); err != nil {
		t.Fatal(err)
	}
	if got, err := v.readCache(k); !errors.Is(err, ErrNotCached) {
		t.Errorf("ReadCache of an expired item = %q, %v", got, err)
	}
	if v.Decrypts() != 0 {
		t.Errorf("%d decrypts for an expired item, want none", v.Decrypts())
	}
}

func TestClear(t *testing.T) {
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	exp := time.Now().Add(time.Hour)
	for _, p := range []string{"dev", "prod"} {
		if err := v.writeCache(CacheKey{Kind: "ecr", Profile: p}, []byte("t"), exp, "test"); err != nil {
			t.Fatal(err)
		}
		sess := &vault.SessionKeyring{Keyring: v.store}
		key := vault.SessionMetadata{Type: "sts.GetSessionToken", ProfileName: p}
		if err := sess.Set(key, stsCredentials(exp)); err != nil {
			t.Fatal(err)
		}
		if err := (&vault.CredentialKeyring{Keyring: v.store}).Set(p, awsCredentials()); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &Config{Path: "none"}
	cfg.file, _ = vault.LoadConfig(os.DevNull)

	c, err := v.Clear(context.Background(), cfg, ClearOptions{Profile: "dev"})
	if err != nil || c != (Cleared{Items: 1}) {
		t.Fatalf("Clear(dev) = %+v, %v", c, err)
	}
	c, err = v.Clear(context.Background(), cfg, ClearOptions{Sessions: true})
	if err != nil || c != (Cleared{Items: 1, Sessions: 2}) {
		t.Fatalf("Clear(sessions) = %+v, %v", c, err)
	}
	keys, _ := v.store.Keys()
	if strings.Join(keys, " ") != "dev prod" {
		t.Errorf("left %q, want the master credentials only", keys)
	}
}

func TestLockExcludesOtherHolders(t *testing.T) {
	dir, lockDir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	a, b := fileVault(t, dir, lockDir), fileVault(t, dir, lockDir)
	ctx := context.Background()

	unlockA, err := unlocker(a.Lock(ctx, Shared))
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := unlocker(b.Lock(ctx, Shared))
	if err != nil {
		t.Fatalf("a second shared hold: %v", err)
	}
	unlockB()
	if _, err := b.Lock(ctx, Exclusive); !isLockTimeout(err) {
		t.Fatalf("exclusive while shared is held: %v, want a lock timeout", err)
	}
	unlockA()

	sA, err := a.Lock(ctx, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	// Reads and writes outside a section take the lock themselves: they wait too.
	_, err = b.kr.Keys()
	var te *LockTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("a read while another holds the lock exclusive: %v, want a lock timeout", err)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()); !strings.Contains(te.Error(), want) {
		t.Errorf("timeout error %q does not name the holder (%s)", te, want)
	}
	// Inside its own section a holder reads and writes freely.
	if err := sA.WriteCache(CacheKey{Kind: "ecr", Profile: "dev"}, []byte("x"), time.Now().Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	sA.Unlock()
	if _, err := b.readCache(CacheKey{Kind: "ecr", Profile: "dev"}); err != nil {
		t.Fatalf("read after the holder let go: %v", err)
	}
}

func TestLockWaitEndsWithContext(t *testing.T) {
	dir, lockDir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	a, b := fileVault(t, dir, lockDir), fileVault(t, dir, lockDir)
	b.lock.timeout = time.Hour
	unlock, err := unlocker(a.Lock(context.Background(), Exclusive))
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Lock(ctx, Shared); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with a cancelled context: %v", err)
	}
}

func isLockTimeout(err error) bool {
	var te *LockTimeoutError
	return errors.As(err, &te)
}

// TestWholeItemWrites: readers that take no lock (as aws-vault does) never see a partial
// item while av rewrites it. keyring's own in-place writes fail such readers (7-11% of
// reads in a measurement here).
func TestWholeItemWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("decrypts a few hundred items")
	}
	dir := filepath.Join(t.TempDir(), "keys")
	writer := fileVault(t, dir, "")
	k := CacheKey{Kind: "ecr", Profile: "dev"}
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := writer.writeCache(k, []byte("0"), exp, "test"); err != nil {
		t.Fatal(err)
	}
	name := k.metadata(exp)
	key := name.String()

	var done sync.WaitGroup
	stop := make(chan struct{})
	var mu sync.Mutex
	reads, failures := 0, 0
	for i := 0; i < 3; i++ {
		reader := fileVault(t, dir, "")
		done.Add(1)
		go func() {
			defer done.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// The backend itself, without av's retries: a torn item would show.
				_, err := reader.store.Get(key)
				mu.Lock()
				reads++
				if err != nil {
					failures++
				}
				mu.Unlock()
			}
		}()
	}
	for i := 1; i <= 60; i++ {
		if err := writer.kr.Set(keyring.Item{Key: key, Data: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	done.Wait()
	if failures > 0 {
		t.Errorf("%d of %d reads failed while the item was rewritten", failures, reads)
	}
	t.Logf("%d reads", reads)
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 1 {
		t.Errorf("scratch directories left beside the vault: %v", entries)
	}
}

func stsCredentials(exp time.Time) *ststypes.Credentials {
	return &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIAEXAMPLE"),
		SecretAccessKey: aws.String("secret"),
		SessionToken:    aws.String("token"),
		Expiration:      aws.Time(exp),
	}
}

func awsCredentials() aws.Credentials {
	return aws.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "secret"}
}

// TestLockFileStays: the vault's lock file stays after its last holder, emptied of the
// exclusive holders' stamps, and the lock still excludes: a waiter gets it after the
// holder, and a third run waits for the waiter.
func TestLockFileStays(t *testing.T) {
	dir, lockDir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	a, b, c := fileVault(t, dir, lockDir), fileVault(t, dir, lockDir), fileVault(t, dir, lockDir)
	b.lock.timeout = time.Minute // a safety net
	ctx := context.Background()

	unlockA, err := unlocker(a.Lock(ctx, Exclusive))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		unlock, err := unlocker(b.Lock(ctx, Exclusive))
		if err != nil {
			t.Error(err)
			unlock = func() {}
		}
		got <- unlock
	}()
	// Let b block on the file a holds (its debug line says so), then let go.
	for deadline := time.Now().Add(time.Minute); lockWaiters(t, a.lock.path) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("b never waited")
		}
	}
	unlockA()
	unlockB := <-got
	if _, err := c.Lock(ctx, Shared); !isLockTimeout(err) {
		t.Fatalf("c got the lock while b holds it: %v", err)
	}
	if data, _ := os.ReadFile(a.lock.path); string(data) != pidStamp() {
		t.Errorf("the held lock file says %q, want the holder's pid", data)
	}
	unlockB()
	if entries, _ := os.ReadDir(lockDir); len(entries) != 0 {
		t.Errorf("left in the lock directory: %v", entries)
	}
	if entries, _ := os.ReadDir(filepath.Dir(dir)); len(entries) != 2 {
		t.Errorf("beside the vault: %v, want its directory and its lock file", entries)
	}
	if st, err := os.Stat(a.lock.path); err != nil || st.Size() != 0 {
		t.Errorf("the lock file after its last holder: %v, %v; want it there, empty", st, err)
	}
	// And a shared hold now opens the file that is there: no make, no remove.
	unlockC, err := unlocker(c.Lock(ctx, Shared))
	if err != nil {
		t.Fatal(err)
	}
	unlockC()
}

// TestLockLivesBesideTheFileVault: a file vault's lock is beside its directory, where every
// run finds it whatever its runtime directory; where others may write there, it goes into
// the user's lock directory.
func TestLockLivesBesideTheFileVault(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "keys")
	a, b := fileVault(t, dir, t.TempDir()), fileVault(t, dir, t.TempDir())
	if want := filepath.Join(parent, ".keys.av-lock"); a.lock.path != want || b.lock.path != want {
		t.Fatalf("lock files %s and %s, want both %s", a.lock.path, b.lock.path, want)
	}
	unlock, err := unlocker(a.Lock(context.Background(), Exclusive))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lock(context.Background(), Shared); !isLockTimeout(err) {
		t.Errorf("b got the lock while a holds it: %v", err)
	}
	unlock()

	shared := t.TempDir()
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	lockDir := t.TempDir()
	c := fileVault(t, filepath.Join(shared, "keys"), lockDir)
	if filepath.Dir(c.lock.path) != lockDir {
		t.Errorf("a vault in a directory others may write has its lock at %s, want it in %s", c.lock.path, lockDir)
	}
}

// lockWaiters counts the processes' requests blocked on the lock file at path.
func lockWaiters(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skip("no /proc/locks")
	}
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0
	}
	id := fmt.Sprintf(":%d ", st.Ino)
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "->") && strings.Contains(line, id) {
			n++
		}
	}
	return n
}

// names lists item names, all of them or those with a prefix, and words a failure to list
// with the backend's name.
func TestNames(t *testing.T) {
	v := MemoryVault(context.Background())
	for _, k := range []string{"dev", "av-ecr dev x", "av-ecr prod y", "sts.GetSessionToken,ZGV2,,1"} {
		if err := v.kr.Set(keyring.Item{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"av-ecr dev x", "av-ecr prod y", "dev", "sts.GetSessionToken,ZGV2,,1"}},
		{"av-ecr ", []string{"av-ecr dev x", "av-ecr prod y"}},
		{"av-ecr dev ", []string{"av-ecr dev x"}},
		{"nothing", nil},
	} {
		got, err := v.kr.names(tc.prefix)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("names(%q) = %q, %v; want %q", tc.prefix, got, err, tc.want)
		}
	}
	v.store = failingKeys{v.store}
	if _, err := v.kr.names(""); err == nil || err.Error() != "listing the in-memory vault: no list" {
		t.Errorf("names with a failing backend: %v", err)
	}
}

type failingKeys struct{ keyring.Keyring }

func (failingKeys) Keys() ([]string, error) { return nil, errors.New("no list") }

// A Section lists the vault once, however often aws-vault's types ask (a warm session
// lookup asks three times), and again after it writes or removes an item; outside a
// Section every call lists.
func TestSectionListsOnce(t *testing.T) {
	v := MemoryVault(context.Background())
	counted := &countingKeys{Keyring: v.store}
	v.store = counted
	for _, k := range []string{"dev", "sts.GetSessionToken,ZGV2,,1"} {
		if err := v.kr.Set(keyring.Item{Key: k}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(kr *vaultKeyring) []string {
		t.Helper()
		keys, err := kr.Keys()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(keys)
		return keys
	}
	sec, err := v.Lock(context.Background(), Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Unlock()
	first := list(sec.kr)
	first[0] = "changed by the caller" // a caller's edit is not the next caller's listing
	if got := list(sec.kr); !slices.Equal(got, []string{"dev", "sts.GetSessionToken,ZGV2,,1"}) || counted.n != 1 {
		t.Fatalf("second listing in a section: %q after %d listings, want both items after 1", got, counted.n)
	}
	if err := sec.kr.Set(keyring.Item{Key: "prod"}); err != nil {
		t.Fatal(err)
	}
	if got := list(sec.kr); !slices.Equal(got, []string{"dev", "prod", "sts.GetSessionToken,ZGV2,,1"}) || counted.n != 2 {
		t.Errorf("after a write: %q after %d listings, want the new item after 2", got, counted.n)
	}
	if err := sec.kr.Remove("dev"); err != nil {
		t.Fatal(err)
	}
	if got := list(sec.kr); !slices.Equal(got, []string{"prod", "sts.GetSessionToken,ZGV2,,1"}) || counted.n != 3 {
		t.Errorf("after a removal: %q after %d listings, want it gone after 3", got, counted.n)
	}
	sec.Unlock()
	list(v.kr)
	list(v.kr)
	if counted.n != 5 {
		t.Errorf("outside a section: %d listings, want one per call (5)", counted.n)
	}
}

type countingKeys struct {
	keyring.Keyring
	n int
}

func (c *countingKeys) Keys() ([]string, error) {
	c.n++
	return c.Keyring.Keys()
}
