// Package realtime is Hearth's room WebSocket gateway (GET /rt): presence,
// avatar poses, chat, room events, time sync and session resume, speaking
// the protocol in packages/shared/proto/hearth/realtime/v1. A room lives on
// one node; each room ticks on its own goroutine and sends every member one
// batched pose frame per tick.
package realtime

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/bus"
	"github.com/hearth-space/hearth/internal/cluster"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/httpx"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	"github.com/hearth-space/hearth/internal/ratelimit"
	"github.com/hearth-space/hearth/internal/roomevents"
	"github.com/hearth-space/hearth/internal/store"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// TokenVerifier checks realtime tokens; *auth.Tokens implements it.
type TokenVerifier interface {
	Verify(ctx context.Context, token, audience string) (*auth.Claims, error)
}

// Store is what the gateway needs from the database.
type Store interface {
	RoomByID(ctx context.Context, id string) (store.Room, error)
	IsBanned(ctx context.Context, roomID, userID string) (bool, error)
	AddChat(ctx context.Context, m *store.ChatMessage, keep int) error
	RecentChat(ctx context.Context, roomID string, limit int) ([]store.ChatMessage, error)
}

// MusicStates gives the current music player state of a room, for the
// welcome snapshot.
type MusicStates interface {
	PlayerState(ctx context.Context, roomID string) (*musicv1.PlayerState, error)
}

// Cluster claims rooms for this node in a multi-node deployment
// (*cluster.Registry implements it).
type Cluster interface {
	Claim(ctx context.Context, service, roomID string) error
	Release(ctx context.Context, service, roomID string)
}

// PresenceSink receives each room's member list whenever it changes, so
// API nodes elsewhere can see occupancy (*cluster.Presence implements it).
type PresenceSink interface {
	Publish(ctx context.Context, roomID string, userIDs []string) error
}

// Flush modes (config.Realtime.Flush).
const (
	FlushTick  = "tick"
	FlushEager = "eager"
)

// MusicTopic is the bus topic on which the music service publishes player
// states (proto-encoded musicv1.PlayerState).
const MusicTopic = "music"

// Options configure the gateway.
type Options struct {
	Tokens   TokenVerifier
	Store    Store
	Bus      bus.Bus
	Music    MusicStates  // optional
	Cluster  Cluster      // optional: multi-node room claims
	Presence PresenceSink // optional: publishes occupancy for other nodes
	Log      *slog.Logger
	Registry prometheus.Registerer
	Join     *obs.JoinMetrics
	Tracer   trace.TracerProvider // optional
	Config   config.Realtime
	Proxies  []*net.IPNet
	Now      func() time.Time // optional
}

// Gateway is the realtime service.
type Gateway struct {
	tokens  TokenVerifier
	store   Store
	music   MusicStates
	cluster Cluster
	sink    PresenceSink
	log     *slog.Logger
	tracer  trace.Tracer
	join    *obs.JoinMetrics
	cfg     config.Realtime
	proxies []*net.IPNet
	now     func() time.Time
	metrics *metrics
	up      websocket.Upgrader

	connectLimit *ratelimit.Keyed

	mu     sync.Mutex
	rooms  map[string]*room
	conns  map[*conn]struct{}
	closed bool

	// smu guards sessions; it is a leaf lock (nothing is locked under it).
	smu      sync.Mutex
	sessions map[string]*session // by resume token

	unsubs  []func()
	stop    chan struct{}
	wg      sync.WaitGroup
	writers sync.WaitGroup // connections' writer goroutines
}

// New builds the gateway and subscribes it to room and music events.
func New(o Options) *Gateway {
	if o.Now == nil {
		o.Now = time.Now
	}
	tp := o.Tracer
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	g := &Gateway{
		tokens: o.Tokens, store: o.Store, music: o.Music, cluster: o.Cluster, sink: o.Presence, log: o.Log, tracer: tp.Tracer("hearth/realtime"),
		join: o.Join, cfg: o.Config, proxies: o.Proxies, now: o.Now, metrics: newMetrics(o.Registry),
		rooms: map[string]*room{}, conns: map[*conn]struct{}{}, sessions: map[string]*session{},
		stop: make(chan struct{}),
		up: websocket.Upgrader{
			HandshakeTimeout: 10 * time.Second,
			ReadBufferSize:   512, // frames are small; a large one just takes more reads
			// Write buffers are borrowed only while writing, so idle
			// connections hold none.
			WriteBufferPool: &sync.Pool{},
			// Any origin may connect: the socket carries no ambient
			// credentials (the token comes in the first message), so a
			// foreign page gains nothing, and with several nodes the page's
			// origin differs from the gateway's host by design.
			CheckOrigin: func(*http.Request) bool { return true },
		},
	}
	if o.Config.ConnectRate > 0 {
		g.connectLimit = ratelimit.NewKeyed(o.Config.ConnectRate, o.Config.ConnectBurst, o.Now)
	}
	if o.Bus != nil {
		g.unsubs = append(g.unsubs,
			o.Bus.Subscribe(roomevents.Topic, g.onRoomEvent),
			o.Bus.Subscribe(MusicTopic, g.onMusic),
		)
	}
	g.wg.Add(1)
	go g.gauges()
	if g.sink != nil {
		g.wg.Add(1)
		go g.publishPresence()
	}
	return g
}

// ServeHTTP upgrades GET /rt to a WebSocket and serves it.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.connectLimit != nil {
		if ok, wait := g.connectLimit.Allow(httpx.ClientIP(r, g.proxies)); !ok {
			g.metrics.connects.WithLabelValues(string(errs.RateLimited)).Inc()
			httpx.Error(w, r, g.log, errs.Limited(wait))
			return
		}
	}
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		httpx.Error(w, r, g.log, errs.E(errs.Unavailable, "the realtime service is shutting down; retry"))
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		httpx.Error(w, r, g.log, errs.E(errs.Validation, "this endpoint speaks WebSocket only"))
		return
	}
	ws, err := g.up.Upgrade(w, r, nil)
	if err != nil {
		g.metrics.connects.WithLabelValues("upgrade_failed").Inc()
		return // the upgrader has answered
	}
	g.serveConn(context.WithoutCancel(r.Context()), ws)
}

// serveConn runs the handshake on the handler's goroutine, then hands the
// connection to a fresh goroutine for its read loop and returns. Returning
// frees what net/http holds per request (its buffers, the request), and
// the long-lived reader starts with a small stack instead of one grown by
// the handshake's database and tracing calls: an idle connection costs
// that one small goroutine and a few KiB.
func (g *Gateway) serveConn(ctx context.Context, ws *websocket.Conn) {
	ws.SetReadLimit(int64(g.cfg.MaxFrameBytes))
	c := newConn(ws, g.cfg.SendQueueBytes, g.cfg.WriteTimeout, connHooks{
		wrote: func(kind string, n int) {
			if kind == "poses" {
				g.metrics.msgOutPoses.Inc()
			} else {
				g.metrics.msgOutRel.Inc()
			}
			g.metrics.bytesOut.Add(float64(n))
		},
		poseSent: func(f *outFrame, at time.Time) {
			g.metrics.fanout.Observe(at.Sub(f.oldest).Seconds())
		},
	}, &g.writers)
	if !g.track(c) {
		c.close(closeServiceRestart, "shutting down")
		g.drain(c)
		return
	}
	untrack := true
	defer func() {
		if untrack {
			g.untrack(c)
		}
	}()

	rd := &reader{g: g, c: c}
	_ = ws.SetReadDeadline(time.Now().Add(g.cfg.HelloTimeout))
	first, code := rd.next()
	switch code {
	case 0:
	case codeMalformed:
		g.refuse(c, closeProtocol, string(errs.Validation), "the first message must be a hello")
		g.drain(c)
		return
	case closeIdleTimeout:
		g.refuse(c, closeHelloTimeout, "", "no hello arrived in time")
		g.drain(c)
		return
	case closeUnsupported:
		g.refuse(c, closeUnsupported, "", "frames must be binary protobuf")
		g.drain(c)
		return
	default: // the connection broke or was closed by the client
		g.metrics.connects.WithLabelValues(closeName(code)).Inc()
		c.kill(code)
		return
	}
	hello := first.GetHello()
	if hello == nil {
		g.refuse(c, closeProtocol, string(errs.Validation), "the first message must be a hello")
		g.drain(c)
		return
	}
	sess := g.handshake(ctx, c, hello)
	if sess == nil {
		g.drain(c)
		return
	}
	rd.sess = sess
	rd.limits = newConnLimits(g.cfg)
	rd.buf = bytes.Buffer{} // the hello's buffer is larger than poses need
	rd.msg.Reset()          // and it holds the token
	ws.SetPongHandler(func(string) error {
		return ws.SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))
	})
	g.metrics.connections.Inc()
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		defer g.untrack(c)
		defer g.metrics.connections.Dec()
		rd.loop()
	}()
	untrack = false
}

// loop reads until the connection ends, then reports the disconnect.
func (rd *reader) loop() {
	g, c, sess := rd.g, rd.c, rd.sess
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))
		msg, code := rd.next()
		switch code {
		case 0:
			if rd.handle(msg) {
				continue
			}
		case codeMalformed:
			rd.errorf(0, "malformed_message", "the frame is not a ClientMessage")
			if rd.strike() {
				continue
			}
		case closeUnsupported:
			g.goodbye(c, closeUnsupported, "frames must be binary protobuf")
		default:
			// closeTooBig: the library has sent 1009 already. Others: the
			// connection broke, went silent, or the client closed it.
			c.kill(code)
		}
		g.disconnected(sess, c, code)
		g.drain(c)
		return
	}
}

// drain finishes a connection: it lets a queued close frame go out, reads
// until the peer answers it (or two seconds pass), then closes the socket.
func (g *Gateway) drain(c *conn) {
	if ch := c.closeWritten(); ch != nil {
		select {
		case <-ch:
		case <-time.After(2 * time.Second):
		}
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		if _, _, err := c.ws.NextReader(); err != nil {
			break
		}
	}
	c.kill(closeNetwork)
}

func (g *Gateway) track(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *Gateway) untrack(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.conns, c)
}

// refuse ends a connection before it has a session.
func (g *Gateway) refuse(c *conn, code int, errCode, msg string) {
	if errCode == "" {
		errCode = closeName(code)
	}
	g.metrics.connects.WithLabelValues(closeName(code)).Inc()
	g.sendGoodbye(c, code, errCode, msg)
}

// goodbye closes a connected session's connection with a reason.
func (g *Gateway) goodbye(c *conn, code int, msg string) {
	g.sendGoodbye(c, code, closeName(code), msg)
}

func (g *Gateway) sendGoodbye(c *conn, code int, errCode, msg string) {
	if c == nil {
		return
	}
	_ = c.sendReliable(encodePayload(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Goodbye{Goodbye: &rtv1.Goodbye{
		CloseCode: uint32(code), Code: errCode, Message: msg, Final: closeFinal(code),
	}}}))
	c.close(code, closeName(code))
}

// closeConn closes a connection with a code and no goodbye (its queue may
// be full).
func (g *Gateway) closeConn(c *conn, code int) {
	if c == nil {
		return
	}
	if code == closeSlowConsumer {
		// The queue is full: a close frame behind it would never arrive.
		c.kill(code)
		return
	}
	c.close(code, closeName(code))
}

// handshake authenticates a hello and attaches the connection to a new,
// resumed or taken-over session. On failure it closes the connection and
// returns nil.
func (g *Gateway) handshake(ctx context.Context, c *conn, h *rtv1.Hello) *session {
	start := g.now()
	ctx = obs.ContextWithTraceparent(ctx, h.GetTraceparent())
	ctx, span := g.tracer.Start(ctx, "realtime.connect")
	defer span.End()

	_, aspan := g.tracer.Start(ctx, "realtime.auth")
	claims, err := g.tokens.Verify(ctx, h.GetToken(), auth.AudienceRealtime)
	aspan.End()
	if err != nil {
		code := closeTokenInvalid
		if errs.CodeOf(err) == errs.TokenExpired {
			code = closeTokenExpired
		}
		g.refuse(c, code, string(errs.CodeOf(err)), errs.MessageOf(err))
		return nil
	}
	if claims.Room == "" {
		g.refuse(c, closeTokenInvalid, string(errs.TokenInvalid), "the token is not a realtime token for a room")
		return nil
	}
	log := g.log.With(slog.String(obs.KeyUserID, claims.Subject), slog.String(obs.KeyRoomID, claims.Room))
	banned, err := g.store.IsBanned(ctx, claims.Room, claims.Subject)
	if err != nil {
		log.ErrorContext(ctx, "ban check failed", "err", err)
		g.refuse(c, closeInternal, string(errs.Internal), "try again")
		return nil
	}
	if banned {
		g.refuse(c, closeBanned, string(errs.Banned), "you are banned from this room")
		return nil
	}

	_, pspan := g.tracer.Start(ctx, "realtime.presence")
	for attempt := 0; ; attempt++ {
		r, err := g.room(ctx, claims.Room)
		if err != nil {
			pspan.End()
			switch {
			case errs.CodeOf(err) == errs.NotFound:
				g.refuse(c, closeRoomDeleted, string(errs.NotFound), "the room does not exist")
			case errors.Is(err, cluster.ErrElsewhere):
				g.refuse(c, closeRoomMoved, "room_moved", "the room is served by another node: join it again")
			default:
				log.ErrorContext(ctx, "load room failed", "err", err)
				g.refuse(c, closeInternal, string(errs.Internal), "try again")
			}
			return nil
		}
		sess, result, refused := g.attach(r, c, claims, h)
		if refused {
			pspan.End()
			return nil
		}
		if sess == nil { // the room stopped under us; load it again
			if attempt > 3 {
				pspan.End()
				g.refuse(c, closeInternal, string(errs.Internal), "try again")
				return nil
			}
			continue
		}
		pspan.End()
		g.metrics.connects.WithLabelValues("ok").Inc()
		if h.GetResumeToken() != "" {
			g.metrics.resumes.WithLabelValues(result).Inc()
			span.AddEvent("resume", trace.WithAttributes())
		}
		g.join.Observe(ctx, obs.StageRealtime, g.now().Sub(start))
		log.InfoContext(ctx, "realtime connected", obs.KeySessionID, sess.id, "resume", result,
			"client", h.GetClient().GetName(), "client_version", h.GetClient().GetVersion())
		return sess
	}
}

// attach joins, resumes or takes over under the room lock, sends the
// welcome (and any replay) and returns the session and the resume result.
// A nil session with refused=false means the room was stopping.
func (g *Gateway) attach(r *room, c *conn, claims *auth.Claims, h *rtv1.Hello) (*session, string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil, "", false
	}
	now := g.now()
	role := roleOf(claims.Role)
	welcome := &rtv1.Welcome{ServerTimeMs: msTime(now), UserId: claims.Subject, Limits: r.limits(),
		TokenExpiresAtMs: msTime(claims.ExpiresAt.Time)}

	// Resume: the held session of this user in this room, replayed exactly
	// when its buffer still covers everything missed.
	if tok := h.GetResumeToken(); tok != "" {
		if s := g.sessionByToken(tok); s != nil && s.room == r && s.member.userID == claims.Subject && r.members[claims.Subject] == s.member {
			if s.conn != nil && s.conn != c {
				g.closeConn(s.conn, closeReplaced)
			}
			missed, exact := s.replay.since(h.GetLastSeq(), s.seq)
			s.conn, s.tokenExp, s.warned, s.connectAt = c, claims.ExpiresAt.Time, false, now
			s.sent = s.sent[:0] // resend every pose
			r.deferred = true
			m := s.member
			m.name, m.role = claims.Name, role
			welcome.SessionId, welcome.ResumeToken, welcome.Slot = s.id, s.resumeToken, m.slot
			result := "resumed"
			if exact {
				welcome.Resume = rtv1.ResumeResult_RESUME_RESULT_RESUMED
			} else {
				welcome.Resume = rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT
				welcome.Room = r.snapshot()
				result = "snapshot"
			}
			r.sendDirect(c, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Welcome{Welcome: welcome}})
			if exact {
				for _, m := range missed {
					if err := c.send(m); err != nil {
						g.closeConn(c, closeSlowConsumer)
						break
					}
				}
			}
			r.setState(m, rtv1.MemberState_MEMBER_STATE_ACTIVE)
			return s, result, false
		}
	}

	s := &session{id: id.New(), resumeToken: newResumeToken(), room: r, conn: c, tokenExp: claims.ExpiresAt.Time,
		connectAt: now, replay: replayBuffer{limit: g.cfg.ReplayBytes}}
	result := "snapshot" // a resume was asked for but the session is gone
	if m := r.members[claims.Subject]; m != nil {
		// The same user again, without this session's resume token: the new
		// connection takes the avatar over and the old one is told why.
		old := m.sess
		if old.conn != nil {
			g.goodbye(old.conn, closeReplaced, "you joined this room from somewhere else")
		}
		g.forgetSession(old)
		m.sess, s.member = s, m
		m.name, m.role = claims.Name, role
		r.setState(m, rtv1.MemberState_MEMBER_STATE_ACTIVE)
	} else {
		if len(r.members) >= int(r.info.Capacity) {
			g.refuse(c, closeRoomFull, string(errs.RoomFull), "the room is full")
			return nil, "", true
		}
		m := r.addMember(claims.Subject, claims.Name, claims.Guest, role)
		m.sess, s.member = s, m
		r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_MemberJoined{MemberJoined: &rtv1.MemberJoined{Member: m.proto()}}}, m)
		r.log.Info("member joined", obs.KeyUserID, m.userID, obs.KeySessionID, s.id)
	}
	g.rememberSession(s)
	welcome.SessionId, welcome.ResumeToken, welcome.Slot = s.id, s.resumeToken, s.member.slot
	welcome.Resume = rtv1.ResumeResult_RESUME_RESULT_NEW
	if h.GetResumeToken() != "" {
		welcome.Resume = rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT
	}
	welcome.Room = r.snapshot()
	r.sendDirect(c, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Welcome{Welcome: welcome}})
	return s, result, false
}

func roleOf(s string) rtv1.Role {
	switch s {
	case store.RoleOwner:
		return rtv1.Role_ROLE_OWNER
	case store.RoleModerator:
		return rtv1.Role_ROLE_MODERATOR
	}
	return rtv1.Role_ROLE_MEMBER
}

func newResumeToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (g *Gateway) rememberSession(s *session) {
	g.smu.Lock()
	defer g.smu.Unlock()
	g.sessions[s.resumeToken] = s
}

func (g *Gateway) forgetSession(s *session) {
	if s == nil {
		return
	}
	g.smu.Lock()
	defer g.smu.Unlock()
	if g.sessions[s.resumeToken] == s {
		delete(g.sessions, s.resumeToken)
	}
}

func (g *Gateway) sessionByToken(tok string) *session {
	g.smu.Lock()
	defer g.smu.Unlock()
	return g.sessions[tok]
}

// disconnected handles the end of a connection. Drops hold the session for
// the resume grace (others see "reconnecting"); a client close after leave
// and server-side final closes end the membership.
func (g *Gateway) disconnected(s *session, c *conn, code int) {
	reason := c.closeReason()
	if reason == 0 {
		reason = code
	}
	g.metrics.disconnects.WithLabelValues(closeName(reason)).Inc()
	r := s.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.conn != c {
		return // replaced or resumed on another connection already
	}
	s.conn = nil
	m := s.member
	dur := g.now().Sub(s.connectAt).Seconds()
	switch reason {
	case closeNormal:
		r.removeMember(m, rtv1.LeaveReason_LEAVE_REASON_LEFT)
	case closeKicked, closeBanned, closeRoomDeleted, closeReplaced:
		// Whoever closed it has already dealt with the membership.
	default:
		if r.members[m.userID] == m && m.sess == s {
			s.droppedAt = g.now()
			r.setState(m, rtv1.MemberState_MEMBER_STATE_RECONNECTING)
		}
	}
	r.log.Info("realtime disconnected", obs.KeyUserID, m.userID, obs.KeySessionID, s.id,
		"reason", closeName(reason), "duration_s", dur)
}

// room returns the live room, loading it from the store if this node does
// not hold it yet.
func (g *Gateway) room(ctx context.Context, roomID string) (*room, error) {
	g.mu.Lock()
	r := g.rooms[roomID]
	g.mu.Unlock()
	if r != nil {
		return r, nil
	}
	info, err := g.loadInfo(ctx, roomID)
	if err != nil {
		return nil, err
	}
	msgs, err := g.store.RecentChat(ctx, roomID, g.cfg.ChatHistory)
	if err != nil {
		return nil, err
	}
	chat := make([]*rtv1.ChatMessage, 0, len(msgs))
	var seq int64
	for _, m := range msgs {
		chat = append(chat, chatProto(m))
		seq = m.Seq
	}
	if g.cluster != nil {
		if err := g.cluster.Claim(ctx, cluster.Realtime, roomID); err != nil {
			return nil, err
		}
	}
	var music *musicv1.PlayerState
	if g.music != nil {
		if music, err = g.music.PlayerState(ctx, roomID); err != nil {
			g.log.WarnContext(ctx, "music state unavailable", obs.KeyRoomID, roomID, "err", err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, errs.E(errs.Unavailable, "shutting down")
	}
	if existing := g.rooms[roomID]; existing != nil {
		return existing, nil
	}
	r = newRoom(g, info, chat, seq, music)
	g.rooms[roomID] = r
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		r.run()
	}()
	return r, nil
}

func (g *Gateway) loadInfo(ctx context.Context, roomID string) (*rtv1.RoomInfo, error) {
	sr, err := g.store.RoomByID(ctx, roomID)
	if err != nil {
		return nil, err
	}
	return &rtv1.RoomInfo{Id: sr.ID, Name: sr.Name, Description: sr.Description, Scene: sr.Scene,
		Capacity: uint32(sr.Capacity), OwnerId: sr.OwnerID, MusicControl: sr.MusicControl, Visibility: sr.Visibility}, nil
}

// removeRoomIfEmpty drops a room nobody is in, stopping its goroutine.
func (g *Gateway) removeRoomIfEmpty(r *room) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) > 0 || r.stopped {
		return
	}
	r.stop()
	if g.rooms[r.id] == r {
		delete(g.rooms, r.id)
	}
	if g.cluster != nil || g.sink != nil {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if g.sink != nil {
				if err := g.sink.Publish(ctx, r.id, nil); err != nil {
					g.log.Warn("publish presence", "err", err)
				}
			}
			if g.cluster != nil {
				g.cluster.Release(ctx, cluster.Realtime, r.id)
			}
		}()
	}
}

// publishPresence sends changed rooms' member lists to the sink every
// second, and every room's now and then so the keys outlive their TTL.
func (g *Gateway) publishPresence() {
	defer g.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	lastFull := time.Now()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		full := time.Since(lastFull) >= cluster.RefreshInterval()
		if full {
			lastFull = time.Now()
		}
		g.mu.Lock()
		rooms := make([]*room, 0, len(g.rooms))
		for _, r := range g.rooms {
			rooms = append(rooms, r)
		}
		g.mu.Unlock()
		for _, r := range rooms {
			r.mu.Lock()
			if !r.presenceDirty && !full || r.stopped {
				r.mu.Unlock()
				continue
			}
			r.presenceDirty = false
			ids := make([]string, 0, len(r.members))
			for id := range r.members {
				ids = append(ids, id)
			}
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := g.sink.Publish(ctx, r.id, ids); err != nil {
				g.log.Warn("publish presence", "err", err)
				r.mu.Lock()
				r.presenceDirty = true
				r.mu.Unlock()
			}
			cancel()
		}
	}
}

func (g *Gateway) liveRoom(id string) *room {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rooms[id]
}

// onRoomEvent applies the API's room changes to a room held here.
func (g *Gateway) onRoomEvent(_ string, data []byte) {
	ev, err := roomevents.Decode(data)
	if err != nil {
		g.log.Warn("bad room event", "err", err)
		return
	}
	r := g.liveRoom(ev.RoomID)
	if r == nil {
		return
	}
	switch ev.Type {
	case roomevents.RoomDeleted:
		r.mu.Lock()
		for _, m := range r.slots {
			if m != nil && m.sess.conn != nil {
				g.goodbye(m.sess.conn, closeRoomDeleted, "the room was deleted")
			}
		}
		for _, m := range r.slots {
			if m != nil {
				delete(r.members, m.userID)
				g.forgetSession(m.sess)
			}
		}
		clear(r.slots)
		r.mu.Unlock()
		g.removeRoomIfEmpty(r)
	case roomevents.UserBanned, roomevents.UserKicked:
		code, reason, msg := closeKicked, rtv1.LeaveReason_LEAVE_REASON_KICKED, "you were removed from the room"
		if ev.Type == roomevents.UserBanned {
			code, reason, msg = closeBanned, rtv1.LeaveReason_LEAVE_REASON_BANNED, "you were banned from the room"
		}
		if ev.Reason != "" {
			msg += ": " + ev.Reason
		}
		r.mu.Lock()
		if m := r.members[ev.UserID]; m != nil {
			if m.sess.conn != nil {
				g.goodbye(m.sess.conn, code, msg)
			}
			r.removeMember(m, reason)
		}
		r.mu.Unlock()
	case roomevents.RoleChanged:
		r.mu.Lock()
		if m := r.members[ev.UserID]; m != nil {
			m.role = roleOf(ev.Role)
			r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_MemberUpdated{MemberUpdated: &rtv1.MemberUpdated{Member: m.proto()}}}, nil)
		}
		r.mu.Unlock()
	case roomevents.RoomUpdated:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r.reloadInfo(ctx)
		cancel()
	}
}

// onMusic relays a player state to its room, if held here.
func (g *Gateway) onMusic(_ string, data []byte) {
	var st musicv1.PlayerState
	if err := proto.Unmarshal(data, &st); err != nil {
		g.log.Warn("bad music state", "err", err)
		return
	}
	if r := g.liveRoom(st.GetRoomId()); r != nil {
		r.setMusic(&st)
	}
}

// gauges observes room sizes every 10 s.
func (g *Gateway) gauges() {
	defer g.wg.Done()
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		g.mu.Lock()
		rooms := make([]*room, 0, len(g.rooms))
		for _, r := range g.rooms {
			rooms = append(rooms, r)
		}
		g.mu.Unlock()
		biggest := 0
		for _, r := range rooms {
			r.mu.Lock()
			n := len(r.members)
			r.mu.Unlock()
			g.metrics.roomUsers.Observe(float64(n))
			biggest = max(biggest, n)
		}
		g.metrics.roomsActive.Set(float64(len(rooms)))
		g.metrics.roomUsersMax.Set(float64(biggest))
	}
}

// Occupancy reports how many members each room has on this node,
// reconnecting members included (they hold their place).
func (g *Gateway) Occupancy(_ context.Context, roomIDs []string) (map[string]int, error) {
	out := make(map[string]int, len(roomIDs))
	for _, id := range roomIDs {
		if r := g.liveRoom(id); r != nil {
			r.mu.Lock()
			out[id] = len(r.members)
			r.mu.Unlock()
		}
	}
	return out, nil
}

// IsPresent reports whether a user is a member of a room on this node.
func (g *Gateway) IsPresent(_ context.Context, roomID, userID string) (bool, error) {
	r := g.liveRoom(roomID)
	if r == nil {
		return false, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.members[userID] != nil, nil
}

// Shutdown tells every client the service is restarting (they reconnect
// and resume elsewhere or after the restart) and refuses new connections.
func (g *Gateway) Shutdown() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		g.goodbye(c, closeServiceRestart, "the server is restarting; reconnect")
	}
}

// Close shuts down and waits for the rooms' goroutines. Connections still
// open after the goodbye are cut.
func (g *Gateway) Close() {
	g.Shutdown()
	for _, u := range g.unsubs {
		u()
	}
	g.mu.Lock()
	for _, r := range g.rooms {
		r.mu.Lock()
		r.stop()
		r.mu.Unlock()
	}
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	select {
	case <-g.stop:
	default:
		close(g.stop)
	}
	// Give goodbyes a moment to go out, then cut what is left.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		g.mu.Lock()
		n := len(g.conns)
		g.mu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range conns {
		c.kill(closeServiceRestart)
	}
	g.wg.Wait()
	g.writers.Wait()
}

func chatProto(m store.ChatMessage) *rtv1.ChatMessage {
	return &rtv1.ChatMessage{Id: chatID(m.Seq), UserId: m.UserID, DisplayName: m.DisplayName, Text: m.Body,
		SentAtMs: msTime(m.CreatedAt), ClientId: m.ClientID}
}
