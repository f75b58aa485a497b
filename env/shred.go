package env

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Shredding a run directory. The command may leave anything in it: a sparse file of a
// terabyte (`truncate -s 1T "$REGISTRY_AUTH_FILE"`), a hard link to one of the user's own
// files, av's file renamed away and the command's in its place, FIFOs, sockets, device
// nodes, symlinks, trees deeper than PATH_MAX, directories without permissions. None of
// it may crash or hang av, and nothing but what av itself wrote may be overwritten:
//
//   - a regular file is overwritten only if it is the file av wrote there (the same device
//     and inode, recorded at creation; for the sweep of a dead run, whose records died
//     with it, one of av's file names), has one link (no other name, outside the directory,
//     shares its contents), and is no larger than what av wrote into it; it is overwritten
//     in chunks, so memory stays constant. Anything else is unlinked only;
//   - nothing but a regular file is ever opened for writing, and every open is
//     O_NONBLOCK|O_NOFOLLOW, then checked against what was there before;
//   - directories are walked by descriptor (openat, unlinkat), never by path, so depth does
//     not matter; past maxDepth a subtree is moved up to the run directory and walked from
//     there, so at most maxDepth descriptors are open at once;
//   - a directory that cannot be read or written is given mode 0700 first.
//
// On tmpfs, unlinking frees the pages anyway: the overwrite is for whoever still holds a
// file open, and on a disk the user chose, for the blocks.

// maxRegistryFile bounds what av writes into any file of a run directory: the user's
// configs are read up to maxUserConfig each (three auth files are merged into one), plus
// the logins. A file larger than this was not written so by av.
const maxRegistryFile = 16 << 20

// maxDepth is how deep the walk goes before it moves a subtree up.
const maxDepth = 32

// maxMoves bounds how many subtrees one shred moves up: a tree deeper than
// maxDepth*maxMoves, or one that a live process keeps growing, is left with an error
// rather than walked for ever.
const maxMoves = 1 << 16

// maxRounds bounds how often one directory is read again when entries keep appearing in
// it (another process still writing there).
const maxRounds = 8

// zeros is what files are overwritten with, a chunk at a time.
var zeros [64 << 10]byte

// fileID is what av wrote: a file, by device and inode, and its size.
type fileID struct {
	dev, ino uint64
	size     int64
}

// written records the files av wrote in a run directory, by path.
type written struct {
	mu    sync.Mutex
	files map[string]fileID
}

func newWritten() *written { return &written{files: map[string]fileID{}} }

// add records f, just written with size bytes, as the file at path.
func (w *written) add(path string, f *os.File, size int) error {
	if w == nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.files[path] = fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: int64(size)}
	return nil
}

// own says whether the regular file at path, as Fstatat describes it, is av's to
// overwrite.
type own func(path string, st *unix.Stat_t) bool

// recorded is the rule of a live run's Shred: the very file av wrote there.
func (w *written) recorded(path string, st *unix.Stat_t) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	id, ok := w.files[path]
	w.mu.Unlock()
	return ok && id.dev == uint64(st.Dev) && id.ino == uint64(st.Ino) && st.Size <= id.size
}

// avNames is the rule of the sweep, for a dead run's directory: one of the files av
// writes there, by name (or a renewal's temporary file), no larger than av writes.
func avNames(dir string) own {
	return func(path string, st *unix.Stat_t) bool {
		rel, err := filepath.Rel(dir, path)
		if err != nil || st.Size > maxRegistryFile {
			return false
		}
		switch d, name := filepath.Split(rel); {
		case d == "docker/" && isAvFile(name, "config.json"):
			return true
		case d == "" && (isAvFile(name, "containers-auth.json") || isAvFile(name, "helm-registry.json")):
			return true
		}
		return false
	}
}

// isAvFile reports whether name is file or a renewal's temporary file for it (replaceFile).
func isAvFile(name, file string) bool {
	if name == file {
		return true
	}
	prefix := "." + file + ".new-"
	return len(name) > len(prefix) && name[:len(prefix)] == prefix
}

// shredder walks one run directory.
type shredder struct {
	own    own
	root   int             // the run directory's descriptor
	path   string          // its path, for own and messages
	moved  []string        // subtrees moved up into the run directory, to walk from there
	queued map[string]bool // their names, which its own walk leaves alone
	moves  int
	errs   []error
}

// shredTree overwrites what own allows in dir, unlinks everything in it, and removes it.
func shredTree(dir string, own own) error {
	fd, err := openDir(unix.AT_FDCWD, dir)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	s := &shredder{own: own, root: fd, path: dir, queued: map[string]bool{}}
	s.empty(fd, dir, 0)
	for len(s.moved) > 0 {
		name := s.moved[0]
		s.moved = s.moved[1:]
		delete(s.queued, name)
		s.dir(s.root, name, filepath.Join(dir, name), 1)
	}
	unix.Close(s.root)
	if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
		s.errs = append(s.errs, fmt.Errorf("removing %s: %w", dir, err))
	}
	return errors.Join(s.errs...)
}

// empty unlinks every entry of the directory open as fd (whose path is path, depth levels
// below the run directory). It does not close fd.
func (s *shredder) empty(fd int, path string, depth int) {
	dup, err := unix.Dup(fd)
	if err != nil {
		s.errs = append(s.errs, err)
		return
	}
	f := os.NewFile(uintptr(dup), path)
	defer f.Close()
	for round := 0; ; round++ {
		if round == maxRounds {
			s.errs = append(s.errs, fmt.Errorf("%s: entries keep appearing", path))
			return
		}
		seen := 0
		for {
			entries, err := f.ReadDir(256)
			for _, e := range entries {
				if depth == 0 && s.queued[e.Name()] {
					continue
				}
				seen++
				s.entry(fd, e.Name(), filepath.Join(path, e.Name()), depth)
			}
			if err != nil && err != io.EOF {
				s.errs = append(s.errs, fmt.Errorf("reading %s: %w", path, err))
				return
			}
			if err == io.EOF || len(entries) == 0 {
				break
			}
		}
		if seen == 0 {
			return
		}
		// Entries unlinked while the directory was being read may hide others from this
		// pass: read it again until it reads empty.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			s.errs = append(s.errs, err)
			return
		}
	}
}

// entry shreds one entry of the directory open as fd.
func (s *shredder) entry(fd int, name, path string, depth int) {
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			s.errs = append(s.errs, fmt.Errorf("%s: %w", path, err))
		}
		return
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFDIR:
		if depth+1 >= maxDepth {
			s.moveUp(fd, name, path)
			return
		}
		s.dir(fd, name, path, depth+1)
	case unix.S_IFREG:
		if s.own(path, &st) {
			if err := overwrite(fd, name, &st); err != nil {
				s.errs = append(s.errs, fmt.Errorf("overwriting %s: %w", path, err))
			}
		}
		s.unlink(fd, name, path, 0)
	default:
		// Symlinks, FIFOs, sockets, devices: unlinked, never opened or followed.
		s.unlink(fd, name, path, 0)
	}
}

// dir empties and removes the subdirectory name of the directory open as parent.
func (s *shredder) dir(parent int, name, path string, depth int) {
	fd, err := openDir(parent, name)
	if err != nil {
		if !errors.Is(err, unix.ENOENT) {
			s.errs = append(s.errs, fmt.Errorf("opening %s: %w", path, err))
		}
		return
	}
	// Its entries can be unlinked only if it can be written.
	_ = unix.Fchmod(fd, 0o700)
	s.empty(fd, path, depth)
	unix.Close(fd)
	s.unlink(parent, name, path, unix.AT_REMOVEDIR)
}

// moveUp moves a subtree too deep to walk from here to the run directory, under a new
// name, to be walked from there.
func (s *shredder) moveUp(parent int, name, path string) {
	if s.moves == maxMoves {
		s.errs = append(s.errs, fmt.Errorf("%s: too deep a tree", path))
		return
	}
	for i := s.moves; ; i++ {
		to := ".av-shred-" + strconv.Itoa(i)
		var st unix.Stat_t
		if unix.Fstatat(s.root, to, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			continue // a name the command used
		}
		s.moves = i + 1
		if err := unix.Renameat(parent, name, s.root, to); err != nil {
			s.errs = append(s.errs, fmt.Errorf("moving %s up: %w", path, err))
			return
		}
		s.moved = append(s.moved, to)
		s.queued[to] = true
		return
	}
}

// dirFlags open a directory, never a link to one, and never wait.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

// openDir opens the directory name of the directory open as parent (or a path, with
// AT_FDCWD), never following a symlink. One whose permissions the command took away (it
// is the user's, as everything in a run directory is) is given mode 0700 first.
func openDir(parent int, name string) (int, error) {
	fd, err := unix.Openat(parent, name, dirFlags, 0)
	if errors.Is(err, unix.EACCES) {
		// Fchmodat follows symlinks: only after checking, again, that a directory is what
		// is there.
		var st unix.Stat_t
		if unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && uint32(st.Mode)&unix.S_IFMT == unix.S_IFDIR {
			_ = unix.Fchmodat(parent, name, 0o700, 0)
		}
		fd, err = unix.Openat(parent, name, dirFlags, 0)
	}
	return fd, err
}

func (s *shredder) unlink(fd int, name, path string, flags int) {
	if err := unix.Unlinkat(fd, name, flags); err != nil && !errors.Is(err, unix.ENOENT) {
		s.errs = append(s.errs, fmt.Errorf("removing %s: %w", path, err))
	}
}

// overwrite writes zeros over the regular file name of the directory open as dir, which
// Fstatat described as st: only if the file opened is that file, still with one link.
func overwrite(dir int, name string, st *unix.Stat_t) error {
	fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EACCES) {
			return nil // gone, or made unwritable by the command: unlinked only
		}
		return err
	}
	defer unix.Close(fd)
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return err
	}
	if uint32(now.Mode)&unix.S_IFMT != unix.S_IFREG || now.Dev != st.Dev || now.Ino != st.Ino || now.Nlink != 1 || now.Size > st.Size {
		return nil // not the file looked at, or linked elsewhere meanwhile: unlinked only
	}
	for off := int64(0); off < now.Size; {
		n, err := unix.Pwrite(fd, zeros[:min(int64(len(zeros)), now.Size-off)], off)
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		off += int64(n)
	}
	return unix.Fsync(fd)
}
