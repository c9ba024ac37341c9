package realtime

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// TestHandEncodingMatchesProto decodes the hand-assembled pose frames and
// seq-prefixed payloads with the generated code.
func TestHandEncodingMatchesProto(t *testing.T) {
	poses := []struct {
		slot  uint32
		p     pose
		stamp uint32
	}{
		{0, pose{}, 0},
		{1, pose{x: -1, y: 2, z: -3, yaw: 65535, anim: 4}, 99},
		{300, pose{x: math.MaxInt32, y: math.MinInt32, z: 0, yaw: 1, anim: 31}, math.MaxUint32},
	}
	var entries [][]byte
	for _, q := range poses {
		entries = append(entries, appendPoseEntry(nil, q.slot, q.p, q.stamp))
	}
	frame := poseFrame(nil, 1234.5, entries)
	var m rtv1.ServerMessage
	if err := proto.Unmarshal(frame, &m); err != nil {
		t.Fatal(err)
	}
	got := m.GetPoses()
	if got.GetServerTimeMs() != 1234.5 || len(got.GetEntries()) != len(poses) {
		t.Fatalf("frame: %v", &m)
	}
	for i, q := range poses {
		e := got.GetEntries()[i]
		if e.GetSlot() != q.slot || e.GetX() != q.p.x || e.GetY() != q.p.y || e.GetZ() != q.p.z ||
			e.GetYaw() != q.p.yaw || e.GetAnim() != q.p.anim || e.GetStamp() != q.stamp {
			t.Fatalf("entry %d: %v, want %+v", i, e, q)
		}
	}
	// An empty frame still decodes.
	if err := proto.Unmarshal(poseFrame(nil, 1, nil), &m); err != nil || m.GetPoses() == nil {
		t.Fatalf("empty frame: %v %v", &m, err)
	}
	// Shared payloads take a per-session seq.
	p := encodePayload(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Chat{Chat: &rtv1.ChatMessage{Text: "hi"}}})
	if err := proto.Unmarshal(withSeq(p, 1<<40), &m); err != nil || m.GetSeq() != 1<<40 || m.GetChat().GetText() != "hi" {
		t.Fatalf("withSeq: %v %v", &m, err)
	}
}

func TestQuantizeAndSpeed(t *testing.T) {
	b := sceneBounds("lounge")
	if _, ok := quantize(&rtv1.PoseUpdate{X: float32(math.NaN())}, b); ok {
		t.Fatal("NaN accepted")
	}
	if _, ok := quantize(&rtv1.PoseUpdate{Anim: 32}, b); ok {
		t.Fatal("unknown animation accepted")
	}
	p, ok := quantize(&rtv1.PoseUpdate{X: -1e38, Y: 1e38, Z: 0.0004, Yaw: 7 * math.Pi}, b)
	if !ok || p.x != b.minX || p.y != b.maxY || p.z != 0 || p.yaw != 32768 {
		t.Fatalf("clamped: %+v", p)
	}
	next, clamped := limitSpeed(pose{}, pose{x: 10_000}, 100_000_000, 10) // 0.1 s at 10 m/s: 1 m + slack
	if !clamped || next.x != 1500 {
		t.Fatalf("speed clamp: %+v %v", next, clamped)
	}
	if _, clamped := limitSpeed(pose{}, pose{x: 900}, 100_000_000, 10); clamped {
		t.Fatal("plausible move clamped")
	}
}

func TestReplayBuffer(t *testing.T) {
	b := replayBuffer{limit: 30}
	for i := uint64(1); i <= 5; i++ {
		b.add(outMsg{seq: i, p: payload("abc")}) // 14 bytes each: two fit
	}
	if _, ok := b.since(1, 5); ok { // seqs 2 and below were evicted
		t.Fatal("replay from an evicted seq")
	}
	got, ok := b.since(3, 5)
	if !ok || len(got) != 2 {
		t.Fatalf("since 3: %d %v", len(got), ok)
	}
	if got, ok := b.since(5, 5); !ok || len(got) != 0 {
		t.Fatal("nothing missed must be exact")
	}
	if _, ok := b.since(6, 5); ok {
		t.Fatal("a seq from the future accepted")
	}
	b.ack(4)
	if _, ok := b.since(3, 5); ok {
		t.Fatal("replay from before an ack")
	}
}

func TestCleanChat(t *testing.T) {
	cases := map[string]string{
		"  a \n\t b  ":         "a b",
		"x\u0000y\u0007z":      "xyz",
		"\u202Eevil\u202C":     "evil",
		"👨‍👩‍👧 ok":             "👨‍👩‍👧 ok",
		"\u2066iso\u2069 late": "iso late",
	}
	for in, want := range cases {
		if got := cleanChat(in); got != want {
			t.Errorf("cleanChat(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzClientMessage feeds arbitrary frames through decoding and the
// validation every message gets: nothing panics, accepted poses stay inside
// the bounds, cleaned chat is valid UTF-8 without control characters.
func FuzzClientMessage(f *testing.F) {
	seed := func(m *rtv1.ClientMessage) {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	seed(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Hello{Hello: &rtv1.Hello{Token: "t", LastSeq: 3}}})
	seed(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Pose{Pose: &rtv1.PoseUpdate{X: 1, Y: float32(math.Inf(1)), Yaw: 3}}})
	seed(&rtv1.ClientMessage{Msg: &rtv1.ClientMessage_Chat{Chat: &rtv1.ChatSend{Text: "hi\u202e", ClientId: "x"}}})
	f.Add([]byte{0xff, 0x01})
	f.Add([]byte{})
	b := sceneBounds("plaza")
	f.Fuzz(func(t *testing.T, data []byte) {
		var m rtv1.ClientMessage
		if err := proto.Unmarshal(data, &m); err != nil {
			return
		}
		if p := m.GetPose(); p != nil {
			q, ok := quantize(p, b)
			if ok && (q.x < b.minX || q.x > b.maxX || q.y < b.minY || q.y > b.maxY || q.z < b.minZ || q.z > b.maxZ || q.yaw > 65535) {
				t.Fatalf("pose escaped bounds: %+v", q)
			}
		}
		if c := m.GetChat(); c != nil {
			s := cleanChat(c.GetText())
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\n\r\t\u202e") {
				t.Fatalf("unclean chat %q", s)
			}
		}
	})
}

// withSeq is the whole frame the writer streams in two parts.
func withSeq(p payload, seq uint64) []byte {
	return append(seqPrefix(make([]byte, 0, len(p)+11), seq), p...)
}
