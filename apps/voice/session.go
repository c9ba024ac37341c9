package voice

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel/codes"

	"github.com/hearth-space/hearth/apps/voice/sfu"
	"github.com/hearth-space/hearth/apps/voice/signal"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/cluster"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/id"
	"github.com/hearth-space/hearth/internal/obs"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Close codes of the voice WebSocket (docs/protocol.md lists them).
const (
	CloseNormal        = 1000 // the client left
	CloseGoingAway     = 1001 // the server is shutting down: resume elsewhere
	ClosePolicy        = 1008 // protocol violation (first message not a join, too many bad frames)
	CloseTooBig        = 1009 // a frame exceeded max_frame_bytes
	CloseTokenInvalid  = 4001 // token_invalid: sign in / fetch tokens again
	CloseTokenExpired  = 4002 // token_expired: fetch fresh tokens, then join (or resume)
	CloseForbidden     = 4003 // the token is for another room
	CloseKicked        = 4004 // final
	CloseBanned        = 4005 // final
	CloseRoomDeleted   = 4006 // final
	CloseReplaced      = 4007 // final: the same user joined voice elsewhere
	CloseResumeFailed  = 4008 // the resume token is unknown or expired: rejoin with a new peer connection
	CloseTimeout       = 4009 // media or signalling timed out: rejoin
	CloseSlowConsumer  = 4010 // the client did not read fast enough: resume
	CloseSuperseded    = 4011 // a newer connection resumed this session: do nothing
	CloseRoomMoved     = 4012 // another voice node serves the room: join again through the API
	pingInterval       = 10 * time.Second
	idleTimeout        = 30 * time.Second
	maxBadFrames       = 20
	outQueue           = 512
	closeWriteDeadline = 2 * time.Second
)

// session is one signalling WebSocket.
type session struct {
	svc  *Service
	conn *websocket.Conn
	log  *slog.Logger

	out      chan outFrame
	stop     chan struct{}
	stopOnce sync.Once
	ended    atomic.Bool // a close frame is queued: send nothing more

	startMu sync.Mutex
	started bool       // Joined was sent
	early   []outFrame // SFU messages queued before Joined

	p         *sfu.Participant
	resumeTok string
	left      atomic.Bool
	gone      atomic.Bool // superseded, or the participant was ended
	bad       int
}

type outFrame struct {
	data      []byte
	closeCode int
	closeText string
}

func newSession(s *Service, conn *websocket.Conn) *session {
	return &session{svc: s, conn: conn, log: s.log, out: make(chan outFrame, outQueue), stop: make(chan struct{})}
}

func (s *session) run(ctx context.Context) {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writer()
	}()
	s.reader(ctx)
	if s.p != nil && !s.left.Load() && !s.gone.Load() {
		s.svc.detach(s.resumeTok, s)
	}
	s.stopOnce.Do(func() { close(s.stop) })
	<-writerDone
	_ = s.conn.Close()
}

// writer sends queued frames; a close frame ends it.
func (s *session) writer() {
	for {
		select {
		case <-s.stop:
			return
		case f := <-s.out:
			_ = s.conn.SetWriteDeadline(time.Now().Add(closeWriteDeadline * 5))
			if f.data != nil {
				if err := s.conn.WriteMessage(websocket.BinaryMessage, f.data); err != nil {
					_ = s.conn.Close()
					return
				}
			}
			if f.closeCode != 0 {
				_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(f.closeCode, f.closeText), time.Now().Add(closeWriteDeadline))
				// The reader sees the peer's close (or this) and ends the session.
				time.AfterFunc(closeWriteDeadline, func() { _ = s.conn.Close() })
				return
			}
		}
	}
}

func (s *session) push(f outFrame) {
	if s.ended.Load() {
		return
	}
	if f.closeCode != 0 && !s.ended.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.out <- f:
	default:
		if f.closeCode == 0 {
			s.log.Warn("voice signalling queue full; dropping the connection")
			s.ended.Store(true)
		}
		_ = s.conn.Close() // the reader ends; the participant is held for a resume
	}
}

// Send implements sfu.Sink.
func (s *session) Send(msg *voicev1.ServerMessage) {
	b, err := signal.EncodeServer(msg)
	if err != nil {
		s.log.Error("voice encode", "err", err)
		return
	}
	s.startMu.Lock()
	if !s.started {
		s.early = append(s.early, outFrame{data: b})
		s.startMu.Unlock()
		return
	}
	s.startMu.Unlock()
	s.push(outFrame{data: b})
}

// Closed implements sfu.Sink: the SFU ended the participant.
func (s *session) Closed(reason voicev1.LeaveReason) {
	s.gone.Store(true)
	s.svc.forget(s.resumeTok)
	code, ecode, final := closeFor(reason)
	s.goodbye(code, ecode, reason.String(), final)
}

func closeFor(r voicev1.LeaveReason) (int, errs.Code, bool) {
	switch r {
	case voicev1.LeaveReason_LEAVE_REASON_LEFT:
		return CloseNormal, "", true
	case voicev1.LeaveReason_LEAVE_REASON_KICKED:
		return CloseKicked, errs.Forbidden, true
	case voicev1.LeaveReason_LEAVE_REASON_BANNED:
		return CloseBanned, errs.Banned, true
	case voicev1.LeaveReason_LEAVE_REASON_ROOM_DELETED:
		return CloseRoomDeleted, errs.NotFound, true
	case voicev1.LeaveReason_LEAVE_REASON_REPLACED:
		return CloseReplaced, errs.Conflict, true
	case voicev1.LeaveReason_LEAVE_REASON_TIMEOUT:
		return CloseTimeout, errs.Timeout, false
	}
	return CloseGoingAway, errs.Unavailable, false
}

func (s *session) goodbye(closeCode int, code errs.Code, msg string, final bool) {
	b, _ := signal.EncodeServer(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Goodbye{Goodbye: &voicev1.Goodbye{
		CloseCode: uint32(closeCode), Code: string(code), Message: msg, Final: final,
	}}})
	text := string(code)
	if text == "" {
		text = "bye"
	}
	s.push(outFrame{data: b, closeCode: closeCode, closeText: text})
}

func (s *session) sendError(ref uint32, err error) {
	code := errs.CodeOf(err)
	msg := "internal error"
	var e *errs.Error
	if errors.As(err, &e) {
		msg = e.Message
	}
	s.direct(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Error{Error: &voicev1.Error{Code: string(code), Message: msg, Ref: ref}}})
}

// direct sends the session's own replies (errors, pongs), which need not
// wait for Joined.
func (s *session) direct(m *voicev1.ServerMessage) {
	b, err := signal.EncodeServer(m)
	if err == nil {
		s.push(outFrame{data: b})
	}
}

// supersede ends this connection because a newer one resumed its session.
func (s *session) supersede() {
	s.gone.Store(true)
	s.goodbye(CloseSuperseded, errs.Conflict, "resumed on another connection", true)
}

// shutdown tells the client the server is going away (resume elsewhere).
func (s *session) shutdown() {
	s.goodbye(CloseGoingAway, errs.Unavailable, "the server is shutting down", false)
}

func (s *session) read() (*voicev1.ClientMessage, error) {
	typ, b, err := s.conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, errs.E(errs.MalformedBody, "frames must be binary protobuf")
	}
	return signal.DecodeClient(b)
}

func isProtocolError(err error) bool {
	var e *errs.Error
	return errors.As(err, &e)
}

func (s *session) reader(ctx context.Context) {
	_ = s.conn.SetReadDeadline(time.Now().Add(s.svc.opts.AuthTimeout))
	msg, err := s.read()
	if err != nil {
		s.readFailed(err)
		if isProtocolError(err) {
			s.goodbye(ClosePolicy, errs.CodeOf(err), "the first message must be a join", true)
			s.drain()
		}
		return
	}
	j := msg.GetJoin()
	if j == nil {
		s.sendError(msg.Ref, errs.E(errs.Validation, "the first message must be a join"))
		s.goodbye(ClosePolicy, errs.Validation, "the first message must be a join", true)
		s.drain()
		return
	}
	if !s.join(ctx, msg.Ref, j) {
		s.drain()
		return
	}
	for {
		_ = s.conn.SetReadDeadline(time.Now().Add(idleTimeout))
		msg, err := s.read()
		if err != nil {
			if !isProtocolError(err) {
				s.readFailed(err)
				return
			}
			s.bad++
			s.sendError(0, err)
			if s.bad > maxBadFrames {
				s.goodbye(ClosePolicy, errs.CodeOf(err), "too many malformed frames", false)
				s.drain()
				return
			}
			continue
		}
		if !s.handle(msg) {
			s.drain()
			return
		}
	}
}

// drain reads until the peer closes or the close times out, so queued
// frames and the close frame reach the client.
func (s *session) drain() {
	_ = s.conn.SetReadDeadline(time.Now().Add(closeWriteDeadline))
	for {
		if _, _, err := s.conn.ReadMessage(); err != nil {
			return
		}
	}
}

func (s *session) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce), errors.Is(err, io.EOF), errors.Is(err, websocket.ErrReadLimit):
	default:
		if !s.ended.Load() {
			s.log.Debug("voice signalling read", "err", err)
		}
	}
}

// join authenticates the first message and joins (or resumes).
func (s *session) join(ctx context.Context, ref uint32, j *voicev1.Join) bool {
	ctx = obs.ContextWithTraceparent(ctx, j.Traceparent)
	ctx, span := s.svc.tracer.Start(ctx, "voice.join")
	defer span.End()
	actx, aspan := s.svc.tracer.Start(ctx, "voice.auth")
	c, err := s.svc.opts.Tokens.Verify(actx, j.Token, auth.AudienceVoice)
	if err == nil && c.Room == "" {
		err = errs.E(errs.TokenInvalid, "the token names no room")
	}
	if err == nil && j.RoomId != "" && j.RoomId != c.Room {
		err = errs.E(errs.Forbidden, "the token is for another room")
	}
	if err != nil {
		aspan.SetStatus(codes.Error, string(errs.CodeOf(err)))
		aspan.End()
		span.SetStatus(codes.Error, "auth failed")
		code := errs.CodeOf(err)
		closeCode := CloseTokenInvalid
		switch code {
		case errs.TokenExpired:
			closeCode = CloseTokenExpired
		case errs.Forbidden:
			closeCode = CloseForbidden
		case errs.TokenInvalid:
		default:
			code = errs.TokenInvalid
			err = errs.Wrap(errs.TokenInvalid, err, "the token is not valid")
		}
		s.sendError(ref, err)
		s.goodbye(closeCode, code, "authentication failed", code != errs.TokenExpired)
		return false
	}
	aspan.End()
	s.log = s.log.With(slog.String(obs.KeyUserID, c.Subject), slog.String(obs.KeyRoomID, c.Room))

	if j.ResumeToken != "" {
		p, err := s.svc.resume(j.ResumeToken, c, s)
		if err != nil {
			span.SetStatus(codes.Error, "resume failed")
			s.sendError(ref, errs.E(errs.NotFound, "the session cannot be resumed; join again with a new peer connection"))
			s.goodbye(CloseResumeFailed, errs.NotFound, "resume failed", false)
			return false
		}
		s.p, s.resumeTok = p, j.ResumeToken
		s.log = p.Log()
		span.AddEvent("resume")
		joined := p.Joined()
		joined.ResumeToken, joined.Resumed = j.ResumeToken, true
		s.fillLimits(joined)
		s.sendFirst(joined)
		return true
	}

	if s.svc.opts.Cluster != nil {
		if err := s.svc.opts.Cluster.Claim(ctx, cluster.Voice, c.Room); err != nil {
			span.SetStatus(codes.Error, "room claimed elsewhere")
			if errors.Is(err, cluster.ErrElsewhere) {
				s.goodbye(CloseRoomMoved, "room_moved", "another voice node serves this room: join it again", false)
			} else {
				s.log.Error("voice room claim failed", "err", err)
				s.goodbye(CloseGoingAway, errs.Unavailable, "try again", false)
			}
			return false
		}
	}
	info := sfu.ParticipantInfo{SessionID: id.New(), UserID: c.Subject, Name: c.Name, Role: c.Role, Guest: c.Guest, Muted: j.Muted}
	p, err := s.svc.sfu.Join(ctx, c.Room, info, s)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		s.sendError(ref, errs.Wrap(errs.Unavailable, err, "voice is not available"))
		s.goodbye(CloseGoingAway, errs.Unavailable, "voice is not available", false)
		return false
	}
	tok, err := s.svc.register(p, s)
	if err != nil {
		p.Close(voicev1.LeaveReason_LEAVE_REASON_UNSPECIFIED)
		return false
	}
	s.p, s.resumeTok = p, tok
	s.log = p.Log()
	joined := p.Joined()
	joined.ResumeToken = tok
	s.fillLimits(joined)
	s.sendFirst(joined)
	p.Log().Info("voice joined", "role", c.Role, "resumable_ms", s.svc.opts.Config.VoiceResumeGrace.Milliseconds())
	return true
}

func (s *session) fillLimits(j *voicev1.Joined) {
	j.ResumeGraceMs = uint32(s.svc.opts.Config.VoiceResumeGrace.Milliseconds())
	j.Limits = &voicev1.Limits{
		MaxFrameBytes: signal.MaxFrameBytes, PingIntervalMs: uint32(pingInterval.Milliseconds()),
		IdleTimeoutMs: uint32(idleTimeout.Milliseconds()), SpeakersIntervalMs: 200, QualityIntervalMs: 5000,
	}
}

// sendFirst sends Joined, then whatever the SFU queued for this session
// before it (others' updates, an offer re-sent on resume): the client must
// see Joined first.
func (s *session) sendFirst(j *voicev1.Joined) {
	b, _ := signal.EncodeServer(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Joined{Joined: j}})
	s.startMu.Lock()
	defer s.startMu.Unlock()
	s.push(outFrame{data: b})
	for _, f := range s.early {
		s.push(f)
	}
	s.early, s.started = nil, true
}

// handle applies one message after the join; false ends the session.
func (s *session) handle(m *voicev1.ClientMessage) bool {
	p := s.p
	var err error
	switch x := m.Msg.(type) {
	case *voicev1.ClientMessage_Join:
		err = errs.E(errs.Conflict, "already joined")
	case *voicev1.ClientMessage_Offer:
		err = p.HandleOffer(x.Offer.Sdp)
	case *voicev1.ClientMessage_Answer:
		err = p.HandleAnswer(x.Answer.Revision, x.Answer.Sdp)
	case *voicev1.ClientMessage_Candidate:
		err = p.AddCandidate(x.Candidate)
	case *voicev1.ClientMessage_SetMute:
		p.SetMute(x.SetMute.Muted)
	case *voicev1.ClientMessage_ModerateMute:
		err = p.Room().ServerMute(p, x.ModerateMute.UserId, x.ModerateMute.Muted)
	case *voicev1.ClientMessage_RestartIce:
		p.RestartICE()
	case *voicev1.ClientMessage_Ping:
		s.direct(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Pong{Pong: &voicev1.Pong{
			ClientTimeMs: x.Ping.ClientTimeMs, ServerTimeMs: float64(time.Now().UnixNano()) / 1e6,
		}}})
	case *voicev1.ClientMessage_Leave:
		s.left.Store(true)
		s.svc.forget(s.resumeTok)
		p.Close(voicev1.LeaveReason_LEAVE_REASON_LEFT)
		return false
	}
	if err != nil {
		s.sendError(m.Ref, protocolError(err))
	}
	return !s.gone.Load()
}

// protocolError gives an SFU error its client-facing code.
func protocolError(err error) error {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, sfu.ErrBadOffer):
		return errs.Wrap(errs.Validation, err, "%s", err.Error())
	case errors.Is(err, sfu.ErrOutOfOrder):
		return errs.Wrap(errs.Conflict, err, "%s", err.Error())
	case errors.Is(err, sfu.ErrForbidden):
		return errs.Wrap(errs.Forbidden, err, "only a moderator or the owner can mute others")
	case errors.Is(err, sfu.ErrNoParticipant):
		return errs.Wrap(errs.NotFound, err, "no such participant in voice")
	}
	return errs.Wrap(errs.Internal, err, "internal error")
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
