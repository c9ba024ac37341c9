package config

import "time"

// LoadtestWS configures `hearth loadtest ws`, the realtime load generator.
type LoadtestWS struct {
	URL          string        `name:"url" default:"http://localhost:8080" help:"Base URL of the Hearth deployment under test."`
	MetricsURL   string        `name:"metrics-url" default:"" help:"Where to scrape the server's Prometheus metrics (default: <url>/metrics)."`
	Rooms        int           `name:"rooms" default:"1" help:"Rooms to create."`
	UsersPerRoom int           `name:"users-per-room" default:"40" help:"Simulated users in each room."`
	Rate         float64       `name:"rate" default:"20" help:"Poses per second each user sends."`
	Duration     time.Duration `name:"duration" default:"60s" help:"How long to measure after everyone has joined."`
	ChatRate     float64       `name:"chat-rate" default:"0" help:"Chat messages per second each user sends."`
	Idle         bool          `name:"idle" help:"Connect and stay silent (pings only): measures memory per idle connection."`
	Area         float64       `name:"area" default:"20" help:"Side of the square (metres) the avatars walk in."`
	Speed        float64       `name:"speed" default:"1.5" help:"Walking speed of the avatars, m/s."`
	JoinRate     float64       `name:"join-rate" default:"200" help:"Users signed in and connected per second while ramping up."`
	JSON         string        `name:"json" default:"" help:"Also write the results as JSON to this file."`
	Quiet        bool          `name:"quiet" help:"No live progress lines."`
}
