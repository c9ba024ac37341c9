package realtime

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/store"
	"github.com/hearth-space/hearth/internal/textclean"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

const (
	maxChatChars    = 500
	maxChatClientID = 64
	// codeMalformed marks a frame that is not a ClientMessage.
	codeMalformed = -2
)

// connLimits are one connection's token buckets. Excess poses are dropped,
// excess chat is refused with rate_limited, and every violation costs a
// strike; a connection out of strikes is closed with 1008.
type connLimits struct {
	pose    *rate.Limiter
	chat    *rate.Limiter
	control *rate.Limiter
	strikes *rate.Limiter
}

func newConnLimits(c config.Realtime) connLimits {
	// Poses get 25% headroom over the advertised rate and a second's worth
	// of burst: browsers' timers jitter, and when this process is briefly
	// starved of CPU a connection's poses pile up in its socket and arrive
	// together. Neither is abuse.
	poseRate := float64(c.MaxPoseRate) * 1.25
	return connLimits{
		pose:    rate.NewLimiter(rate.Limit(poseRate), max(5, c.MaxPoseRate)),
		chat:    rate.NewLimiter(rate.Limit(c.ChatRate), c.ChatBurst),
		control: rate.NewLimiter(30, 60),
		strikes: rate.NewLimiter(10, 100),
	}
}

// reader runs one connection's inbound side.
type reader struct {
	g      *Gateway
	c      *conn
	sess   *session
	limits connLimits
	buf    bytes.Buffer
	msg    rtv1.ClientMessage
}

// next reads and decodes one frame. The code is 0 on success, a close code
// to answer with, closeNetwork or closeIdleTimeout when the connection
// broke, closeNormal when the client closed it normally, or codeMalformed.
func (rd *reader) next() (*rtv1.ClientMessage, int) {
	mt, r, err := rd.c.ws.NextReader()
	if err != nil {
		return nil, readErrCode(err)
	}
	if mt != websocket.BinaryMessage {
		return nil, closeUnsupported
	}
	rd.buf.Reset()
	if _, err := rd.buf.ReadFrom(r); err != nil {
		return nil, readErrCode(err)
	}
	if rd.buf.Cap() > 4*rd.g.cfg.MaxFrameBytes {
		rd.buf = bytes.Buffer{}
	}
	rd.g.metrics.bytesIn.Add(float64(rd.buf.Len()))
	if err := proto.Unmarshal(rd.buf.Bytes(), &rd.msg); err != nil {
		rd.g.metrics.dropped.WithLabelValues("malformed").Inc()
		rd.g.metrics.messages.WithLabelValues("in", "malformed").Inc()
		return nil, codeMalformed
	}
	return &rd.msg, 0
}

func readErrCode(err error) int {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce):
		if ce.Code == websocket.CloseNormalClosure {
			return closeNormal
		}
		return closeNetwork
	case errors.Is(err, websocket.ErrReadLimit):
		return closeTooBig
	case isTimeout(err):
		return closeIdleTimeout
	}
	return closeNetwork
}

// strike records a violation; it reports false (and closes the connection)
// when the connection has used up its strikes.
func (rd *reader) strike() bool {
	if rd.limits.strikes.Allow() {
		return true
	}
	rd.g.goodbye(rd.c, closePolicy, "too many messages over the rate limits")
	return false
}

// handle acts on one message after the handshake. It returns false when the
// connection is done.
func (rd *reader) handle(msg *rtv1.ClientMessage) bool {
	g, s := rd.g, rd.sess
	r, m := s.room, s.member
	now := g.now()
	switch x := msg.GetMsg().(type) {
	case *rtv1.ClientMessage_Pose:
		g.metrics.msgInPoses.Inc()
		if !rd.limits.pose.AllowN(now, 1) {
			g.metrics.dropped.WithLabelValues("pose_rate").Inc()
			return rd.strike()
		}
		p, ok := quantize(x.Pose, r.bounds)
		if !ok {
			g.metrics.dropped.WithLabelValues("pose_invalid").Inc()
			return rd.strike()
		}
		if r.updatePose(m, p, x.Pose.GetStamp(), now) {
			g.metrics.clamped.Inc()
		}
		return true
	case *rtv1.ClientMessage_Chat:
		g.metrics.messages.WithLabelValues("in", "chat").Inc()
		return rd.chat(x.Chat, msg.GetRef())
	case *rtv1.ClientMessage_Ping:
		g.metrics.messages.WithLabelValues("in", "ping").Inc()
		if !rd.limits.control.AllowN(now, 1) {
			return rd.strike()
		}
		r.sendDirect(rd.c, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Pong{Pong: &rtv1.Pong{
			ClientTimeMs: x.Ping.GetClientTimeMs(), ServerTimeMs: msTime(g.now()),
		}}})
		return true
	case *rtv1.ClientMessage_Ack:
		g.metrics.messages.WithLabelValues("in", "ack").Inc()
		r.mu.Lock()
		s.replay.ack(x.Ack.GetSeq())
		r.mu.Unlock()
		return true
	case *rtv1.ClientMessage_SetState:
		g.metrics.messages.WithLabelValues("in", "set_state").Inc()
		if !rd.limits.control.AllowN(now, 1) {
			return rd.strike()
		}
		st := x.SetState.GetState()
		if st != rtv1.MemberState_MEMBER_STATE_ACTIVE && st != rtv1.MemberState_MEMBER_STATE_AWAY {
			rd.errorf(msg.GetRef(), errs.Validation, "state must be ACTIVE or AWAY")
			return true
		}
		r.mu.Lock()
		r.setState(m, st)
		r.mu.Unlock()
		return true
	case *rtv1.ClientMessage_RefreshToken:
		g.metrics.messages.WithLabelValues("in", "refresh_token").Inc()
		if !rd.limits.control.AllowN(now, 1) {
			return rd.strike()
		}
		rd.refresh(x.RefreshToken.GetToken(), msg.GetRef())
		return true
	case *rtv1.ClientMessage_Leave:
		g.metrics.messages.WithLabelValues("in", "leave").Inc()
		rd.c.close(closeNormal, closeName(closeNormal))
		return false
	case *rtv1.ClientMessage_Hello:
		g.metrics.messages.WithLabelValues("in", "hello").Inc()
		rd.errorf(msg.GetRef(), errs.Validation, "hello was already received")
		return rd.strike()
	default:
		g.metrics.messages.WithLabelValues("in", "unknown").Inc()
		rd.errorf(msg.GetRef(), "unsupported_message", "unknown or empty message")
		return rd.strike()
	}
}

// errorf sends an Error message about one client message.
func (rd *reader) errorf(ref uint32, code errs.Code, msg string) {
	rd.sess.room.sendDirect(rd.c, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Error{Error: &rtv1.Error{
		Code: string(code), Message: msg, Ref: ref,
	}}})
}

// refresh takes a fresh realtime token in band and extends the session.
func (rd *reader) refresh(token string, ref uint32) {
	g, s := rd.g, rd.sess
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := g.tokens.Verify(ctx, token, auth.AudienceRealtime)
	if err == nil && (c.Subject != s.member.userID || c.Room != s.room.id) {
		err = errs.E(errs.TokenInvalid, "the token is for another user or room")
	}
	if err != nil {
		g.metrics.tokenRefresh.WithLabelValues(string(errs.CodeOf(err))).Inc()
		rd.errorf(ref, errs.CodeOf(err), errs.MessageOf(err))
		return
	}
	g.metrics.tokenRefresh.WithLabelValues("ok").Inc()
	r := s.room
	r.mu.Lock()
	s.tokenExp, s.warned = c.ExpiresAt.Time, false
	r.mu.Unlock()
	r.sendDirect(rd.c, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_TokenRefreshed{TokenRefreshed: &rtv1.TokenRefreshed{
		ExpiresAtMs: msTime(c.ExpiresAt.Time),
	}}})
}

// chat validates, persists and broadcasts a chat message.
func (rd *reader) chat(cs *rtv1.ChatSend, ref uint32) bool {
	g, s := rd.g, rd.sess
	r, m := s.room, s.member
	if res := rd.limits.chat.Reserve(); res.Delay() > 0 {
		wait := res.Delay()
		res.Cancel()
		g.metrics.dropped.WithLabelValues("chat_rate").Inc()
		rd.sess.room.sendDirect(rd.c, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Error{Error: &rtv1.Error{
			Code: string(errs.RateLimited), Message: "you are sending messages too fast", Ref: ref,
			RetryAfterMs: uint32(math.Ceil(float64(wait.Milliseconds()))),
		}}})
		return rd.strike()
	}
	text := cleanChat(cs.GetText())
	switch {
	case text == "":
		rd.errorf(ref, errs.Validation, "the message is empty")
		return true
	case utf8.RuneCountInString(text) > maxChatChars:
		rd.errorf(ref, errs.Validation, "messages are at most 500 characters")
		return true
	case len(cs.GetClientId()) > maxChatClientID:
		rd.errorf(ref, errs.Validation, "client_id is at most 64 characters")
		return true
	}

	r.chatMu.Lock()
	defer r.chatMu.Unlock()
	r.mu.Lock()
	dup := s.seenChat(cs.GetClientId())
	name := m.name
	r.mu.Unlock()
	if dup {
		// Already posted: the original is in the replay or the backlog.
		g.metrics.dropped.WithLabelValues("chat_duplicate").Inc()
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sm := store.ChatMessage{RoomID: r.id, Seq: r.chatSeq + 1, UserID: m.userID, DisplayName: name, Body: text,
		ClientID: cs.GetClientId(), CreatedAt: g.now()}
	if err := g.store.AddChat(ctx, &sm, g.cfg.ChatHistory); err != nil {
		r.log.Error("persist chat failed", "err", err)
		rd.errorf(ref, errs.Unavailable, "the message could not be saved; try again")
		return true
	}
	r.chatSeq = sm.Seq
	cm := chatProto(sm)
	r.mu.Lock()
	r.chat = append(r.chat, cm)
	if over := len(r.chat) - g.cfg.ChatHistory; over > 0 {
		r.chat = append([]*rtv1.ChatMessage(nil), r.chat[over:]...)
	}
	r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Chat{Chat: cm}}, nil)
	r.mu.Unlock()
	return true
}

func chatID(seq int64) string { return "c" + strconv.FormatInt(seq, 10) }

// cleanChat makes a chat line safe to show, by the rules every service
// uses for user text: no control or invisible characters, whitespace
// folded (a chat line is one line).
func cleanChat(s string) string { return textclean.Line(s) }
