package ecr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/av-cli/av/profiles"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// stuckSource is a profile whose session takes until release is closed: a
// credential_process or an MFA prompt that does not answer.
type stuckSource struct {
	started chan struct{}
	once    sync.Once
	release chan struct{}
}

func (s *stuckSource) Credentials(ctx context.Context, _ profiles.CredentialsOptions) (*profiles.Session, error) {
	s.once.Do(func() { close(s.started) })
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c := aws.Credentials{AccessKeyID: "ASIASTUCK", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}
	return &profiles.Session{Credentials: c, AWS: aws.Config{Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })}}, nil
}

// quickSource answers at once.
type quickSource struct{}

func (quickSource) Credentials(context.Context, profiles.CredentialsOptions) (*profiles.Session, error) {
	c := aws.Credentials{AccessKeyID: "ASIAQUICK", SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: time.Now().Add(time.Hour)}
	return &profiles.Session{Credentials: c, AWS: aws.Config{Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })}}, nil
}

// TestTokensOfOneIdentityHoldUpNoOther: on a real vault, opened once per simulated av, an
// av minting the tokens of identity slow (its session does not come) holds up no other
// identity's run, cold or warm; an av that wants slow's tokens waits, and past its lock
// timeout fails naming slow; once slow's session comes, a waiter reads the tokens stored:
// one mint in all.
func TestTokensOfOneIdentityHoldUpNoOther(t *testing.T) {
	t.Setenv(profiles.PassphraseVar, "test-passphrase")
	dir, lockDir := filepath.Join(t.TempDir(), "keys"), t.TempDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	open := func(timeout time.Duration) *TokenCache {
		v, err := profiles.OpenVault(context.Background(), profiles.VaultOptions{
			Backend: "file", FileDir: dir, LockTimeout: timeout,
			Lock: &profiles.LockPlaces{UserDir: func() (string, error) { return lockDir, nil }},
		})
		if err != nil {
			t.Fatal(err)
		}
		return &TokenCache{Store: VaultStore(v), Minter: &fakeMinter{now: time.Now, fail: map[string]error{}}, MinTTL: 15 * time.Minute}
	}
	slow := &stuckSource{started: make(chan struct{}), release: make(chan struct{})}
	request := func(profile string) TokenRequest {
		return TokenRequest{Specs: []RegistrySpec{ecrIn("eu-west-1", profile)}, Identity: func(p string) (Identity, error) {
			if p == "slow" {
				return Identity{Profile: p, Digest: "id-slow", Source: slow}, nil
			}
			return Identity{Profile: p, Digest: "id-" + p, Source: quickSource{}}, nil
		}}
	}
	ctx := context.Background()

	holder := open(time.Minute)
	done := make(chan error, 1)
	go func() {
		_, err := holder.Get(ctx, request("slow"))
		done <- err
	}()
	select {
	case <-slow.started:
	case <-time.After(time.Minute):
		t.Fatal("slow's session was never asked for")
	}

	// Another identity, cold then warm, in two other avs: at once.
	for i, want := range []int{1, 0} {
		other := open(200 * time.Millisecond)
		if _, err := other.Get(ctx, request("dev")); err != nil {
			t.Fatalf("dev's tokens while slow's are minted: %v", err)
		}
		if got := len(other.Minter.(*fakeMinter).mints); got != want {
			t.Errorf("av %d minted %d of dev's tokens, want %d", i, got, want)
		}
	}

	// slow's tokens: an av waits for the holder, bounded, and is told who holds it.
	_, err := open(200*time.Millisecond).Get(ctx, request("slow"))
	var te *profiles.LockTimeoutError
	if !errors.As(err, &te) || te.Profile != "slow" || te.Item != "registry tokens" || te.Awaiting != "ECR" {
		t.Fatalf("slow's tokens while another av mints them: %v, want a LockTimeoutError naming slow's registry tokens", err)
	}

	waiter := open(time.Minute)
	got := make(chan error, 1)
	go func() {
		_, err := waiter.Get(ctx, request("slow"))
		got <- err
	}()
	close(slow.release)
	if err := <-done; err != nil {
		t.Fatalf("the holder: %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("the waiter: %v", err)
	}
	if n := len(holder.Minter.(*fakeMinter).mints) + len(waiter.Minter.(*fakeMinter).mints); n != 1 {
		t.Errorf("slow's token minted %d times, want once", n)
	}
	if entries, _ := os.ReadDir(lockDir); len(entries) != 0 {
		t.Errorf("left in the lock directory: %v", entries)
	}
}
