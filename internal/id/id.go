// Package id generates the random identifiers Hearth uses for users, rooms,
// sessions and requests: unguessable, URL-safe, and short enough to read.
package id

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// lower-case base32 without padding: URL- and filename-safe, case-insensitive.
var enc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns a 128-bit random id as 26 lower-case base32 characters.
func New() string { return Random(16) }

// Random returns n random bytes encoded as lower-case base32.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return enc.EncodeToString(b)
}

// Code returns a human-friendly code of n characters from an alphabet without
// look-alike characters (no 0/O, 1/I/L), for invite codes.
func Code(n int) string {
	const alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	const limit = 256 - 256%len(alphabet) // rejection sampling: no modulo bias
	var sb strings.Builder
	buf := make([]byte, n*2)
	for sb.Len() < n {
		_, _ = rand.Read(buf)
		for _, c := range buf {
			if int(c) < limit && sb.Len() < n {
				sb.WriteByte(alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return sb.String()
}

// Valid reports whether s looks like an id from New (cheap input check before
// a database lookup).
func Valid(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
