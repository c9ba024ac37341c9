package realtime

import (
	"time"
)

// session is one member's stream of reliable events, which outlives any one
// connection: after a drop it is held for the resume grace, keeps
// collecting events, and replays them to the connection that resumes it.
// All fields are guarded by the room's mutex.
type session struct {
	id          string
	resumeToken string
	member      *member
	room        *room

	conn      *conn // nil while disconnected
	seq       uint64
	replay    replayBuffer
	tokenExp  time.Time
	warned    bool
	droppedAt time.Time
	connectAt time.Time

	// sent is, per slot, the room-wide pose version last put in a frame for
	// this session (tick goroutine, under the room mutex).
	sent []uint64
	// nextReduced is when members outside the interest set are next due.
	nextReduced time.Time
	// recentChat remembers client ids of recent chat messages, so a resend
	// after a reconnect is not posted twice.
	recentChat []string
}

// deliver numbers a reliable payload for this session, keeps it for replay
// and queues it on the connection, if any. It returns errSlowConsumer when
// the connection's queue is full.
func (s *session) deliver(p payload) error {
	s.seq++
	frame := withSeq(p, s.seq)
	s.replay.add(s.seq, frame)
	if s.conn == nil {
		return nil
	}
	return s.conn.sendReliable(frame)
}

func (s *session) sentVersion(slot uint32) uint64 {
	if int(slot) < len(s.sent) {
		return s.sent[slot]
	}
	return 0
}

func (s *session) setSent(slot uint32, v uint64) {
	for int(slot) >= len(s.sent) {
		s.sent = append(s.sent, 0)
	}
	s.sent[slot] = v
}

// seenChat records a chat client id and reports whether it was seen before.
func (s *session) seenChat(clientID string) bool {
	if clientID == "" {
		return false
	}
	for _, id := range s.recentChat {
		if id == clientID {
			return true
		}
	}
	if len(s.recentChat) >= 64 {
		s.recentChat = s.recentChat[1:]
	}
	s.recentChat = append(s.recentChat, clientID)
	return false
}

// replayBuffer keeps a session's recent reliable frames, bounded in bytes.
type replayBuffer struct {
	limit   int
	frames  [][]byte
	seqs    []uint64
	bytes   int
	dropped uint64 // highest seq evicted for space
}

func (b *replayBuffer) add(seq uint64, frame []byte) {
	b.frames = append(b.frames, frame)
	b.seqs = append(b.seqs, seq)
	b.bytes += len(frame)
	for b.bytes > b.limit && len(b.frames) > 0 {
		b.bytes -= len(b.frames[0])
		b.dropped = b.seqs[0]
		b.frames[0] = nil
		b.frames, b.seqs = b.frames[1:], b.seqs[1:]
	}
}

// ack forgets frames up to and including seq: the client has them.
func (b *replayBuffer) ack(seq uint64) {
	i := 0
	for i < len(b.seqs) && b.seqs[i] <= seq {
		b.bytes -= len(b.frames[i])
		b.frames[i] = nil
		i++
	}
	b.frames, b.seqs = b.frames[i:], b.seqs[i:]
}

// since returns the frames after lastSeq, or false when some of them were
// evicted (or lastSeq is from the future) so replay cannot be exact.
func (b *replayBuffer) since(lastSeq, current uint64) ([][]byte, bool) {
	if lastSeq > current {
		return nil, false
	}
	if lastSeq < b.dropped {
		return nil, false
	}
	var out [][]byte
	for i, s := range b.seqs {
		if s > lastSeq {
			out = append(out, b.frames[i])
		}
	}
	// Every seq in (lastSeq, current] must be present.
	if uint64(len(out)) != current-lastSeq {
		return nil, false
	}
	return out, true
}
