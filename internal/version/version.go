// Package version reports the build's version, stamped by the linker
// (-ldflags "-X github.com/hearth-space/hearth/internal/version.Version=…").
package version

import "runtime"

// Version is the release or commit this binary was built from.
var Version = "dev"

// GoVersion is the Go toolchain the binary was built with.
func GoVersion() string { return runtime.Version() }
