// Package voice is Hearth's voice service: the signalling WebSocket
// (GET /voice/ws), authenticated by the voice token in its first message,
// in front of the Pion SFU in package sfu. It holds participants whose
// signalling dropped for a grace period so a new WebSocket can resume them,
// applies moderation from the API's room events, hands out ICE servers
// (STUN, and TURN with time-limited credentials) and serves the QoS debug
// endpoint when VOICE_QOS_DEBUG is on.
//
// The protocol is packages/shared/proto/hearth/voice/v1/voice.proto and is
// described, with the browser's side of it, in docs/protocol.md.
package voice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hearth-space/hearth/apps/voice/sfu"
	"github.com/hearth-space/hearth/apps/voice/signal"
	"github.com/hearth-space/hearth/apps/voice/turn"
	"github.com/hearth-space/hearth/apps/voice/udpbatch"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/cluster"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/roomevents"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Path is where the signalling WebSocket is served.
const Path = "/voice/ws"

// DebugPath is the QoS debug endpoint (VOICE_QOS_DEBUG only).
const DebugPath = "/voice/debug/qos"

// TokenVerifier checks voice tokens; *auth.Tokens implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, token, aud string) (*auth.Claims, error)
}

// Subscriber is what voice needs from the bus.
type Subscriber interface {
	Subscribe(topic string, h func(topic string, data []byte)) (unsubscribe func())
}

// Cluster claims rooms for this node in a multi-node deployment
// (*cluster.Registry implements it): a room's voice lives on one node.
type Cluster interface {
	Claim(ctx context.Context, service, roomID string) error
	Release(ctx context.Context, service, roomID string)
}

// Options configure the service.
type Options struct {
	Tokens   TokenVerifier
	Events   Subscriber // optional: room events (bans, kicks, deletions)
	Cluster  Cluster    // optional: multi-node room claims
	Log      *slog.Logger
	Registry prometheus.Registerer
	Join     *obs.JoinMetrics
	Tracer   trace.TracerProvider
	Config   config.Voice

	// Net replaces the OS network for media (pion/transport vnet in
	// tests); with it, no UDP or TCP port is opened.
	Net transport.Net
	// Loopback gathers loopback candidates (tests and local soak runs).
	Loopback bool
	// Tuning for tests; zero values take the SFU's defaults.
	QualityInterval, SpeakerInterval, RestartAfter time.Duration
	DisconnectedTimeout, FailedTimeout, KeepAlive  time.Duration
	// AuthTimeout bounds the wait for the first message (default 10 s).
	AuthTimeout time.Duration
}

// Service is the voice service of one node.
type Service struct {
	opts    Options
	log     *slog.Logger
	tracer  trace.Tracer
	sfu     *sfu.SFU
	metrics *sfu.Metrics
	ice     *turn.Provider
	turnSrv *turn.Server
	muxes   []interface{ Close() error }
	unsub   func()
	upgr    websocket.Upgrader

	mu       sync.Mutex
	held     map[string]*held // by resume token
	sessions map[*session]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// held is a participant that may be resumed with its resume token.
type held struct {
	p     *sfu.Participant
	token string
	sess  *session // attached session, nil while held
	timer *time.Timer
}

// New builds the service: the media ports (UDP mux, ICE-TCP), the optional
// TURN server and the SFU, and subscribes to room events.
func New(o Options) (*Service, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Tracer == nil {
		o.Tracer = noop.NewTracerProvider()
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = 10 * time.Second
	}
	if o.Config.VoiceResumeGrace <= 0 {
		o.Config.VoiceResumeGrace = 20 * time.Second
	}
	if o.Config.VoiceTURNTTL <= 0 {
		o.Config.VoiceTURNTTL = 6 * time.Hour
	}
	cfg := o.Config
	s := &Service{
		opts: o, log: o.Log, tracer: o.Tracer.Tracer("github.com/hearth-space/hearth/apps/voice"),
		held: map[string]*held{}, sessions: map[*session]struct{}{},
		upgr: websocket.Upgrader{
			ReadBufferSize: 4096, WriteBufferSize: 4096,
			// The token in the first message authenticates, not cookies, so
			// a cross-origin page gains nothing: any origin may connect.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	ok := false
	defer func() {
		if !ok {
			s.closeMedia()
		}
	}()
	s.metrics = sfu.NewMetrics(o.Registry, o.Join)
	scfg := sfu.Config{
		NAT1To1IPs: nonEmpty(cfg.VoicePublicIPs), Net: o.Net, Loopback: o.Loopback,
		QualityInterval: o.QualityInterval, SpeakerInterval: o.SpeakerInterval, RestartAfter: o.RestartAfter,
		DisconnectedTimeout: o.DisconnectedTimeout, FailedTimeout: o.FailedTimeout, KeepAlive: o.KeepAlive,
		MediaTimeout: cfg.VoiceMediaTimeout, QoSDebug: cfg.VoiceQoSDebug, OnRoomEmpty: s.roomEmpty,
		Log: o.Log, Metrics: s.metrics, Tracer: o.Tracer,
	}
	if ips := nonEmpty(cfg.VoiceIPs); len(ips) > 0 {
		allowed := map[string]bool{}
		for _, ip := range ips {
			allowed[net.ParseIP(ip).String()] = true
			if net.ParseIP(ip).IsLoopback() {
				scfg.Loopback = true
			}
		}
		scfg.IPFilter = func(ip net.IP) bool { return allowed[ip.String()] }
	}
	if o.Net == nil {
		mux, group, err := listenMux(cfg.VoiceUDPPort, scfg.IPFilter, scfg.Loopback)
		if err != nil {
			return nil, err
		}
		scfg.Batch = group
		s.muxes = append(s.muxes, mux)
		scfg.UDPMux = mux
		if cfg.VoiceTCPPort > 0 {
			host := ""
			if ips := nonEmpty(cfg.VoiceIPs); len(ips) == 1 {
				host = ips[0]
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.VoiceTCPPort)))
			if err != nil {
				return nil, fmt.Errorf("voice tcp port %d: %w", cfg.VoiceTCPPort, err)
			}
			tmux := ice.NewTCPMuxDefault(ice.TCPMuxParams{Listener: ln, ReadBufferSize: 64})
			s.muxes = append(s.muxes, tmux)
			scfg.TCPMux = tmux
		}
	}
	if err := s.setupICEServers(); err != nil {
		return nil, err
	}
	var err error
	if s.sfu, err = sfu.New(scfg); err != nil {
		return nil, err
	}
	if o.Events != nil {
		s.unsub = o.Events.Subscribe(roomevents.Topic, s.onRoomEvent)
	}
	ok = true
	return s, nil
}

// listenMux opens the media port on every local IP (those ipFilter keeps;
// loopback only when asked) behind batching sockets, and muxes them.
func listenMux(port int, ipFilter func(net.IP) bool, loopback bool) (ice.UDPMux, udpbatch.Group, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, nil, fmt.Errorf("voice: list interfaces: %w", err)
	}
	var ips []net.IP
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || (ifc.Flags&net.FlagLoopback != 0 && !loopback) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsMulticast() {
				continue
			}
			if ipFilter != nil && !ipFilter(ipn.IP) {
				continue
			}
			ips = append(ips, ipn.IP)
		}
	}
	if len(ips) == 0 {
		return nil, nil, errors.New("voice: no local IP to carry media (check --voice-ips)")
	}
	var group udpbatch.Group
	var muxes []ice.UDPMux
	fail := func(err error) (ice.UDPMux, udpbatch.Group, error) {
		for _, m := range muxes {
			_ = m.Close()
		}
		return nil, nil, err
	}
	for _, ip := range ips {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return fail(fmt.Errorf("voice udp %s: %w", net.JoinHostPort(ip.String(), strconv.Itoa(port)), err))
		}
		// One socket carries every participant: room for bursts (the
		// kernel caps these at net.core.[rw]mem_max).
		_ = conn.SetReadBuffer(4 << 20)
		_ = conn.SetWriteBuffer(4 << 20)
		bc := udpbatch.New(conn)
		group = append(group, bc)
		muxes = append(muxes, ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: bc}))
	}
	return ice.NewMultiUDPMuxDefault(muxes...), group, nil
}

func nonEmpty(list []string) []string {
	var out []string
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// NewICEProvider hands out the configured STUN URLs and external TURN
// URLs (credentials from --voice-turn-secret). An API node without the
// voice service uses it directly; the voice service adds its embedded TURN
// server to it.
func NewICEProvider(cfg config.Voice) (*turn.Provider, error) {
	secret := cfg.VoiceTURNSecret
	if secret == "" && (cfg.VoiceTURN || len(nonEmpty(cfg.VoiceTURNURLs)) > 0) {
		var err error
		if secret, err = turn.RandomSecret(); err != nil {
			return nil, err
		}
	}
	ttl := cfg.VoiceTURNTTL
	if ttl <= 0 {
		ttl = 6 * time.Hour
	}
	return &turn.Provider{STUN: nonEmpty(cfg.VoiceSTUNURLs), TURN: nonEmpty(cfg.VoiceTURNURLs),
		Creds: turn.Credentials{Secret: secret, TTL: ttl}}, nil
}

// setupICEServers starts the embedded TURN server when asked and prepares
// what clients are handed.
func (s *Service) setupICEServers() error {
	cfg := s.opts.Config
	p, err := NewICEProvider(cfg)
	if err != nil {
		return err
	}
	secret := p.Creds.Secret
	if cfg.VoiceTURN {
		relay := cfg.VoiceTURNRelayIP
		if relay == "" {
			if pub := nonEmpty(cfg.VoicePublicIPs); len(pub) > 0 {
				relay = pub[0]
			} else {
				relay = "127.0.0.1"
			}
		}
		host := cfg.VoiceTURNHost
		if host == "" {
			if pub := nonEmpty(cfg.VoicePublicIPs); len(pub) > 0 {
				host = pub[0]
			} else {
				host = relay
			}
		}
		srv, err := turn.Start(turn.ServerConfig{
			Addr: net.JoinHostPort("", strconv.Itoa(cfg.VoiceTURNPort)), RelayIP: net.ParseIP(relay),
			Realm: cfg.VoiceTURNRealm, Secret: secret,
		})
		if err != nil {
			return err
		}
		s.turnSrv = srv
		p.TURN = append(p.TURN, fmt.Sprintf("turn:%s?transport=udp", net.JoinHostPort(host, strconv.Itoa(cfg.VoiceTURNPort))))
	}
	s.ice = p
	return nil
}

// roomEmpty gives up the room's claim when its last participant left.
func (s *Service) roomEmpty(roomID string) {
	if s.opts.Cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.opts.Cluster.Release(ctx, cluster.Voice, roomID)
	}
}

// ICEServers returns the STUN and TURN servers (with fresh credentials) a
// user's voice session should use. cmd/hearth adapts it to the API's
// server.ICEProvider.
func (s *Service) ICEServers(userID string) []turn.ICEServer { return s.ice.ICEServers(userID) }

// SFU exposes the forwarding unit (tests, the debug endpoint).
func (s *Service) SFU() *sfu.SFU { return s.sfu }

// onRoomEvent applies the API's moderation: a banned or kicked user leaves
// voice at once, a deleted room ends for everyone.
func (s *Service) onRoomEvent(_ string, data []byte) {
	ev, err := roomevents.Decode(data)
	if err != nil {
		s.log.Warn("voice: bad room event", "err", err)
		return
	}
	r := s.sfu.Room(ev.RoomID)
	if r == nil {
		return
	}
	switch ev.Type {
	case roomevents.UserBanned:
		r.Kick(ev.UserID, voicev1.LeaveReason_LEAVE_REASON_BANNED)
	case roomevents.UserKicked:
		r.Kick(ev.UserID, voicev1.LeaveReason_LEAVE_REASON_KICKED)
	case roomevents.RoomDeleted:
		r.Close(voicev1.LeaveReason_LEAVE_REASON_ROOM_DELETED)
	case roomevents.RoleChanged:
		if p := r.Participant(ev.UserID); p != nil {
			p.SetRole(ev.Role)
		}
	}
}

// ServeHTTP upgrades GET /voice/ws and runs the session until it ends.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		http.Error(w, "voice is shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	conn, err := s.upgr.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	conn.SetReadLimit(signal.MaxFrameBytes)
	sess := newSession(s, conn)
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	sess.run(context.WithoutCancel(r.Context()))
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
}

// register makes p resumable and returns its resume token.
func (s *Service) register(p *sfu.Participant, sess *session) (string, error) {
	tok, err := randomToken()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.held[tok] = &held{p: p, token: tok, sess: sess}
	s.mu.Unlock()
	return tok, nil
}

// detach holds p for the grace period after its session ended without a
// leave.
func (s *Service) detach(tok string, sess *session) {
	s.mu.Lock()
	h := s.held[tok]
	if h == nil || h.sess != sess {
		s.mu.Unlock()
		return
	}
	h.sess = nil
	grace := s.opts.Config.VoiceResumeGrace
	h.timer = time.AfterFunc(grace, func() { s.expire(tok, h) })
	s.mu.Unlock()
	h.p.Detach(sess)
}

func (s *Service) expire(tok string, h *held) {
	s.mu.Lock()
	if s.held[tok] != h || h.sess != nil {
		s.mu.Unlock()
		return
	}
	delete(s.held, tok)
	s.mu.Unlock()
	h.p.Log().Info("voice resume grace expired")
	h.p.Close(voicev1.LeaveReason_LEAVE_REASON_TIMEOUT)
}

// forget drops p's resume token (it left or was ended).
func (s *Service) forget(tok string) {
	s.mu.Lock()
	if h := s.held[tok]; h != nil {
		if h.timer != nil {
			h.timer.Stop()
		}
		delete(s.held, tok)
	}
	s.mu.Unlock()
}

// resume hands the participant held under tok to sess. A session still
// attached (its drop not noticed yet) is pushed out.
func (s *Service) resume(tok string, c *auth.Claims, sess *session) (*sfu.Participant, error) {
	s.mu.Lock()
	h := s.held[tok]
	if h == nil || h.p.Closed() || h.p.Info().UserID != c.Subject || h.p.Room().ID() != c.Room {
		s.mu.Unlock()
		return nil, errResumeFailed
	}
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	prev := h.sess
	h.sess = sess
	s.mu.Unlock()
	if prev != nil {
		h.p.Detach(prev)
		prev.supersede()
	}
	h.p.Attach(sess)
	return h.p, nil
}

var errResumeFailed = errors.New("voice: the session cannot be resumed")

// Close ends every session (telling clients to reconnect), every
// participant, the TURN server and the media ports.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	for _, h := range s.held {
		if h.timer != nil {
			h.timer.Stop()
		}
	}
	s.mu.Unlock()
	if s.unsub != nil {
		s.unsub()
	}
	for _, sess := range sessions {
		sess.shutdown()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	err := s.sfu.Close()
	s.closeMedia()
	return err
}

func (s *Service) closeMedia() {
	if s.turnSrv != nil {
		_ = s.turnSrv.Close()
		s.turnSrv = nil
	}
	for _, m := range s.muxes {
		_ = m.Close()
	}
	s.muxes = nil
}
