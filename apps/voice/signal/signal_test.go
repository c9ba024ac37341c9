package signal

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/errs"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

func frame(t testing.TB, m *voicev1.ClientMessage) []byte {
	t.Helper()
	b, err := EncodeClient(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeClient(t *testing.T) {
	join := &voicev1.ClientMessage{Ref: 7, Msg: &voicev1.ClientMessage_Join{Join: &voicev1.Join{Token: "t", ProtocolVersion: 1}}}
	m, err := DecodeClient(frame(t, join))
	if err != nil || !proto.Equal(m, join) {
		t.Fatalf("round trip: %v %v", m, err)
	}
	cases := []struct {
		name string
		b    []byte
		code errs.Code
	}{
		{"garbage", []byte{0xff, 0xff, 0xff}, errs.MalformedBody},
		{"empty", nil, errs.Validation},
		{"oversized", bytes.Repeat([]byte{0}, MaxFrameBytes+1), errs.BodyTooLarge},
		{"join without token", frame(t, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Join{Join: &voicev1.Join{}}}), errs.Validation},
		{"future protocol", frame(t, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Join{Join: &voicev1.Join{Token: "t", ProtocolVersion: 9}}}), errs.Validation},
		{"empty offer", frame(t, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Offer{Offer: &voicev1.SessionDescription{}}}), errs.Validation},
		{"huge sdp", frame(t, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Answer{Answer: &voicev1.SessionDescription{Sdp: string(bytes.Repeat([]byte("a"), MaxSDPBytes+1))}}}), errs.Validation},
		{"long candidate", frame(t, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_Candidate{Candidate: &voicev1.IceCandidate{Candidate: string(bytes.Repeat([]byte("c"), 2000))}}}), errs.Validation},
		{"mute nobody", frame(t, &voicev1.ClientMessage{Msg: &voicev1.ClientMessage_ModerateMute{ModerateMute: &voicev1.ModerateMute{}}}), errs.Validation},
	}
	for _, c := range cases {
		_, err := DecodeClient(c.b)
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("%s: code %q (%v), want %q", c.name, got, err, c.code)
		}
	}
}

func FuzzDecodeClient(f *testing.F) {
	seeds := []*voicev1.ClientMessage{
		{Msg: &voicev1.ClientMessage_Join{Join: &voicev1.Join{Token: "tok", Traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", ResumeToken: "r"}}},
		{Msg: &voicev1.ClientMessage_Offer{Offer: &voicev1.SessionDescription{Sdp: "v=0\r\n"}}},
		{Msg: &voicev1.ClientMessage_Answer{Answer: &voicev1.SessionDescription{Sdp: "v=0\r\n", Revision: 3}}},
		{Msg: &voicev1.ClientMessage_Candidate{Candidate: &voicev1.IceCandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host", SdpMid: "0"}}},
		{Msg: &voicev1.ClientMessage_ModerateMute{ModerateMute: &voicev1.ModerateMute{UserId: "u", Muted: true}}},
		{Msg: &voicev1.ClientMessage_SetMute{SetMute: &voicev1.SetMute{Muted: true}}},
		{Msg: &voicev1.ClientMessage_Ping{Ping: &voicev1.Ping{ClientTimeMs: 1}}},
	}
	for _, s := range seeds {
		f.Add(frame(f, s))
	}
	f.Add([]byte{0x12, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeClient(b)
		if err != nil {
			if errs.CodeOf(err) == errs.Internal {
				t.Fatalf("uncoded error: %v", err)
			}
			return
		}
		if m.Msg == nil {
			t.Fatal("accepted an empty message")
		}
		if _, err := EncodeClient(m); err != nil {
			t.Fatalf("accepted message does not re-encode: %v", err)
		}
	})
}
