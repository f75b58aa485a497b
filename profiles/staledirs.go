package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Stale is one kind of directory a sweep looks for: named Prefix…, and not modified for
// MinAge (0: whatever its age).
type Stale struct {
	Prefix string
	MinAge time.Duration
}

// StaleDirs lists parent's subdirectories of the kinds given, those of the first kind
// first, for a sweep of what a killed process left behind. A link is never one. parent is
// listed once, however many kinds: a run's sweep looks for two on every run.
//
// What a sweep then does with each is its owner's, because what they hold and how long
// they live differ: profiles' scratch directories and job caches hold only the vault's
// encrypted items and are written in well under their age, so age alone tells them dead
// and unlinking is enough (sweepStale); env's run directories hold tokens in plain text
// and live as long as their command, all day for a shell, so no age tells them dead: env
// takes only those whose run's lock nobody holds, and shreds them.
func StaleDirs(parent string, kinds ...Stale) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	byKind := make([][]string, len(kinds))
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		for i, k := range kinds {
			if !strings.HasPrefix(e.Name(), k.Prefix) {
				continue
			}
			if k.MinAge > 0 {
				if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < k.MinAge {
					continue
				}
			}
			byKind[i] = append(byKind[i], filepath.Join(parent, e.Name()))
			break // one kind each
		}
	}
	return slices.Concat(byKind...)
}

// sweepStale removes the directories StaleDirs lists: for those only av writes, whose age
// alone tells that whoever made them is gone.
func sweepStale(parent, prefix string, minAge time.Duration) {
	for _, d := range StaleDirs(parent, Stale{prefix, minAge}) {
		os.RemoveAll(d)
	}
}
