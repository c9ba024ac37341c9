package config

import (
	"fmt"

	"github.com/alecthomas/kong"
)

// Defaults returns a Serve configuration with every field at its default,
// as `hearth serve` with no flags would have it (HEARTH_* variables in the
// environment still apply, as they would to the command). Tests and tools
// start from it and change what they need.
func Defaults() Serve {
	var cli struct {
		Serve Serve `cmd:""`
	}
	p, err := kong.New(&cli, kong.Exit(func(int) {}))
	if err != nil {
		panic(fmt.Sprintf("config: %v", err))
	}
	if _, err := p.Parse([]string{"serve"}); err != nil {
		panic(fmt.Sprintf("config: %v", err))
	}
	return cli.Serve
}
