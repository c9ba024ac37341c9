package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"go.uber.org/goleak"

	"github.com/hearth-space/hearth/internal/blob"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// backend is one store under test and a way to list every object it holds,
// temporary ones included.
type backend struct {
	store blob.Store
	list  func() []string
	// plant leaves a temporary object as a crash mid-write would.
	plant func(name string)
}

func diskBackend(t *testing.T) backend {
	dir := t.TempDir()
	d, err := blob.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		store: d,
		list: func() []string {
			var out []string
			_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
				if err == nil && !info.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					out = append(out, filepath.ToSlash(rel))
				}
				return nil
			})
			return out
		},
		plant: func(name string) {
			p := filepath.Join(dir, ".tmp", name)
			if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-2 * time.Hour)
			_ = os.Chtimes(p, old, old)
		},
	}
}

// s3Backend runs the store against an in-process S3 implementation
// (gofakes3) over real HTTP.
func s3Backend(t *testing.T) backend {
	mem := s3mem.New()
	faker := gofakes3.New(mem, gofakes3.WithAutoBucket(false))
	srv := httptest.NewServer(faker.Server())
	t.Cleanup(srv.Close)
	if err := mem.CreateBucket("music"); err != nil {
		t.Fatal(err)
	}
	s, err := blob.NewS3(ctx(t), blob.S3Options{
		Endpoint: srv.URL, Bucket: "music", AccessKey: "key", SecretKey: "secret", Region: "us-east-1",
		PathStyle: true, Prefix: "hearth/",
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4("key", "secret", ""), Region: "us-east-1", BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		store: s,
		list: func() []string {
			var out []string
			for o := range raw.ListObjects(ctx(t), "music", minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				out = append(out, o.Key)
			}
			return out
		},
		plant: func(name string) {
			if _, err := raw.PutObject(ctx(t), "music", "hearth/.tmp/"+name, strings.NewReader("partial"), 7, minio.PutObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func each(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("disk", func(t *testing.T) { fn(t, diskBackend(t)) })
	t.Run("s3", func(t *testing.T) { fn(t, s3Backend(t)) })
}

func TestPutOpenDelete(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		data := bytes.Repeat([]byte("hearth music "), 10000)
		if err := b.store.Put(ctx(t), "tracks/abc", bytes.NewReader(data), int64(len(data)), "audio/mpeg"); err != nil {
			t.Fatal(err)
		}
		o, err := b.store.Open(ctx(t), "tracks/abc")
		if err != nil {
			t.Fatal(err)
		}
		if o.Size() != int64(len(data)) || o.ModTime().IsZero() {
			t.Fatalf("size %d modtime %v", o.Size(), o.ModTime())
		}
		if _, err := o.Seek(1000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		part := make([]byte, 13)
		if _, err := io.ReadFull(o, part); err != nil || !bytes.Equal(part, data[1000:1013]) {
			t.Fatalf("read after seek: %q %v", part, err)
		}
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if got := b.list(); len(got) != 1 || !strings.HasSuffix(got[0], "tracks/abc") {
			t.Fatalf("objects = %v", got)
		}
		if err := b.store.Delete(ctx(t), "tracks/abc"); err != nil {
			t.Fatal(err)
		}
		if err := b.store.Delete(ctx(t), "tracks/abc"); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		if _, err := b.store.Open(ctx(t), "tracks/abc"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("open deleted: %v", err)
		}
		if got := b.list(); len(got) != 0 {
			t.Fatalf("objects left: %v", got)
		}
	})
}

// failingReader yields some bytes, then fails, as a dropped upload does.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestFailedPutLeavesNothing(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		err := b.store.Put(ctx(t), "tracks/broken", &failingReader{n: 5000}, 10000, "audio/mpeg")
		if err == nil {
			t.Fatal("put from a failing reader succeeded")
		}
		short := b.store.Put(ctx(t), "tracks/short", strings.NewReader("abc"), 10, "audio/mpeg")
		if short == nil {
			t.Fatal("put of fewer bytes than declared succeeded")
		}
		cctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := b.store.Put(cctx, "tracks/cancelled", strings.NewReader("abc"), 3, "audio/mpeg"); err == nil {
			t.Fatal("put with a cancelled context succeeded")
		}
		if got := b.list(); len(got) != 0 {
			t.Fatalf("objects left: %v", got)
		}
	})
}

func TestSweepTemp(t *testing.T) {
	each(t, func(t *testing.T, b backend) {
		b.plant("put-crashed")
		if err := b.store.Put(ctx(t), "tracks/keep", strings.NewReader("abc"), 3, ""); err != nil {
			t.Fatal(err)
		}
		n, err := b.store.SweepTemp(ctx(t), time.Now().Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("swept %d, %v", n, err)
		}
		if got := b.list(); len(got) != 1 || !strings.HasSuffix(got[0], "tracks/keep") {
			t.Fatalf("objects = %v", got)
		}
	})
}

func TestKeys(t *testing.T) {
	for _, k := range []string{"", "../etc/passwd", "a/../../b", ".tmp/x", "A", "a//b", "a/./b", "tracks/é"} {
		if blob.ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
	}
	for _, k := range []string{"tracks/abc", "a.b-c_d/e"} {
		if !blob.ValidKey(k) {
			t.Errorf("ValidKey(%q) = false", k)
		}
	}
	d, err := blob.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Put(ctx(t), "../escape", strings.NewReader("x"), 1, ""); err == nil {
		t.Fatal("path traversal accepted")
	}
}
