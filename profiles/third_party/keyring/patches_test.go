package keyring

// PATCHES.diff shows av's changes to v1.2.2 in one place. TestPatchesDiff makes it again
// from v1.2.2 as the module proxy serves it and fails when the committed one differs, so
// it cannot go stale; `go test -run TestPatchesDiff -update` rewrites it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite PATCHES.diff from v1.2.2 and this directory")

const (
	upstream    = "github.com/99designs/keyring@v1.2.2"
	patchesDiff = "PATCHES.diff"
)

const patchesHeader = `av's changes to ` + upstream + ` (PATCHES.md says why): a unified
diff of every file but the tests (*_test.go, testdata/) and av's own PATCHES.md,
PATCHES.diff and staticcheck.conf. Made by TestPatchesDiff, which fails when this file
is stale; to remake it: cd profiles/third_party/keyring && go test -run TestPatchesDiff -update

`

// inDiff reports whether a file, named relative to the module's root, is one the diff
// covers.
func inDiff(name string) bool {
	switch name {
	case "PATCHES.md", patchesDiff, "staticcheck.conf":
		return false
	}
	return !strings.HasSuffix(name, "_test.go") && !strings.HasPrefix(name, "testdata/")
}

func TestPatchesDiff(t *testing.T) {
	got := makePatchesDiff(t, upstreamDir(t), ".")
	if *update {
		if err := os.WriteFile(patchesDiff, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	committed, err := os.ReadFile(patchesDiff)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(committed, got) {
		t.Fatalf("%s is stale: remake it with `go test -run TestPatchesDiff -update` in profiles/third_party/keyring; it changes so:\n%s",
			patchesDiff, unifiedDiff("committed", "made now", splitLines(committed), splitLines(got)))
	}
}

// upstreamDir is v1.2.2's source in the module cache, downloaded if need be. Outside CI,
// a machine that cannot download it skips the test.
func upstreamDir(t *testing.T) string {
	t.Helper()
	// Run outside any module, with no GOFLAGS: a -mod=vendor or a go.work of the caller's
	// would only get in the way of a plain download.
	cmd := exec.Command("go", "mod", "download", "-json", upstream)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(exit.Stderr) > 0 {
		err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(exit.Stderr))
	}
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		err = errors.New(info.Error)
	}
	if err == nil && info.Dir == "" {
		err = errors.New("go mod download named no directory")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("go mod download %s: %v", upstream, err)
		}
		t.Skipf("go mod download %s: %v (it needs the module proxy or the module cache)", upstream, err)
	}
	return info.Dir
}

// makePatchesDiff diffs the files that inDiff covers, in name order: a file only in v1.2.2
// is named, one only here is shown whole.
func makePatchesDiff(t *testing.T, oldDir, newDir string) []byte {
	t.Helper()
	oldFiles, newFiles := listFiles(t, oldDir), listFiles(t, newDir)
	names := map[string]bool{}
	for name := range oldFiles {
		names[name] = true
	}
	for name := range newFiles {
		names[name] = true
	}
	sorted := make([]string, 0, len(names))
	for name := range names {
		sorted = append(sorted, name)
	}
	sort.Strings(sorted)

	var out bytes.Buffer
	out.WriteString(patchesHeader)
	for _, name := range sorted {
		_, inOld := oldFiles[name]
		_, inNew := newFiles[name]
		if !inNew {
			out.WriteString("Only in v1.2.2: " + name + "\n")
			continue
		}
		from, a := "/dev/null", []string(nil)
		if inOld {
			from, a = "a/"+name, splitLines(readFile(t, filepath.Join(oldDir, name)))
		}
		b := splitLines(readFile(t, filepath.Join(newDir, name)))
		diff := unifiedDiff(from, "b/"+name, a, b)
		out.WriteString(diff)
	}
	return out.Bytes()
}

// listFiles names dir's regular files that inDiff covers, relative to dir, with slashes.
func listFiles(t *testing.T, dir string) map[string]struct{} {
	t.Helper()
	files := map[string]struct{}{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); inDiff(rel) {
			files[rel] = struct{}{}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// splitLines splits text into lines that keep their "\n".
func splitLines(text []byte) []string {
	lines := strings.SplitAfter(string(text), "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}

// unifiedDiff is diff -u's output for a and b, lines that end in "\n": a shortest edit
// (from a longest common subsequence; the files are small), in hunks with 3 lines of
// context. Written here, not imported (pmezard/go-difflib), so that the tests need no
// module that av's go.sum lacks. Empty when a and b are equal.
func unifiedDiff(from, to string, a, b []string) string {
	// lcs[i][j] is the length of a longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			switch {
			case a[i] == b[j]:
				lcs[i][j] = lcs[i+1][j+1] + 1
			case lcs[i+1][j] >= lcs[i][j+1]:
				lcs[i][j] = lcs[i+1][j]
			default:
				lcs[i][j] = lcs[i][j+1]
			}
		}
	}
	// The edit: ' ' keeps a[i] (= b[j]), '-' drops a[i], '+' adds b[j]; i and j are the
	// line indexes before the op.
	type op struct {
		kind byte
		i, j int
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', i, j})
			i, j = i+1, j+1
		case j == len(b) || (i < len(a) && lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', i, j})
			i++
		default:
			ops = append(ops, op{'+', i, j})
			j++
		}
	}

	const context = 3
	var out strings.Builder
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		// A hunk: from context lines before this change to context lines after the last
		// change that is within 2*context unchanged lines of the one before it.
		start := k - context
		if start < 0 {
			start = 0
		}
		end, kept := k, 0
		for ; end < len(ops) && kept <= 2*context; end++ {
			if ops[end].kind == ' ' {
				kept++
			} else {
				kept = 0
			}
		}
		end -= kept - context // keep context unchanged lines after the last change
		if end > len(ops) {
			end = len(ops)
		}
		var lenA, lenB int
		for _, o := range ops[start:end] {
			if o.kind != '+' {
				lenA++
			}
			if o.kind != '-' {
				lenB++
			}
		}
		if out.Len() == 0 {
			fmt.Fprintf(&out, "--- %s\n+++ %s\n", from, to)
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(ops[start].i, lenA), hunkRange(ops[start].j, lenB))
		for _, o := range ops[start:end] {
			if o.kind == '+' {
				out.WriteString("+" + b[o.j])
			} else {
				out.WriteString(string(o.kind) + a[o.i])
			}
		}
		k = end
	}
	return out.String()
}

// hunkRange is a hunk's range as diff -u writes it: 1-based first line and length, the
// length left out when 1, and the line before the hunk for an empty range.
func hunkRange(first, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", first)
	case 1:
		return fmt.Sprintf("%d", first+1)
	}
	return fmt.Sprintf("%d,%d", first+1, n)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
