package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/hearth-space/hearth/internal/id"
)

// S3Options configure an S3-compatible store.
type S3Options struct {
	// Endpoint is host[:port]; an http:// or https:// prefix sets TLS.
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
	TLS       bool
	// PathStyle forces path-style requests (MinIO and most self-hosted
	// stores); otherwise the client picks per endpoint.
	PathStyle bool
	// Prefix is prepended to every key ("hearth/").
	Prefix string
	// Transport replaces the HTTP transport (tests).
	Transport http.RoundTripper
}

// S3 stores blobs in an S3-compatible bucket. A write uploads to a
// temporary key under .tmp/, then a server-side copy commits it under its
// key and the temporary object is removed; a failure removes it at once.
type S3 struct {
	c      *minio.Client
	bucket string
	prefix string
}

// NewS3 connects to the store and checks the bucket exists.
func NewS3(ctx context.Context, o S3Options) (*S3, error) {
	endpoint, secure := o.Endpoint, o.TLS
	switch {
	case strings.HasPrefix(endpoint, "https://"):
		endpoint, secure = strings.TrimPrefix(endpoint, "https://"), true
	case strings.HasPrefix(endpoint, "http://"):
		endpoint, secure = strings.TrimPrefix(endpoint, "http://"), false
	}
	endpoint = strings.TrimRight(endpoint, "/")
	lookup := minio.BucketLookupAuto
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       secure,
		Region:       o.Region,
		BucketLookup: lookup,
		Transport:    o.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: s3 client: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, err := c.BucketExists(cctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("blob: s3 bucket %q at %s: %w", o.Bucket, endpoint, err)
	}
	if !ok {
		return nil, fmt.Errorf("blob: s3 bucket %q does not exist at %s", o.Bucket, endpoint)
	}
	return &S3{c: c, bucket: o.Bucket, prefix: o.Prefix}, nil
}

func (s *S3) name(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	return s.prefix + key, nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (err error) {
	dst, err := s.name(key)
	if err != nil {
		return err
	}
	tmp := s.prefix + tempPrefix + id.Random(16)
	defer func() {
		// Whatever happened, the temporary object goes; after a failure
		// the request's context may be over, so use a fresh one. Should
		// the removal itself fail, SweepTemp collects the object later: the
		// committed object is complete either way.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = s.c.RemoveObject(cctx, s.bucket, tmp, minio.RemoveObjectOptions{})
	}()
	if _, err = s.c.PutObject(ctx, s.bucket, tmp, r, size, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("blob: upload %s: %w", key, err)
	}
	if _, err = s.c.CopyObject(ctx, minio.CopyDestOptions{Bucket: s.bucket, Object: dst},
		minio.CopySrcOptions{Bucket: s.bucket, Object: tmp}); err != nil {
		return fmt.Errorf("blob: commit %s: %w", key, err)
	}
	return nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	// The object outlives this call (it is read as the response streams),
	// so it must not be tied to a context that ends first.
	o, err := s.c.GetObject(context.WithoutCancel(ctx), s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", key, err)
	}
	st, err := o.Stat()
	if err != nil {
		_ = o.Close()
		if isNotFound(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	return &s3Object{Object: o, size: st.Size, mod: st.LastModified}, nil
}

type s3Object struct {
	*minio.Object
	size int64
	mod  time.Time
}

func (o *s3Object) Size() int64        { return o.size }
func (o *s3Object) ModTime() time.Time { return o.mod }

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	if err := s.c.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// SweepTemp implements Store.
func (s *S3) SweepTemp(ctx context.Context, cutoff time.Time) (int, error) {
	n := 0
	var firstErr error
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + tempPrefix, Recursive: true}) {
		if o.Err != nil {
			return n, fmt.Errorf("blob: sweep: %w", o.Err)
		}
		if !o.LastModified.Before(cutoff) {
			continue
		}
		if err := s.c.RemoveObject(ctx, s.bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n++
	}
	if firstErr != nil {
		return n, fmt.Errorf("blob: sweep: %w", firstErr)
	}
	return n, nil
}

func isNotFound(err error) bool {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code == "NoSuchKey" || er.StatusCode == http.StatusNotFound
	}
	return false
}
