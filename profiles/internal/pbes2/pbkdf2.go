package pbes2

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
)

// pbkdf2SHA256 is PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) for a key of one block (at most 32
// bytes), the standard library's result at about 0.72 of its CPU (BenchmarkDerive: 1.1 ms
// against 1.5). A derivation's 16,384 compressions are where a warm run spends the most
// (issue 22), and the standard library's HMAC pads and finishes every one of them through
// its generic Sum.
//
// Every round of PBKDF2 hashes a 32-byte value under HMAC's inner and outer key. Both
// messages are one 64-byte block after the key's block: the 32 bytes, SHA-256's padding
// (0x80, zeros) and the length of the whole message (96 bytes). So each hash is the key
// block's state (crypto/sha256's state, marshalled once) restored, one block written, and
// the state read back: that state is the hash, the padding having been written by hand.
// The compressions are crypto/sha256's own (SHA-NI where the CPU has it): nothing here
// implements SHA-256. TestPBKDF2IsTheStandardLibrarys checks the result against
// crypto/pbkdf2 and jose2go's; should crypto/sha256's marshalled form not start as this
// expects, the standard library's derivation runs instead.
func pbkdf2SHA256(passphrase string, salt []byte, rounds, keyLen int) ([]byte, error) {
	if keyLen > sha256.Size || rounds < 1 {
		return pbkdf2.Key(sha256.New, passphrase, salt, rounds, keyLen)
	}
	var key [sha256.BlockSize]byte
	if len(passphrase) > sha256.BlockSize {
		sum := sha256.Sum256([]byte(passphrase))
		copy(key[:], sum[:])
	} else {
		copy(key[:], passphrase)
	}
	inner, outer := sha256.New(), sha256.New()
	for i := range key {
		key[i] ^= 0x36
	}
	inner.Write(key[:])
	for i := range key {
		key[i] ^= 0x36 ^ 0x5c
	}
	outer.Write(key[:])
	clear(key[:])
	innerState, err := inner.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil || len(innerState) < len(stateMagic)+sha256.Size || string(innerState[:len(stateMagic)]) != stateMagic {
		return pbkdf2.Key(sha256.New, passphrase, salt, rounds, keyLen)
	}
	outerState, _ := outer.(encoding.BinaryMarshaler).MarshalBinary()

	// The first round: U1 = HMAC(passphrase, salt || INT(1)), the standard way.
	inner.Write(salt)
	inner.Write([]byte{0, 0, 0, 1})
	var block [sha256.BlockSize]byte
	u := inner.Sum(block[:0])
	outer.Write(u)
	outer.Sum(block[:0])
	var t [sha256.Size]byte
	copy(t[:], block[:sha256.Size])

	// The other rounds: block holds U, its padding and the message's length.
	block[sha256.Size] = 0x80
	clear(block[sha256.Size+1 : sha256.BlockSize-8])
	binary.BigEndian.PutUint64(block[sha256.BlockSize-8:], (sha256.BlockSize+sha256.Size)*8)
	d := sha256.New()
	restore := d.(encoding.BinaryUnmarshaler)
	save := d.(encoding.BinaryAppender)
	state := make([]byte, 0, len(innerState))
	for n := 1; n < rounds; n++ {
		for _, from := range [2][]byte{innerState, outerState} {
			if err := restore.UnmarshalBinary(from); err != nil {
				return nil, err
			}
			d.Write(block[:])
			state, _ = save.AppendBinary(state[:0])
			copy(block[:sha256.Size], state[len(stateMagic):])
		}
		subtle.XORBytes(t[:], t[:], block[:sha256.Size])
	}
	// What opens the passphrase's HMAC goes with the derivation: the states of its key
	// blocks, and the digests that held them.
	clear(block[:])
	clear(state)
	clear(innerState)
	clear(outerState)
	inner.Reset()
	outer.Reset()
	d.Reset()
	return t[:keyLen:keyLen], nil
}

// stateMagic starts crypto/sha256's marshalled state, before the eight words of the hash.
const stateMagic = "sha\x03"
