package env

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Linux-only cases of the run directory's hostile contents: device nodes, and directories
// whose permissions the command took away, which root would walk anyway.

func TestShredDeviceNode(t *testing.T) {
	d, _ := runWithFiles(t, privateTempDir(t))
	// /dev/null's numbers: a char device that opening would not harm, but it must not even
	// be opened. Only root may make one.
	dev := filepath.Join(d.Path, "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Skipf("cannot make a device node here: %v", err)
	}
	if err := d.Shred(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory still there: %v", err)
	}
}

// TestShredUnreadableDirs runs without the capabilities that let root read and write any
// directory (under setpriv, when the tests run as root), as an ordinary user would.
func TestShredUnreadableDirs(t *testing.T) {
	if os.Getuid() == 0 && os.Getenv("AV_TEST_NO_DAC") == "" {
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Skip("running as root and no setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
		}
		cmd := exec.Command(setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--",
			os.Args[0], "-test.run=^TestShredUnreadableDirs$", "-test.v")
		cmd.Env = append(os.Environ(), "AV_TEST_NO_DAC=1")
		out, err := cmd.CombinedOutput()
		t.Logf("without CAP_DAC_OVERRIDE:\n%s", out)
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	d, _ := runWithFiles(t, privateTempDir(t))
	locked := filepath.Join(d.Path, "locked")
	if err := os.MkdirAll(filepath.Join(locked, "inner", "deeper"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(locked, "inner", "deeper", "f"), []byte("x"), 0o600)
	os.Chmod(filepath.Join(locked, "inner", "deeper"), 0o500) // entries cannot be unlinked
	os.Chmod(filepath.Join(locked, "inner"), 0o100)           // cannot be listed
	os.Chmod(locked, 0)                                       // cannot be entered
	if _, err := os.ReadDir(locked); !errors.Is(err, os.ErrPermission) {
		t.Fatalf("reading a mode-0000 directory: %v; the test needs it refused", err)
	}
	os.Chmod(d.Path, 0) // the run directory itself
	if err := d.Shred(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory still there: %v", err)
	}

	// A dead run's directory, mode 0000: the sweep takes it all the same.
	base := privateTempDir(t)
	dead, _ := runWithFiles(t, base)
	dead.lock.Close()
	dead.lock = nil
	os.Chmod(dead.Path, 0)
	Sweep(base)
	if _, err := os.Lstat(dead.Path); !errors.Is(err, os.ErrNotExist) {
		os.Chmod(dead.Path, 0o700)
		t.Errorf("the sweep left a dead run's directory of mode 0000: %v", err)
	}
}

// TestCheckRoom: the room check writes as much as the run will, and leaves nothing. A
// full filesystem is simulated with a file size limit (RLIMIT_FSIZE: writes past it fail
// with EFBIG, as they would with ENOSPC on a full tmpfs; Go ignores SIGXFSZ); the e2e
// script runtime_full uses a real full tmpfs where it can.
func TestCheckRoom(t *testing.T) {
	d, err := NewDir(privateTempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shred()
	user := UserFiles{Docker: make([]byte, 40<<10)}
	if err := d.CheckRoom(user, 2); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(d.Path); len(entries) != 0 {
		t.Errorf("the room check left %v", entries)
	}

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = 64 << 10 // less than 2 × (40 KiB + 3 × (2 × 4 KiB + 4 KiB))
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("cannot set a file size limit: %v", err)
	}
	err = d.CheckRoom(user, 2)
	unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	var ue *UnwritableDirError
	if !errors.As(err, &ue) || ue.Path != d.Path || !errors.Is(err, unix.EFBIG) {
		t.Errorf("CheckRoom past the limit = %v, want an UnwritableDirError for %s", err, d.Path)
	}
	if entries, _ := os.ReadDir(d.Path); len(entries) != 0 {
		t.Errorf("the failed room check left %v", entries)
	}
}
