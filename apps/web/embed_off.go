//go:build !webembed

package web

import "io/fs"

// embedded is nil in a binary built without the client (plain `go build`);
// the server then needs --web-dir.
func embedded() fs.FS { return nil }
