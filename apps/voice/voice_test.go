package voice_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-space/hearth/apps/voice"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// TestPublishReceive: two participants each publish and hear the other,
// with the payload intact, in order, and announced in the track map.
func TestPublishReceive(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 20*time.Second)
	a := e.join(ctx, "alice", "r1", "member")
	b := e.join(ctx, "bob", "r1", "member")
	if err := a.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	a.startSending(20 * time.Millisecond)
	b.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "20 packets from bob", func() bool { return a.count("bob") >= 20 })
	b.waitFor(ctx, t, "20 packets from alice", func() bool { return b.count("alice") >= 20 })

	b.mu.Lock()
	got := append([]uint32(nil), b.got["alice"]...)
	b.mu.Unlock()
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("alice's packets out of order at bob: %v", got[:i+1])
		}
	}
	found := false
	for _, tr := range b.Tracks() {
		if tr.UserId == "alice" && tr.StreamId == "alice" && tr.Mid != "" && tr.Ssrc != 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("bob's track map does not name alice: %v", b.Tracks())
	}
	// Speaking indicators: both publish at -30 dBov with the voice bit.
	a.waitFor(ctx, t, "speakers naming bob", func() bool {
		return a.findMsg(func(m *voicev1.ServerMessage) bool {
			for _, s := range m.GetSpeakers().GetSpeakers() {
				if s.UserId == "bob" && s.Level > 0 {
					return true
				}
			}
			return false
		}) != nil
	})
	// Round-trip time, from bob's receiver reports on alice's audio.
	b.waitFor(ctx, t, "an RTT measurement", func() bool {
		return b.hasMsg(func(m *voicev1.ServerMessage) bool { return m.GetQuality().GetSelf().GetRttMs() > 0 })
	})
	// Quality: scored and sent to everyone.
	a.waitFor(ctx, t, "a quality update with bob's score", func() bool {
		return a.findMsg(func(m *voicev1.ServerMessage) bool {
			q := m.GetQuality()
			if q == nil || q.Self.GetInbound().GetPackets() == 0 {
				return false
			}
			for _, pq := range q.Participants {
				if pq.UserId == "bob" && pq.Quality == voicev1.Quality_QUALITY_EXCELLENT {
					return true
				}
			}
			return false
		}) != nil
	})
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestQoSDebugLog: with VOICE_QOS_DEBUG each participant gets a structured
// QoS line per interval, with its ids.
func TestQoSDebugLog(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, func(o *voice.Options) {
		o.Config.VoiceQoSDebug = true
		o.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	ctx := testCtx(t, 20*time.Second)
	a := e.join(ctx, "alice", "r", "member")
	b := e.join(ctx, "bob", "r", "member")
	connectAll(ctx, t, a, b)
	a.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "a voice qos log line for bob", func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `"msg":"voice qos"`) && strings.Contains(line, `"user_id":"bob"`) &&
				strings.Contains(line, `"room_id":"r"`) && strings.Contains(line, `"session_id":`) &&
				strings.Contains(line, `"out_jitter_ms"`) && strings.Contains(line, `"rtt_ms"`) && strings.Contains(line, `"in_bitrate"`) {
				return true
			}
		}
		return false
	})
}
