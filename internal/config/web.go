package config

// Web configures serving the built web client (apps/web).
type Web struct {
	WebDir string `name:"web-dir" env:"HEARTH_WEB_DIR" default:"" help:"Folder with the built web client (apps/web/dist). Empty: the client embedded in the binary by make build."`
}
