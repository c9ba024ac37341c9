package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Disk stores blobs as files under a root directory. A write goes to a
// file in root/.tmp, is synced, and is renamed into place: rename is atomic
// on one file system, so readers see the whole object or none.
type Disk struct {
	root string
}

// NewDisk returns a store rooted at dir, creating it when missing.
func NewDisk(dir string) (*Disk, error) {
	if err := os.MkdirAll(filepath.Join(dir, tempPrefix), 0o750); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	return &Disk{root: dir}, nil
}

func (d *Disk) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	return filepath.Join(d.root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) (err error) {
	dst, err := d.path(key)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(d.root, tempPrefix), "put-*")
	if err != nil {
		return fmt.Errorf("blob: temp file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("blob: write %s: %w", key, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("blob: write %s: got %d of %d bytes", key, n, size)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("blob: sync %s: %w", key, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("blob: close %s: %w", key, err)
	}
	if err = os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err = os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("blob: commit %s: %w", key, err)
	}
	return nil
}

// Open implements Store.
func (d *Disk) Open(_ context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("blob: open %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("blob: stat %s: %w", key, err)
	}
	return &diskObject{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

type diskObject struct {
	*os.File
	size int64
	mod  time.Time
}

func (o *diskObject) Size() int64        { return o.size }
func (o *diskObject) ModTime() time.Time { return o.mod }

// Delete implements Store.
func (d *Disk) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// SweepTemp implements Store.
func (d *Disk) SweepTemp(_ context.Context, cutoff time.Time) (int, error) {
	dir := filepath.Join(d.root, tempPrefix)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("blob: sweep: %w", err)
	}
	n := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
