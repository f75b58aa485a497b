package profiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/aws-vault/v7/vault"
)

// fetchKey names one cache item that a fetch fills (a profile's session, an identity's
// registry tokens), and so its fetch lock.
type fetchKey struct {
	id      string // the item's name without its expiry (SessionMetadata.StringForMatching)
	profile string // whose item, for a waiter's message
	item    string // what it is, for a waiter's message: "session", "registry tokens"
}

func sessionFetchKey(m vault.SessionMetadata) fetchKey {
	return fetchKey{id: m.StringForMatching(), profile: m.ProfileName, item: "session"}
}

// fetchLockPath is the file of k's fetch lock: beside the vault's own lock file, so placed
// by placeLock's rule, and named after a digest of the item's name, never the name.
func fetchLockPath(vaultLock string, k fetchKey) string {
	sum := sha256.Sum256([]byte(k.id))
	return strings.TrimSuffix(vaultLock, ".lock") + ".fetch-" + hex.EncodeToString(sum[:8]) + ".lock"
}

// fetchTurn is the in-process half of one item's fetch lock: a holder has put a token in
// ch. It lives while someone holds or awaits it.
type fetchTurn struct {
	ch     chan struct{}
	users  int        // holders and waiters; guarded by Vault.fetchMu
	holder *FetchHold // guarded by Vault.fetchMu
}

// FetchHold is a hold on one cache item's fetch lock, from Vault.LockFetch (or a session's
// fetch, cachedSession) until Release. Within the process a turn of the item's own keeps
// out the other goroutines; across processes, flock(2) on a file of the item's own beside
// the vault's lock file, which holds the holder's pid, the profile and what the fetch
// waits for (never a secret), for a waiter's message.
type FetchHold struct {
	v    *Vault
	key  fetchKey
	turn *fetchTurn
	file *vaultLock // nil for a vault without a cross-process lock
	once sync.Once

	mu       sync.Mutex // guards f and awaiting
	f        *os.File
	awaiting string
}

// LockFetch holds the fetch lock of the item k names (item says what it is, for a waiter's
// message: "registry tokens"), until the hold's Release. It takes no lock on the vault:
// the holder looks in the cache again (another run may have filled it while this one
// waited), fetches what is still missing holding no lock on the vault, and stores it in an
// exclusive Section of its own. awaiting is what the fetch waits for at first ("ECR"),
// for a waiter's message. The end of ctx ends the wait, which VaultOptions.LockTimeout
// bounds; a LockTimeoutError names the item, the holder, and what it waits for.
//
// Fetch locks are taken outer first: the items a fetch needs (a registry token's session,
// a role's source session) are locked after it, and a Section is never held while one is
// awaited; several items of one kind are locked in the order of their keys.
func (v *Vault) LockFetch(ctx context.Context, k CacheKey, item, awaiting string) (*FetchHold, error) {
	m := k.metadata(time.Time{})
	return v.lockFetch(ctx, fetchKey{id: m.StringForMatching(), profile: k.Profile, item: item}, awaiting)
}

func (v *Vault) lockFetch(ctx context.Context, k fetchKey, awaiting string) (*FetchHold, error) {
	bound := orDefaultDuration(v.opts.LockTimeout, DefaultLockTimeout)
	if v.lock != nil {
		bound = v.lock.timeout
	}
	deadline := time.Now().Add(bound)
	t := v.joinTurn(k.id)
	h := &FetchHold{v: v, key: k, turn: t, awaiting: awaiting}
	timer := time.NewTimer(bound)
	defer timer.Stop()
	select {
	case t.ch <- struct{}{}:
	case <-ctx.Done():
		v.leaveTurn(k.id, t)
		return nil, ctx.Err()
	case <-timer.C:
		// Another goroutine of this av fetches it (the renewal, the endpoint).
		err := &LockTimeoutError{Waited: bound, Holders: []string{fmt.Sprintf("pid %d (this av)", os.Getpid())}, Profile: k.profile, Item: k.item}
		v.fetchMu.Lock()
		if t.holder != nil {
			err.Awaiting = t.holder.note()
		}
		v.fetchMu.Unlock()
		v.leaveTurn(k.id, t)
		return nil, err
	}
	v.fetchMu.Lock()
	t.holder = h
	v.fetchMu.Unlock()
	if v.lock != nil {
		h.file = &vaultLock{path: fetchLockPath(v.lock.path, k), timeout: bound, of: &k}
		f, err := h.file.acquire(ctx, Exclusive, deadline, h.stamp())
		if err != nil {
			h.leave()
			return nil, err
		}
		h.f = f
	}
	return h, nil
}

// joinTurn is the in-process turn of item id, made if nobody holds or awaits it.
func (v *Vault) joinTurn(id string) *fetchTurn {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if v.fetches == nil {
		v.fetches = map[string]*fetchTurn{}
	}
	t := v.fetches[id]
	if t == nil {
		t = &fetchTurn{ch: make(chan struct{}, 1)}
		v.fetches[id] = t
	}
	t.users++
	return t
}

// leaveTurn is the end of a hold or a wait on t: the last one drops it.
func (v *Vault) leaveTurn(id string, t *fetchTurn) {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if t.users--; t.users == 0 {
		delete(v.fetches, id)
	}
}

// Release lets the lock go; safe to call more than once.
func (h *FetchHold) Release() {
	h.once.Do(func() {
		h.mu.Lock()
		f := h.f
		h.f = nil
		h.mu.Unlock()
		if f != nil {
			h.file.release(f)
		}
		h.leave()
	})
}

// leave gives the in-process turn back.
func (h *FetchHold) leave() {
	h.v.fetchMu.Lock()
	h.turn.holder = nil
	h.v.fetchMu.Unlock()
	<-h.turn.ch
	h.v.leaveTurn(h.key.id, h.turn)
}

// Context returns ctx carrying the hold: a fetch made under it (a registry token's
// session) notes in the hold, too, what it waits for (an MFA code, a credential_process).
func (h *FetchHold) Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, holdsKey{}, append(slices.Clip(heldIn(ctx)), h))
}

type holdsKey struct{}

// heldIn lists the fetch locks ctx carries (FetchHold.Context), outer first.
func heldIn(ctx context.Context) []*FetchHold {
	hs, _ := ctx.Value(holdsKey{}).([]*FetchHold)
	return hs
}

// stamp is what the hold's lock file says (readStamp): pid, profile, what it waits for.
func (h *FetchHold) stamp() string {
	oneLine := strings.NewReplacer("\n", " ", "\r", " ")
	return fmt.Sprintf("%d\n%s\n%s\n", os.Getpid(), oneLine.Replace(h.key.profile), oneLine.Replace(h.awaiting))
}

// note is what the fetch waits for, as the hold says it.
func (h *FetchHold) note() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.awaiting
}

// setNote makes note what the fetch waits for, in the hold and its file, and returns the
// note it replaces.
func (h *FetchHold) setNote(note string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	prev := h.awaiting
	h.awaiting = note
	if h.f != nil {
		writeStamp(h.f, h.stamp())
	}
	return prev
}

// awaitingIn notes in each of holds that their fetch now waits for what: a service ("STS
// in eu-west-1", profile "") or profile's ("credential_process", "MFA code"), worded for
// each hold ("its MFA code", or "the MFA code of profile "base"" for a role whose source
// asks). It returns what puts the notes back.
func awaitingIn(holds []*FetchHold, what, profile string) (restore func()) {
	prev := make([]string, len(holds))
	for i, h := range holds {
		note := what
		switch {
		case profile == "":
		case profile == h.key.profile:
			note = "its " + what
		default:
			note = fmt.Sprintf("the %s of profile %q", what, profile)
		}
		prev[i] = h.setNote(note)
	}
	return func() {
		for i, h := range holds {
			h.setNote(prev[i])
		}
	}
}
