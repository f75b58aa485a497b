package profiles

import (
	"bytes"
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotRegular is ReadCapped's answer for a FIFO, a directory, a device.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is ReadCapped's answer for a file over its limit.
	ErrTooLarge = errors.New("too large")
)

// ReadOptions say what ReadCapped takes.
type ReadOptions struct {
	// Limit is the most bytes the file may hold; a larger one is ErrTooLarge, unread.
	Limit int64
	// NoFollow refuses a symbolic link as the last element of the path (ELOOP), for a
	// file in a directory that another process writes in (the run directory: the command
	// could point av's config.json at any file of the user's).
	NoFollow bool
}

// ReadCapped reads a regular file of at most o.Limit bytes: a user's file (the AWS config,
// a token file, the client configs env reads) or one the command could have replaced (the
// run directory's). It is opened O_NONBLOCK, so a FIFO is refused, not waited on in
// open(2) (deaf to Ctrl-C and SIGTERM), and its size is checked before it is read, and
// again as it is read (it may grow meanwhile). A missing file is fs.ErrNotExist.
//
// It reads through the bare descriptor, not an os.File: os.OpenFile would try to add the
// file to Go's poller first (a failing epoll_ctl), for each of the files a warm run reads.
func ReadCapped(path string, o ReadOptions) ([]byte, error) {
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	if o.NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := OpenFD(path, flags, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, ErrNotRegular
	}
	if st.Size > o.Limit {
		return nil, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(fdReader(fd), o.Limit+1))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > o.Limit {
		return nil, ErrTooLarge // it grew while read
	}
	return data, nil
}

// OpenFD is open(2), retried when a signal interrupts it (as os.OpenFile retries), with
// os.OpenFile's error, and outside Go's poller: os.OpenFile tries to add each file to it
// first (four fcntl and a failing epoll_ctl for a regular file). For ReadCapped and for
// the files env creates in a run directory; os.NewFile of a blocking descriptor stays
// outside the poller too.
func OpenFD(path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := unix.Open(path, flags, mode)
		if err == nil {
			return fd, nil
		}
		if err != unix.EINTR {
			return -1, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}

// fdReader reads a bare descriptor: io.EOF at its end, a read that a signal interrupts
// retried.
type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(fd), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// CappedWriter keeps at most Limit bytes of what a helper program prints (its stdout): past
// that it calls Over, which ends the program, sets Exceeded and refuses the rest. A program
// that prints without end must not fill av's memory.
type CappedWriter struct {
	Limit    int
	Over     func()
	Exceeded bool
	buf      bytes.Buffer
}

func (w *CappedWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.Limit {
		w.Exceeded = true
		w.Over()
		return 0, errors.New("too much output")
	}
	return w.buf.Write(p)
}

// Bytes is what was kept.
func (w *CappedWriter) Bytes() []byte { return w.buf.Bytes() }
