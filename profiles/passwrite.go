package profiles

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/99designs/keyring"
)

// passWriter makes the pass backend's writes (an item set, an item removed) as keyring's
// pass backend makes them (the same program, arguments, environment and item format:
// `pass insert -m -f PREFIX/KEY` fed the item's JSON, `pass rm -f PREFIX/KEY`), but as a
// helper: they run holding the vault's lock exclusive, and pass runs gpg, which may wait
// for its agent or a pinentry; keyring runs them with exec.Command and no bound, so one
// that hangs would hold up every other run's write. Each is bounded (bound, and the
// call's context) and killed with what it started (boundProcess). Reads stay keyring's.
type passWriter struct {
	cmd, dir, prefix string
	bound            time.Duration
}

func newPassWriter(o VaultOptions) *passWriter {
	return &passWriter{cmd: cmp.Or(o.PassCmd, "pass"), dir: passDir(o), prefix: o.PassPrefix, bound: orDefaultDuration(o.HelperTimeout, DefaultAWSTimeout)}
}

// set stores item, replacing the one of its key.
func (p *passWriter) set(ctx context.Context, item keyring.Item) error {
	data, err := json.Marshal(item)
	if err != nil {
		return err
	}
	return p.run(ctx, bytes.NewReader(data), "insert", "-m", "-f", filepath.Join(p.prefix, item.Key))
}

// remove removes the item key; keyring.ErrKeyNotFound if there is none.
func (p *passWriter) remove(ctx context.Context, key string) error {
	if _, err := os.Stat(filepath.Join(p.dir, p.prefix, key+".gpg")); err != nil {
		return keyring.ErrKeyNotFound
	}
	return p.run(ctx, nil, "rm", "-f", filepath.Join(p.prefix, key))
}

func (p *passWriter) run(ctx context.Context, stdin io.Reader, args ...string) error {
	what := "pass " + args[0]
	ctx, cancel := context.WithTimeout(ctx, p.bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.cmd, args...)
	cmd.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+p.dir)
	cmd.Stdin, cmd.Stderr = stdin, os.Stderr
	ended := boundProcess(cmd, false)
	log.Printf("running %s for the vault", what)
	err := cmd.Run()
	ended()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &HelperTimeoutError{What: what, Bound: p.bound}
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return fmt.Errorf("running %s: %w", what, err)
	}
	return nil
}
