package music_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/hearth-space/hearth/internal/blob"
)

type fakeS3 struct {
	store *blob.S3
	list  func() []string
}

// newS3 serves an in-memory S3 (gofakes3) over HTTP and returns a blob
// store on it and a way to list every object.
func newS3(t *testing.T) fakeS3 {
	mem := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	if err := mem.CreateBucket("music"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := blob.NewS3(ctx, blob.S3Options{Endpoint: srv.URL, Bucket: "music", AccessKey: "k", SecretKey: "s",
		Region: "us-east-1", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4("k", "s", ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return fakeS3{store: s, list: func() []string {
		var out []string
		for o := range raw.ListObjects(context.Background(), "music", minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			out = append(out, o.Key)
		}
		return out
	}}
}
