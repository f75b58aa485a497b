package profiles

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/99designs/aws-vault/v7/prompt"
	"github.com/99designs/aws-vault/v7/vault"
	"github.com/99designs/keyring"
	"github.com/av-cli/av/profiles/internal/pbes2"
	"golang.org/x/sys/unix"
)

// PassphraseVar holds the file backend's passphrase. av reads it and never passes it on.
const PassphraseVar = "AWS_VAULT_FILE_PASSPHRASE"

// VaultOptions are aws-vault's keyring settings, and av's lock on the vault. Zero values
// mean aws-vault's defaults.
type VaultOptions struct {
	Backend                 string // AWS_VAULT_BACKEND
	FileDir                 string // AWS_VAULT_FILE_DIR
	PassDir                 string // AWS_VAULT_PASS_PASSWORD_STORE_DIR
	PassCmd                 string // AWS_VAULT_PASS_CMD
	PassPrefix              string // AWS_VAULT_PASS_PREFIX
	KeychainName            string // AWS_VAULT_KEYCHAIN_NAME
	SecretServiceCollection string // AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME

	// FilePassphrase is the file backend's passphrase when HasFilePassphrase is set (from
	// AWS_VAULT_FILE_PASSPHRASE). Unset, the variable is read if set, else the passphrase
	// is asked for on the terminal.
	FilePassphrase    string
	HasFilePassphrase bool

	// Lock says where the vault's cross-process lock may go (placeLock has the rule); nil
	// means no cross-process lock (a test that owns its vault, av doctor's look).
	Lock *LockPlaces
	// LockTimeout bounds the wait for another process's hold on the vault; zero means
	// DefaultLockTimeout.
	LockTimeout time.Duration
	// HelperTimeout bounds each program the vault runs holding its lock exclusive (the pass
	// backend's pass and gpg, to write), as --aws-timeout bounds the profile's helpers;
	// zero means DefaultAWSTimeout.
	HelperTimeout time.Duration

	// Create makes a file vault whose directory does not exist yet writable (av add): its
	// directory is made by the first write, not before. Without it such a vault is empty
	// and stays so: a run must not leave a vault directory behind.
	Create bool
}

// VaultOptionsFromEnv reads the same environment variables aws-vault v7 reads, and takes
// the passphrase out of av's environment: no process av starts (credential_process,
// mfa_process, pass and gpg, a prompt program) inherits it.
func VaultOptionsFromEnv() VaultOptions {
	// Set but empty is not set: a CI secret that is missing expands to "".
	passphrase := os.Getenv(PassphraseVar)
	os.Unsetenv(PassphraseVar)
	return VaultOptions{
		FilePassphrase:          passphrase,
		HasFilePassphrase:       passphrase != "",
		Backend:                 os.Getenv("AWS_VAULT_BACKEND"),
		FileDir:                 os.Getenv("AWS_VAULT_FILE_DIR"),
		PassDir:                 os.Getenv("AWS_VAULT_PASS_PASSWORD_STORE_DIR"),
		PassCmd:                 os.Getenv("AWS_VAULT_PASS_CMD"),
		PassPrefix:              os.Getenv("AWS_VAULT_PASS_PREFIX"),
		KeychainName:            os.Getenv("AWS_VAULT_KEYCHAIN_NAME"),
		SecretServiceCollection: os.Getenv("AWS_VAULT_SECRET_SERVICE_COLLECTION_NAME"),
	}
}

// Vault is the keyring aws-vault uses: master credentials, cached sessions and SSO tokens,
// and av's cached registry tokens. Every read av makes holds the vault's lock shared, every
// write holds it exclusive (Lock takes it for a whole Section), and writes to the file
// backend replace an item whole.
//
// A Vault is safe for concurrent use, and guards itself: its lock is taken within the
// process too (one Section at a time; a read or write outside a Section is a Section of
// its own), so the token renewal and the credential endpoint of one run share a Vault
// without any lock of their callers'.
type Vault struct {
	kr      *vaultKeyring   // outside a Section: each call holds the lock for itself
	store   keyring.Keyring // the backend itself: used only by a holder of turn
	backend string
	fileDir string // the file backend's directory, for whole-item writes

	// ctx ends waits for the lock by reads and writes outside a Section that come through
	// keyring's interface, which takes no context (av list's, say).
	ctx  context.Context
	lock *vaultLock // the cross-process lock; nil without VaultOptions.Lock
	// turn is the in-process half of the lock: a Section holds it from Lock to Unlock.
	turn chan struct{}

	fetchMu sync.Mutex            // guards fetches
	fetches map[string]*fetchTurn // the in-process halves of the fetch locks held or awaited (fetchlock.go)

	ambientCache bool // a CI job's own cache (OpenAmbient), in the runtime directory

	pass *passCommands // the pass backend's reads and writes, bounded; nil for another backend

	mu            sync.Mutex // guards the fields below, which DeriveAhead and Decrypts read outside a Section
	passphrase    string
	hasPassphrase bool // asked for, or given in VaultOptions
	passphraseErr error
	decrypts      int

	opts       VaultOptions // as opened: createFileVault opens the vault again with them
	pendingDir string       // with VaultOptions.Create: the file vault's directory, not made yet
}

// OpenVault opens the keyring with aws-vault v7's service name, backend order and settings,
// so credentials stored by `aws-vault add` are used as they are. The end of ctx ends the
// passphrase prompt, if the vault needs one, and waits for the vault's lock.
func OpenVault(ctx context.Context, o VaultOptions) (*Vault, error) {
	v := newVault(ctx, "")
	v.passphrase, v.hasPassphrase, v.opts = o.FilePassphrase, o.HasFilePassphrase, o
	if err := v.open(o); err != nil {
		return nil, err
	}
	return v, nil
}

// open opens the backend o names into v.
func (v *Vault) open(o VaultOptions) error {
	cfg := keyring.Config{
		ServiceName:              "aws-vault",
		FilePasswordFunc:         v.filePassphrase,
		LibSecretCollectionName:  cmp.Or(o.SecretServiceCollection, "awsvault"),
		KWalletAppID:             "aws-vault",
		KWalletFolder:            "aws-vault",
		KeychainTrustApplication: true,
		KeychainName:             cmp.Or(o.KeychainName, "aws-vault"),
		WinCredPrefix:            "aws-vault",
		FileDir:                  cmp.Or(o.FileDir, pbes2.DefaultFileDir),
		PassDir:                  o.PassDir,
		PassCmd:                  o.PassCmd,
		PassPrefix:               o.PassPrefix,
	}
	backend := o.Backend
	if backend == "" {
		// aws-vault's default: the first backend available (secret-service on Linux when
		// a D-Bus session bus is there). Only this lists the backends: listing them
		// connects to the session bus, if one is there, to see whether secret-service
		// and kwallet can be had. A backend named explicitly is just opened.
		backend = string(keyring.AvailableBackends()[0])
	}
	cfg.AllowedBackends = []keyring.BackendType{keyring.BackendType(backend)}
	v.backend = backend
	// vaultID names the vault for its lock file: avs on the same vault share a lock.
	vaultID := backend + "\x00" + cfg.PassDir + "\x00" + cfg.PassPrefix + "\x00" + cfg.LibSecretCollectionName + "\x00" + cfg.KeychainName

	if backend == string(keyring.FileBackend) {
		// keyring's file backend creates its directory on first use; a run that finds no
		// vault must not leave one behind, so an absent directory is an empty vault.
		dir, err := fileVaultDir(o)
		if err != nil {
			return err
		}
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			v.store = keyring.NewArrayKeyring(nil)
			if o.Create {
				v.pendingDir = dir
			}
			return nil
		}
		// The vault as it is, not as a path names it (a symlinked ~/.awsvault/keys): one
		// lock for it, whatever path each run names it by.
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			dir = real
		}
		v.fileDir = dir
		vaultID = backend + "\x00" + v.fileDir
	}
	if o.Lock != nil {
		path, err := placeLock(*o.Lock, v.fileDir, vaultID)
		if err != nil {
			return err
		}
		v.lock = &vaultLock{path: path, timeout: orDefaultDuration(o.LockTimeout, DefaultLockTimeout)}
	}
	if backend == string(keyring.PassBackend) {
		// keyring finds a store pass cannot encrypt to only when it writes.
		if err := checkPass(o); err != nil {
			return newOpenError(backend, o, err)
		}
		v.pass = newPassCommands(o)
	}
	kr, err := keyring.Open(cfg)
	if errors.Is(err, keyring.ErrNoAvailImpl) && !slices.Contains(keyring.AvailableBackends(), keyring.BackendType(backend)) {
		return backendError(backend, Backends(o))
	}
	if errors.Is(err, keyring.ErrNoAvailImpl) {
		// keyring's opener failed, and keyring keeps only "not available": say what.
		switch backend {
		case string(keyring.KeyCtlBackend):
			err = errKeyctlScope
		case string(keyring.SecretServiceBackend):
			err = errNoSecretService
		}
	}
	if err != nil {
		return newOpenError(backend, o, err)
	}
	v.store = kr
	v.pendingDir = ""
	return nil
}

// view is the vault outside a Section, for one call: ctx ends its waits for the lock.
func (v *Vault) view(ctx context.Context) *vaultKeyring { return &vaultKeyring{v: v, ctx: ctx} }

// newVault is a Vault on no store yet: the caller sets store (and lock) before any use.
func newVault(ctx context.Context, backend string) *Vault {
	v := &Vault{ctx: ctx, backend: backend, turn: make(chan struct{}, 1)}
	v.kr = v.view(ctx)
	return v
}

// fileVaultDir is the file backend's directory, as o names it (or aws-vault's default).
func fileVaultDir(o VaultOptions) (string, error) {
	dir, err := keyring.ExpandTilde(cmp.Or(o.FileDir, pbes2.DefaultFileDir))
	if err != nil {
		return "", fmt.Errorf("finding the vault directory: %w", err)
	}
	return filepath.Clean(dir), nil
}

// BackendError says the vault backend named in AWS_VAULT_BACKEND cannot be had here.
type BackendError struct {
	Backend string
	// NeedsBus says the backend talks to a service on the D-Bus session bus and no bus
	// could be reached: av never starts one.
	NeedsBus bool
	// Backends are this platform's backends and what stops each here.
	Backends []BackendState
}

// backendError says backend cannot be had here, where the backends are as states says.
func backendError(backend string, states []BackendState) *BackendError {
	return &BackendError{Backend: backend, NeedsBus: needsBus(backend), Backends: states}
}

func (e *BackendError) Error() string {
	if e.NeedsBus {
		return fmt.Sprintf("vault backend %q in AWS_VAULT_BACKEND needs a D-Bus session bus, and none can be reached (have %s)", e.Backend, e.have())
	}
	return fmt.Sprintf("unknown vault backend %q in AWS_VAULT_BACKEND (have %s)", e.Backend, e.have())
}

// have names the backends that work here, comma-separated.
func (e *BackendError) have() string { return strings.Join(Working(e.Backends), ", ") }

// needsBus reports whether a backend is reached over the D-Bus session bus.
func needsBus(backend string) bool {
	return backend == string(keyring.SecretServiceBackend) || backend == string(keyring.KWalletBackend)
}

// Section is a hold on the vault's lock, from Lock until Unlock, in one mode. Reads and
// writes made through it (its methods, and credentials got with CredentialsOptions.Section)
// take no further lock. A Section belongs to the goroutine that took it; Unlock is safe to
// call more than once, so `defer s.Unlock()` may follow an earlier Unlock.
type Section struct {
	v    *Vault
	mode LockMode
	f    *os.File      // the cross-process hold; nil for a vault without one
	kr   *vaultKeyring // the vault as seen inside the section
	once sync.Once

	// keys is the vault's listing, made at the section's first Keys and given again until
	// the section writes or removes an item (listed false). aws-vault's types list the
	// vault at each call: a warm run's session lookup would list it three times
	// (CredentialKeyring.Has, then SessionKeyring.Get's RemoveOldSessions and
	// lookupKeyName). Within the hold no av writes; aws-vault, which takes no lock, may,
	// and against it a listing a moment old is as good as a new one: an item it adds after
	// the listing is missed, one it removes is not found when read, both of which a
	// listing made just before its write gives as well.
	keys   []string
	listed bool
}

// Lock holds the vault's lock in mode, within the process and across processes, until the
// Section's Unlock. The end of ctx ends the wait, and the wait for another process is
// bounded by VaultOptions.LockTimeout. Sections do not nest: code inside one passes it on.
func (v *Vault) Lock(ctx context.Context, mode LockMode) (*Section, error) {
	// Another goroutine of this av holds it (the renewal, the endpoint): as long a wait as
	// for another process, then a named error rather than a silent hang.
	wait := orDefaultDuration(v.opts.LockTimeout, DefaultLockTimeout)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case v.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, &LockTimeoutError{Waited: wait, Holders: []string{fmt.Sprintf("pid %d (this av)", os.Getpid())}}
	}
	var f *os.File
	if v.lock != nil {
		var err error
		if f, err = v.lock.acquire(ctx, mode, time.Now().Add(v.lock.timeout), pidStamp()); err != nil {
			<-v.turn
			return nil, err
		}
	}
	s := &Section{v: v, mode: mode, f: f}
	s.kr = &vaultKeyring{v: v, sec: s, ctx: ctx}
	return s, nil
}

// Unlock ends the section.
func (s *Section) Unlock() {
	s.once.Do(func() {
		s.v.lock.release(s.f)
		<-s.v.turn
	})
}

// Mode is how the section holds the lock.
func (s *Section) Mode() LockMode { return s.mode }

// Decrypts counts the items read from the vault so far: each costs a decryption (about
// 3 ms with the file backend), so the warm path is judged by it.
func (v *Vault) Decrypts() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.decrypts
}

// KeysDerivedAhead counts the file-backend items read so far whose key was derived in
// advance (DeriveAhead).
func (v *Vault) KeysDerivedAhead() int { return pbes2.Ahead.Used() }

// DeriveAhead begins deriving, on other cores, the keys of the file-backend items a run of
// these profiles will read next: the newest live cached item of each kind (av's registry
// tokens, aws-vault's session) for each profile, in order, at most pbes2.MaxAhead in all.
// It is for a warm run, whose whole cost is those items' key derivations (about 1.6 ms
// each): they overlap each other and whatever the run does meanwhile. It reads the vault
// directory's listing and the items' headers, never their contents, and does nothing for
// another backend or a passphrase still to be asked for. It returns how many it began.
func (v *Vault) DeriveAhead(profileNames []string) int {
	if v.fileDir == "" {
		return 0
	}
	passphrase, ok := v.passphraseAtHand()
	if !ok {
		return 0
	}
	names, err := readDirNames(v.fileDir)
	if err != nil {
		return 0
	}
	var paths []string
	for _, p := range profileNames {
		for _, n := range newestSessions(names, p, time.Now()) {
			paths = append(paths, filepath.Join(v.fileDir, n))
		}
	}
	return pbes2.Ahead.Start(passphrase, paths)
}

// newestSessions names, for one profile, the live session-shaped item of each type (av's
// own first) that expires last.
func newestSessions(names []string, profile string, now time.Time) []string {
	type best struct {
		name string
		exp  time.Time
	}
	byType := map[string]best{}
	var types []string
	for _, n := range names {
		m, err := vault.NewSessionKeyFromString(n)
		if err != nil || m.ProfileName != profile || !now.Before(m.Expiration) {
			continue
		}
		b, seen := byType[m.Type]
		if !seen {
			types = append(types, m.Type)
		}
		if !seen || m.Expiration.After(b.exp) {
			byType[m.Type] = best{n, m.Expiration}
		}
	}
	sort.SliceStable(types, func(i, j int) bool {
		return strings.HasPrefix(types[i], cacheTypePrefix) && !strings.HasPrefix(types[j], cacheTypePrefix)
	})
	out := make([]string, 0, len(types))
	for _, t := range types {
		out = append(out, byType[t].name)
	}
	return out
}

// readDirNames lists dir's entries by name. With os.ReadDir, which opens a directory as
// one: os.Open would try to add it to Go's poller first (four fcntl and a failing
// epoll_ctl), on every warm run.
func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// passphraseFirst asks for the file backend's passphrase now, if it is not at hand and the
// vault holds items, before a Section is taken: keyring asks for it at the first decrypt
// or write, inside the Section, and a person at a prompt must not hold the vault's lock
// (other runs' writes would wait). A run that gets credentials from the vault needs it
// anyway, to read them or to store a session. The message is keyring's; a failure is kept
// (filePassphrase) and met again at that first decrypt.
func (v *Vault) passphraseFirst() {
	if v.fileDir == "" || v.ambientCache {
		return
	}
	if _, ok := v.passphraseAtHand(); ok {
		return
	}
	if names, err := readDirNames(v.fileDir); err != nil || len(names) == 0 {
		return
	}
	dir, err := keyring.ExpandTilde(cmp.Or(v.opts.FileDir, pbes2.DefaultFileDir))
	if err != nil {
		return
	}
	_, _ = v.filePassphrase(fmt.Sprintf("Enter passphrase to unlock %q", dir))
}

// passphraseAtHand is the file backend's passphrase if it is known without asking:
// already asked for, or in the environment.
func (v *Vault) passphraseAtHand() (string, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.hasPassphrase {
		return v.passphrase, v.passphraseErr == nil
	}
	p := os.Getenv(PassphraseVar)
	return p, p != ""
}

// SetDebug makes keyring log what it does (with --debug): names, never secrets.
func SetDebug(on bool) { keyring.Debug = on }

// HasCredentials reports whether the vault holds master credentials for the profile.
func (v *Vault) HasCredentials(profile string) (bool, error) { return v.kr.hasCredentials(profile) }

func (k *vaultKeyring) hasCredentials(profile string) (bool, error) {
	ok, err := k.credentials().Has(profile)
	if err != nil {
		return false, fmt.Errorf("listing the %s vault: %w", k.v.backend, err)
	}
	return ok, nil
}

func (k *vaultKeyring) credentials() *vault.CredentialKeyring {
	return &vault.CredentialKeyring{Keyring: k}
}

// locked runs fn holding the lock in at least mode: inside a Section as it holds it,
// otherwise in a Section of fn's own.
func (k *vaultKeyring) locked(mode LockMode, fn func() error) error {
	if k.sec != nil {
		if k.sec.mode < mode {
			return errors.New("writing to the vault under a shared lock")
		}
		return fn()
	}
	s, err := k.v.Lock(k.ctx, mode)
	if err != nil {
		return err
	}
	defer s.Unlock()
	return fn()
}

// vaultKeyring is the keyring as av uses it, and as it hands it to aws-vault's session and
// credential types: locked, writing whole items, and keeping the vault's contents out of
// error messages (a decrypt or parse error of an item may quote part of it). Inside a
// Section it uses the section's hold; outside, each call takes the lock for itself, and
// ctx ends its wait.
type vaultKeyring struct {
	v   *Vault
	sec *Section
	ctx context.Context
}

func (k *vaultKeyring) Get(key string) (keyring.Item, error) {
	var item keyring.Item
	err := k.locked(Shared, func() (err error) {
		item, err = k.v.get(k.ctx, key)
		return err
	})
	return item, err
}

func (k *vaultKeyring) GetMetadata(key string) (keyring.Metadata, error) {
	var md keyring.Metadata
	err := k.locked(Shared, func() (err error) {
		md, err = k.v.store.GetMetadata(key)
		return err
	})
	return md, err
}

func (k *vaultKeyring) Keys() ([]string, error) {
	if k.sec != nil && k.sec.listed {
		return slices.Clone(k.sec.keys), nil
	}
	var keys []string
	err := k.locked(Shared, func() (err error) {
		keys, err = k.v.store.Keys()
		return err
	})
	if err == nil && k.sec != nil {
		k.sec.keys, k.sec.listed = slices.Clone(keys), true
	}
	return keys, err
}

// changed says the section's listing no longer holds: it writes or removes an item.
func (k *vaultKeyring) changed() {
	if k.sec != nil {
		k.sec.listed = false
	}
}

func (k *vaultKeyring) Set(item keyring.Item) error {
	k.changed()
	err := k.locked(Exclusive, func() error { return k.v.set(k.ctx, item) })
	if err != nil && err != k.v.passphraseError() && !isLockError(err) {
		return k.v.itemError(item.Key, fmt.Errorf("writing to the %s vault: %w", k.v.backend, err))
	}
	return err
}

func (k *vaultKeyring) Remove(key string) error {
	mode := Exclusive
	if k.sec != nil && k.sec.mode == Shared {
		// aws-vault's session reads remove expired sessions as they go. Unlinking is
		// atomic: a reader sees the whole item or none, so a shared hold is enough.
		mode = Shared
	}
	k.changed()
	err := k.locked(mode, func() error { return k.v.remove(k.ctx, key) })
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) && !isLockError(err) {
		return k.v.itemError(key, fmt.Errorf("removing it from the %s vault: %w", k.v.backend, err))
	}
	return err
}

// isLockError reports whether err is about the vault's lock, not an item: a timeout, the
// end of the run's context, or the lock file.
func isLockError(err error) bool {
	var te *LockTimeoutError
	var le *lockFileError
	return errors.As(err, &te) || errors.As(err, &le) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// decodeRetries is how many times a file-backend item that does not decrypt is read again.
// aws-vault (which takes no lock) rewrites items in place: a read that overlaps its write
// sees a truncated item, and the next read, a moment later, the whole one.
const decodeRetries = 2

func (v *Vault) get(ctx context.Context, key string) (keyring.Item, error) {
	item, err := v.getRetrying(ctx, key)
	// A CI job's cache has no passphrase to get wrong (its key is the job's own secret):
	// an item that does not decrypt is damaged, and so a miss that is replaced.
	if errors.Is(err, ErrVaultLocked) && (v.ambientCache || v.passphraseRight(ctx, key)) {
		err = ErrDamagedItem
	}
	if err != nil && !errors.Is(err, keyring.ErrKeyNotFound) && err != v.passphraseError() {
		return item, v.itemError(key, err)
	}
	return item, err
}

// isHelperStop reports whether err is a bounded helper's end (its bound, or the call's
// context): the pass backend's read, not the item.
func isHelperStop(err error) bool {
	var te *HelperTimeoutError
	return errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// getRetrying reads an item; a file-backend item that does not decrypt is read again
// (decodeRetries), then is ErrVaultLocked.
func (v *Vault) getRetrying(ctx context.Context, key string) (keyring.Item, error) {
	for attempt := 0; ; attempt++ {
		var item keyring.Item
		var err error
		if v.pass != nil {
			item, err = v.pass.get(ctx, key)
		} else {
			item, err = v.store.Get(key)
		}
		switch {
		case err == nil:
			v.mu.Lock()
			v.decrypts++
			v.mu.Unlock()
			return item, nil
		case errors.Is(err, keyring.ErrKeyNotFound):
			return item, err
		case errors.Is(err, keyring.ErrItemNotRegular):
			// A FIFO or a device in the file vault's directory (the patched keyring refuses it).
			return item, ErrNotRegular
		case errors.Is(err, keyring.ErrItemTooLarge), errors.Is(err, ErrTooLarge):
			return item, ErrTooLarge
		case isHelperStop(err):
			return item, err
		case v.passphraseError() != nil:
			return item, v.passphraseError()
		case v.backend != string(keyring.FileBackend):
			return item, fmt.Errorf("reading the %s vault: %w", v.backend, err)
		case attempt == decodeRetries:
			return item, ErrVaultLocked
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
}

// passphraseRight reports whether the file vault's passphrase is known to be right, though
// the item key does not decrypt with it: another item did, or does. Then that item is
// damaged (truncated, overwritten, edited), not locked. Only when no item has been read
// yet are others tried, three at most; with no other item that decrypts, the two cannot be
// told apart, and it is false.
func (v *Vault) passphraseRight(ctx context.Context, key string) bool {
	if v.Decrypts() > 0 {
		return true
	}
	keys, err := v.store.Keys()
	if err != nil {
		return false
	}
	// Master keys first (rewritten least often), then aws-vault's sessions, then av's.
	rank := func(k string) int {
		switch {
		case isMasterItem(k):
			return 0
		case !isCacheItem(k):
			return 1
		}
		return 2
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == key })
	slices.SortStableFunc(keys, func(a, b string) int { return rank(a) - rank(b) })
	for _, other := range keys[:min(len(keys), 3)] {
		if _, err := v.getRetrying(ctx, other); err == nil {
			return true
		}
	}
	return false
}

// isMasterItem reports whether an item's name is a profile's (master credentials), as
// aws-vault's CredentialKeyring tells them from sessions and SSO tokens.
func isMasterItem(key string) bool {
	return !vault.IsSessionKey(key) && !vault.IsOldSessionKey(key) && !vault.IsOIDCTokenKey(key)
}

// isCacheItem reports whether an item is one of av's own (CacheKey).
func isCacheItem(key string) bool {
	m, err := vault.NewSessionKeyFromString(key)
	return err == nil && strings.HasPrefix(m.Type, cacheTypePrefix)
}

// ItemError is a failure to read, write or remove one item of the vault, by its name
// (never its content).
type ItemError struct {
	Key     string
	Profile string // for a profile's master credentials: the profile
	// Vault names a file vault ("the file vault DIR"), whose own errors (a wrong
	// passphrase, a damaged item) do not; "" for the other backends, whose errors do.
	Vault string
	Err   error
}

func (e *ItemError) Error() string {
	switch {
	case e.Vault == "":
		return fmt.Sprintf("vault item %q: %v", e.Key, e.Err)
	case errors.Is(e.Err, ErrVaultLocked):
		return fmt.Sprintf("cannot decrypt item %q of %s: wrong passphrase or a damaged item", e.Key, e.Vault)
	}
	return fmt.Sprintf("item %q of %s: %v", e.Key, e.Vault, e.Err)
}

func (e *ItemError) Unwrap() error { return e.Err }

func (v *Vault) itemError(key string, err error) error {
	var ie *ItemError
	if errors.As(err, &ie) {
		return err
	}
	e := &ItemError{Key: key, Vault: v.fileVaultName(), Err: err}
	if isMasterItem(key) {
		e.Profile = key
	}
	return e
}

// set writes item: a file item whole, a pass item by a bounded pass (passCommands).
func (v *Vault) set(ctx context.Context, item keyring.Item) error {
	switch {
	case v.pass != nil:
		return v.pass.set(ctx, item)
	case v.fileDir == "":
		return v.whySetFailed(v.store.Set(item))
	}
	return v.setWhole(item)
}

// remove removes the item key: a pass item by a bounded pass (passCommands).
func (v *Vault) remove(ctx context.Context, key string) error {
	if v.pass != nil {
		return v.pass.remove(ctx, key)
	}
	return v.store.Remove(key)
}

// setWhole writes a file-backend item so that readers see the old item or the new one,
// never a part: keyring writes the item into a scratch directory beside the vault's (never
// inside it: keyring takes every entry of its directory for an item), and it is renamed
// over the old one. Where that cannot be done (no write access beside the vault, another
// filesystem), the item is written in place; the exclusive lock still keeps other avs out.
func (v *Vault) setWhole(item keyring.Item) error {
	parent := filepath.Dir(v.fileDir)
	prefix := "." + filepath.Base(v.fileDir) + ".av-write-"
	// What an av killed while writing left: a minute is far longer than a write takes.
	sweepStale(parent, prefix, time.Minute)
	tmp, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return v.store.Set(item)
	}
	defer os.RemoveAll(tmp)
	scratch, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          tmp,
		FilePasswordFunc: v.filePassphrase,
	})
	if err != nil {
		return v.store.Set(item)
	}
	if err := scratch.Set(item); err != nil {
		if perr := v.passphraseError(); perr != nil {
			return perr
		}
		return err
	}
	entries, err := os.ReadDir(tmp)
	if err != nil || len(entries) != 1 {
		return v.store.Set(item)
	}
	if v.ambientCache {
		// A failed parallel run may have removed it while empty (DropIfEmpty).
		os.MkdirAll(v.fileDir, 0o700)
	}
	err = os.Rename(filepath.Join(tmp, entries[0].Name()), filepath.Join(v.fileDir, entries[0].Name()))
	if errors.Is(err, unix.EXDEV) {
		return v.store.Set(item)
	}
	return err
}

// MemoryVault is an empty vault that lives as long as the process: for a job with no vault
// at all, whose profiles get their credentials from the config file (a web identity, a
// credential process). Nothing in it is shared with another run.
func MemoryVault(ctx context.Context) *Vault {
	v := newVault(ctx, "in-memory")
	v.store = keyring.NewArrayKeyring(nil)
	return v
}

// OpenError says the vault's backend could not be opened (no D-Bus session for the
// Secret Service, no gpg key for pass, …).
type OpenError struct {
	Backend string
	Chosen  bool // named by AWS_VAULT_BACKEND, not aws-vault's default
	Err     error
	// Backends are this platform's backends and what stops each here: found by States
	// when first asked for (a run that goes on without the default backend never does).
	Backends []BackendState

	opts VaultOptions // as the vault was opened, without the passphrase: for States
}

// newOpenError is the OpenError for backend, opened with o, that failed with err.
func newOpenError(backend string, o VaultOptions, err error) *OpenError {
	o.FilePassphrase, o.HasFilePassphrase = "", false // an error keeps no secret
	return &OpenError{Backend: backend, Chosen: o.Backend != "", Err: err, opts: o}
}

// States lists this platform's backends and what stops each here (Backends).
func (e *OpenError) States() []BackendState {
	if e.Backends == nil {
		e.Backends = Backends(e.opts)
	}
	return e.Backends
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("opening the %s vault: %v", e.Backend, e.Err)
}

func (e *OpenError) Unwrap() error { return e.Err }

// HasOwnCredentials reports whether a profile can give credentials of its own, without
// the job's ambient identity: keys in the vault, or a way to get some in its section of the
// config file (a source profile, a role, SSO, a web identity, a credential process). v may
// be nil: no vault.
func HasOwnCredentials(cfg *Config, v *Vault, name string) (bool, error) {
	if v != nil {
		if ok, err := v.HasCredentials(name); ok || err != nil {
			return ok, err
		}
	}
	if !cfg.Has(name) {
		return false, nil
	}
	pc, err := cfg.profileConfig(name, Options{})
	if err != nil {
		return false, err
	}
	return pc.HasSourceProfile() || pc.HasRole() || pc.HasSSOStartURL() || pc.HasSSOSession() ||
		pc.HasWebIdentity() || pc.HasCredentialProcess(), nil
}

// ErrVaultLocked is returned when an item cannot be decrypted with the passphrase given,
// and nothing tells whether the passphrase is wrong or the item damaged.
var ErrVaultLocked = errors.New("cannot decrypt the vault: wrong passphrase or a damaged item")

// ErrDamagedItem is returned for a file-backend item that does not decrypt with a
// passphrase that decrypts the vault's other items.
var ErrDamagedItem = errors.New("damaged: it does not decrypt with the passphrase that decrypts the vault's other items")

// filePassphrase is the file backend's passphrase, asked once per run: both the vault and
// the scratch keyring of setWhole use it. A vault with no item yet is being created by
// this write, whoever writes (av add, a run caching its session or tokens): its passphrase
// is asked for twice, saying so, since a typo would lock the user out of all it will hold.
func (v *Vault) filePassphrase(message string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.hasPassphrase {
		if dir, ok := v.newFileVault(); ok {
			v.passphrase, v.passphraseErr = newFilePassphrase(v.ctx, dir)
		} else {
			v.passphrase, v.passphraseErr = filePassphrase(v.ctx, message)
		}
		if errors.Is(v.passphraseErr, ErrNoTTY) {
			// Named: the error reaches the user through aws-vault and the SDK, which do not.
			v.passphraseErr = &NoPassphraseError{Vault: v.fileVaultName()}
		}
		v.hasPassphrase = true
	}
	return v.passphrase, v.passphraseErr
}

// passphraseError is why the file backend's passphrase could not be had, if it was asked
// for and could not.
func (v *Vault) passphraseError() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.passphraseErr
}

func filePassphrase(ctx context.Context, message string) (string, error) {
	// Set but empty is not set: a CI secret that is missing expands to "".
	if p := os.Getenv(PassphraseVar); p != "" {
		return p, nil
	}
	p, err := readFromTTY(ctx, message+": ", echoOff)
	switch {
	case errors.Is(err, ErrNoTTY):
		return "", err
	case err != nil:
		return "", fmt.Errorf("reading the vault passphrase: %w", err)
	}
	return p, nil
}

// mfaPromptMethod is aws-vault's prompt driver: AWS_VAULT_PROMPT, else the terminal,
// where av's own prompt stands in for aws-vault's (see ttyPromptMethod).
func mfaPromptMethod() string {
	p := os.Getenv("AWS_VAULT_PROMPT")
	promptMethods.Lock()
	_, ok := prompt.Methods[p]
	promptMethods.Unlock()
	if ok && p != "terminal" {
		return p
	}
	return ttyPromptMethod
}

// orDefaultDuration is v, or def where v is not positive: not cmp.Or, which would keep a
// negative timeout (--lock-timeout=-1s), and so give up at once.
func orDefaultDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}
