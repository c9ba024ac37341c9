package voice_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/hearth-space/hearth/internal/auth"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

func isError(code string, ref uint32) func(*voicev1.ServerMessage) bool {
	return func(m *voicev1.ServerMessage) bool {
		e := m.GetError()
		return e != nil && e.Code == code && (ref == 0 || e.Ref == ref)
	}
}

func never(*voicev1.ServerMessage) bool { return false }

// offerSDP makes a real Pion offer with the given transceivers.
func offerSDP(t *testing.T, kinds ...webrtc.RTPCodecType) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func TestBadAuth(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 20*time.Second)
	cases := []struct {
		name  string
		join  *voicev1.Join
		code  string
		close int
	}{
		{"garbage token", &voicev1.Join{Token: "not.a.jwt"}, "token_invalid", 4001},
		{"expired token", &voicev1.Join{Token: e.token("alice", "r", "member", -time.Minute)}, "token_expired", 4002},
		{"token for another room", &voicev1.Join{Token: e.token("alice", "r", "member", time.Minute), RoomId: "other"}, "forbidden", 4003},
		{"realtime token", &voicev1.Join{Token: func() string {
			c := auth.Claims{Room: "r"}
			c.Subject = "alice"
			tok, _, _ := e.tokens.Mint(c, auth.AudienceRealtime, time.Minute)
			return tok
		}()}, "token_invalid", 4001},
	}
	for _, c := range cases {
		r := e.raw(ctx)
		r.join(c.join)
		if m, _ := r.until(isError(c.code, 1)); m == nil {
			t.Errorf("%s: no %s error", c.name, c.code)
			continue
		}
		if _, code := r.until(never); code != c.close {
			t.Errorf("%s: closed with %d, want %d", c.name, code, c.close)
		}
	}

	// The first message must be a join.
	r := e.raw(ctx)
	r.send(&voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Offer{Offer: &voicev1.SessionDescription{Sdp: "v=0"}}})
	if _, code := r.until(never); code != 1008 {
		t.Errorf("offer before join: closed with %d, want 1008", code)
	}
	// Garbage first frame.
	r = e.raw(ctx)
	if err := r.conn.WriteMessage(websocket.BinaryMessage, []byte{0xff, 0x01}); err != nil {
		t.Fatal(err)
	}
	if _, code := r.until(never); code != 1008 {
		t.Errorf("garbage before join: closed with %d, want 1008", code)
	}
}

func TestBadMessages(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 20*time.Second)
	r := e.raw(ctx)
	r.join(&voicev1.Join{Token: e.token("alice", "r", "member", time.Minute)})
	if m, code := r.until(func(m *voicev1.ServerMessage) bool { return m.GetJoined() != nil }); m == nil {
		t.Fatalf("no joined (close %d)", code)
	}
	send := func(ref uint32, m *voicev1.ClientMessage) {
		m.Ref = ref
		r.send(m)
	}
	expect := func(what, code string, ref uint32) {
		t.Helper()
		if m, c := r.until(isError(code, ref)); m == nil {
			t.Fatalf("%s: no %s error (closed %d)", what, code, c)
		}
	}
	offer := func(sdp string) *voicev1.ClientMessage {
		return &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Offer{Offer: &voicev1.SessionDescription{Sdp: sdp}}}
	}
	// Out of order: answer with no offer pending, candidate before offer.
	send(2, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Answer{Answer: &voicev1.SessionDescription{Sdp: "v=0", Revision: 1}}})
	expect("answer before any offer", "conflict", 2)
	send(3, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Candidate{Candidate: &voicev1.IceCandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}}})
	expect("candidate before offer", "conflict", 3)
	send(4, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Join{Join: &voicev1.Join{Token: "x"}}})
	expect("second join", "conflict", 4)
	// Garbage SDP, video only, audio plus video.
	send(5, offer("this is not SDP"))
	expect("garbage SDP", "validation_failed", 5)
	send(6, offer(offerSDP(t, webrtc.RTPCodecTypeVideo)))
	expect("video-only offer", "validation_failed", 6)
	send(7, offer(offerSDP(t, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo)))
	expect("audio and video offer", "validation_failed", 7)
	// Malformed and text frames are refused, the session goes on.
	if err := r.conn.WriteMessage(websocket.BinaryMessage, []byte{0x0a, 0xff}); err != nil {
		t.Fatal(err)
	}
	expect("malformed frame", "malformed_body", 0)
	if err := r.conn.WriteMessage(websocket.TextMessage, []byte(`{"join":{}}`)); err != nil {
		t.Fatal(err)
	}
	expect("text frame", "malformed_body", 0)
	// Mute someone who is not there (as a member: forbidden first).
	send(8, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_ModerateMute{ModerateMute: &voicev1.ModerateMute{UserId: "ghost", Muted: true}}})
	expect("member mutes", "forbidden", 8)
	// A good offer after all that still works.
	send(9, offer(offerSDP(t, webrtc.RTPCodecTypeAudio)))
	if m, c := r.until(func(m *voicev1.ServerMessage) bool { return m.GetAnswer() != nil }); m == nil {
		t.Fatalf("no answer to a good offer (closed %d)", c)
	}
	send(10, offer(offerSDP(t, webrtc.RTPCodecTypeAudio)))
	expect("second offer", "conflict", 10)
	send(11, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Answer{Answer: &voicev1.SessionDescription{Sdp: "v=0", Revision: 42}}})
	expect("answer to an offer never made", "conflict", 11)
	send(12, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Ping{Ping: &voicev1.Ping{ClientTimeMs: 5}}})
	if m, c := r.until(func(m *voicev1.ServerMessage) bool { return m.GetPong() != nil }); m == nil || m.GetPong().ClientTimeMs != 5 {
		t.Fatalf("no pong (closed %d)", c)
	}
	// Oversized frame: the connection closes with 1009.
	big := bytes.Repeat([]byte{0}, 300<<10)
	if err := r.conn.WriteMessage(websocket.BinaryMessage, big); err != nil {
		t.Fatal(err)
	}
	if _, code := r.until(never); code != 1009 {
		t.Fatalf("oversized frame closed with %d, want 1009", code)
	}
}
