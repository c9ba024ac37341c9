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
	m := outMsg{seq: s.seq, p: p}
	s.replay.add(m)
	if s.conn == nil {
		return nil
	}
	return s.conn.send(m)
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

// replayBuffer keeps a session's recent reliable messages, bounded in
// bytes. The payloads are shared with every other member's buffer.
type replayBuffer struct {
	limit   int
	msgs    []outMsg
	bytes   int
	dropped uint64 // highest seq evicted for space
}

func (b *replayBuffer) add(m outMsg) {
	b.msgs = append(b.msgs, m)
	b.bytes += m.size()
	for b.bytes > b.limit && len(b.msgs) > 0 {
		b.bytes -= b.msgs[0].size()
		b.dropped = b.msgs[0].seq
		b.msgs[0] = outMsg{}
		b.msgs = b.msgs[1:]
	}
}

// ack forgets messages up to and including seq: the client has them.
func (b *replayBuffer) ack(seq uint64) {
	i := 0
	for i < len(b.msgs) && b.msgs[i].seq <= seq {
		b.bytes -= b.msgs[i].size()
		b.msgs[i] = outMsg{}
		i++
	}
	b.msgs = b.msgs[i:]
	if len(b.msgs) == 0 {
		b.msgs = nil // let the backing array go
	}
}

// since returns the messages after lastSeq, or false when some of them were
// evicted (or lastSeq is from the future) so replay cannot be exact.
func (b *replayBuffer) since(lastSeq, current uint64) ([]outMsg, bool) {
	if lastSeq > current || lastSeq < b.dropped {
		return nil, false
	}
	var out []outMsg
	for _, m := range b.msgs {
		if m.seq > lastSeq {
			out = append(out, m)
		}
	}
	// Every seq in (lastSeq, current] must be present.
	if uint64(len(out)) != current-lastSeq {
		return nil, false
	}
	return out, true
}
