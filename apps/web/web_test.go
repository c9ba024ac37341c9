package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func TestHandler(t *testing.T) {
	root := fstest.MapFS{
		"index.html":              {Data: []byte("<!doctype html><title>Hearth</title>")},
		"assets/index-abc123.js":  {Data: []byte("console.log(1)")},
		"assets/models/low/a.glb": {Data: []byte("glTF")},
		"favicon.svg":             {Data: []byte("<svg/>")},
	}
	h := Handler(root)
	cases := []struct {
		path, wantBody, wantCache string
		status                    int
	}{
		{"/", "<!doctype html>", "no-cache", 200},
		{"/index.html", "<!doctype html>", "no-cache", 200},
		{"/rooms/r123", "<!doctype html>", "no-cache", 200},
		{"/invite/abc", "<!doctype html>", "no-cache", 200},
		{"/assets/index-abc123.js", "console.log(1)", "public, max-age=31536000, immutable", 200},
		{"/favicon.svg", "<svg/>", "no-cache", 200},
		{"/assets/missing-123.js", "", "", 404},
		{"/voice/ws", "", "", 404},
		{"/rt", "", "", 404},
		{"/../../etc/passwd", "<!doctype html>", "no-cache", 200},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if rec.Code != c.status {
			t.Errorf("%s: status %d, want %d", c.path, rec.Code, c.status)
			continue
		}
		if c.wantBody != "" && !strings.HasPrefix(rec.Body.String(), c.wantBody) {
			t.Errorf("%s: body %q", c.path, rec.Body.String())
		}
		if c.wantCache != "" && rec.Header().Get("Cache-Control") != c.wantCache {
			t.Errorf("%s: Cache-Control %q, want %q", c.path, rec.Header().Get("Cache-Control"), c.wantCache)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/assets/models/low/a.glb", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "model/gltf-binary" {
		t.Errorf("glb content type %q", ct)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

func TestNotBuilt(t *testing.T) {
	for _, h := range []http.Handler{Handler(nil), Handler(fstest.MapFS{})} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/rooms/x", nil))
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "make build") {
			t.Errorf("not built: %d %q", rec.Code, rec.Body.String())
		}
	}
}

func TestSource(t *testing.T) {
	dir := t.TempDir()
	if _, err := Source(dir + "/nope"); err == nil {
		t.Fatal("missing dir accepted")
	}
	fsys, err := Source(dir)
	if err != nil || fsys == nil {
		t.Fatalf("Source(dir): %v", err)
	}
}
