// Package web serves Hearth's built web client (the Vite build of this
// folder): hashed assets with long-lived caching, index.html never cached,
// and every client route (/rooms/…, /invite/…) answered with index.html so
// the single-page app can route on its own.
package web

import (
	"errors"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
)

// Source finds the client build: dir when set (--web-dir), otherwise the
// build embedded in the binary (`make build`), otherwise nil.
func Source(dir string) (fs.FS, error) {
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			return nil, errors.New(dir + " is not a directory")
		}
		return os.DirFS(dir), nil
	}
	return embedded(), nil
}

// Handler serves the client in root. A nil root (a binary built without the
// client and no --web-dir) serves a page that says how to build it.
func Handler(root fs.FS) http.Handler {
	if root == nil {
		return http.HandlerFunc(notBuilt)
	}
	if _, err := fs.Stat(root, "index.html"); err != nil {
		return http.HandlerFunc(notBuilt)
	}
	return &handler{root: root, files: http.FileServerFS(root)}
}

// reserved are the first path segments that belong to other services.
var reserved = map[string]bool{"rt": true, "voice": true, "api": true, "metrics": true, "healthz": true, "readyz": true}

type handler struct {
	root  fs.FS
	files http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == "index.html" {
		h.index(w, r)
		return
	}
	if first, _, _ := strings.Cut(name, "/"); reserved[first] {
		// A service this process does not run (a WebSocket endpoint, the
		// API): a 404, not the client's page.
		http.NotFound(w, r)
		return
	}
	st, err := fs.Stat(h.root, name)
	if err != nil || st.IsDir() {
		// A path with a file extension is a missing file, not a client route:
		// answering it with index.html would hide broken asset links.
		if path.Ext(name) != "" {
			http.NotFound(w, r)
			return
		}
		h.index(w, r)
		return
	}
	if strings.HasPrefix(name, "assets/") {
		// Vite names everything under assets/ by content hash, and the
		// generated models carry their hash in the manifest's URLs.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if ct := mime.TypeByExtension(path.Ext(name)); ct == "" {
		switch path.Ext(name) {
		case ".glb":
			w.Header().Set("Content-Type", "model/gltf-binary")
		case ".wasm":
			w.Header().Set("Content-Type", "application/wasm")
		}
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.files.ServeHTTP(w, r)
}

// index serves index.html uncached, so a new deployment's asset hashes are
// picked up on the next load.
func (h *handler) index(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(h.root, "index.html")
	if err != nil {
		http.Error(w, "index.html missing from the client build", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

func notBuilt(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`<!doctype html><html><head><meta charset="utf-8"><title>Hearth</title></head>
<body style="font-family:system-ui;max-width:40em;margin:4em auto">
<h1>Hearth</h1><p>The API is running, but this server has no web client to serve.</p>
<p>Build it with <code>make build</code> (embeds the client in <code>bin/hearth</code>) or
start the server with <code>--web-dir apps/web/dist</code> after <code>npm run build -w apps/web</code>.</p>
</body></html>`))
}
