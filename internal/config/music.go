package config

import (
	"fmt"
	"path/filepath"
	"time"
)

// Music configures the music library and room players (part of the API
// service).
type Music struct {
	MaxUploadBytes int64         `name:"music-max-upload-bytes" env:"HEARTH_MUSIC_MAX_UPLOAD_BYTES" default:"52428800" help:"Largest audio file accepted for upload, in bytes."`
	StreamURLTTL   time.Duration `name:"music-stream-url-ttl" env:"HEARTH_MUSIC_STREAM_URL_TTL" default:"15m" help:"How long a signed stream URL stays valid beyond the track's own duration."`
	MaxQueue       int           `name:"music-max-queue" env:"HEARTH_MUSIC_MAX_QUEUE" default:"200" help:"Most entries a room's music queue holds."`
	BlobDir        string        `name:"music-blob-dir" env:"HEARTH_MUSIC_BLOB_DIR" default:"" help:"Directory for uploaded tracks when no S3 endpoint is set. Empty: <data-dir>/blobs."`

	S3Endpoint  string `name:"music-s3-endpoint" env:"HEARTH_MUSIC_S3_ENDPOINT" default:"" help:"S3-compatible endpoint (host:port, or an http(s):// URL) for uploaded tracks. Empty: local disk."`
	S3Bucket    string `name:"music-s3-bucket" env:"HEARTH_MUSIC_S3_BUCKET" default:"" help:"Bucket for uploaded tracks (must exist)."`
	S3AccessKey string `name:"music-s3-access-key" env:"HEARTH_MUSIC_S3_ACCESS_KEY" default:"" help:"S3 access key id."`
	S3SecretKey string `name:"music-s3-secret-key" env:"HEARTH_MUSIC_S3_SECRET_KEY" default:"" help:"S3 secret access key."`
	S3Region    string `name:"music-s3-region" env:"HEARTH_MUSIC_S3_REGION" default:"" help:"S3 region; empty lets the client discover it."`
	S3TLS       bool   `name:"music-s3-tls" env:"HEARTH_MUSIC_S3_TLS" default:"true" negatable:"" help:"Use HTTPS to reach the S3 endpoint (--no-music-s3-tls for plain HTTP)."`
	S3PathStyle bool   `name:"music-s3-path-style" env:"HEARTH_MUSIC_S3_PATH_STYLE" default:"false" help:"Use path-style bucket addressing (MinIO and most self-hosted stores)."`
	S3Prefix    string `name:"music-s3-prefix" env:"HEARTH_MUSIC_S3_PREFIX" default:"" help:"Prefix for every object key, to share a bucket."`
}

// UsesS3 reports whether uploaded tracks go to an S3-compatible store.
func (m *Music) UsesS3() bool { return m.S3Endpoint != "" }

// BlobPath is the local blob directory.
func (m *Music) BlobPath(dataDir string) string {
	if m.BlobDir != "" {
		return m.BlobDir
	}
	return filepath.Join(dataDir, "blobs")
}

// Validate checks the music settings.
func (m *Music) Validate() error {
	if m.MaxUploadBytes < 0 {
		return fmt.Errorf("--music-max-upload-bytes must not be negative")
	}
	if m.StreamURLTTL < 0 {
		return fmt.Errorf("--music-stream-url-ttl must not be negative")
	}
	if m.MaxQueue < 0 {
		return fmt.Errorf("--music-max-queue must not be negative")
	}
	if m.UsesS3() && m.S3Bucket == "" {
		return fmt.Errorf("--music-s3-bucket is required with --music-s3-endpoint")
	}
	return nil
}
