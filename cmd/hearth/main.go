// Command hearth runs Hearth: `hearth serve` starts the services, `hearth
// migrate` applies database migrations, `hearth loadtest` drives the real
// protocols under load. This package only parses flags and wires the
// packages under apps/ and internal/ together.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/loadtest/wsload"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/version"
)

type cli struct {
	Serve   config.Serve   `cmd:"" help:"Run Hearth's services (all of them by default) on one HTTP port."`
	Migrate config.Migrate `cmd:"" help:"Apply pending database migrations and exit."`
	Version struct{}       `cmd:"" help:"Print the version."`
	// Loadtest drives a running deployment with the real protocols.
	Loadtest struct {
		WS config.LoadtestWS `cmd:"" name:"ws" help:"Load the realtime gateway: rooms of simulated users walking, chatting and pinging."`
	} `cmd:"" help:"Load and soak tools that speak Hearth's real protocols."`
}

func main() {
	var c cli
	kctx := kong.Parse(&c,
		kong.Name("hearth"),
		kong.Description("Hearth: a self-hostable 3D social space."),
		kong.UsageOnError(),
	)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch kctx.Command() {
	case "serve":
		err = runServe(ctx, &c.Serve)
	case "migrate":
		err = runMigrate(ctx, &c.Migrate)
	case "loadtest ws":
		_, err = wsload.Run(ctx, c.Loadtest.WS, os.Stdout)
	case "version":
		fmt.Printf("hearth %s (%s)\n", version.Version, version.GoVersion())
	default:
		err = fmt.Errorf("unknown command %q", kctx.Command())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hearth:", err)
		os.Exit(1)
	}
}

func runMigrate(ctx context.Context, c *config.Migrate) error {
	log, err := obs.NewLogger(os.Stderr, obs.LogOptions{Format: c.Format, Level: c.Level})
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, c.DatabaseURL, c.DataDir, store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	log.InfoContext(ctx, "migrations applied", "dialect", string(db.Dialect()), "applied", applied)
	return nil
}
