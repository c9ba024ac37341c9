// Package sfu is Hearth's selective forwarding unit for voice: rooms of
// participants, each with one Pion peer connection that publishes one Opus
// microphone track and receives every other participant's track on a
// transceiver of its own. It forwards RTP without decoding, detects active
// speakers from RFC 6464 audio levels, scores each connection's quality
// from RTCP statistics, and renegotiates (always as the offerer, after the
// client's first offer) when participants come and go.
//
// Signalling is not its business: a participant talks to its client
// through a Sink, which apps/voice backs with a WebSocket.
package sfu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Opus is the one codec: 48 kHz stereo-capable Opus with in-band FEC and
// DTX, payload type 111 as Chrome numbers it.
var Opus = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1;usedtx=1",
	},
	PayloadType: 111,
}

// Errors a caller maps to protocol errors.
var (
	ErrClosed        = errors.New("sfu: closed")
	ErrBadOffer      = errors.New("sfu: offer rejected")
	ErrOutOfOrder    = errors.New("sfu: message out of order")
	ErrNoParticipant = errors.New("sfu: no such participant")
	ErrForbidden     = errors.New("sfu: not allowed")
)

// Config configures an SFU. Zero durations take the defaults noted.
type Config struct {
	// UDPMux carries every peer connection's media on one socket (one per
	// local IP); nil lets each connection gather ephemeral ports (tests).
	UDPMux ice.UDPMux
	// Batch, when the UDP mux writes through batching sockets, is corked
	// around each fan-out so it leaves in one system call.
	Batch interface {
		Cork()
		Uncork()
	}
	// TCPMux accepts ICE over TCP on one port as a fallback; nil disables.
	TCPMux ice.TCPMux
	// NAT1To1IPs are public IPs announced instead of the host's (1:1 NAT).
	NAT1To1IPs []string
	// Net replaces the OS network (pion/transport vnet in tests).
	Net transport.Net
	// IPFilter limits the local IPs candidates are gathered on.
	IPFilter func(net.IP) bool
	// Loopback gathers loopback candidates too (loopback-only setups).
	Loopback bool

	// DisconnectedTimeout (default 4 s), FailedTimeout (default 15 s) and
	// KeepAlive (default 1 s) tune ICE consent checks.
	DisconnectedTimeout, FailedTimeout, KeepAlive time.Duration
	// RestartAfter is how long ICE may stay disconnected before the SFU
	// offers an ICE restart (default 1 s); a failed transport restarts at once.
	RestartAfter time.Duration
	// ReportInterval is the RTCP sender/receiver report interval (default 1 s).
	ReportInterval time.Duration
	// QualityInterval is how often quality is scored and sent (default 5 s).
	QualityInterval time.Duration
	// SpeakerInterval is how often active speakers are evaluated (default 200 ms).
	SpeakerInterval time.Duration
	// MediaTimeout ends a participant whose ICE has not been connected for
	// this long (the initial connect included); default 30 s.
	MediaTimeout time.Duration
	// QoSDebug logs every participant's QoS each QualityInterval.
	QoSDebug bool

	// OnRoomEmpty is called (not under any lock) when a room's last
	// participant left; optional.
	OnRoomEmpty func(roomID string)

	Log     *slog.Logger
	Metrics *Metrics
	Tracer  trace.TracerProvider
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DisconnectedTimeout, 4*time.Second)
	def(&c.FailedTimeout, 15*time.Second)
	def(&c.KeepAlive, time.Second)
	def(&c.RestartAfter, time.Second)
	def(&c.ReportInterval, time.Second)
	def(&c.QualityInterval, 5*time.Second)
	def(&c.SpeakerInterval, 200*time.Millisecond)
	def(&c.MediaTimeout, 30*time.Second)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Tracer == nil {
		c.Tracer = noop.NewTracerProvider()
	}
}

// Sink delivers server messages to a participant's client. Send must not
// block: a client that cannot keep up is the sink's to drop.
type Sink interface {
	Send(msg *voicev1.ServerMessage)
	// Closed tells the client's connection that the SFU ended the
	// participant (kicked, banned, replaced, timed out, room deleted).
	Closed(reason voicev1.LeaveReason)
}

// SFU holds the rooms of one node.
type SFU struct {
	cfg    Config
	tracer trace.Tracer

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	loops  sync.WaitGroup // rooms' loops
}

// New returns an SFU.
func New(cfg Config) (*SFU, error) {
	cfg.defaults()
	if cfg.Metrics == nil {
		return nil, errors.New("sfu: Config.Metrics is required")
	}
	return &SFU{cfg: cfg, tracer: cfg.Tracer.Tracer("github.com/hearth-space/hearth/apps/voice/sfu"), rooms: map[string]*Room{}}, nil
}

// ParticipantInfo is who joins.
type ParticipantInfo struct {
	SessionID string
	UserID    string
	Name      string
	Role      string
	Guest     bool
	Muted     bool
}

// Join adds a participant to roomID (creating the room). A participant of
// the same user already there is closed with LEAVE_REASON_REPLACED. ctx
// carries the join's trace; the span "voice.ice" runs until ICE connects.
func (s *SFU) Join(ctx context.Context, roomID string, info ParticipantInfo, sink Sink) (*Participant, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		r := s.rooms[roomID]
		if r == nil {
			r = newRoom(s, roomID)
			s.rooms[roomID] = r
			s.cfg.Metrics.rooms.Inc()
		}
		s.mu.Unlock()
		p, err := r.join(ctx, info, sink)
		if errors.Is(err, errRoomClosing) {
			continue // raced with the room emptying; make a new one
		}
		return p, err
	}
}

// removeRoom forgets r once it is empty.
func (s *SFU) removeRoom(r *Room) {
	s.mu.Lock()
	removed := s.rooms[r.id] == r
	if removed {
		delete(s.rooms, r.id)
		s.cfg.Metrics.rooms.Dec()
	}
	s.mu.Unlock()
	if removed && s.cfg.OnRoomEmpty != nil {
		s.cfg.OnRoomEmpty(r.id)
	}
}

// Room returns a room by id, or nil.
func (s *SFU) Room(id string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id]
}

// Rooms returns the current rooms, sorted by id.
func (s *SFU) Rooms() []*Room {
	s.mu.Lock()
	out := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		out = append(out, r)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Close ends every participant (final goodbyes are the caller's) and waits
// for the SFU's goroutines.
func (s *SFU) Close() error {
	s.mu.Lock()
	s.closed = true
	rooms := make([]*Room, 0, len(s.rooms))
	for _, r := range s.rooms {
		rooms = append(rooms, r)
	}
	s.mu.Unlock()
	for _, r := range rooms {
		r.Close(voicev1.LeaveReason_LEAVE_REASON_UNSPECIFIED)
	}
	s.loops.Wait()
	return nil
}

// newAPI builds the Pion API of one peer connection: Opus with the audio
// level and mid header extensions, RTCP reports and the stats interceptor
// whose getter the participant keeps.
func (s *SFU) newAPI(onStats func(stats.Getter)) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(Opus, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	for _, uri := range []string{sdp.AudioLevelURI, sdp.SDESMidURI} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register header extension: %w", err)
		}
	}
	reg := &interceptor.Registry{}
	rr, err := report.NewReceiverInterceptor(report.ReceiverInterval(s.cfg.ReportInterval))
	if err != nil {
		return nil, err
	}
	sr, err := report.NewSenderInterceptor(report.SenderInterval(s.cfg.ReportInterval))
	if err != nil {
		return nil, err
	}
	st, err := stats.NewInterceptor()
	if err != nil {
		return nil, err
	}
	st.OnNewPeerConnection(func(_ string, g stats.Getter) { onStats(g) })
	// Order matters: an interceptor sees the RTCP that those added after
	// it write, so stats comes first to see the sender reports it needs
	// for round-trip times.
	reg.Add(st)
	reg.Add(rr)
	reg.Add(sr)

	se := webrtc.SettingEngine{}
	se.SetICETimeouts(s.cfg.DisconnectedTimeout, s.cfg.FailedTimeout, s.cfg.KeepAlive)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetLite(false)
	se.SetFireOnTrackBeforeFirstRTP(true)
	se.LoggerFactory = pionLogs{}
	if s.cfg.Net != nil {
		se.SetNet(s.cfg.Net)
	}
	if s.cfg.IPFilter != nil {
		se.SetIPFilter(s.cfg.IPFilter)
	}
	if s.cfg.Loopback {
		se.SetIncludeLoopbackCandidate(true)
	}
	networks := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if s.cfg.UDPMux != nil {
		se.SetICEUDPMux(s.cfg.UDPMux)
	}
	if s.cfg.TCPMux != nil {
		se.SetICETCPMux(s.cfg.TCPMux)
		networks = append(networks, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(networks)
	if len(s.cfg.NAT1To1IPs) > 0 {
		se.SetNAT1To1IPs(s.cfg.NAT1To1IPs, webrtc.ICECandidateTypeHost)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// pionLogs silences Pion's own logging: the SFU logs what matters itself.
type pionLogs struct{}

func (pionLogs) NewLogger(string) logging.LeveledLogger {
	return logging.NewDefaultLeveledLoggerForScope("", logging.LogLevelDisabled, io.Discard)
}
