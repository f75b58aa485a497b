package profiles

import (
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

// ReadCapped reads a regular file of at most limit bytes: a user's file (the AWS config,
// a token file, the client configs env reads). It is opened O_NONBLOCK, so a FIFO is
// refused, not waited on in open(2) (deaf to Ctrl-C and SIGTERM), and its size is checked
// before it is read. A missing file is fs.ErrNotExist.
func ReadCapped(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
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
	if info.Size() > limit {
		return nil, ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, ErrTooLarge // it grew while read
	}
	return data, nil
}
