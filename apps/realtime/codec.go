package realtime

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// Field numbers of ServerMessage, PoseFrame and PoseEntry used by the
// hand-assembled encodings below. TestHandEncodingMatchesProto keeps them
// honest against the generated code.
const (
	fieldServerSeq   = 1
	fieldServerPoses = 3

	fieldFrameTime    = 1
	fieldFrameEntries = 2

	fieldEntrySlot  = 1
	fieldEntryX     = 2
	fieldEntryY     = 3
	fieldEntryZ     = 4
	fieldEntryYaw   = 5
	fieldEntryAnim  = 6
	fieldEntryStamp = 7
)

// payload is a ServerMessage with seq 0, encoded once and shared by every
// recipient: what remains per session is prepending its seq.
type payload []byte

// encodePayload encodes m without a seq.
func encodePayload(m *rtv1.ServerMessage) payload {
	b, err := proto.Marshal(m)
	if err != nil {
		// Only invalid UTF-8 in a string can fail, and every string here
		// was validated or produced by the server.
		panic("realtime: encode server message: " + err.Error())
	}
	return b
}

// outMsg is a message queued for one session: a shared payload and, for
// reliable events, the session's seq. The seq field is written in front of
// the payload when the frame goes out (protobuf accepts fields in any
// order), so a broadcast costs one encoding, not one copy per member.
type outMsg struct {
	seq uint64
	p   payload
}

// size is what the message costs in a queue or the replay buffer.
func (m outMsg) size() int { return len(m.p) + 11 }

// seqPrefix appends the encoded seq field to b.
func seqPrefix(b []byte, seq uint64) []byte {
	b = protowire.AppendTag(b, fieldServerSeq, protowire.VarintType)
	return protowire.AppendVarint(b, seq)
}

// appendPoseEntry appends one PoseEntry, wrapped as PoseFrame field 2, to
// b. Each member's entry is encoded once per tick and copied into every
// recipient's frame.
func appendPoseEntry(b []byte, slot uint32, p pose, stamp uint32) []byte {
	var e [48]byte
	body := e[:0]
	if slot != 0 {
		body = protowire.AppendTag(body, fieldEntrySlot, protowire.VarintType)
		body = protowire.AppendVarint(body, uint64(slot))
	}
	body = appendSint32(body, fieldEntryX, p.x)
	body = appendSint32(body, fieldEntryY, p.y)
	body = appendSint32(body, fieldEntryZ, p.z)
	if p.yaw != 0 {
		body = protowire.AppendTag(body, fieldEntryYaw, protowire.VarintType)
		body = protowire.AppendVarint(body, uint64(p.yaw))
	}
	if p.anim != 0 {
		body = protowire.AppendTag(body, fieldEntryAnim, protowire.VarintType)
		body = protowire.AppendVarint(body, uint64(p.anim))
	}
	if stamp != 0 {
		body = protowire.AppendTag(body, fieldEntryStamp, protowire.VarintType)
		body = protowire.AppendVarint(body, uint64(stamp))
	}
	b = protowire.AppendTag(b, fieldFrameEntries, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(len(body)))
	return append(b, body...)
}

func appendSint32(b []byte, field protowire.Number, v int32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeZigZag(int64(v)))
}

// poseFrame assembles a ServerMessage{poses: PoseFrame{server_time_ms,
// entries…}} from pre-encoded entries into dst.
func poseFrame(dst []byte, serverTimeMS float64, entries [][]byte) []byte {
	bodyLen := 1 + 8 // tag + fixed64 double
	for _, e := range entries {
		bodyLen += len(e)
	}
	dst = protowire.AppendTag(dst, fieldServerPoses, protowire.BytesType)
	dst = protowire.AppendVarint(dst, uint64(bodyLen))
	dst = protowire.AppendTag(dst, fieldFrameTime, protowire.Fixed64Type)
	dst = protowire.AppendFixed64(dst, math.Float64bits(serverTimeMS))
	for _, e := range entries {
		dst = append(dst, e...)
	}
	return dst
}
