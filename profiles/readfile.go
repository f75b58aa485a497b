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
func ReadCapped(path string, o ReadOptions) ([]byte, error) {
	flags := os.O_RDONLY | unix.O_NONBLOCK
	if o.NoFollow {
		flags |= unix.O_NOFOLLOW
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, ErrNotRegular
	}
	if info.Size() > o.Limit {
		return nil, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, o.Limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > o.Limit {
		return nil, ErrTooLarge // it grew while read
	}
	return data, nil
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
