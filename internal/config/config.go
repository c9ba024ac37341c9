// Package config is the one place that names Hearth's flags and environment
// variables, with their defaults. The kong tags here are the source of the
// README's configuration table (a test keeps the two in step).
package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Service names accepted by --services.
const (
	ServiceAPI      = "api"
	ServiceRealtime = "realtime"
	ServiceVoice    = "voice"
	ServiceWeb      = "web"
)

// AllServices is the default --services value.
func AllServices() []string {
	return []string{ServiceAPI, ServiceRealtime, ServiceVoice, ServiceWeb}
}

// Log configures logging.
type Log struct {
	Format string `name:"log-format" env:"HEARTH_LOG_FORMAT" default:"json" enum:"json,text" help:"Log line format: json or text."`
	Level  string `name:"log-level" env:"HEARTH_LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Lowest level logged."`
}

// Storage configures the database and Redis.
type Storage struct {
	DataDir     string `name:"data-dir" env:"HEARTH_DATA_DIR" default:"./data" help:"Directory for the SQLite database, blobs and other local state."`
	DatabaseURL string `name:"database-url" env:"HEARTH_DATABASE_URL" default:"" help:"Empty: SQLite file in the data dir. postgres://… : PostgreSQL."`
	RedisURL    string `name:"redis-url" env:"HEARTH_REDIS_URL" default:"" help:"redis://… enables Redis for the cross-node event bus and room registry. Empty: in-process."`
}

// Cluster identifies this process among several nodes sharing Redis.
type Cluster struct {
	NodeID  string `name:"node-id" env:"HEARTH_NODE_ID" default:"" help:"This node's name in the Redis registry (default: host name plus a random suffix)."`
	NodeURL string `name:"node-url" env:"HEARTH_NODE_URL" default:"" help:"Base URL clients reach this node's realtime and voice endpoints at (default: --public-url). Needed when several nodes serve realtime or voice."`
}

// Serve is the configuration of `hearth serve`.
type Serve struct {
	Log
	Storage
	Cluster

	Addr            string        `name:"addr" env:"HEARTH_ADDR" default:":8080" help:"Address the HTTP server listens on."`
	PublicURL       string        `name:"public-url" env:"HEARTH_PUBLIC_URL" default:"" help:"Externally visible base URL (https://hearth.example.com). Empty: derived from each request's Host."`
	Services        []string      `name:"services" env:"HEARTH_SERVICES" default:"api,realtime,voice,web" help:"Services this process runs: any of api, realtime, voice, web."`
	ShutdownTimeout time.Duration `name:"shutdown-timeout" env:"HEARTH_SHUTDOWN_TIMEOUT" default:"15s" help:"How long a graceful shutdown waits for in-flight requests."`
	TrustedProxies  []string      `name:"trusted-proxies" env:"HEARTH_TRUSTED_PROXIES" default:"" help:"CIDRs of reverse proxies whose X-Forwarded-For is trusted for client IPs."`
	MaxBodyBytes    int64         `name:"max-body-bytes" env:"HEARTH_MAX_BODY_BYTES" default:"1048576" help:"Largest JSON request body accepted, in bytes."`
	Admins          []string      `name:"admins" env:"HEARTH_ADMINS" default:"" help:"Usernames with server-wide admin rights (for example deleting any track)."`
	PprofAddr       string        `name:"pprof-addr" env:"HEARTH_PPROF_ADDR" default:"" help:"Serve Go's /debug/pprof on this address (keep it private, e.g. 127.0.0.1:6060). Empty: off."`
	Demo            bool          `name:"demo" env:"HEARTH_DEMO" default:"false" help:"Seed two public rooms (a lounge and a plaza) for a demo deployment. Core paths never need it."`

	Auth     Auth     `embed:"" prefix:""`
	Rooms    Rooms    `embed:"" prefix:""`
	Client   Client   `embed:"" prefix:""`
	Realtime Realtime `embed:"" prefix:""`
	Voice    Voice    `embed:"" prefix:""`
	Music    Music    `embed:"" prefix:""`
	Web      Web      `embed:"" prefix:""`
}

// Auth configures accounts and tokens.
type Auth struct {
	AccessTokenTTL  time.Duration `name:"access-token-ttl" env:"HEARTH_ACCESS_TOKEN_TTL" default:"15m" help:"Lifetime of access tokens."`
	RefreshTokenTTL time.Duration `name:"refresh-token-ttl" env:"HEARTH_REFRESH_TOKEN_TTL" default:"720h" help:"Lifetime of a sign-in session (refresh token family)."`
	RoomTokenTTL    time.Duration `name:"room-token-ttl" env:"HEARTH_ROOM_TOKEN_TTL" default:"10m" help:"Lifetime of realtime and voice tokens."`
	LoginRate       float64       `name:"login-rate" env:"HEARTH_LOGIN_RATE" default:"0.2" help:"Sustained sign-in attempts per second allowed per IP and per username."`
	LoginBurst      int           `name:"login-burst" env:"HEARTH_LOGIN_BURST" default:"10" help:"Burst of sign-in attempts allowed per IP and per username."`
	GuestRate       float64       `name:"guest-rate" env:"HEARTH_GUEST_RATE" default:"0.5" help:"Sustained guest sign-ins per second allowed per IP."`
	GuestBurst      int           `name:"guest-burst" env:"HEARTH_GUEST_BURST" default:"30" help:"Burst of guest sign-ins allowed per IP."`
}

// Rooms configures rooms.
type Rooms struct {
	MaxRoomCapacity     int `name:"max-room-capacity" env:"HEARTH_MAX_ROOM_CAPACITY" default:"100" help:"Largest capacity a room may be given."`
	DefaultRoomCapacity int `name:"default-room-capacity" env:"HEARTH_DEFAULT_ROOM_CAPACITY" default:"40" help:"Capacity of a room created without one."`
}

// Client holds the settings handed to the web client by GET /api/v1/config.
// Their environment names are part of the product and keep their spelling.
type Client struct {
	QualityPreset        string `name:"client-quality-preset" env:"CLIENT_QUALITY_PRESET" default:"auto" enum:"auto,low,medium,high" help:"Default graphics preset of the web client."`
	EnableLOD            bool   `name:"enable-lod" env:"ENABLE_LOD" default:"true" negatable:"" help:"Level of detail for avatars and props in the web client."`
	EnableFrustumCulling bool   `name:"enable-frustum-culling" env:"ENABLE_FRUSTUM_CULLING" default:"true" negatable:"" help:"Frustum culling in the web client."`
	EnableTelemetry      bool   `name:"enable-telemetry" env:"ENABLE_TELEMETRY" default:"false" help:"Accept client telemetry (join latency, reconnects, frame rate); users can still opt out."`
}

// Migrate is the configuration of `hearth migrate`.
type Migrate struct {
	Log
	Storage
}

// Has reports whether the process runs service s.
func (c *Serve) Has(s string) bool { return slices.Contains(c.Services, s) }

// Validate checks values kong cannot.
func (c *Serve) Validate() error {
	for _, s := range c.Services {
		if !slices.Contains(AllServices(), s) {
			return fmt.Errorf("--services: unknown service %q (want %s)", s, strings.Join(AllServices(), ","))
		}
	}
	if len(c.Services) == 0 {
		return fmt.Errorf("--services: name at least one service")
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--public-url %q: want an absolute http(s) URL", c.PublicURL)
		}
	}
	if _, err := c.ProxyNets(); err != nil {
		return err
	}
	if c.Rooms.DefaultRoomCapacity < 1 || c.Rooms.DefaultRoomCapacity > c.Rooms.MaxRoomCapacity {
		return fmt.Errorf("--default-room-capacity must be between 1 and --max-room-capacity (%d)", c.Rooms.MaxRoomCapacity)
	}
	if c.MaxBodyBytes < 1024 {
		return fmt.Errorf("--max-body-bytes must be at least 1024")
	}
	if err := c.Voice.ValidateVoice(); err != nil {
		return err
	}
	return c.Music.Validate()
}

// ProxyNets parses TrustedProxies.
func (c *Serve) ProxyNets() ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for _, s := range c.TrustedProxies {
		if s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %w", err)
		}
		nets = append(nets, n)
	}
	return nets, nil
}
