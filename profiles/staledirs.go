package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// StaleDirs lists parent's subdirectories named prefix… that nobody has modified for minAge
// (0: every one), for a sweep of what a killed process left behind. A link is never one.
//
// What a sweep then does with each is its owner's, because what they hold and how long
// they live differ: profiles' scratch directories and job caches hold only the vault's
// encrypted items and are written in well under their age, so age alone tells them dead
// and unlinking is enough (sweepStale); env's run directories hold tokens in plain text
// and live as long as their command, all day for a shell, so no age tells them dead: env
// takes only those whose run's lock nobody holds, and shreds them.
func StaleDirs(parent, prefix string, minAge time.Duration) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if minAge > 0 {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < minAge {
				continue
			}
		}
		dirs = append(dirs, filepath.Join(parent, e.Name()))
	}
	return dirs
}

// sweepStale removes the directories StaleDirs lists: for those only av writes, whose age
// alone tells that whoever made them is gone.
func sweepStale(parent, prefix string, minAge time.Duration) {
	for _, d := range StaleDirs(parent, prefix, minAge) {
		os.RemoveAll(d)
	}
}
