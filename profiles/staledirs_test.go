package profiles

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// StaleDirs takes only directories with the prefix that are old enough; a sweep removes
// those and nothing else.
func TestStaleDirs(t *testing.T) {
	parent := t.TempDir()
	old := time.Now().Add(-2 * time.Hour)
	mk := func(name string, mtime time.Time, dir bool) {
		p := filepath.Join(parent, name)
		var err error
		if dir {
			err = os.Mkdir(p, 0o700)
		} else {
			err = os.WriteFile(p, nil, 0o600)
		}
		if err == nil && !mtime.IsZero() {
			err = os.Chtimes(p, mtime, mtime)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	mk(".scratch-old", old, true)
	mk(".scratch-young", time.Time{}, true)
	mk(".scratch-file", old, false)
	mk("other-old", old, true)
	if err := os.Symlink(filepath.Join(parent, "other-old"), filepath.Join(parent, ".scratch-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, ".scratch-old", "item"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A file written in it just now does not change the directory's own time.
	if err := os.Chtimes(filepath.Join(parent, ".scratch-old"), old, old); err != nil {
		t.Fatal(err)
	}

	base := func(paths []string) []string {
		var names []string
		for _, p := range paths {
			names = append(names, filepath.Base(p))
		}
		slices.Sort(names)
		return names
	}
	for _, tc := range []struct {
		minAge time.Duration
		want   []string
	}{
		{time.Hour, []string{".scratch-old"}},
		{3 * time.Hour, nil},
		{0, []string{".scratch-old", ".scratch-young"}},
	} {
		if got := base(StaleDirs(parent, Stale{".scratch-", tc.minAge})); !slices.Equal(got, tc.want) {
			t.Errorf("StaleDirs(%s) = %q, want %q", tc.minAge, got, tc.want)
		}
	}
	// Two kinds from one listing: the first kind's first.
	var names []string
	for _, p := range StaleDirs(parent, Stale{"other-", 0}, Stale{".scratch-", time.Hour}) {
		names = append(names, filepath.Base(p))
	}
	if want := []string{"other-old", ".scratch-old"}; !slices.Equal(names, want) {
		t.Errorf("StaleDirs of two kinds = %q, want %q", names, want)
	}
	if got := StaleDirs(filepath.Join(parent, "none"), Stale{".scratch-", 0}); got != nil {
		t.Errorf("StaleDirs of a missing directory = %q", got)
	}

	sweepStale(parent, ".scratch-", time.Hour)
	var left []string
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{".scratch-file", ".scratch-link", ".scratch-young", "other-old"}; !slices.Equal(left, want) {
		t.Errorf("after the sweep: %q, want %q", left, want)
	}
}
