package pbes2

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/dvsekhvalnov/jose2go/kdf"
)

// TestPBKDF2IsTheStandardLibrarys checks pbkdf2SHA256 against crypto/pbkdf2 and jose2go's
// PBKDF2 over the edges of its input: passphrases empty, of one block, longer than one
// (hashed first), not UTF-8; salts empty and longer than a block; one round, two, and the
// file backend's; keys of 1 to 32 bytes, and one longer (the standard library's path).
func TestPBKDF2IsTheStandardLibrarys(t *testing.T) {
	passphrases := []string{"", "a", "correct horse", strings.Repeat("p", 63), strings.Repeat("p", 64), strings.Repeat("p", 65), strings.Repeat("é", 100), "\xff\x00\xfe"}
	salts := [][]byte{nil, Salt([]byte("twelve bytes")), []byte(strings.Repeat("s", 200))}
	for _, pass := range passphrases {
		for _, salt := range salts {
			for _, rounds := range []int{1, 2, 3, 1000, Rounds} {
				for _, keyLen := range []int{1, keySize, 31, sha256.Size, sha256.Size + 1} {
					if rounds == Rounds && keyLen != keySize {
						continue // the file backend's: one key size is enough at this cost
					}
					got, err := pbkdf2SHA256(pass, salt, rounds, keyLen)
					if err != nil {
						t.Fatal(err)
					}
					want, err := pbkdf2.Key(sha256.New, pass, salt, rounds, keyLen)
					if err != nil {
						t.Fatal(err)
					}
					jose := kdf.DerivePBKDF2([]byte(pass), salt, rounds, 8*keyLen, sha256.New)
					if string(got) != string(want) || string(got) != string(jose) {
						t.Fatalf("pbkdf2SHA256(%d-byte passphrase, %d-byte salt, %d rounds, %d) = %x; crypto/pbkdf2: %x, jose2go: %x", len(pass), len(salt), rounds, keyLen, got, want, jose)
					}
				}
			}
		}
	}
}

// FuzzPBKDF2 compares pbkdf2SHA256 with crypto/pbkdf2 on any passphrase and salt.
func FuzzPBKDF2(f *testing.F) {
	f.Add("correct horse", []byte("salt"), uint8(3), uint8(16))
	f.Fuzz(func(t *testing.T, pass string, salt []byte, rounds, keyLen uint8) {
		r, n := int(rounds%20)+1, int(keyLen%40)+1
		got, err := pbkdf2SHA256(pass, salt, r, n)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := pbkdf2.Key(sha256.New, pass, salt, r, n)
		if string(got) != string(want) {
			t.Fatalf("%x != %x", got, want)
		}
	})
}

// BenchmarkDerive is a warm run's one derivation, beside the standard library's.
func BenchmarkDerive(b *testing.B) {
	salt := Salt([]byte("twelve bytes"))
	b.Run("av", func(b *testing.B) {
		for b.Loop() {
			pbkdf2SHA256("correct horse", salt, Rounds, keySize)
		}
	})
	b.Run("crypto-pbkdf2", func(b *testing.B) {
		for b.Loop() {
			pbkdf2.Key(sha256.New, "correct horse", salt, Rounds, keySize)
		}
	})
}
