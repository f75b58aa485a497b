// Package pbes2 derives the keys of the file backend's items: keyring encrypts each item as
// a JWE with PBES2-HS256+A128KW (PBKDF2-HMAC-SHA256, 8192 rounds, a fresh salt per item),
// and decrypts it with jose2go, whose key management for that algorithm package profiles
// replaces with one that derives its keys here. The derivation is where a warm av spends
// its time, so:
//
//   - it is the standard library's PBKDF2, which takes 1.6 ms here against jose2go's 2.1
//     (same result: a test checks it against jose2go's own);
//   - the item a warm run reads (av's cached token item of the profile on the command line)
//     has its key derived in advance, on another core, while the rest of av's packages
//     initialise (about 3 ms, most of it the AWS SDK's). By the time main decrypts that
//     item, its key is there. A wrong guess costs one derivation on a spare core; the
//     decrypt then derives the key itself, as before. Go initialises packages in the order
//     of their import paths, each once its imports are: this package imports only standard
//     packages that are initialised early (not path/filepath, nor any of jose2go's), so it
//     starts before the SDK's packages.
//
// Only the key derivation moves: jose2go still parses the JWE, checks the wrapped key's
// integrity and decrypts the item (AES-GCM).
package pbes2

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
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

// Ahead holds the keys this process derives in advance: started when the package is
// initialised, if av will read a file-backend vault whose passphrase is in the environment.
var Ahead = newPrefetch()

func init() {
	dir, passphrase, ok := fileVault(os.LookupEnv)
	if !ok {
		// Another backend, or a passphrase still to be asked for: nothing to derive ahead.
		close(Ahead.listed)
		return
	}
	go Ahead.run(dir, passphrase, profileGuesses(os.Args[1:], os.Getenv("AWS_PROFILE")), time.Now())
}

// Salt is PBES2's salt: the algorithm's name, a zero byte, and the item's p2s (RFC 7518
// §4.8.1.1).
func Salt(saltInput []byte) []byte {
	return append(append([]byte(Alg), 0), saltInput...)
}

// Derive derives a key now.
func Derive(passphrase string, salt []byte, rounds int) ([]byte, error) {
	return pbkdf2.Key(sha256.New, passphrase, salt, rounds, keySize)
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
	listed chan struct{} // closed once run has chosen what it derives
	mu     sync.Mutex
	todo   []*derivation
	used   int
}

func newPrefetch() *Prefetch { return &Prefetch{listed: make(chan struct{})} }

// Key returns the key for (passphrase, salt, rounds) if it is one derived in advance,
// waiting for its derivation if it is still under way (it is ahead of one started now),
// or nil.
func (p *Prefetch) Key(passphrase string, salt []byte, rounds int) []byte {
	<-p.listed
	p.mu.Lock()
	var d *derivation
	for _, a := range p.todo {
		if a.rounds == rounds && a.passphrase == passphrase && string(a.salt) == string(salt) {
			d = a
		}
	}
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

// Used counts the keys Key has returned: how often the guess was right.
func (p *Prefetch) Used() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}

// maxAhead bounds the derivations started on a guess: the first guess that names a live
// item is nearly always the run's profile, and under make -j there is no spare core for a
// second one.
const maxAhead = 1

// run derives the keys of the live av items of the guessed profiles, in their order.
func (p *Prefetch) run(dir, passphrase string, profiles []string, now time.Time) {
	var todo []*derivation
	func() {
		defer close(p.listed)
		names, err := readDirNames(dir)
		if err != nil {
			return
		}
		for _, prof := range profiles {
			if len(todo) == maxAhead {
				break
			}
			name := newestItem(names, prof, now)
			if name == "" {
				continue
			}
			s, r, ok := itemSalt(strings.TrimSuffix(dir, "/") + "/" + name)
			if !ok {
				continue
			}
			todo = append(todo, &derivation{passphrase: passphrase, salt: s, rounds: r, done: make(chan struct{})})
		}
		p.mu.Lock()
		p.todo = todo
		p.mu.Unlock()
	}()
	for _, d := range todo {
		d.key, _ = Derive(d.passphrase, d.salt, d.rounds)
		close(d.done)
	}
}

// fileVault reports the file backend's directory and passphrase when av will open that
// backend with its passphrase in the environment, as profiles.OpenVault does.
func fileVault(lookupEnv func(string) (string, bool)) (dir, passphrase string, ok bool) {
	passphrase, set := lookupEnv("AWS_VAULT_FILE_PASSPHRASE")
	if backend, _ := lookupEnv("AWS_VAULT_BACKEND"); backend != "file" || !set {
		return "", "", false
	}
	dir, _ = lookupEnv("AWS_VAULT_FILE_DIR")
	if dir == "" {
		dir = DefaultFileDir
	}
	if rest, found := strings.CutPrefix(dir, "~/"); found {
		home, _ := lookupEnv("HOME")
		if home == "" {
			return "", "", false
		}
		dir = strings.TrimSuffix(home, "/") + "/" + rest
	}
	return dir, passphrase, true
}

// profileGuesses lists the profiles a run of av with these arguments may be for, most
// likely first: the word before the first "--" (av PROFILE -- COMMAND), the first few
// words that are not flags (av PROFILE COMMAND, with values of av's flags among them), then
// $AWS_PROFILE, else "default". Only a guess that names a live item costs a derivation.
func profileGuesses(args []string, envProfile string) []string {
	var guesses []string
	add := func(p string) {
		if p != "" && !strings.HasPrefix(p, "-") && !slices.Contains(guesses, p) {
			guesses = append(guesses, p)
		}
	}
	if i := slices.Index(args, "--"); i >= 0 {
		if i > 0 {
			add(args[i-1])
		}
		args = args[:i]
	}
	words := 0
	for _, a := range args {
		if words == maxWords {
			break
		}
		if !strings.HasPrefix(a, "-") {
			add(a)
			words++
		}
	}
	if envProfile == "" {
		envProfile = "default"
	}
	add(envProfile)
	return guesses
}

// maxWords is how many words of the command line may be the profile: a flag's value, then
// the profile, then the command.
const maxWords = 3

// newestItem is the name of the profile's av item (aws-vault session name
// "av.KIND,base64url(PROFILE),DETAIL,EXPIRY") that expires last, if it has not expired.
func newestItem(names []string, profile string, now time.Time) string {
	encoded := base64.RawURLEncoding.EncodeToString([]byte(profile))
	var best string
	var bestExp int64
	for _, n := range names {
		parts := strings.Split(n, ",")
		if len(parts) != 4 || !strings.HasPrefix(parts[0], "av.") || parts[1] != encoded {
			continue
		}
		exp, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil || exp <= now.Unix() {
			continue
		}
		if best == "" || exp > bestExp {
			best, bestExp = n, exp
		}
	}
	return best
}

// itemSalt reads the salt and rounds from a file item's JWE header.
func itemSalt(path string) (s []byte, p2c int, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, false
	}
	defer f.Close()
	buf := make([]byte, 512) // the header is the first of the JWE's parts, ~150 bytes
	n, _ := f.Read(buf)
	encoded, _, found := strings.Cut(string(buf[:n]), ".")
	if !found {
		return nil, 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil {
		return nil, 0, false
	}
	var h struct {
		Alg string `json:"alg"`
		P2s string `json:"p2s"`
		P2c int    `json:"p2c"`
	}
	if json.Unmarshal(raw, &h) != nil || h.Alg != Alg || h.P2c < 1 || h.P2c > MaxRounds {
		return nil, 0, false
	}
	saltInput, err := base64.RawURLEncoding.DecodeString(h.P2s)
	if err != nil {
		return nil, 0, false
	}
	return Salt(saltInput), h.P2c, true
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
