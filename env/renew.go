package env

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/av-cli/av/env/ecr"
	"github.com/av-cli/av/profiles"
)

// RenewOptions say how a running command's registry files are kept fresh.
type RenewOptions struct {
	Files   Files
	Expires time.Time     // the earliest expiry among the tokens the files hold
	MinTTL  time.Duration // renew when the earliest token has this much life left
	// Login fetches tokens with more than MinTTL left (ecr.TokenCache.Get, with NoPrompt).
	Login func(ctx context.Context) (ecr.Logins, time.Time, error)
	// Warn reports a renewal that failed and will be retried.
	Warn func(msg string)
	// First is when to renew first, as FirstRenewal said when the run began: for a Renew
	// that its caller started late (cmd/av starts it on a timer). Zero: FirstRenewal now.
	First time.Time
}

// Renew keeps the registry files' tokens fresh until ctx ends: before the earliest token
// has less than MinTTL left, it gets new tokens (from the vault's cache if another av
// already minted them) and replaces the files whole. An all-day shell or a 14-hour CI job
// never reads an expired token. A failure is reported and retried; the command is never
// disturbed. AWS credentials in the command's environment cannot be renewed: a process's
// environment is fixed once it starts.
func Renew(ctx context.Context, o RenewOptions) {
	if o.Expires.IsZero() {
		return
	}
	next := o.First
	if next.IsZero() {
		next = renewAt(wallNow(), o.Expires, o.MinTTL)
	}
	for failures := 0; ; {
		if !sleepUntil(ctx, next) {
			return
		}
		logins, expires, err := o.Login(ctx)
		if err == nil {
			err = o.Files.Renew(ctx, logins)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			delay := retryDelay(failures)
			o.Warn(fmt.Sprintf("renewing the registry login: %v; retrying in %s", err, delay))
			next = wallNow().Add(delay)
			continue
		}
		failures = 0
		next = renewAt(wallNow(), expires, o.MinTTL)
		log.Printf("renewed the registry files; the earliest token expires %s, next renewal %s", expires.Format(time.RFC3339), next.Format(time.RFC3339))
	}
}

// FirstRenewal is when Renew, started now, first renews tokens whose earliest expiry is
// expires.
func FirstRenewal(expires time.Time, minTTL time.Duration) time.Time {
	return renewAt(wallNow(), expires, minTTL)
}

// renewAt is when to renew tokens whose earliest expiry is expires: MinTTL before it (a
// second at least, so that the files never hold an expired token), or, for tokens that
// live less than twice MinTTL, half-way through their remaining life (a new token with
// less than MinTTL would otherwise be renewed at once, again and again); never sooner than
// a second from now.
func renewAt(now, expires time.Time, minTTL time.Duration) time.Time {
	at := expires.Add(-max(minTTL, time.Second))
	if half := now.Add(expires.Sub(now) / 2); at.Before(half) {
		at = half
	}
	if soonest := now.Add(time.Second); at.Before(soonest) {
		at = soonest
	}
	return at
}

// retryDelay grows from 5 seconds to 5 minutes: a renewal that needs the user (an MFA
// code) keeps failing until another av puts a fresh token in the cache, and each failure
// is a line on the command's terminal.
func retryDelay(failures int) time.Duration {
	if testOnlyRetryDelay != 0 {
		return testOnlyRetryDelay
	}
	d := 5 * time.Second
	for i := 1; i < failures && d < 5*time.Minute; i++ {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// testOnlyRetryDelay, when set, replaces retryDelay's schedule.
var testOnlyRetryDelay time.Duration

// maxNap bounds one sleep, so a laptop that slept through a renewal (the monotonic clock
// stops while suspended; token expiries are wall-clock times) renews soon after it wakes.
const maxNap = time.Minute

// wallNow is the wall-clock time, without the monotonic reading.
func wallNow() time.Time { return time.Now().Round(0) }

// sleepUntil waits until the wall clock reaches t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		d := t.Sub(wallNow())
		if d <= 0 {
			return true
		}
		timer := time.NewTimer(min(d, maxNap))
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

// Renew replaces the three registry files with copies holding logins in place of the
// tokens they hold. Each is read back and merged again (whatever the command changed in
// it, such as its own `docker login` to another registry, stays), then replaced whole: a
// new file in the same directory renamed over the old one, so a client reading it
// meanwhile gets the old file or the new one, at the same path. Follow then lists the
// user's credential stores again: a login stored without config.json changing shows at
// a renewal at the latest.
func (f Files) Renew(ctx context.Context, logins ecr.Logins) error {
	if st := f.state; st != nil {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.logins = logins // fresh: every file written from now on gets them
	}
	if _, err := f.replace(ctx, logins, nil); err != nil {
		return err
	}
	f.state.askRelist()
	return nil
}

// askRelist asks Follow for a new look at the user's configs and stores, without waiting.
func (st *fileState) askRelist() {
	if st == nil {
		return
	}
	select {
	case st.relist <- struct{}{}:
	default: // one is pending already
	}
}

// replace merges each registry file again and replaces it: with next, the user's sides as
// they are now, it first takes the user's changes since the sides it was last merged
// from (threeWay), and leaves a file that would not change as it is; without, it only puts
// logins in. It returns what each file gained, lost or changed, for --debug. With a
// state, the caller holds its lock.
func (f Files) replace(ctx context.Context, logins ecr.Logins, next *userSides) ([]string, error) {
	follow := next != nil && f.state != nil
	var changes []string
	for _, r := range runFiles {
		path := r.name(f)
		name := filepath.Base(path)
		cur, err := readRunFile(path)
		if err != nil {
			return changes, fmt.Errorf("reading %s: %w", name, err)
		}
		in := cur
		if follow {
			if in, err = threeWay(cur, *r.side(&f.state.sides), *r.side(next)); err != nil {
				// Never the parse error: the file holds tokens.
				return changes, fmt.Errorf("%s: %w", name, err)
			}
		}
		data, err := r.logins(in, logins, runningLister(ctx))
		if err != nil {
			return changes, fmt.Errorf("%s: %w", name, err)
		}
		if !follow || !bytes.Equal(data, cur) {
			if err := f.own.replaceFile(path, data); err != nil {
				return changes, fmt.Errorf("writing %s: %w", name, err)
			}
		}
		if follow {
			*r.side(&f.state.sides) = *r.side(next)
			if c := credentialChanges(cur, data); c != "" {
				changes = append(changes, name+" "+c)
			}
		}
	}
	return changes, nil
}

// readRunFile reads a file of the run directory; a missing one is empty. What the command
// put there is read only if it is a regular file of at most maxRegistryFile bytes: a
// symlink is not followed, and a FIFO is not waited on.
func readRunFile(path string) ([]byte, error) {
	data, err := profiles.ReadCapped(path, profiles.ReadOptions{Limit: maxRegistryFile, NoFollow: true})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.Is(err, profiles.ErrTooLarge):
		return nil, fmt.Errorf("larger than the %d MiB av writes", maxRegistryFile>>20)
	}
	return data, err
}

// replaceFile writes data to a new mode-0600 file beside path and renames it over path,
// recording it as av's.
func (w *written) replaceFile(path string, data []byte) error {
	tmp, err := w.writeNew(path, data, func() (*os.File, error) {
		return os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	})
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil && tmp != "" {
		os.Remove(tmp)
	}
	return err
}
