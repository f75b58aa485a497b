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

// passCommands makes the pass backend's reads and writes (an item read, set, removed) as
// keyring's pass backend makes them (the same program, arguments, environment and item
// format: `pass show PREFIX/KEY`, `pass insert -m -f PREFIX/KEY` fed the item's JSON,
// `pass rm -f PREFIX/KEY`), but as a helper: pass runs gpg, which may wait for its agent or
// a pinentry, and they run holding the vault's lock (exclusive for a write); keyring runs
// them with exec.Command and no bound, so one that hangs would hold up the run, and every
// other run's write. Each is bounded (bound, and the call's context) and killed with what
// it started (boundProcess).
type passCommands struct {
	cmd, dir, prefix string
	bound            time.Duration // a write's: gpg encrypts with a public key, asking nobody
	// readBound is a read's: gpg decrypts, and its agent may ask a person for the key's
	// passphrase (a pinentry), so it gets the bound of a helper that waits for a person.
	readBound time.Duration
}

func newPassCommands(o VaultOptions) *passCommands {
	bound := orDefaultDuration(o.HelperTimeout, DefaultAWSTimeout)
	return &passCommands{cmd: cmp.Or(o.PassCmd, "pass"), dir: passDir(o), prefix: o.PassPrefix, bound: bound, readBound: max(bound, MFAProcessTimeout)}
}

// get reads the item key; keyring.ErrKeyNotFound if there is none.
func (p *passCommands) get(ctx context.Context, key string) (keyring.Item, error) {
	if _, err := os.Stat(filepath.Join(p.dir, p.prefix, key+".gpg")); err != nil {
		return keyring.Item{}, keyring.ErrKeyNotFound
	}
	out := &CappedWriter{Limit: maxPassItem}
	if err := p.run(ctx, p.readBound, nil, out, "show", filepath.Join(p.prefix, key)); err != nil {
		return keyring.Item{}, err
	}
	if out.Exceeded {
		return keyring.Item{}, ErrTooLarge
	}
	var item keyring.Item
	if err := json.Unmarshal(out.Bytes(), &item); err != nil {
		// Never the content in the error: it is the item.
		return keyring.Item{}, errors.New("the item is not keyring's JSON")
	}
	return item, nil
}

// maxPassItem bounds what av reads of an item from pass, as the file backend's items are.
const maxPassItem = 4 << 20

// set stores item, replacing the one of its key.
func (p *passCommands) set(ctx context.Context, item keyring.Item) error {
	data, err := json.Marshal(item)
	if err != nil {
		return err
	}
	return p.run(ctx, p.bound, bytes.NewReader(data), nil, "insert", "-m", "-f", filepath.Join(p.prefix, item.Key))
}

// remove removes the item key; keyring.ErrKeyNotFound if there is none.
func (p *passCommands) remove(ctx context.Context, key string) error {
	if _, err := os.Stat(filepath.Join(p.dir, p.prefix, key+".gpg")); err != nil {
		return keyring.ErrKeyNotFound
	}
	return p.run(ctx, p.bound, nil, nil, "rm", "-f", filepath.Join(p.prefix, key))
}

func (p *passCommands) run(ctx context.Context, bound time.Duration, stdin io.Reader, stdout io.Writer, args ...string) error {
	what := "pass " + args[0]
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.cmd, args...)
	cmd.Env = append(os.Environ(), "PASSWORD_STORE_DIR="+p.dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, os.Stderr
	ended := boundProcess(cmd, false)
	log.Printf("running %s for the vault", what)
	err := cmd.Run()
	if ended() {
		select { // see helper.run
		case <-ctx.Done():
		case <-time.After(keyGrace):
		}
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &HelperTimeoutError{What: what, Bound: bound}
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && !errors.Is(err, exec.ErrWaitDelay):
		return fmt.Errorf("running %s: %w", what, err)
	}
	return nil
}
