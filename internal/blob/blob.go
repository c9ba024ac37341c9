// Package blob stores large immutable objects (uploaded tracks): on local
// disk under the data directory by default, or in any S3-compatible store.
// Writes go to a temporary object first and are committed under their key
// only once complete, so a reader never sees a partial object and a failed
// or interrupted write leaves nothing behind (SweepTemp removes what a
// crash left mid-write).
package blob

import (
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// ErrNotFound means no object has the key.
var ErrNotFound = errors.New("blob: not found")

// Store is a blob store.
type Store interface {
	// Put stores size bytes from r under key: first as a temporary object,
	// committed under key once all bytes arrived. On error nothing is left.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the object for reading and seeking.
	Open(ctx context.Context, key string) (Object, error)
	// Delete removes the object; a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// SweepTemp removes temporary objects older than cutoff, which only a
	// crash mid-write leaves behind, and reports how many it removed.
	SweepTemp(ctx context.Context, cutoff time.Time) (int, error)
}

// Object is an open blob.
type Object interface {
	io.ReadSeekCloser
	Size() int64
	ModTime() time.Time
}

// ValidKey reports whether key is safe on every backend: slash-separated
// segments of [a-z0-9._-], no empty, "." or ".." segment, and not in the
// reserved temporary area.
func ValidKey(key string) bool {
	if key == "" || len(key) > 512 || strings.HasPrefix(key, tempPrefix) {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}

// tempPrefix is where temporary objects live on every backend.
const tempPrefix = ".tmp/"
