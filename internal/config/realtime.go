package config

import "time"

// Realtime configures the room WebSocket gateway (apps/realtime). Defaults
// come from the load tests in docs/performance.md, which also explain them.
type Realtime struct {
	TickRate       int           `name:"realtime-tick-rate" env:"HEARTH_REALTIME_TICK_RATE" default:"20" help:"Pose frames per second sent to each member (the server tick)."`
	Flush          string        `name:"realtime-flush" env:"HEARTH_REALTIME_FLUSH" default:"tick" enum:"tick,eager" help:"tick: pose frames go out on the tick; eager: as soon as poses arrive, at most once per --realtime-flush-min-gap (lower latency, more CPU; see docs/performance.md)."`
	FlushMinGap    time.Duration `name:"realtime-flush-min-gap" env:"HEARTH_REALTIME_FLUSH_MIN_GAP" default:"5ms" help:"In eager mode, the shortest time between two pose frames of a room."`
	MaxPoseRate    int           `name:"realtime-max-pose-rate" env:"HEARTH_REALTIME_MAX_POSE_RATE" default:"20" help:"Poses per second a client may send; excess poses are dropped and counted."`
	InterestCount  int           `name:"realtime-interest-count" env:"HEARTH_REALTIME_INTEREST_COUNT" default:"16" help:"Nearest members each member gets at the full tick rate."`
	InterestRadius float64       `name:"realtime-interest-radius" env:"HEARTH_REALTIME_INTEREST_RADIUS" default:"12" help:"Members within this many metres also get the full rate."`
	ReducedRate    int           `name:"realtime-reduced-rate" env:"HEARTH_REALTIME_REDUCED_RATE" default:"5" help:"Pose rate (per second) for members outside the interest set."`
	ResumeGrace    time.Duration `name:"realtime-resume-grace" env:"HEARTH_REALTIME_RESUME_GRACE" default:"120s" help:"How long a dropped session is held for resume before the member leaves."`
	MaxFrameBytes  int           `name:"realtime-max-frame-bytes" env:"HEARTH_REALTIME_MAX_FRAME_BYTES" default:"8192" help:"Largest frame a client may send; larger frames close the connection with 1009."`
	SendQueueBytes int           `name:"realtime-send-queue-bytes" env:"HEARTH_REALTIME_SEND_QUEUE_BYTES" default:"262144" help:"Reliable bytes queued for one connection before it is closed as a slow consumer."`
	ReplayBytes    int           `name:"realtime-replay-bytes" env:"HEARTH_REALTIME_REPLAY_BYTES" default:"262144" help:"Reliable events kept per session for replay on resume."`
	WriteTimeout   time.Duration `name:"realtime-write-timeout" env:"HEARTH_REALTIME_WRITE_TIMEOUT" default:"5s" help:"A write stalled this long closes the connection as a slow consumer."`
	PingInterval   time.Duration `name:"realtime-ping-interval" env:"HEARTH_REALTIME_PING_INTERVAL" default:"10s" help:"Interval of WebSocket pings."`
	IdleTimeout    time.Duration `name:"realtime-idle-timeout" env:"HEARTH_REALTIME_IDLE_TIMEOUT" default:"25s" help:"A connection silent this long is closed."`
	HelloTimeout   time.Duration `name:"realtime-hello-timeout" env:"HEARTH_REALTIME_HELLO_TIMEOUT" default:"10s" help:"Time a new connection has to send its hello."`
	TokenWarning   time.Duration `name:"realtime-token-warning" env:"HEARTH_REALTIME_TOKEN_WARNING" default:"60s" help:"How long before the realtime token expires the client is told to refresh it."`
	ChatRate       float64       `name:"realtime-chat-rate" env:"HEARTH_REALTIME_CHAT_RATE" default:"1" help:"Sustained chat messages per second per connection."`
	ChatBurst      int           `name:"realtime-chat-burst" env:"HEARTH_REALTIME_CHAT_BURST" default:"5" help:"Chat burst per connection."`
	ChatHistory    int           `name:"realtime-chat-history" env:"HEARTH_REALTIME_CHAT_HISTORY" default:"200" help:"Chat messages kept per room and sent to joiners."`
	ConnectRate    float64       `name:"realtime-connect-rate" env:"HEARTH_REALTIME_CONNECT_RATE" default:"5" help:"Sustained WebSocket connection attempts per second per IP (0: unlimited)."`
	ConnectBurst   int           `name:"realtime-connect-burst" env:"HEARTH_REALTIME_CONNECT_BURST" default:"50" help:"Burst of connection attempts per IP."`
	MaxSpeed       float64       `name:"realtime-max-speed" env:"HEARTH_REALTIME_MAX_SPEED" default:"10" help:"Fastest plausible avatar speed in metres per second; faster moves are clamped."`
}
