package profiles

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOneVaultSharedByGoroutines uses one Vault as a run does, from several goroutines at
// once: a token cache's fetch lock, credentials got under it and a section that writes
// and reads av's items (the renewal), credentials got without either (the credential
// endpoint), and calls outside any section. Run under -race (make race), it shows the Vault guards its
// own state; and no two sections ever overlap in one process where one is exclusive.
func TestOneVaultSharedByGoroutines(t *testing.T) {
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	// Safety nets: the holders are all in this process, and -race makes them slow.
	v.lock.timeout, v.opts.LockTimeout = time.Minute, time.Minute
	p := devProfile(t, v, Options{})
	putSession(t, v, "dev", time.Now().Add(time.Hour))
	ctx := context.Background()

	var exclusive, shared atomic.Int32
	enter := func(s *Section) error {
		if s.Mode() == Exclusive {
			if n := exclusive.Add(1); n != 1 || shared.Load() != 0 {
				return fmt.Errorf("an exclusive section overlapped another (%d exclusive, %d shared)", n, shared.Load())
			}
			return nil
		}
		shared.Add(1)
		if exclusive.Load() != 0 {
			return fmt.Errorf("a shared section overlapped an exclusive one")
		}
		return nil
	}
	leave := func(s *Section) {
		if s.Mode() == Exclusive {
			exclusive.Add(-1)
		} else {
			shared.Add(-1)
		}
	}

	const workers, rounds = 4, 10
	errs := make(chan error, 3*workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		k := CacheKey{Kind: "ecr", Profile: "dev", Detail: fmt.Sprint("worker", w)}
		wg.Go(func() { // the renewal: the fetch lock, credentials, then a section to store
			for i := range rounds {
				hold, err := v.LockFetch(ctx, k, "registry tokens", "ECR")
				if err != nil {
					errs <- err
					return
				}
				p.keep(nil)
				if _, err := p.Credentials(hold.Context(ctx), CredentialsOptions{}); err != nil {
					errs <- fmt.Errorf("credentials under a fetch lock: %w", err)
				}
				s, err := v.Lock(ctx, Exclusive)
				if err != nil {
					hold.Release()
					errs <- err
					return
				}
				if err := enter(s); err != nil {
					errs <- err
				}
				if err := s.WriteCache(k, fmt.Appendf(nil, "%d", i), time.Now().Add(time.Hour), "test"); err != nil {
					errs <- err
				}
				got, err := s.ReadCache(k)
				if err != nil || string(got) != fmt.Sprint(i) {
					errs <- fmt.Errorf("read back %q, %v; want %d", got, err, i)
				}
				leave(s)
				s.Unlock()
				hold.Release()
			}
		})
		wg.Go(func() { // the credential endpoint
			for range rounds {
				p.keep(nil) // read the vault every time, not the profile's memory
				if _, err := p.Credentials(ctx, CredentialsOptions{}); err != nil {
					errs <- fmt.Errorf("credentials: %w", err)
				}
			}
		})
		wg.Go(func() { // readers outside any section, and the counters
			for range rounds {
				s, err := v.Lock(ctx, Shared)
				if err != nil {
					errs <- err
					return
				}
				if err := enter(s); err != nil {
					errs <- err
				}
				if _, err := s.ReadCache(k); err != nil && err != ErrNotCached {
					errs <- err
				}
				leave(s)
				s.Unlock()
				if ok, err := v.HasCredentials("dev"); !ok || err != nil {
					errs <- fmt.Errorf("HasCredentials = %v, %v", ok, err)
				}
				_ = v.Decrypts()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSectionUnlockTwice: `defer s.Unlock()` after an early Unlock lets go once.
func TestSectionUnlockTwice(t *testing.T) {
	v := fileVault(t, filepath.Join(t.TempDir(), "keys"), t.TempDir())
	s, err := v.Lock(context.Background(), Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	s.Unlock()
	s.Unlock()
	again, err := v.Lock(context.Background(), Exclusive)
	if err != nil {
		t.Fatalf("the vault stayed locked: %v", err)
	}
	again.Unlock()
	// One held section keeps a second out, in this process too, until ctx ends.
	held, _ := v.Lock(context.Background(), Exclusive)
	defer held.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := v.Lock(ctx, Shared); err != context.DeadlineExceeded {
		t.Errorf("a second section while one is held: %v, want the context's end", err)
	}
	// Bounded as a wait for another process is, and named.
	v.opts.LockTimeout = 50 * time.Millisecond
	var te *LockTimeoutError
	if _, err := v.Lock(context.Background(), Exclusive); !errors.As(err, &te) || !strings.Contains(te.Error(), "this av") {
		t.Errorf("a second section past the lock timeout: %v, want a LockTimeoutError naming this av", err)
	}
}
