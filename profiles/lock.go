package profiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/sys/unix"
)

// LockMode is how a vault lock is held: many readers share it, one writer holds it alone.
type LockMode int

const (
	// Shared lets other readers in and keeps writers out.
	Shared LockMode = iota + 1
	// Exclusive keeps everyone else out: for writes, and for "look, mint if missing, store"
	// sections that must run once however many avs start together.
	Exclusive
)

func (m LockMode) String() string {
	switch m {
	case Shared:
		return "shared"
	case Exclusive:
		return "exclusive"
	}
	return "unlocked"
}

// DefaultLockTimeout is how long av waits for another av's hold on the vault. A holder may
// be waiting for its user's MFA code or SSO login, which takes a person a minute or so.
const DefaultLockTimeout = 2 * time.Minute

// LockTimeoutError says a lock stayed taken for the whole timeout: the vault's, or, with
// Item set, the fetch lock of one profile's item (fetchlock.go), held by a run that is
// fetching it.
type LockTimeoutError struct {
	Waited  time.Duration
	Holders []string // "pid 1234 (av)", as far as the system tells

	// A fetch lock's: whose item, which ("session", "registry tokens"), and what its
	// holder said it waits for ("its credential_process", "its MFA code", "STS in
	// eu-west-1"), if it said.
	Profile, Item, Awaiting string
}

func (e *LockTimeoutError) Error() string {
	who := "another process"
	if len(e.Holders) > 0 {
		who = strings.Join(e.Holders, ", ")
	}
	if e.Item == "" {
		return fmt.Sprintf("the vault is locked by %s: gave up after %s", who, e.Waited)
	}
	being := "is being fetched"
	if strings.HasSuffix(e.Item, "s") {
		being = "are being fetched"
	}
	msg := fmt.Sprintf("the %s of profile %q %s by %s", e.Item, e.Profile, being, who)
	if e.Awaiting != "" {
		msg += ", waiting for " + e.Awaiting
	}
	return fmt.Sprintf("%s: gave up after %s", msg, e.Waited)
}

// lockFileError is a failure of the lock file itself (not a wait for another holder).
type lockFileError struct{ err error }

func (e *lockFileError) Error() string { return e.err.Error() }
func (e *lockFileError) Unwrap() error { return e.err }

// vaultLock is the cross-process lock on one vault: flock(2) on a file beside a file
// vault's directory, or in a private directory of the user's (placeLock). The kernel drops
// a flock when its holder dies, even by SIGKILL, so a killed av never leaves the vault
// locked.
//
// The vault's lock file stays once made, empty (as `~/.awsvault/.keys.av-lock`): every run
// takes it twice, and a file made and removed on each hold cost a warm run about 0.1 ms of
// CPU on an idle ext4 home and up to 0.6 ms under make -j, where ext4 looks for a free
// inode past every one just freed (issue 22; tests/cmd/av-bench/README.md). A fetch lock's
// file (of), taken only by a run that fetches, one per item, exists only while someone
// holds or awaits it: its last holder removes it (see release).
type vaultLock struct {
	path    string
	timeout time.Duration
	// of: this is the fetch lock of one item (fetchlock.go), not the vault's: a waiter's
	// timeout names the item, and what its holder wrote it waits for.
	of *fetchKey
}

// LockPlaces are the directories a vault's lock file may go into, besides the file vault's
// own parent: placeLock chooses.
type LockPlaces struct {
	// UserDir gives the user's private lock directory (env.LockDir: XDG_RUNTIME_DIR/av,
	// else /dev/shm/av-UID), which does not depend on a run's --runtime-dir.
	UserDir func() (string, error)
	// Fallback gives a directory for when UserDir cannot be had (another user took
	// /dev/shm/av-UID): a run's runtime directory. Nil, or "", for none: then the vault
	// does not open.
	Fallback func() (string, error)
}

// placeLock is the one rule for where a vault's lock lives, so that every av on one vault
// takes one lock, whatever its runtime directory and whichever path names the vault:
//
//  1. a file vault's (fileDir, its real path): beside its directory, where only the user
//     can make or replace a file (besideVault);
//  2. any other vault's, or a file vault whose parent others may write: in the user's lock
//     directory (LockPlaces.UserDir), named after the vault (lockPath);
//  3. only if that cannot be had: in the fallback directory (a run's runtime directory),
//     where runs share the lock only with runs that use the same one.
//
// A CI job's own cache (OpenAmbient) is not the user's vault: its lock lives in its runtime
// directory, beside it (openAmbientCache).
func placeLock(places LockPlaces, fileDir, vaultID string) (string, error) {
	if beside, ok := besideVault(fileDir); ok {
		return beside, nil
	}
	dir, err := places.UserDir()
	if err == nil {
		return lockPath(dir, vaultID), nil
	}
	fallback := ""
	if places.Fallback != nil {
		var ferr error
		if fallback, ferr = places.Fallback(); ferr != nil {
			return "", ferr
		}
	}
	if fallback == "" {
		return "", err
	}
	log.Printf("%v; the vault's lock goes into %s instead", err, fallback)
	return lockPath(fallback, vaultID), nil
}

// lockPath names the lock file of a vault: one per vault, so avs on different vaults never
// wait for each other.
func lockPath(dir, vaultID string) string {
	sum := sha256.Sum256([]byte(vaultID))
	// A dot file: `ls` of the runtime directory shows only run directories.
	return filepath.Join(dir, ".vault-"+hex.EncodeToString(sum[:6])+".lock")
}

// besideVault names the lock file of the file vault in dir, beside it ("~/.awsvault/keys"
// has "~/.awsvault/.keys.av-lock"; never inside: keyring takes every entry of its directory
// for an item): every run on the vault finds it there, whatever its runtime directory,
// and through whichever path it names the vault. Only where no other user can make or
// replace a file, so a directory of the user's that only the user may write; ok is false
// otherwise (and for no directory at all).
func besideVault(dir string) (path string, ok bool) {
	if dir == "" {
		return "", false
	}
	parent := filepath.Dir(dir)
	var st unix.Stat_t
	if unix.Stat(parent, &st) != nil || int(st.Uid) != os.Getuid() || st.Mode&0o022 != 0 || unix.Access(parent, unix.W_OK) != nil {
		return "", false
	}
	return filepath.Join(parent, "."+filepath.Base(dir)+".av-lock"), true
}

// acquire takes the lock in mode, waiting until deadline at most in all, and writes into
// the file, for an exclusive hold, stamp: who holds it (see stamp). Each attempt opens the
// file anew: an abandoned wait (timeout, ctx) keeps blocking in the kernel on its own
// descriptor and drops the lock as soon as it gets it, never touching a later hold.
func (l *vaultLock) acquire(ctx context.Context, mode LockMode, deadline time.Time, stamp string) (*os.File, error) {
	how := unix.LOCK_SH
	if mode == Exclusive {
		how = unix.LOCK_EX
	}
	for {
		// O_CLOEXEC: the child must never inherit the lock, or a killed av's command would
		// keep the vault locked.
		fd, err := unix.Open(l.path, unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
		if err != nil {
			return nil, &lockFileError{fmt.Errorf("opening the vault lock %s: %w", l.path, err)}
		}
		f := os.NewFile(uintptr(fd), l.path)
		err = flock(fd, how|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			// wait closes f itself when it fails.
			err = l.wait(ctx, f, how, deadline)
		} else if err != nil {
			f.Close()
			err = &lockFileError{fmt.Errorf("locking the vault: %w", err)}
		}
		if err != nil {
			return nil, err
		}
		if l.current(f) {
			if mode == Exclusive {
				// Who holds it, for a waiter's timeout message when /proc/locks cannot say.
				writeStamp(f, stamp)
			}
			return f, nil
		}
		// The last holder removed the file while this one waited on it: lock the file
		// that is there now.
		f.Close()
	}
}

// current reports whether f is still the file at l.path.
func (l *vaultLock) current(f *os.File) bool {
	var held, named unix.Stat_t
	if unix.Fstat(int(f.Fd()), &held) != nil || unix.Stat(l.path, &named) != nil {
		return false
	}
	return held.Dev == named.Dev && held.Ino == named.Ino
}

// release drops a hold. The last holder of a fetch lock removes its file: when an exclusive
// hold can be had at once, nobody else holds the file, and while this one holds it nobody
// can remove or replace it, so the path still names it; a process that opened it
// meanwhile finds it gone once it gets the lock, and opens the new one (acquire). The
// vault's own lock file stays; the last holder empties it of an exclusive holder's stamp,
// which would otherwise name a process long gone.
func (l *vaultLock) release(f *os.File) {
	if f == nil {
		return
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		var st unix.Stat_t
		switch {
		case l.of != nil && l.current(f):
			os.Remove(l.path)
		case l.of == nil && unix.Fstat(int(f.Fd()), &st) == nil && st.Size > 0:
			_ = f.Truncate(0)
		}
	}
	// Closing the last descriptor drops the flock.
	f.Close()
}

// wait blocks in flock(2) on a goroutine, so the deadline and ctx can end the wait.
func (l *vaultLock) wait(ctx context.Context, f *os.File, how int, deadline time.Time) error {
	who := strings.Join(lockHolders(f), ", ")
	if who == "" {
		who = "another process"
	}
	if l.of != nil {
		log.Printf("waiting for the %s of profile %q, being fetched by %s", l.of.item, l.of.profile, who)
	} else {
		log.Printf("waiting for the vault's lock, held by %s", who)
	}
	done := make(chan error, 1)
	go func() { done <- flock(int(f.Fd()), how) }()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
		if err != nil {
			f.Close()
		}
		return err
	case <-timer.C:
		err = l.timeoutError(f)
	case <-ctx.Done():
		err = ctx.Err()
	}
	// The flock call cannot be interrupted: close the file once it returns, which drops
	// whatever it got.
	go func() { <-done; f.Close() }()
	return err
}

// timeoutError is the error of a wait on f that timed out: it names the holders, and, for
// a fetch lock, what is being fetched and what the holder wrote it waits for.
func (l *vaultLock) timeoutError(f *os.File) *LockTimeoutError {
	e := &LockTimeoutError{Waited: l.timeout, Holders: lockHolders(f)}
	if l.of != nil {
		e.Profile, e.Item = l.of.profile, l.of.item
		e.Awaiting = readStamp(f).awaiting
	}
	return e
}

// pidStamp is what an exclusive holder of the vault's lock writes into its file: its pid.
func pidStamp() string { return strconv.Itoa(os.Getpid()) + "\n" }

// writeStamp replaces the content of a held lock file with stamp: written first, then cut
// to its length, so a waiter reading it meanwhile sees at worst a mix of two stamps.
func writeStamp(f *os.File, stamp string) {
	_, _ = f.WriteAt([]byte(stamp), 0)
	_ = f.Truncate(int64(len(stamp)))
}

// stamp is what a lock file says of its exclusive holder: its pid, and for a fetch lock
// its profile and what it waits for, a line each (never a secret).
type stamp struct {
	pid               int
	profile, awaiting string
}

// readStamp reads what f's exclusive holder wrote into it; bounded, as anyone who can
// write the file could have made it large.
func readStamp(f *os.File) stamp {
	buf := make([]byte, 512)
	n, _ := f.ReadAt(buf, 0)
	lines := strings.Split(string(buf[:n]), "\n")
	var s stamp
	if pid, err := strconv.Atoi(strings.TrimSpace(lines[0])); err == nil && pid > 0 {
		s.pid = pid
	}
	if len(lines) > 2 {
		s.profile, s.awaiting = printable(lines[1]), printable(lines[2])
	}
	return s
}

// printable is s without control characters: what a lock file says goes into a message.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func flock(fd, how int) error {
	for {
		err := unix.Flock(fd, how)
		if err != unix.EINTR {
			return err
		}
	}
}

// lockHolders names the processes holding a lock on f's file, as the system tells
// (lock_linux.go, lock_darwin.go), else the pid the last exclusive holder wrote into the
// file.
func lockHolders(f *os.File) []string {
	pids, ok := systemLockHolders(f)
	if !ok {
		return nil
	}
	if len(pids) == 0 {
		if pid := readStamp(f).pid; pid > 0 {
			pids = append(pids, pid)
		}
	}
	var out []string
	seen := map[int]bool{}
	for _, pid := range pids {
		if seen[pid] {
			continue
		}
		seen[pid] = true
		name := "pid " + strconv.Itoa(pid)
		if comm, ok := processName(pid); ok {
			name += " (" + comm + ")"
		}
		out = append(out, name)
	}
	return out
}
