package env

import "os"

// reserve takes size bytes for f by writing zeros: darwin has no fallocate(2).
func reserve(f *os.File, size int) error { return writeZeros(f, size) }
