package realtime_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/apps/realtime"
	"github.com/hearth-space/hearth/internal/auth"
	"github.com/hearth-space/hearth/internal/roomevents"
	"github.com/hearth-space/hearth/internal/store"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

func TestHelloWelcome(t *testing.T) {
	e := newEnv(t)
	ada := e.user("Ada")
	c := e.join(ada)
	w := c.welcome
	if w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_NEW || w.GetSessionId() == "" || w.GetResumeToken() == "" ||
		w.GetUserId() != ada.ID || w.GetServerTimeMs() <= 0 || w.GetTokenExpiresAtMs() <= w.GetServerTimeMs() {
		t.Fatalf("welcome: %v", w)
	}
	if l := w.GetLimits(); l.GetTickHz() != 20 || l.GetMaxChatChars() != 500 || l.GetBounds().GetMaxX() != 15000 {
		t.Fatalf("limits: %v", l)
	}
	snap := w.GetRoom()
	if snap.GetInfo().GetId() != e.room.ID || snap.GetInfo().GetScene() != "lounge" || len(snap.GetMembers()) != 1 ||
		snap.GetMembers()[0].GetDisplayName() != "Ada" || snap.GetMembers()[0].GetSlot() != w.GetSlot() {
		t.Fatalf("snapshot: %v", snap)
	}
	occ, _ := e.gw.Occupancy(context.Background(), []string{e.room.ID, "other"})
	if occ[e.room.ID] != 1 || occ["other"] != 0 {
		t.Fatalf("occupancy: %v", occ)
	}
	if in, _ := e.gw.IsPresent(context.Background(), e.room.ID, ada.ID); !in {
		t.Fatal("not present")
	}
	if n := counter(t, e.reg, "hearth_room_join_duration_seconds", "stage", "realtime"); n != 1 {
		t.Fatalf("join stage observations: %v", n)
	}
}

func TestPresenceTwoAndLeave(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	j := a.wait("bob joined", func(m *rtv1.ServerMessage) bool { return m.GetMemberJoined() != nil })
	if mj := j.GetMemberJoined().GetMember(); mj.GetUserId() != bob.ID || mj.GetDisplayName() != "Bob" || mj.GetState() != rtv1.MemberState_MEMBER_STATE_ACTIVE || j.GetSeq() == 0 {
		t.Fatalf("joined: %v", j)
	}
	if len(b.welcome.GetRoom().GetMembers()) != 2 {
		t.Fatalf("bob's snapshot: %v", b.welcome.GetRoom().GetMembers())
	}
	b.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Leave{Leave: &rtv1.Leave{}}})
	left := a.wait("bob left", isLeft(bob.ID))
	if left.GetMemberLeft().GetReason() != rtv1.LeaveReason_LEAVE_REASON_LEFT {
		t.Fatalf("leave reason: %v", left)
	}
	if code, _ := b.waitClose(); code != 1000 {
		t.Fatalf("leave close code %d", code)
	}
}

func TestPresenceForty(t *testing.T) {
	e := newEnv(t)
	var clients []*client
	var users []store.User
	for i := range 40 {
		u := e.user(fmt.Sprintf("U%02d", i))
		users = append(users, u)
		clients = append(clients, e.join(u))
	}
	// Each member saw everyone who joined after it.
	for i, c := range clients {
		seen := map[string]bool{}
		for _, m := range c.welcome.GetRoom().GetMembers() {
			seen[m.GetUserId()] = true
		}
		for len(seen) < 40 {
			m := c.wait("joins", func(m *rtv1.ServerMessage) bool { return m.GetMemberJoined() != nil })
			seen[m.GetMemberJoined().GetMember().GetUserId()] = true
		}
		_ = i
	}
	// Slots are unique.
	slots := map[uint32]bool{}
	for _, c := range clients {
		if slots[c.welcome.GetSlot()] {
			t.Fatalf("slot %d given twice", c.welcome.GetSlot())
		}
		slots[c.welcome.GetSlot()] = true
	}
	// Everyone moves; the first client gets a pose from each of the others.
	for i, c := range clients {
		c.send(pose(float32(i%7), 0, float32(i/7), 0, uint32(i+1)))
	}
	got := map[uint32]bool{}
	for len(got) < 39 {
		m := clients[0].wait("poses", func(m *rtv1.ServerMessage) bool { return m.GetPoses() != nil })
		for _, en := range m.GetPoses().GetEntries() {
			if en.GetStamp() != 0 {
				got[en.GetSlot()] = true
			}
		}
	}
	occ, _ := e.gw.Occupancy(context.Background(), []string{e.room.ID})
	if occ[e.room.ID] != 40 {
		t.Fatalf("occupancy %d", occ[e.room.ID])
	}
	// A 41st joins fine (capacity 50); a room of capacity 2 refuses a third.
	small := e.newRoom(users[0].ID, 2)
	for i := range 2 {
		c := e.dial(users[i], false)
		c.hello(e.token(users[i], small.ID, auth.AudienceRealtime, time.Minute), "", 0)
	}
	c := e.dial(users[2], false)
	c.start()
	c.send(helloMsg(e.token(users[2], small.ID, auth.AudienceRealtime, time.Minute)))
	if code, bye := c.waitClose(); code != 4005 || bye.GetCode() != "room_full" || !bye.GetFinal() {
		t.Fatalf("full room: %d %v", code, bye)
	}
}

func helloMsg(token string) *rtv1.ClientMessage {
	return &rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{Token: token, ProtocolVersion: 1}}}
}

func TestPoseFanoutValidation(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	slot := a.welcome.GetSlot()

	a.send(pose(1.2345, 0.5, -3, math.Pi, 77))
	m := b.wait("ada's pose", func(m *rtv1.ServerMessage) bool { return entryFor(m, slot).GetStamp() == 77 })
	en := entryFor(m, slot)
	if en.GetX() != 1235 || en.GetY() != 500 || en.GetZ() != -3000 || en.GetYaw() != 32768 || en.GetAnim() != 1 || m.GetSeq() != 0 {
		t.Fatalf("quantized entry: %v", en)
	}
	if m.GetPoses().GetServerTimeMs() <= 0 {
		t.Fatal("frame without server time")
	}
	// Non-finite values are rejected, never forwarded.
	nan := float32(math.NaN())
	a.send(pose(nan, 0, 0, 0, 78))
	a.send(pose(0, float32(math.Inf(1)), 0, 0, 79))
	a.send(pose(0, 0, 0, nan, 80))
	// Huge coordinates are clamped to the bounds, and a teleport to the
	// plausible speed.
	a.send(pose(1e30, 0, 0, 0, 81))
	m = b.wait("clamped pose", func(m *rtv1.ServerMessage) bool { return entryFor(m, slot).GetStamp() == 81 })
	if x := entryFor(m, slot).GetX(); x <= 1235 || x > 15000 {
		t.Fatalf("x = %d, want clamped into (1235, 15000]", x)
	}
	if n := counter(t, e.reg, "hearth_realtime_dropped_total", "reason", "pose_invalid"); n != 3 {
		t.Fatalf("invalid poses counted %v, want 3", n)
	}
	// Yaw wraps: -π/2 is three quarters of a turn.
	a.send(pose(1, 0, 0, -math.Pi/2, 82))
	m = b.wait("wrapped yaw", func(m *rtv1.ServerMessage) bool { return entryFor(m, slot).GetStamp() == 82 })
	if y := entryFor(m, slot).GetYaw(); y != 49152 {
		t.Fatalf("yaw %d", y)
	}
	// A member never gets its own pose.
	a.none(300*time.Millisecond, "own pose", func(m *rtv1.ServerMessage) bool { return entryFor(m, slot) != nil })
}

func TestChat(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	a.send(chat("  hello\u0007 \u202Eworld\n ", "c1"))
	m := b.wait("chat", isChat("hello world"))
	cm := m.GetChat()
	if cm.GetId() == "" || cm.GetUserId() != ada.ID || cm.GetDisplayName() != "Ada" || cm.GetSentAtMs() <= 0 || m.GetSeq() == 0 || cm.GetClientId() != "c1" {
		t.Fatalf("chat: %v", m)
	}
	a.wait("own echo", isChat("hello world"))
	// A resend with the same client id is not posted twice.
	a.send(chat("hello world", "c1"))
	a.send(chat("second 👨‍👩‍👧", "c2"))
	b.wait("second", isChat("second 👨‍👩‍👧"))
	// Too long, empty: refused with errors.
	a.send(&rtv1.ClientMessage{Ref: 7, Msg: &rtv1.ClientMessage_Chat{Chat: &rtv1.ChatSend{Text: strings.Repeat("x", 501)}}})
	er := a.wait("error", func(m *rtv1.ServerMessage) bool { return m.GetError() != nil })
	if er.GetError().GetCode() != "validation_failed" || er.GetError().GetRef() != 7 {
		t.Fatalf("error: %v", er)
	}
	a.send(chat(" \u0000 ", ""))
	a.wait("error", func(m *rtv1.ServerMessage) bool { return m.GetError().GetCode() == "validation_failed" })
	// A late joiner gets the backlog, persisted.
	c := e.join(e.user("Cy"))
	var texts []string
	for _, m := range c.welcome.GetRoom().GetChat() {
		texts = append(texts, m.GetText())
	}
	if strings.Join(texts, "|") != "hello world|second 👨‍👩‍👧" {
		t.Fatalf("backlog: %q", texts)
	}
	stored, err := e.db.RecentChat(context.Background(), e.room.ID, 10)
	if err != nil || len(stored) != 2 {
		t.Fatalf("persisted: %v %v", stored, err)
	}
	// Rate limit: a burst beyond 5 gets rate_limited with a retry hint.
	for i := range 8 {
		a.send(chat(fmt.Sprintf("spam %d", i), ""))
	}
	rl := a.wait("rate limited", func(m *rtv1.ServerMessage) bool { return m.GetError().GetCode() == "rate_limited" })
	if rl.GetError().GetRetryAfterMs() == 0 {
		t.Fatalf("no retry hint: %v", rl)
	}
}

// dropTCP cuts a client's connection without a close frame, like a network
// failure.
func dropTCP(c *client) {
	_ = c.ws.NetConn().Close()
	<-c.done
}

func TestResumeReplaysExactlyTheMissedEvents(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	a.wait("bob joined", func(m *rtv1.ServerMessage) bool { return m.GetMemberJoined() != nil })
	b.send(chat("before", ""))
	a.wait("before", isChat("before"))
	last := a.seq()
	resume := a.welcome.GetResumeToken()

	dropTCP(a)
	b.wait("ada reconnecting", isMemberState(ada.ID, rtv1.MemberState_MEMBER_STATE_RECONNECTING))
	for i := range 3 {
		b.send(chat(fmt.Sprintf("missed %d", i), ""))
		b.wait("echo", isChat(fmt.Sprintf("missed %d", i)))
	}
	cy := e.join(e.user("Cy"))
	_ = cy

	a2 := e.dial(ada, false)
	w := a2.hello(e.token(ada, e.room.ID, auth.AudienceRealtime, 10*time.Minute), resume, last)
	if w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_RESUMED || w.GetRoom() != nil || w.GetSlot() != a.welcome.GetSlot() {
		t.Fatalf("resume welcome: %v", w)
	}
	// Exactly the missed reliable events, in order, no duplicates.
	var got []string
	for len(got) < 4 {
		m := a2.wait("replay", func(m *rtv1.ServerMessage) bool { return m.GetSeq() != 0 })
		switch {
		case m.GetChat() != nil:
			got = append(got, m.GetChat().GetText())
		case m.GetMemberJoined() != nil:
			got = append(got, "joined "+m.GetMemberJoined().GetMember().GetDisplayName())
		case m.GetMemberUpdated() != nil:
			got = append(got, "updated "+m.GetMemberUpdated().GetMember().GetState().String())
		default:
			got = append(got, "other")
		}
	}
	want := "missed 0|missed 1|missed 2|joined Cy"
	if strings.Join(got, "|") != want {
		t.Fatalf("replayed %q\nwant     %q", strings.Join(got, "|"), want)
	}
	a2.mu.Lock()
	seqs := append([]uint64(nil), a2.seqs...)
	a2.mu.Unlock()
	for i, s := range seqs {
		if s != last+uint64(i)+1 {
			t.Fatalf("seqs %v do not continue from %d without gaps or repeats", seqs, last)
		}
	}
	// Bob saw Ada come back and never leave.
	b.wait("ada active", isMemberState(ada.ID, rtv1.MemberState_MEMBER_STATE_ACTIVE))
	b.none(200*time.Millisecond, "a leave", isLeft(ada.ID))
	if n := counter(t, e.reg, "hearth_realtime_resumes_total", "result", "resumed"); n != 1 {
		t.Fatalf("resumes counted %v", n)
	}
}

func TestResumeFallsBackToSnapshot(t *testing.T) {
	e := newEnv(t, func(e *env) { e.cfg.ReplayBytes = 300 })
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	last, resume := a.seq(), a.welcome.GetResumeToken()
	dropTCP(a)
	b.wait("reconnecting", isMemberState(ada.ID, rtv1.MemberState_MEMBER_STATE_RECONNECTING))
	for i := range 5 {
		b.send(chat(fmt.Sprintf("overflow %d %s", i, strings.Repeat("x", 100)), ""))
	}
	b.wait("last", func(m *rtv1.ServerMessage) bool { return strings.HasPrefix(m.GetChat().GetText(), "overflow 4") })
	a2 := e.dial(ada, false)
	w := a2.hello(e.token(ada, e.room.ID, auth.AudienceRealtime, 10*time.Minute), resume, last)
	if w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT || len(w.GetRoom().GetChat()) != 5 || len(w.GetRoom().GetMembers()) != 2 {
		t.Fatalf("fallback welcome: %v", w)
	}
	// A resume token nobody knows (node restart) also gets a snapshot.
	a3 := e.dial(e.user("Zed"), false)
	if w := a3.hello(e.token(a3.u, e.room.ID, auth.AudienceRealtime, time.Minute), "unknown-token", 9); w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT || w.GetRoom() == nil {
		t.Fatalf("unknown resume: %v", w)
	}
}

func TestGraceExpiryLeaves(t *testing.T) {
	e := newEnv(t, func(e *env) { e.cfg.ResumeGrace = 2 * time.Second })
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	dropTCP(a)
	b.wait("reconnecting", isMemberState(ada.ID, rtv1.MemberState_MEMBER_STATE_RECONNECTING))
	e.clk.Advance(3 * time.Second)
	m := b.wait("ada timed out", isLeft(ada.ID))
	if m.GetMemberLeft().GetReason() != rtv1.LeaveReason_LEAVE_REASON_TIMEOUT {
		t.Fatalf("reason %v", m)
	}
	// Her resume token is dead now: she gets a snapshot as a new join.
	a2 := e.dial(ada, false)
	if w := a2.hello(e.token(ada, e.room.ID, auth.AudienceRealtime, time.Minute), a.welcome.GetResumeToken(), 3); w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT {
		t.Fatalf("late resume: %v", w)
	}
	b.wait("ada joined again", func(m *rtv1.ServerMessage) bool { return m.GetMemberJoined().GetMember().GetUserId() == ada.ID })
}

func TestSecondConnectionReplacesFirst(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	a2 := e.join(ada) // a second tab
	if a2.welcome.GetSlot() != a.welcome.GetSlot() || a2.welcome.GetSessionId() == a.welcome.GetSessionId() {
		t.Fatalf("takeover welcome: %v vs %v", a2.welcome, a.welcome)
	}
	code, bye := a.waitClose()
	if code != 4007 || bye.GetCode() != "replaced" || !bye.GetFinal() {
		t.Fatalf("replaced: %d %v", code, bye)
	}
	b.none(300*time.Millisecond, "a leave or join", func(m *rtv1.ServerMessage) bool {
		return isLeft(ada.ID)(m) || m.GetMemberJoined() != nil
	})
	occ, _ := e.gw.Occupancy(context.Background(), []string{e.room.ID})
	if occ[e.room.ID] != 2 {
		t.Fatalf("occupancy %d", occ[e.room.ID])
	}
}

func TestTokenExpiryWithAndWithoutRefresh(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.dial(ada, false)
	a.hello(e.token(ada, e.room.ID, auth.AudienceRealtime, 5*time.Minute), "", 0)
	b := e.dial(bob, false)
	b.hello(e.token(bob, e.room.ID, auth.AudienceRealtime, 5*time.Minute), "", 0)

	e.clk.Advance(4*time.Minute + 30*time.Second)
	for _, c := range []*client{a, b} {
		w := c.wait("token expiring", func(m *rtv1.ServerMessage) bool { return m.GetTokenExpiring() != nil })
		if w.GetSeq() != 0 {
			t.Fatal("token warnings are not replayable events")
		}
	}
	// Ada refreshes in band; a token for the wrong room is refused.
	other := e.newRoom(ada.ID, 5)
	a.send(&rtv1.ClientMessage{Ref: 3, Msg: &rtv1.ClientMessage_RefreshToken{RefreshToken: &rtv1.RefreshToken{Token: e.token(ada, other.ID, auth.AudienceRealtime, 10*time.Minute)}}})
	if er := a.wait("refusal", func(m *rtv1.ServerMessage) bool { return m.GetError() != nil }); er.GetError().GetCode() != "token_invalid" || er.GetError().GetRef() != 3 {
		t.Fatalf("wrong room refresh: %v", er)
	}
	a.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_RefreshToken{RefreshToken: &rtv1.RefreshToken{Token: e.token(ada, e.room.ID, auth.AudienceRealtime, 10*time.Minute)}}})
	a.wait("refreshed", func(m *rtv1.ServerMessage) bool { return m.GetTokenRefreshed() != nil })

	// Bob does not: at expiry he is closed with token_expired, not final.
	e.clk.Advance(time.Minute)
	code, bye := b.waitClose()
	if code != 4002 || bye.GetCode() != "token_expired" || bye.GetFinal() {
		t.Fatalf("expiry close: %d %v", code, bye)
	}
	a.wait("bob reconnecting", isMemberState(bob.ID, rtv1.MemberState_MEMBER_STATE_RECONNECTING))
	// An expired token cannot resume; a fresh one can.
	b2 := e.dial(bob, false)
	b2.start()
	b2.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{Token: e.token(bob, e.room.ID, auth.AudienceRealtime, -time.Minute), ResumeToken: b.welcome.GetResumeToken()}}})
	if code, _ := b2.waitClose(); code != 4002 {
		t.Fatalf("expired resume: %d", code)
	}
	b3 := e.dial(bob, false)
	if w := b3.hello(e.token(bob, e.room.ID, auth.AudienceRealtime, 10*time.Minute), b.welcome.GetResumeToken(), b.seq()); w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_RESUMED {
		t.Fatalf("resume after expiry: %v", w)
	}
	a.wait("bob active", isMemberState(bob.ID, rtv1.MemberState_MEMBER_STATE_ACTIVE))
	// Ada's session outlived her first token.
	a.send(chat("still here", ""))
	b3.wait("ada's chat", isChat("still here"))
}

func TestBadHandshakes(t *testing.T) {
	e := newEnv(t)
	ada := e.user("Ada")
	expect := func(name string, code int, send func(c *client)) {
		t.Helper()
		c := e.dial(ada, false)
		c.start()
		send(c)
		got, _ := c.waitClose()
		if got != code {
			t.Errorf("%s: close %d, want %d", name, got, code)
		}
	}
	expect("garbage first frame", 4000, func(c *client) { _ = c.ws.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0xff, 0xff}) })
	expect("text frame", 1003, func(c *client) { _ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"hello":{}}`)) })
	expect("not a hello", 4000, func(c *client) { c.send(chat("hi", "")) })
	expect("empty token", 4001, func(c *client) { c.send(helloMsg("")) })
	expect("voice token", 4001, func(c *client) { c.send(helloMsg(e.token(ada, e.room.ID, auth.AudienceVoice, time.Minute))) })
	expect("API token", 4001, func(c *client) { c.send(helloMsg(e.token(ada, "", auth.AudienceRealtime, time.Minute))) })
	expect("expired token", 4002, func(c *client) { c.send(helloMsg(e.token(ada, e.room.ID, auth.AudienceRealtime, -time.Second))) })
	expect("forged token", 4001, func(c *client) {
		tok := e.token(ada, e.room.ID, auth.AudienceRealtime, time.Minute)
		c.send(helloMsg(tok[:len(tok)-4] + "AAAA"))
	})
	expect("unknown room", 4004, func(c *client) {
		c.send(helloMsg(e.token(ada, "aaaaaaaaaaaaaaaaaaaaaaaaaa", auth.AudienceRealtime, time.Minute)))
	})
	expect("oversized frame", 1009, func(c *client) {
		_ = c.ws.WriteMessage(websocket.BinaryMessage, make([]byte, 20000))
	})
	expect("no hello", 4010, func(c *client) {})
	// A banned user is refused at the door.
	if err := e.db.BanUser(context.Background(), &store.Ban{RoomID: e.room.ID, UserID: ada.ID, BannedBy: e.room.OwnerID}); err != nil {
		t.Fatal(err)
	}
	expect("banned", 4003, func(c *client) { c.send(helloMsg(e.token(ada, e.room.ID, auth.AudienceRealtime, time.Minute))) })
	if n := counter(t, e.reg, "hearth_realtime_connects_total", "result", "token_invalid"); n != 4 {
		t.Errorf("token_invalid connects counted %v, want 4", n)
	}
}

func TestBadMessagesAfterHello(t *testing.T) {
	e := newEnv(t)
	a := e.join(e.user("Ada"))
	_ = a.ws.WriteMessage(websocket.BinaryMessage, []byte{0x0a, 0xff})
	if m := a.wait("malformed error", func(m *rtv1.ServerMessage) bool { return m.GetError() != nil }); m.GetError().GetCode() != "malformed_message" {
		t.Fatalf("error %v", m)
	}
	a.send(&rtv1.ClientMessage{Ref: 9})
	if m := a.wait("unsupported", func(m *rtv1.ServerMessage) bool { return m.GetError() != nil }); m.GetError().GetCode() != "unsupported_message" || m.GetError().GetRef() != 9 {
		t.Fatalf("error %v", m)
	}
	// Unknown fields from a newer client are tolerated.
	b, _ := proto.Marshal(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Ping{Ping: &rtv1.Ping{ClientTimeMs: 5}}})
	b = append(b, 0xf8, 0x3f, 0x01) // field 1023, varint 1
	_ = a.ws.WriteMessage(websocket.BinaryMessage, b)
	p := a.wait("pong", func(m *rtv1.ServerMessage) bool { return m.GetPong() != nil })
	if p.GetPong().GetClientTimeMs() != 5 || p.GetPong().GetServerTimeMs() <= 0 || p.GetSeq() != 0 {
		t.Fatalf("pong %v", p)
	}
	// The connection is still fine.
	a.send(chat("ok", ""))
	a.wait("chat", isChat("ok"))
	// A text frame after hello closes with 1003.
	_ = a.ws.WriteMessage(websocket.TextMessage, []byte("hi"))
	if code, _ := a.waitClose(); code != 1003 {
		t.Fatalf("text frame close %d", code)
	}
}

func TestRateLimitsAndAbuse(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	// A flood of poses: the excess is dropped and counted, then the
	// connection is closed for abuse.
	for i := 0; i < 2000; i++ {
		b, _ := proto.Marshal(pose(float32(i%5), 0, 0, 0, uint32(i)))
		if err := a.ws.WriteMessage(websocket.BinaryMessage, b); err != nil {
			break
		}
	}
	code, bye := a.waitClose()
	if code != 1008 || bye.GetCode() != "policy_violation" {
		t.Fatalf("abuse close: %d %v", code, bye)
	}
	if n := counter(t, e.reg, "hearth_realtime_dropped_total", "reason", "pose_rate"); n < 100 {
		t.Fatalf("pose_rate drops %v", n)
	}
	// Bob is unaffected and sees Ada as reconnecting (she may resume).
	b.wait("ada reconnecting", isMemberState(ada.ID, rtv1.MemberState_MEMBER_STATE_RECONNECTING))
}

func TestConnectRateLimitPerIP(t *testing.T) {
	e := newEnv(t, func(e *env) { e.cfg.ConnectRate, e.cfg.ConnectBurst = 0.001, 2 })
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/rt"
	for i := range 3 {
		ws, res, err := websocket.DefaultDialer.Dial(url, nil)
		if i < 2 {
			if err != nil {
				t.Fatalf("dial %d: %v", i, err)
			}
			ws.Close()
			continue
		}
		if err == nil || res == nil || res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
			t.Fatalf("third dial: %v %v", err, res)
		}
	}
}

// TestSlowConsumerIsCutAndOthersAreNot: a client that stops reading is
// closed once its queue overflows or its writes stall, while everyone else
// keeps receiving.
func TestSlowConsumerIsCutAndOthersAreNot(t *testing.T) {
	e := newEnv(t, func(e *env) {
		e.smallBuffers = true
		e.cfg.SendQueueBytes = 8 << 10
		e.cfg.WriteTimeout = time.Second
		e.cfg.ChatRate, e.cfg.ChatBurst = 100, 100
	})
	slow := e.user("Slow")
	s := e.dial(slow, true)
	// Complete the handshake, then never read again.
	s.send(helloMsg(e.token(slow, e.room.ID, auth.AudienceRealtime, 10*time.Minute)))
	var talkers []*client
	for i := range 3 {
		talkers = append(talkers, e.join(e.user(fmt.Sprintf("T%d", i))))
	}
	big := strings.Repeat("y", 480)
	cut := false
	seeCut := isMemberState(slow.ID, rtv1.MemberState_MEMBER_STATE_RECONNECTING)
	for round := range 30 {
		for i, c := range talkers {
			c.send(chat(fmt.Sprintf("%d-%d %s", round, i, big), ""))
		}
		for i, c := range talkers {
			c.wait("round", func(m *rtv1.ServerMessage) bool {
				if i == 0 && seeCut(m) {
					cut = true
				}
				return strings.HasPrefix(m.GetChat().GetText(), fmt.Sprintf("%d-2 ", round))
			})
		}
	}
	if !cut {
		talkers[0].wait("slow one cut", seeCut)
	}
	if n := counter(t, e.reg, "hearth_realtime_disconnects_total", "reason", "slow_consumer"); n != 1 {
		t.Fatalf("slow_consumer disconnects %v", n)
	}
}

func TestModerationEvents(t *testing.T) {
	e := newEnv(t)
	ada, bob, cy := e.user("Ada"), e.user("Bob"), e.user("Cy")
	a, b, c := e.join(ada), e.join(bob), e.join(cy)
	publish := func(ev roomevents.Event) {
		if err := roomevents.Publish(context.Background(), e.bus, ev); err != nil {
			t.Fatal(err)
		}
	}
	publish(roomevents.Event{Type: roomevents.UserKicked, RoomID: e.room.ID, UserID: bob.ID, Reason: "calm down"})
	code, bye := b.waitClose()
	if code != 4006 || !bye.GetFinal() || !strings.Contains(bye.GetMessage(), "calm down") {
		t.Fatalf("kick: %d %v", code, bye)
	}
	if m := a.wait("bob kicked", isLeft(bob.ID)); m.GetMemberLeft().GetReason() != rtv1.LeaveReason_LEAVE_REASON_KICKED {
		t.Fatalf("kick reason %v", m)
	}
	publish(roomevents.Event{Type: roomevents.RoleChanged, RoomID: e.room.ID, UserID: cy.ID, Role: "moderator"})
	a.wait("cy promoted", func(m *rtv1.ServerMessage) bool {
		return m.GetMemberUpdated().GetMember().GetRole() == rtv1.Role_ROLE_MODERATOR
	})
	publish(roomevents.Event{Type: roomevents.UserBanned, RoomID: e.room.ID, UserID: cy.ID})
	if code, _ := c.waitClose(); code != 4003 {
		t.Fatalf("ban close %d", code)
	}
	a.wait("cy banned", isLeft(cy.ID))
	// A room update reaches everyone.
	r := e.room
	r.Name = "Renamed"
	if err := e.db.UpdateRoom(context.Background(), &r); err != nil {
		t.Fatal(err)
	}
	publish(roomevents.Event{Type: roomevents.RoomUpdated, RoomID: e.room.ID})
	a.wait("renamed", func(m *rtv1.ServerMessage) bool { return m.GetRoomUpdated().GetInfo().GetName() == "Renamed" })
	// Music states are relayed in version order.
	st := &musicv1.PlayerState{RoomId: e.room.ID, Version: 2, Paused: true}
	data, _ := proto.Marshal(st)
	_ = e.bus.Publish(context.Background(), realtime.MusicTopic, data)
	old, _ := proto.Marshal(&musicv1.PlayerState{RoomId: e.room.ID, Version: 1})
	_ = e.bus.Publish(context.Background(), realtime.MusicTopic, old)
	m := a.wait("music", func(m *rtv1.ServerMessage) bool { return m.GetMusic() != nil })
	if m.GetMusic().GetVersion() != 2 || m.GetSeq() == 0 {
		t.Fatalf("music %v", m)
	}
	a.none(200*time.Millisecond, "stale music", func(m *rtv1.ServerMessage) bool { return m.GetMusic() != nil })
	// Deleting the room closes everyone, finally.
	publish(roomevents.Event{Type: roomevents.RoomDeleted, RoomID: e.room.ID})
	if code, bye := a.waitClose(); code != 4004 || !bye.GetFinal() {
		t.Fatalf("delete close %d %v", code, bye)
	}
}

func TestSetStateAndAck(t *testing.T) {
	e := newEnv(t)
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	a.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_SetState{SetState: &rtv1.SetState{State: rtv1.MemberState_MEMBER_STATE_AWAY}}})
	b.wait("away", isMemberState(ada.ID, rtv1.MemberState_MEMBER_STATE_AWAY))
	a.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_SetState{SetState: &rtv1.SetState{State: rtv1.MemberState_MEMBER_STATE_RECONNECTING}}})
	a.wait("refused", func(m *rtv1.ServerMessage) bool { return m.GetError().GetCode() == "validation_failed" })
	// After acknowledging everything, a resume from an older seq cannot be
	// exact any more and falls back to a snapshot.
	b.send(chat("x", ""))
	a.wait("x", isChat("x"))
	a.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Ack{Ack: &rtv1.Ack{Seq: a.seq()}}})
	a.send(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Ping{Ping: &rtv1.Ping{}}})
	a.wait("pong", func(m *rtv1.ServerMessage) bool { return m.GetPong() != nil })
	dropTCP(a)
	a2 := e.dial(ada, false)
	if w := a2.hello(e.token(ada, e.room.ID, auth.AudienceRealtime, time.Minute), a.welcome.GetResumeToken(), 0); w.GetResume() != rtv1.ResumeResult_RESUME_RESULT_SNAPSHOT {
		t.Fatalf("resume from before the ack: %v", w.GetResume())
	}
}

func TestShutdownSaysRestart(t *testing.T) {
	e := newEnv(t)
	a := e.join(e.user("Ada"))
	e.gw.Shutdown()
	code, bye := a.waitClose()
	if code != 1012 || bye.GetFinal() {
		t.Fatalf("shutdown close %d %v", code, bye)
	}
}

// TestEagerFlush: in eager mode a pose goes out without waiting for the
// tick, and the same latest-wins rules hold.
func TestEagerFlush(t *testing.T) {
	e := newEnv(t, func(e *env) { e.cfg.Flush = realtime.FlushEager; e.cfg.TickRate = 2 })
	ada, bob := e.user("Ada"), e.user("Bob")
	a := e.join(ada)
	b := e.join(bob)
	for i := range 5 {
		a.send(pose(float32(i)*0.1, 0, 0, 0, uint32(100+i)))
		b.wait("pose", func(m *rtv1.ServerMessage) bool { return entryFor(m, a.welcome.GetSlot()).GetStamp() == uint32(100+i) })
	}
}
