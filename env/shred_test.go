package env

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/av-cli/av/env/ecr"
)

// What a command may leave in its run directory must neither crash nor hang Shred and
// Sweep, and only the files av wrote, as it wrote them, are overwritten (rundir.go).

// runWithFiles makes a run directory under base holding av's registry files.
func runWithFiles(t *testing.T, base string) (*Dir, Files) {
	t.Helper()
	d, err := NewDir(base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shred() })
	files, _, err := d.WriteRegistryFiles(FilesOptions{
		Logins:    ecr.Logins{"ecr.example": auth("secret-token")},
		User:      readUser(t, t.TempDir()),
		ListStore: func(string) ([]string, error) { return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, files
}

// heapGrowth is how much the heap grew while fn ran.
func heapGrowth(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestShredSparseFile: `truncate -s 1T "$REGISTRY_AUTH_FILE"` by the command. Shred must
// not allocate the file's size (it once did, and died of it), and a file grown past what
// av wrote into it is unlinked, not overwritten.
func TestShredSparseFile(t *testing.T) {
	d, files := runWithFiles(t, privateTempDir(t))
	const sparse = 256 << 20
	if err := os.Truncate(files.AuthFile, sparse); err != nil {
		t.Fatal(err)
	}
	held, err := os.Open(files.AuthFile)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	var serr error
	if grew := heapGrowth(func() { serr = d.Shred() }); grew > 32<<20 {
		t.Errorf("Shred allocated %d MiB for a sparse file of %d MiB", grew>>20, sparse>>20)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory still there: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(held.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 64<<10 {
		t.Errorf("the sparse file was written over: %d KiB allocated", st.Blocks*512>>10)
	}
}

// TestShredTouchesOnlyWhatAvWrote: a hard link to a file of the user's, av's file linked to
// elsewhere by the command, and av's file replaced by the command's (a rename, as docker
// login does) keep their contents; only the unlinking happens.
func TestShredTouchesOnlyWhatAvWrote(t *testing.T) {
	root := privateTempDir(t) // one filesystem for the run directory and the user's files
	base := filepath.Join(root, "base")
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	d, files := runWithFiles(t, base)

	precious := filepath.Join(root, "precious")
	if err := os.WriteFile(precious, []byte("the user's own"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(precious, filepath.Join(files.DockerConfig, "link")); err != nil {
		t.Fatal(err)
	}

	copied := filepath.Join(root, "copy")
	if err := os.Link(files.AuthFile, copied); err != nil {
		t.Fatal(err)
	}
	authBefore, _ := os.ReadFile(files.AuthFile)

	docker := filepath.Join(files.DockerConfig, "config.json")
	mine := filepath.Join(files.DockerConfig, "mine")
	if err := os.WriteFile(mine, []byte("the command's own"), 0o600); err != nil {
		t.Fatal(err)
	}
	heldMine, err := os.Open(mine)
	if err != nil {
		t.Fatal(err)
	}
	defer heldMine.Close()
	if err := os.Rename(mine, docker); err != nil {
		t.Fatal(err)
	}

	// av's own file, as av wrote it, is overwritten: a reader holding it sees zeros.
	heldHelm, err := os.Open(files.HelmConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer heldHelm.Close()

	if err := d.Shred(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(precious); err != nil || string(data) != "the user's own" {
		t.Errorf("the user's hard-linked file now holds %q (%v)", data, err)
	}
	if data, err := os.ReadFile(copied); err != nil || !bytes.Equal(data, authBefore) || len(data) == 0 {
		t.Errorf("the other name of av's linked file now holds %q (%v)", data, err)
	}
	if data := readAllAt(t, heldMine); string(data) != "the command's own" {
		t.Errorf("the command's file that replaced av's now holds %q", data)
	}
	if data := readAllAt(t, heldHelm); len(data) == 0 || len(bytes.Trim(data, "\x00")) != 0 {
		t.Errorf("av's own file was not overwritten: %q", data)
	}
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory still there: %v", err)
	}
}

func readAllAt(t *testing.T, f *os.File) []byte {
	t.Helper()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, st.Size())
	if _, err := f.ReadAt(buf, 0); err != nil {
		t.Fatal(err)
	}
	return buf
}

// hostileTree fills dir with what a command might leave: a FIFO (also in place of one of
// av's files), a socket, symlinks to a file and a directory outside, a tree deeper than
// PATH_MAX, directories without permissions, a sparse file.
func hostileTree(t *testing.T, dir string, outside string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	if auth := filepath.Join(dir, "containers-auth.json"); true {
		os.Remove(auth)
		must(unix.Mkfifo(auth, 0o600))
	}
	if l, err := net.Listen("unix", filepath.Join(dir, "sock")); err == nil {
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
	} else {
		t.Logf("no socket: %v", err)
	}
	must(os.Symlink(filepath.Join(outside, "file"), filepath.Join(dir, "link-file")))
	must(os.Symlink(outside, filepath.Join(dir, "link-dir")))
	must(os.WriteFile(filepath.Join(dir, "sparse"), nil, 0o600))
	must(os.Truncate(filepath.Join(dir, "sparse"), 1<<40))

	// 3000 levels of "d/": 6000 bytes of path, past PATH_MAX (4096).
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(err)
	for i := 0; i < 3000; i++ {
		must(unix.Mkdirat(fd, "d", 0o700))
		next, err := unix.Openat(fd, "d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(err)
		if i == 2999 {
			f, err := unix.Openat(next, "deep-file", unix.O_CREAT|unix.O_WRONLY, 0o600)
			must(err)
			unix.Close(f)
		}
		unix.Close(fd)
		fd = next
	}
	unix.Close(fd)

	locked := filepath.Join(dir, "locked")
	must(os.MkdirAll(filepath.Join(locked, "inner"), 0o700))
	must(os.WriteFile(filepath.Join(locked, "inner", "f"), []byte("x"), 0o600))
	must(os.Chmod(filepath.Join(locked, "inner"), 0o500))
	must(os.Chmod(locked, 0))
}

// outsideDir is a directory of the user's with a file in it, which links point to.
func outsideDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func checkOutside(t *testing.T, dir string) {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join(dir, "file")); err != nil || string(data) != "keep me" {
		t.Errorf("a link's target changed: %q, %v", data, err)
	}
}

func TestShredHostileTree(t *testing.T) {
	d, _ := runWithFiles(t, privateTempDir(t))
	outside := outsideDir(t)
	hostileTree(t, d.Path, outside)
	if err := d.Shred(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory still there: %v", err)
	}
	checkOutside(t, outside)
}

func TestSweepHostileTree(t *testing.T) {
	base := privateTempDir(t)
	dead, _ := runWithFiles(t, base)
	outside := outsideDir(t)
	hostileTree(t, dead.Path, outside)
	if err := os.Truncate(filepath.Join(dead.Path, "helm-registry.json"), 1<<40); err != nil {
		t.Fatal(err)
	}
	dead.lock.Close() // as if the run had been SIGKILLed
	dead.lock = nil

	var grew uint64
	// The old sweep allocated the sparse file's terabyte; walking the deep tree takes a few
	// MiB, several times more under the race detector (make race).
	if grew = heapGrowth(func() { Sweep(base) }); grew > 64<<20 {
		t.Errorf("Sweep allocated %d MiB", grew>>20)
	}
	entries, _ := os.ReadDir(base)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if len(left) > 0 {
		t.Errorf("the sweep left %s", strings.Join(left, ", "))
	}
	checkOutside(t, outside)
}

// TestSweepOverwritesAvsFiles: a dead run's files are overwritten (the sweep cannot know
// their inodes, so it goes by av's file names, and only for files with one link).
func TestSweepOverwritesAvsFiles(t *testing.T) {
	base := privateTempDir(t)
	dead, files := runWithFiles(t, base)
	held, err := os.Open(files.AuthFile)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	elsewhere := filepath.Join(base, "..", filepath.Base(base)+"-copy")
	if err := os.Link(files.HelmConfig, elsewhere); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(elsewhere)
	dead.lock.Close()
	dead.lock = nil

	Sweep(base)
	if data := readAllAt(t, held); len(data) == 0 || len(bytes.Trim(data, "\x00")) != 0 {
		t.Errorf("the dead run's token file was not overwritten: %q", data)
	}
	if data, err := os.ReadFile(elsewhere); err != nil || len(bytes.Trim(data, "\x00")) == 0 {
		t.Errorf("the sweep zeroed a file that has another name: %q, %v", data, err)
	}
}

// TestRenewReadsOnlyWhatAvWouldWrite: a renewal reads the files back to keep what the
// command added; a FIFO or a terabyte in their place is an error (reported and retried),
// never a hang or the whole file in memory.
func TestRenewReadsOnlyWhatAvWouldWrite(t *testing.T) {
	_, files := runWithFiles(t, privateTempDir(t))
	if err := os.Truncate(files.AuthFile, 1<<40); err != nil {
		t.Fatal(err)
	}
	var err error
	if grew := heapGrowth(func() { err = files.Renew(context.Background(), ecr.Logins{"ecr.example": auth("new")}) }); grew > 32<<20 {
		t.Errorf("Renew allocated %d MiB for a sparse file", grew>>20)
	}
	if err == nil {
		t.Error("Renew of a terabyte file succeeded")
	}

	_, files = runWithFiles(t, privateTempDir(t))
	os.Remove(files.HelmConfig)
	if err := unix.Mkfifo(files.HelmConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- files.Renew(context.Background(), ecr.Logins{"ecr.example": auth("new")}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Renew with a FIFO = %v, want a not-a-regular-file error", err)
		}
	case <-time.After(10 * time.Second): // a safety net, not a timing: it should not block at all
		w, _ := os.OpenFile(files.HelmConfig, os.O_WRONLY, 0) // lets the blocked open return
		w.Close()
		t.Fatal("Renew blocked on a FIFO")
	}
}
