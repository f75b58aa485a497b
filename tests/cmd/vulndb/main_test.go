package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeEntries(t *testing.T, entries map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range entries {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuild(t *testing.T) {
	a := `{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z","affected":[` +
		`{"package":{"name":"stdlib"}},{"package":{"name":"stdlib"}},{"package":{"name":"example.com/m"}}]}`
	b := `{"id":"GO-2024-0002","modified":"2024-05-06T07:08:09Z","affected":[{"package":{"name":"example.com/m"}}]}`
	osv := writeEntries(t, map[string]string{"GO-2024-0001.json": a, "GO-2024-0002.json": b, "README.md": "not an entry"})
	out := filepath.Join(t.TempDir(), "db")
	if err := os.MkdirAll(filepath.Join(out, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	commit := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

	n, err := build(osv, out, commit)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("build counted %d entries, want 2", n)
	}
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read("index/db.json"), `{"modified":"2024-05-06T07:08:09Z"}`+"\n"; got != want {
		t.Errorf("db.json = %s, want %s", got, want)
	}
	wantModules := `[{"path":"example.com/m","vulns":[{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z"},` +
		`{"id":"GO-2024-0002","modified":"2024-05-06T07:08:09Z"}]},` +
		`{"path":"stdlib","vulns":[{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z"},` +
		`{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z"}]}]` + "\n"
	if got := read("index/modules.json"); got != wantModules {
		t.Errorf("modules.json = %s\nwant %s", got, wantModules)
	}
	if got := read("ID/GO-2024-0001.json"); got != a {
		t.Errorf("ID/GO-2024-0001.json = %s, want the entry as it was", got)
	}
	if _, err := os.Stat(filepath.Join(out, "stale")); !os.IsNotExist(err) {
		t.Errorf("the old output was not replaced: %v", err)
	}

	// With every entry's date zero, as in the module, db.json carries the commit's.
	osv = writeEntries(t, map[string]string{"GO-2024-0001.json": a})
	if _, err := build(osv, out, commit); err != nil {
		t.Fatal(err)
	}
	if got, want := read("index/db.json"), `{"modified":"2024-01-02T03:04:05Z"}`+"\n"; got != want {
		t.Errorf("db.json = %s, want %s", got, want)
	}
}

func TestBuildRejects(t *testing.T) {
	for name, entries := range map[string]map[string]string{
		"no entries":   {"README.md": "x"},
		"misnamed":     {"GO-2024-0003.json": `{"id":"GO-2024-0004","affected":[]}`},
		"not JSON":     {"GO-2024-0005.json": `id: GO-2024-0005`},
		"unnamed pkg":  {"GO-2024-0006.json": `{"id":"GO-2024-0006","affected":[{"package":{}}]}`},
		"no id at all": {"GO-2024-0007.json": `{"affected":[]}`},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "db")
			if _, err := build(writeEntries(t, entries), out, time.Time{}); err == nil {
				t.Errorf("build succeeded on %v", entries)
			}
			for _, dir := range []string{out, out + ".tmp"} {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("build left %s behind: %v", dir, err)
				}
			}
		})
	}
}
