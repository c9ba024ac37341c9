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

// LoadtestVoice is the configuration of `hearth loadtest voice`.
type LoadtestVoice struct {
	URL          string        `name:"url" env:"HEARTH_LOADTEST_URL" default:"http://127.0.0.1:8080" help:"Base URL of the Hearth server (API and voice)."`
	Rooms        int           `name:"rooms" env:"HEARTH_LOADTEST_ROOMS" default:"1" help:"Rooms to fill."`
	Participants int           `name:"participants" env:"HEARTH_LOADTEST_PARTICIPANTS" default:"10" help:"Participants per room; every one publishes."`
	Speakers     int           `name:"speakers" env:"HEARTH_LOADTEST_SPEAKERS" default:"2" help:"Participants per room that speak (50 packets/s); the others are silent, as DTX makes them (one packet per 400 ms)."`
	Duration     time.Duration `name:"duration" env:"HEARTH_LOADTEST_DURATION" default:"1m" help:"Length of the measured window, after every participant connected and a warm-up."`
	Warmup       time.Duration `name:"warmup" env:"HEARTH_LOADTEST_WARMUP" default:"3s" help:"Time between the last connection and the measured window."`
	Churn        time.Duration `name:"churn" env:"HEARTH_LOADTEST_CHURN" default:"0s" help:"Mean time between churn events per room: a participant leaves and rejoins, or drops its signalling and resumes. 0: none."`
	Ramp         time.Duration `name:"ramp" env:"HEARTH_LOADTEST_RAMP" default:"50ms" help:"Pause between starting two participants."`
	PayloadBytes int           `name:"payload-bytes" env:"HEARTH_LOADTEST_PAYLOAD_BYTES" default:"80" help:"Opus payload size of a speech packet (80 bytes at 20 ms is 32 kbit/s)."`
	Interval     time.Duration `name:"interval" env:"HEARTH_LOADTEST_INTERVAL" default:"5s" help:"How often live progress is printed."`
	JSON         string        `name:"json" env:"HEARTH_LOADTEST_JSON" default:"" help:"Write the final report as JSON to this file."`
	Timeout      time.Duration `name:"connect-timeout" env:"HEARTH_LOADTEST_CONNECT_TIMEOUT" default:"20s" help:"How long one participant may take to join and connect."`
}
