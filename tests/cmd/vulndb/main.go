// Command vulndb builds, offline, the Go vulnerability database that `make lint` gives
// govulncheck (`govulncheck -db file://DIR`), from one pinned version of the module
// golang.org/x/vulndb as the Go module proxy serves it:
//
//	go run ./tests/cmd/vulndb -version v0.0.0-20261105234957-e22db6528018 -out .tools/vulndb
//
// That module holds the database's entries as OSV JSON (data/osv/GO-YYYY-NNNN.json, next
// to the YAML reports they are generated from); what it lacks is the index that a v1
// database serves (https://go.dev/security/vuln/database#api), which vuln.go.dev builds at
// deploy time. This writes the layout govulncheck reads from a directory:
//
//	index/db.json       {"modified": ...}
//	index/modules.json  [{"path": ..., "vulns": [{"id": ..., "modified": ...}]}], by path
//	ID/GO-YYYY-NNNN.json  each entry, byte for byte as the module has it
//
// modules.json leaves out each vuln's optional "fixed" version: govulncheck uses it only
// to skip fetching entries that a module's version is past, and filters every entry it
// fetches by the entry's own ranges anyway. The entries' "modified" dates are zero in the
// module (the deployed database takes them from git history), so db.json's "modified" is
// the module version's commit time, the date of the data. x/vulndb's own cmd/indexdb
// writes the same index (with "fixed", and gzipped copies), but it links gRPC, go-git and
// the Google Cloud clients, about two minutes of building on a fresh machine; this is the
// standard library only.
//
// The module is fetched with `go mod download`, so its content is checked against the
// checksum database like any dependency's. The output directory is replaced whole.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const modulePath = "golang.org/x/vulndb"

func main() {
	version := flag.String("version", "", "version of "+modulePath+" to build from")
	out := flag.String("out", "", "directory to write the database to (replaced)")
	flag.Parse()
	if *version == "" || *out == "" || flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	log.SetFlags(0)
	log.SetPrefix("vulndb: ")
	dir, commitTime, err := download(*version)
	if err != nil {
		log.Fatal(err)
	}
	n, err := build(filepath.Join(dir, "data", "osv"), *out, commitTime)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("vulndb: %d entries from %s@%s in %s\n", n, modulePath, *version, *out)
}

// download fetches the module into the module cache and returns its directory and the
// time of its commit.
func download(version string) (dir string, commitTime time.Time, err error) {
	cmd := exec.Command("go", "mod", "download", "-json", modulePath+"@"+version)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.Output()
	var info struct {
		Dir   string
		Info  string
		Error string
	}
	if jerr := json.Unmarshal(stdout, &info); jerr == nil && info.Error != "" {
		return "", time.Time{}, errors.New(info.Error)
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("go mod download: %v", err)
	}
	if info.Dir == "" {
		return "", time.Time{}, fmt.Errorf("go mod download named no directory for %s@%s", modulePath, version)
	}
	b, err := os.ReadFile(info.Info)
	if err != nil {
		return "", time.Time{}, err
	}
	var meta struct{ Time time.Time }
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %v", info.Info, err)
	}
	return info.Dir, meta.Time, nil
}

// entry is the part of an OSV entry that the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
}

type module struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

// build writes the database for the OSV entries in osvDir to out and returns how many
// entries it holds.
func build(osvDir, out string, commitTime time.Time) (n int, err error) {
	tmp := out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.MkdirAll(filepath.Join(tmp, "ID"), 0o755); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Join(tmp, "index"), 0o755); err != nil {
		return 0, err
	}

	modified := commitTime.UTC()
	modules := map[string]*module{}
	seen := map[string]bool{}
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, err
	}
	if len(files) == 0 {
		return 0, fmt.Errorf("no OSV entries in %s", osvDir)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		var e entry
		if err := json.Unmarshal(b, &e); err != nil {
			return 0, fmt.Errorf("%s: %v", f, err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" || strings.ContainsAny(e.ID, `/\`) {
			return 0, fmt.Errorf("%s: entry's id is %q", f, e.ID)
		}
		if seen[e.ID] {
			return 0, fmt.Errorf("%s: id %s appears twice", f, e.ID)
		}
		seen[e.ID] = true
		if e.Modified.After(modified) {
			modified = e.Modified
		}
		for _, a := range e.Affected {
			path := a.Package.Name
			if path == "" {
				return 0, fmt.Errorf("%s: an affected package has no name", f)
			}
			m := modules[path]
			if m == nil {
				m = &module{Path: path}
				modules[path] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: e.Modified})
		}
		if err := os.WriteFile(filepath.Join(tmp, "ID", e.ID+".json"), b, 0o644); err != nil {
			return 0, err
		}
	}

	index := make([]*module, 0, len(modules))
	for _, m := range modules {
		index = append(index, m)
	}
	sort.Slice(index, func(i, j int) bool { return index[i].Path < index[j].Path })
	if err := writeJSON(filepath.Join(tmp, "index", "modules.json"), index); err != nil {
		return 0, err
	}
	db := struct {
		Modified time.Time `json:"modified"`
	}{modified}
	if err := writeJSON(filepath.Join(tmp, "index", "db.json"), db); err != nil {
		return 0, err
	}

	if err := os.RemoveAll(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return 0, err
	}
	return len(files), nil
}

func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
