package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/av-cli/av/env/ecr"
)

// masker registers, on GitHub Actions, every secret av hands the command with a
// `::add-mask::` workflow command, before the command can print one: the runner then shows
// "***" wherever a secret appears in the job's log. Elsewhere it does nothing.
type masker struct {
	mu      sync.Mutex
	w       io.Writer // nil: not on GitHub Actions
	done    map[string]bool
	running bool // the command has started: it may be writing mid-line
}

// maskSettle is how long a renewal waits, after writing a new token's masks, before it
// writes the files that hold the token. The runner reads stdout and stderr in separate
// tasks: a mask on stderr and the command's echo of the token on stdout race, and this is
// a head start for the mask, not a promise (a runner that is far behind on stderr can
// still lose the race).
const maskSettle = 100 * time.Millisecond

// started says the command has started: from now on each batch of masks begins with a
// line break, since the runner reads workflow commands only at the start of a line.
func (m *masker) started() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running = true
}

// ciMasks returns the run's masker: GITHUB_ACTIONS=true, as the runner sets it, turns it on.
// The lines go to w, av's stderr.
func ciMasks(getenv func(string) string, w io.Writer) *masker {
	m := &masker{done: map[string]bool{}}
	if getenv("GITHUB_ACTIONS") == "true" {
		m.w = w
	}
	return m
}

// add masks the logins' auth strings and the passwords inside them, and the given
// credentials (access key id, secret key, session token). It reports whether it wrote any
// new mask.
func (m *masker) add(logins ecr.Logins, creds []string) bool {
	if m == nil || m.w == nil {
		return false
	}
	var secrets []string
	hosts := make([]string, 0, len(logins))
	for h := range logins {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	for _, h := range hosts {
		auth := logins[h]
		secrets = append(secrets, auth)
		if raw, err := base64.StdEncoding.DecodeString(auth); err == nil {
			if _, pass, ok := strings.Cut(string(raw), ":"); ok {
				secrets = append(secrets, pass)
			}
		}
	}
	secrets = append(secrets, creds...)
	m.mu.Lock()
	defer m.mu.Unlock()
	var lines strings.Builder
	for _, s := range secrets {
		// A mask is one line: a value with a line break would not be masked whole.
		if s == "" || m.done[s] || strings.ContainsAny(s, "\r\n") {
			continue
		}
		m.done[s] = true
		fmt.Fprintf(&lines, "::add-mask::%s\n", s)
	}
	if lines.Len() == 0 {
		return false
	}
	if m.running {
		io.WriteString(m.w, "\n") // the command may have left its line unfinished
	}
	io.WriteString(m.w, lines.String()) // one write: stderr is unbuffered
	return true
}
