// Package signal decodes and encodes the voice signalling WebSocket's
// frames (hearth.voice.v1) and enforces their limits. Every client frame is
// untrusted: DecodeClient never panics and rejects anything malformed,
// oversized or out of bounds with a coded error.
package signal

import (
	"google.golang.org/protobuf/proto"

	"github.com/hearth-space/hearth/internal/errs"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Limits on client frames. An answer to an offer for a 100-person room
// is about 60 KiB of SDP; anything larger is not a Hearth client.
const (
	MaxFrameBytes     = 256 << 10
	MaxSDPBytes       = 200 << 10
	MaxTokenBytes     = 4 << 10
	MaxCandidateBytes = 1 << 10
	MaxIDBytes        = 128
	ProtocolVersion   = 1
)

// DecodeClient parses one binary frame from a client.
func DecodeClient(b []byte) (*voicev1.ClientMessage, error) {
	if len(b) > MaxFrameBytes {
		return nil, errs.E(errs.BodyTooLarge, "frame of %d bytes exceeds %d", len(b), MaxFrameBytes)
	}
	m := &voicev1.ClientMessage{}
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, m); err != nil {
		return nil, errs.Wrap(errs.MalformedBody, err, "frame is not a hearth.voice.v1.ClientMessage")
	}
	if err := validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

func validate(m *voicev1.ClientMessage) error {
	bad := func(format string, args ...any) error { return errs.E(errs.Validation, format, args...) }
	switch x := m.Msg.(type) {
	case nil:
		return bad("the message is empty")
	case *voicev1.ClientMessage_Join:
		j := x.Join
		if j.GetToken() == "" {
			return bad("join needs a token")
		}
		if len(j.Token) > MaxTokenBytes || len(j.ResumeToken) > MaxTokenBytes || len(j.Traceparent) > 256 {
			return bad("join fields are too long")
		}
		if v := j.GetProtocolVersion(); v != 0 && v != ProtocolVersion {
			return bad("protocol version %d is not supported (want %d)", v, ProtocolVersion)
		}
	case *voicev1.ClientMessage_Offer:
		if err := checkSDP(x.Offer); err != nil {
			return err
		}
	case *voicev1.ClientMessage_Answer:
		if err := checkSDP(x.Answer); err != nil {
			return err
		}
	case *voicev1.ClientMessage_Candidate:
		c := x.Candidate
		if c == nil {
			return bad("candidate is empty")
		}
		if len(c.Candidate) > MaxCandidateBytes || len(c.SdpMid) > MaxIDBytes || len(c.UsernameFragment) > 256 {
			return bad("candidate fields are too long")
		}
	case *voicev1.ClientMessage_ModerateMute:
		if id := x.ModerateMute.GetUserId(); id == "" || len(id) > MaxIDBytes {
			return bad("moderate_mute needs a user_id")
		}
	case *voicev1.ClientMessage_SetMute, *voicev1.ClientMessage_RestartIce,
		*voicev1.ClientMessage_Ping, *voicev1.ClientMessage_Leave:
	default:
		return bad("unknown message")
	}
	return nil
}

func checkSDP(d *voicev1.SessionDescription) error {
	if d.GetSdp() == "" {
		return errs.E(errs.Validation, "the session description is empty")
	}
	if len(d.Sdp) > MaxSDPBytes {
		return errs.E(errs.Validation, "the session description exceeds %d bytes", MaxSDPBytes)
	}
	return nil
}

// EncodeServer marshals a server message.
func EncodeServer(m *voicev1.ServerMessage) ([]byte, error) {
	return proto.Marshal(m)
}

// EncodeClient marshals a client message (the Go client and tests).
func EncodeClient(m *voicev1.ClientMessage) ([]byte, error) {
	return proto.Marshal(m)
}

// DecodeServer parses a server frame (the Go client and tests).
func DecodeServer(b []byte) (*voicev1.ServerMessage, error) {
	m := &voicev1.ServerMessage{}
	if err := proto.Unmarshal(b, m); err != nil {
		return nil, errs.Wrap(errs.MalformedBody, err, "frame is not a hearth.voice.v1.ServerMessage")
	}
	return m, nil
}
