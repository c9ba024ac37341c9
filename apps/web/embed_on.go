//go:build webembed

package web

import (
	"embed"
	"io/fs"
)

// dist is the Vite build, embedded by `make build` (go build -tags webembed).
//
//go:embed all:dist
var dist embed.FS

func embedded() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil
	}
	return sub
}
