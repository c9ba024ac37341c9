package config

import "time"

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
