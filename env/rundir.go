package env

import (
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/av-cli/av/profiles"
	"golang.org/x/sys/unix"
)

// NoPrivateDirError says there is no private memory-backed place for the files.
type NoPrivateDirError struct {
	Reason string
	// Override says the directory was the one the caller named (Base's override).
	Override bool
	// NoMemoryFS says the platform has no tmpfs at all (macOS): no default will do, only
	// a directory the user names.
	NoMemoryFS bool
	// Alternative is a private memory-backed directory that would do, if there is one
	// here (for AV_RUNTIME_DIR), else "".
	Alternative string
}

func (e *NoPrivateDirError) Error() string {
	return "no private tmpfs directory for the registry files: " + e.Reason
}

// Base returns the directory under which av makes one directory per run, creating it
// (mode 0700) when needed: override (the user's explicit choice, any filesystem), else the
// platform's private memory-backed default. On Linux that is $XDG_RUNTIME_DIR/av when
// XDG_RUNTIME_DIR is set (and it must be a private tmpfs directory, or Base refuses), else
// /dev/shm/av-UID; macOS has none, and Base refuses rather than write tokens to disk
// (rundir_linux.go, rundir_darwin.go).
func Base(override string) (string, error) {
	uid := os.Getuid()
	dir, _, err := baseDir(override, uid)
	if err != nil {
		return "", err
	}
	if err := ensurePrivateDir(dir, uid); err != nil {
		return "", &NoPrivateDirError{Reason: fmt.Sprintf("%s: %v", dir, err), Override: override != ""}
	}
	return dir, nil
}

// BaseSource says why a directory is the one Base chooses.
type BaseSource string

const (
	BaseOverride BaseSource = "override"        // AV_RUNTIME_DIR or --runtime-dir
	BaseXDG      BaseSource = "XDG_RUNTIME_DIR" // $XDG_RUNTIME_DIR/av
	BaseShm      BaseSource = "/dev/shm"        // XDG_RUNTIME_DIR unset: /dev/shm/av-UID
	BaseNone     BaseSource = "none"            // the platform has no default (macOS)
)

// baseDir is the directory Base uses, and why, after the checks that need nothing created:
// the override as given (made absolute), else defaultBaseDir.
func baseDir(override string, uid int) (string, BaseSource, error) {
	if override == "" {
		return defaultBaseDir(uid)
	}
	dir, err := filepath.Abs(override)
	if err != nil {
		return "", BaseOverride, err
	}
	return dir, BaseOverride, nil
}

// BaseCheck is what Base would do, found without creating anything (av doctor).
type BaseCheck struct {
	Path     string     `json:"path,omitempty"`
	Source   BaseSource `json:"source"`
	Exists   bool       `json:"exists"`
	MemoryFS bool       `json:"memory_fs"` // it, or the directory it would be made in, is tmpfs or ramfs
	// Err is Base's refusal (a *NoPrivateDirError), nil if Base would use Path.
	Err error `json:"-"`
}

// CheckBase tells what Base(override) would use, and whether it would refuse, creating
// nothing: a directory that is missing is one Base would create.
func CheckBase(override string) BaseCheck {
	uid := os.Getuid()
	dir, source, err := baseDir(override, uid)
	c := BaseCheck{Path: dir, Source: source, Err: err}
	if err != nil {
		return c
	}
	err = checkPrivate(dir, uid)
	c.Exists = !errors.Is(err, fs.ErrNotExist)
	if c.Exists && err != nil {
		c.Err = &NoPrivateDirError{Reason: fmt.Sprintf("%s: %v", dir, err), Override: source == BaseOverride}
	}
	if c.Exists {
		c.MemoryFS = memoryFS(dir)
	} else {
		c.MemoryFS = memoryFS(filepath.Dir(dir))
	}
	return c
}

// LockDir returns a private per-user directory, creating it (mode 0700) when needed, for
// what every run of the user shares whatever its --runtime-dir: the vault's lock, for the
// vaults that have no directory of their own to keep it beside (profiles.VaultOptions). It
// holds no secret, so it need not be memory-backed, but it must be the user's alone:
// another user who could make or hold the lock file could stop every run.
func LockDir() (string, error) {
	dir, err := userLockDir(os.Getuid())
	if err != nil {
		return "", &NoPrivateDirError{Reason: "for the vault's lock: " + err.Error()}
	}
	return dir, nil
}

// ensurePrivateDir creates dir with mode 0700 if it is missing, then checks it.
func ensurePrivateDir(dir string, uid int) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return checkPrivate(dir, uid)
}

// checkPrivate accepts a real directory (not a symlink) owned by uid with no group or
// other permissions. /dev/shm is shared by every user: someone else may have made the
// directory first, or a symlink in its place.
func checkPrivate(dir string, uid int) error {
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return errors.New("is a symlink")
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return errors.New("is not a directory")
	case int(st.Uid) != uid:
		return fmt.Errorf("is owned by uid %d, not %d", st.Uid, uid)
	case st.Mode&0o077 != 0:
		return fmt.Errorf("has mode %04o, want 0700", st.Mode&0o777)
	}
	return nil
}

// Dir is one run's throwaway directory. Its open descriptor holds an exclusive flock for
// the run's lifetime, so a later av can tell a dead run's directory from a live one.
type Dir struct {
	Path string
	lock *os.File
	own  *written // the files av wrote in it: the only ones Shred overwrites
}

const (
	runPrefix = "run-"
	newPrefix = ".new-"
	// newGrace is how old an unlocked half-made directory must be before a sweep takes it.
	newGrace = time.Minute
)

// NewDir creates and locks a fresh private directory under base. It is made under a
// temporary name and renamed once locked, so a concurrent sweep never sees it unlocked.
func NewDir(base string) (*Dir, error) {
	tmp, err := os.MkdirTemp(base, newPrefix)
	if err != nil {
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	lock, err := lockDir(tmp, unix.LOCK_EX|unix.LOCK_NB)
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("locking the run directory: %w", err)
	}
	final := filepath.Join(base, runPrefix+strings.TrimPrefix(filepath.Base(tmp), newPrefix))
	if err := os.Rename(tmp, final); err != nil {
		lock.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("creating the run directory: %w", err)
	}
	return &Dir{Path: final, lock: lock, own: newWritten()}, nil
}

// Lock is the open directory whose flock marks the run as live, for the command to
// inherit (runner.Command.ExtraFiles). A flock lasts while any process holds a descriptor
// of it, so the lock outlives a killed av while the command, or a process the command left
// running, still holds it, and no sweep takes the files from under them.
func (d *Dir) Lock() *os.File { return d.lock }

// lockDir opens dir (restoring its mode 0700 if a command took its permissions away) and
// flocks it.
func lockDir(dir string, how int) (*os.File, error) {
	fd, err := openDir(unix.AT_FDCWD, dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(fd, how); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// Shred overwrites the files av wrote in the directory (see shred.go), unlinks everything
// in it, removes it, then drops the lock.
func (d *Dir) Shred() error {
	if d == nil || d.lock == nil {
		return nil
	}
	err := shredTree(d.Path, d.own.recorded)
	d.lock.Close()
	d.lock = nil
	return err
}

// Sweep removes the directories of runs that died without cleaning up (SIGKILL, power
// loss on ramfs-backed swap): any run directory whose lock nobody holds. Live runs hold
// theirs, and so do their commands' processes (Lock), so their directories are left alone.
func Sweep(base string) {
	for _, p := range runDirs(base) {
		lock, err := lockDir(p, unix.LOCK_EX|unix.LOCK_NB)
		if err != nil {
			continue // held by a live run, or already gone
		}
		// The dead run's records of what it wrote died with it: av's file names stand in.
		if err := shredTree(p, avNames(p)); err != nil {
			log.Printf("sweeping %s: %v", p, err)
		} else {
			log.Printf("swept %s, left by a run that was killed", p)
		}
		lock.Close()
	}
}

// runDirs lists what a sweep looks at in base: the run directories, and the half-made ones
// old enough that no run is still making them (profiles.StaleDirs says why a run
// directory's age tells nothing).
func runDirs(base string) []string {
	return profiles.StaleDirs(base, profiles.Stale{Prefix: runPrefix}, profiles.Stale{Prefix: newPrefix, MinAge: newGrace})
}

// Leftover is a run directory that the next sweep would remove.
type Leftover struct {
	Path     string    `json:"path"`
	Modified time.Time `json:"modified"`
	// Unknown says the directory cannot be opened (the command took its permissions away),
	// so whether a run still holds it cannot be told; a sweep would find out.
	Unknown bool `json:"unknown,omitempty"`
}

// Leftovers lists the directories in base that Sweep would remove, touching nothing: a
// directory is opened as it is (never given its permissions back), and its lock tried
// shared and let go at once.
func Leftovers(base string) []Leftover {
	var out []Leftover
	for _, p := range runDirs(base) {
		l := Leftover{Path: p}
		if info, err := os.Lstat(p); err == nil {
			l.Modified = info.ModTime()
		}
		fd, err := unix.Open(p, dirFlags, 0) // not openDir: it would give the permissions back
		if err != nil {
			if errors.Is(err, unix.EACCES) {
				l.Unknown = true
				out = append(out, l)
			}
			continue
		}
		if unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == nil {
			out = append(out, l) // nobody holds it: its run is dead
		}
		unix.Close(fd) // drops the lock too
	}
	return out
}
