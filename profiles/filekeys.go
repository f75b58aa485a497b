package profiles

import (
	"crypto/rand"
	"encoding/base64"
	"errors"

	"github.com/av-cli/av/profiles/internal/pbes2"
	jose "github.com/dvsekhvalnov/jose2go"
	"github.com/dvsekhvalnov/jose2go/aes"
)

func init() {
	// The file backend's items are keyed by a PBKDF2 of the passphrase. jose2go derives it
	// itself; this derives it with the standard library, and takes the key of the item a
	// warm run reads derived while av started (package pbes2).
	jose.RegisterJwa(fileItemKeys{})
}

// fileItemKeys is PBES2-HS256+A128KW key management for jose2go (a jose.JwaAlgorithm): the
// same JWEs as jose2go's, with the key derivation done by package pbes2.
type fileItemKeys struct{}

func (fileItemKeys) Name() string { return pbes2.Alg }

// WrapNewKey makes a new item's content key and wraps it with a key derived from the
// passphrase and a salt: the salt and key of the last item this process read or wrote
// under the same passphrase (pbes2.Reuse), so that the items a run reads together share
// one derivation; else a fresh salt, as jose2go does.
func (fileItemKeys) WrapNewKey(cekSizeBits int, key any, header map[string]any) (cek, encryptedCEK []byte, err error) {
	passphrase, ok := key.(string)
	if !ok {
		return nil, nil, errors.New("PBES2 key management takes a passphrase")
	}
	saltInput, kek, ok := pbes2.Reuse.For(passphrase, pbes2.Rounds)
	if !ok {
		saltInput = make([]byte, 12) // as jose2go
		if _, err := rand.Read(saltInput); err != nil {
			return nil, nil, err
		}
		salt := pbes2.Salt(saltInput)
		if kek, err = pbes2.Derive(passphrase, salt, pbes2.Rounds); err != nil {
			return nil, nil, err
		}
		pbes2.Reuse.Remember(passphrase, salt, pbes2.Rounds, kek)
	}
	header["p2c"] = pbes2.Rounds
	header["p2s"] = base64.RawURLEncoding.EncodeToString(saltInput)
	cek = make([]byte, cekSizeBits/8)
	if _, err := rand.Read(cek); err != nil {
		return nil, nil, err
	}
	encryptedCEK, err = aes.KeyWrap(cek, kek)
	return cek, encryptedCEK, err
}

// Unwrap unwraps an item's content key with the key derived from the passphrase and the
// item's salt: in advance, or now. A wrong passphrase fails key unwrap's integrity check.
func (fileItemKeys) Unwrap(encryptedCEK []byte, key any, cekSizeBits int, header map[string]any) ([]byte, error) {
	passphrase, ok := key.(string)
	if !ok {
		return nil, errors.New("PBES2 key management takes a passphrase")
	}
	salt, rounds, err := pbes2.Params(header)
	if err != nil {
		return nil, err
	}
	// AES key wrap (RFC 3394) wraps the key in one more 64-bit block than it has; jose2go's
	// KeyUnwrap indexes the first block unchecked, and panics on a damaged item's empty one.
	if len(encryptedCEK) != cekSizeBits/8+8 {
		return nil, errors.New("the item's wrapped key is not of the size its enc needs")
	}
	kek := pbes2.Ahead.Key(passphrase, salt, rounds)
	if kek == nil {
		if saltInput, last, ok := pbes2.Reuse.For(passphrase, rounds); ok && string(pbes2.Salt(saltInput)) == string(salt) {
			kek = last // an item this run wrote, or another under the same salt
		} else if kek, err = pbes2.Derive(passphrase, salt, rounds); err != nil {
			return nil, err
		}
	}
	cek, err := aes.KeyUnwrap(encryptedCEK, kek)
	if err == nil && rounds == pbes2.Rounds {
		// The key is right (key unwrap checks it): the next item written shares it.
		pbes2.Reuse.Remember(passphrase, salt, rounds, kek)
	}
	return cek, err
}
