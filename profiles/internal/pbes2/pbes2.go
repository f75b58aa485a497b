// Package pbes2 derives the keys of the file backend's items: keyring encrypts each item as
// a JWE with PBES2-HS256+A128KW (PBKDF2-HMAC-SHA256, 8192 rounds, a fresh salt per item),
// and decrypts it with jose2go, whose key management for that algorithm package profiles
// replaces with one that derives its keys here. The derivation is where a warm av spends
// its time, so:
//
//   - it is PBKDF2 over crypto/sha256's compressions with HMAC's padding written once
//     (pbkdf2SHA256), which takes 1.1 ms here against the standard library's PBKDF2's 1.5
//     and jose2go's 2.1 (same result: a test checks it against both);
//   - once main knows which items a run will read (the profile is resolved), it can have
//     their keys derived in advance, one goroutine each, while it does other work
//     (Prefetch.Start). A decrypt then takes the key derived ahead, or derives it itself;
//   - the items av writes share the key of the last item it read or wrote (Reuse), so the
//     two a warm run reads need one derivation, and a write none.
//
// Nothing here runs before main: the package has no init.
//
// Only the key derivation moves: jose2go still parses the JWE, checks the wrapped key's
// integrity and decrypts the item (AES-GCM).
package pbes2

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/dvsekhvalnov/jose2go/base64url"
	"golang.org/x/sys/unix"
)

// DefaultFileDir is the file backend's directory unless AWS_VAULT_FILE_DIR says otherwise,
// as aws-vault v7 sets it.
const DefaultFileDir = "~/.awsvault/keys/"

// Alg is the JWE key management algorithm keyring's file backend encrypts items with
// (jose2go's PBES2_HS256_A128KW).
const Alg = "PBES2-HS256+A128KW"

const (
	// Rounds is what jose2go writes, and keyring with it.
	Rounds  = 8192
	keySize = 16 // A128KW
	// MaxRounds bounds the rounds an item may ask for (a damaged or hostile header could
	// ask for hours of them).
	MaxRounds = 1 << 24
)

// Ahead holds the keys this process derives in advance (profiles.Vault.DeriveAhead).
var Ahead = &Prefetch{}

// Reuse is the key of an item this process has read or written, which the next item it
// writes is wrapped with, under the same salt. So the items a run writes (a session, its
// registry tokens) share one key, and a warm run, which reads two of them, derives one key
// instead of two: its costliest step (about 1.6 ms of CPU each). This weakens nothing the
// salt is for: every item of a vault is encrypted under the one passphrase, so a guess of
// it that opens one item opens them all whatever their salts, while the salt stays random
// per vault (and per writer), so no precomputation serves two vaults. Each item keeps a
// content key of its own (AES key wrap of a fresh random key, as before).
var Reuse = &Last{}

// Last is the last key used, and its parameters.
type Last struct {
	mu         sync.Mutex
	passphrase string
	saltInput  []byte // p2s, before Salt
	rounds     int
	key        []byte
}

// Remember keeps key as the one to reuse, for the passphrase, salt (as Salt made it) and
// rounds it was derived with.
func (l *Last) Remember(passphrase string, salt []byte, rounds int, key []byte) {
	prefix := len(Alg) + 1
	if len(salt) <= prefix || key == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.passphrase, l.saltInput, l.rounds, l.key = passphrase, append([]byte(nil), salt[prefix:]...), rounds, key
}

// Forget drops the remembered key: the next item written gets a fresh salt (for tests).
func (l *Last) Forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.passphrase, l.saltInput, l.rounds, l.key = "", nil, 0, nil
}

// For returns the salt input (p2s) and key to wrap a new item with under passphrase, if
// one is remembered for it with rounds, else ok false.
func (l *Last) For(passphrase string, rounds int) (saltInput, key []byte, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.key == nil || l.passphrase != passphrase || l.rounds != rounds {
		return nil, nil, false
	}
	return l.saltInput, l.key, true
}

// Salt is PBES2's salt: the algorithm's name, a zero byte, and the item's p2s (RFC 7518
// §4.8.1.1).
func Salt(saltInput []byte) []byte {
	return append(append([]byte(Alg), 0), saltInput...)
}

// Derive derives a key now.
func Derive(passphrase string, salt []byte, rounds int) ([]byte, error) {
	return pbkdf2SHA256(passphrase, salt, rounds, keySize)
}

// derivation is a key derived, or being derived, in advance.
type derivation struct {
	passphrase string
	salt       []byte
	rounds     int
	done       chan struct{}
	key        []byte // set before done is closed; nil if it failed
}

// Prefetch is a set of keys derived in advance.
type Prefetch struct {
	mu   sync.Mutex
	todo []*derivation
	used int
}

// MaxAhead bounds the derivations one Start begins: a warm run reads two items (its
// registry tokens and its session), and the machines av runs on under make -j have no
// spare core for more.
const MaxAhead = 2

// Start begins deriving, one goroutine each, the keys of the file items at paths (at most
// MaxAhead), and returns how many it began. An item whose header cannot be read is left to
// the decrypt. The caller knows which items it will read; a wrong guess costs one
// derivation on a spare core.
func (p *Prefetch) Start(passphrase string, paths []string) int {
	started := 0
	for _, path := range paths {
		if started == MaxAhead {
			break
		}
		salt, rounds, ok := itemSalt(path)
		if !ok {
			continue
		}
		d := &derivation{passphrase: passphrase, salt: salt, rounds: rounds, done: make(chan struct{})}
		p.mu.Lock()
		if p.find(passphrase, salt, rounds) != nil {
			// Items written by av share their key (Reuse): one derivation serves both.
			p.mu.Unlock()
			continue
		}
		p.todo = append(p.todo, d)
		p.mu.Unlock()
		go func() {
			// A panic here must not end av: the key is then derived when the item is read.
			defer func() {
				_ = recover()
				close(d.done)
			}()
			d.key, _ = Derive(d.passphrase, d.salt, d.rounds)
		}()
		started++
	}
	return started
}

// Key returns the key for (passphrase, salt, rounds) if it is one derived in advance,
// waiting for its derivation if it is still under way (it is ahead of one started now),
// or nil.
func (p *Prefetch) Key(passphrase string, salt []byte, rounds int) []byte {
	p.mu.Lock()
	d := p.find(passphrase, salt, rounds)
	p.mu.Unlock()
	if d == nil {
		return nil
	}
	<-d.done
	if d.key != nil {
		p.mu.Lock()
		p.used++
		p.mu.Unlock()
	}
	return d.key
}

// Reset drops the derivations begun in advance (for tests).
func (p *Prefetch) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.todo = nil
}

// find is the derivation for (passphrase, salt, rounds) begun in advance, or nil. Called with
// p.mu held.
func (p *Prefetch) find(passphrase string, salt []byte, rounds int) *derivation {
	for _, a := range p.todo {
		if a.rounds == rounds && a.passphrase == passphrase && string(a.salt) == string(salt) {
			return a
		}
	}
	return nil
}

// Used counts the keys Key has returned: how often a derivation ahead was of use.
func (p *Prefetch) Used() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// Params reads PBES2's parameters from a JWE header as jose2go decodes it (a JSON object
// into a map: names as written, numbers float64): the salt (Salt of p2s, base64url) and the
// rounds (p2c, a whole number from 1 to MaxRounds). The decrypt's key management and the
// derivations ahead both read a header with it, so a key derived ahead is the key the
// decrypt wants. Errors name the field, never its content.
func Params(header map[string]any) (salt []byte, rounds int, err error) {
	p2c, ok := header["p2c"].(float64)
	if !ok || p2c < 1 || p2c > MaxRounds || p2c != float64(int(p2c)) {
		return nil, 0, errors.New("the item's header has no usable p2c")
	}
	p2s, ok := header["p2s"].(string)
	if !ok {
		return nil, 0, errors.New("the item's header has no p2s")
	}
	saltInput, err := base64.RawURLEncoding.DecodeString(p2s)
	if err != nil {
		return nil, 0, errors.New("the item's p2s is not base64url")
	}
	return Salt(saltInput), int(p2c), nil
}

// itemSalt reads the salt and rounds from a file item's JWE header.
func itemSalt(path string) (s []byte, p2c int, ok bool) {
	// O_NONBLOCK: a FIFO named like an item would hold open(2) until a writer came. The
	// bare descriptor, not an os.File: os.OpenFile would try to add the file to Go's
	// poller first (a failing epoll_ctl), for each item of a warm run.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, false
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, 0, false
	}
	buf := make([]byte, 512) // the header is the first of the JWE's parts, ~150 bytes
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, 0, false // a key is then derived as the item is read, not ahead
	}
	encoded, _, found := strings.Cut(string(buf[:n]), ".")
	if !found {
		return nil, 0, false
	}
	// jose2go's own decoder, as the decrypt's: Go's would skip line breaks that jose2go
	// counts (found by FuzzItemHeader), and a key would be derived for nothing.
	raw, err := base64url.Decode(encoded)
	if err != nil {
		return nil, 0, false
	}
	var h map[string]any
	if json.Unmarshal(raw, &h) != nil || h["alg"] != Alg {
		return nil, 0, false
	}
	salt, rounds, err := Params(h)
	if err != nil {
		return nil, 0, false
	}
	return salt, rounds, true
}
