package voice_test

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/roomevents"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// gaps counts missing counters in a sequence that should be contiguous.
func gaps(ns []uint32) int {
	g := 0
	for i := 1; i < len(ns); i++ {
		if ns[i] != ns[i-1]+1 {
			g++
		}
	}
	return g
}

func connectAll(ctx context.Context, t *testing.T, ps ...*peer) {
	t.Helper()
	for _, p := range ps {
		if err := p.WaitConnected(ctx); err != nil {
			t.Fatalf("%s: %v", p.user, err)
		}
	}
}

// TestThirdJoinsAndLeaves: while alice and bob talk, carol joins (both
// renegotiate to receive her) and leaves (her transceivers are freed and
// reused by dave); alice and bob never miss a packet of each other.
func TestThirdJoinsAndLeaves(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 30*time.Second)
	a := e.join(ctx, "alice", "r", "member")
	b := e.join(ctx, "bob", "r", "member")
	connectAll(ctx, t, a, b)
	a.startSending(20 * time.Millisecond)
	b.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "bob's audio", func() bool { return a.count("bob") >= 10 })

	c := e.join(ctx, "carol", "r", "member")
	connectAll(ctx, t, c)
	c.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "carol's audio", func() bool { return a.count("carol") >= 10 })
	b.waitFor(ctx, t, "carol's audio", func() bool { return b.count("carol") >= 10 })
	c.waitFor(ctx, t, "alice's and bob's audio", func() bool { return c.count("alice") >= 10 && c.count("bob") >= 10 })
	transceivers := len(a.PeerConnection().GetTransceivers())

	c.stopSending()
	c.Leave()
	a.waitFor(ctx, t, "carol leaving", func() bool {
		return a.hasMsg(func(m *voicev1.ServerMessage) bool { return m.GetParticipantLeft().GetUserId() == "carol" })
	})
	b.waitFor(ctx, t, "a track map without carol", func() bool {
		for _, tr := range b.Tracks() {
			if tr.UserId == "carol" {
				return false
			}
		}
		return len(b.Tracks()) == 1
	})

	d := e.join(ctx, "dave", "r", "member")
	connectAll(ctx, t, d)
	d.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "dave's audio", func() bool { return a.count("dave") >= 10 })
	if n := len(a.PeerConnection().GetTransceivers()); n != transceivers {
		t.Errorf("alice has %d transceivers after carol left and dave joined, want %d (carol's reused)", n, transceivers)
	}
	mark := a.count("bob")
	a.waitFor(ctx, t, "more of bob's audio", func() bool { return a.count("bob") >= mark+10 })

	a.stopSending()
	b.stopSending()
	for _, pair := range [][2]*peer{{a, b}, {b, a}} {
		ns, _ := pair[0].received(pair[1].user)
		if g := gaps(ns); g != 0 {
			t.Errorf("%s missed %d runs of %s's packets while others joined and left", pair[0].user, g, pair[1].user)
		}
	}
}

// TestServerMute: a moderator mutes alice: nobody receives her audio, all
// are told, the RTP sequence stays contiguous across the silence; a member
// may not mute anyone.
func TestServerMute(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 30*time.Second)
	a := e.join(ctx, "alice", "r", "member")
	b := e.join(ctx, "bob", "r", "member")
	m := e.join(ctx, "mod", "r", "moderator")
	connectAll(ctx, t, a, b, m)
	a.startSending(20 * time.Millisecond)
	b.waitFor(ctx, t, "alice's audio", func() bool { return b.count("alice") >= 10 })

	// A member cannot mute.
	if err := b.ModerateMute("alice", true); err != nil {
		t.Fatal(err)
	}
	b.waitFor(ctx, t, "forbidden", func() bool {
		return b.hasMsg(func(m *voicev1.ServerMessage) bool { return m.GetError().GetCode() == "forbidden" })
	})

	if err := m.ModerateMute("alice", true); err != nil {
		t.Fatal(err)
	}
	muted := func(want bool) func(*voicev1.ServerMessage) bool {
		return func(msg *voicev1.ServerMessage) bool {
			p := msg.GetParticipantUpdated().GetParticipant()
			return p.GetUserId() == "alice" && p.ServerMuted == want && (!want || p.MutedBy == "mod")
		}
	}
	for _, p := range []*peer{a, b, m} {
		p.waitFor(ctx, t, "alice server-muted", func() bool { return p.hasMsg(muted(true)) })
	}
	// Alice keeps sending; none of it may arrive while she is muted.
	before := b.count("alice")
	time.Sleep(500 * time.Millisecond) // alice sends ~25 packets meanwhile
	if err := m.ModerateMute("alice", false); err != nil {
		t.Fatal(err)
	}
	b.waitFor(ctx, t, "alice unmuted", func() bool { return b.hasMsg(muted(false)) })
	b.waitFor(ctx, t, "alice's audio again", func() bool { return b.count("alice") >= before+10 })
	a.stopSending()

	ns, seqs := b.received("alice")
	jumps := 0
	for i := 1; i < len(ns); i++ {
		if ns[i] != ns[i-1]+1 {
			jumps++
			if ns[i]-ns[i-1] < 10 {
				t.Errorf("the mute skipped only %d packets", ns[i]-ns[i-1]-1)
			}
		}
		if seqs[i] != seqs[i-1]+1 {
			t.Fatalf("RTP sequence jumps from %d to %d: the forwarder must renumber around a mute", seqs[i-1], seqs[i])
		}
	}
	if jumps != 1 {
		t.Fatalf("want exactly one gap (the mute) in alice's counters at bob, got %d", jumps)
	}
}

// TestResumeAfterSignallingDrop: alice's WebSocket drops; media keeps
// flowing, everyone sees her reconnecting, and a new WebSocket with her
// resume token takes the same peer connection over, receiving the offer
// for carol who joined meanwhile.
func TestResumeAfterSignallingDrop(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 30*time.Second)
	a := e.join(ctx, "alice", "r", "member")
	b := e.join(ctx, "bob", "r", "member")
	connectAll(ctx, t, a, b)
	b.startSending(20 * time.Millisecond)
	a.waitFor(ctx, t, "bob's audio", func() bool { return a.count("bob") >= 5 })

	a.DropSignalling()
	state := func(s voicev1.ParticipantState) func(*voicev1.ServerMessage) bool {
		return func(m *voicev1.ServerMessage) bool {
			p := m.GetParticipantUpdated().GetParticipant()
			return p.GetUserId() == "alice" && p.State == s
		}
	}
	b.waitFor(ctx, t, "alice reconnecting", func() bool { return b.hasMsg(state(voicev1.ParticipantState_PARTICIPANT_STATE_RECONNECTING)) })
	mark := a.count("bob")
	a.waitFor(ctx, t, "bob's audio while signalling is down", func() bool { return a.count("bob") >= mark+10 })

	c := e.join(ctx, "carol", "r", "member")
	connectAll(ctx, t, c)
	c.startSending(20 * time.Millisecond)

	if err := a.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	a.waitFor(ctx, t, "carol's audio after resume", func() bool { return a.count("carol") >= 10 })
	b.waitFor(ctx, t, "alice connected again", func() bool {
		return b.findMsg(func(m *voicev1.ServerMessage) bool {
			return m.GetParticipantUpdated().GetParticipant().GetUserId() == "alice"
		}).GetParticipantUpdated().GetParticipant().GetState() == voicev1.ParticipantState_PARTICIPANT_STATE_CONNECTED
	})
	ns, _ := a.received("bob")
	if g := gaps(ns); g != 0 {
		t.Errorf("alice missed %d runs of bob's audio across the signalling drop", g)
	}

	// A resume token that does not exist: rejoin from scratch.
	r := e.raw(ctx)
	r.join(&voicev1.Join{Token: e.token("bob", "r", "member", time.Minute), ResumeToken: "not-a-token"})
	if _, code := r.until(func(*voicev1.ServerMessage) bool { return false }); code != 4008 {
		t.Fatalf("bogus resume closed with %d, want 4008", code)
	}
	// Nor may bob take alice's session with her resume token.
	r = e.raw(ctx)
	r.join(&voicev1.Join{Token: e.token("bob", "r", "member", time.Minute), ResumeToken: a.ResumeToken()})
	if _, code := r.until(func(*voicev1.ServerMessage) bool { return false }); code != 4008 {
		t.Fatalf("resume with another user's token closed with %d, want 4008", code)
	}
}

// TestRoomEvents: a kick and a ban from the API end the user's voice; a
// deleted room ends everyone's.
func TestRoomEvents(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t, 20*time.Second)
	a := e.join(ctx, "alice", "r", "member")
	b := e.join(ctx, "bob", "r", "member")
	c := e.join(ctx, "carol", "r", "member")
	connectAll(ctx, t, a, b, c)
	publish := func(ev roomevents.Event) {
		if err := roomevents.Publish(ctx, e.bus, ev); err != nil {
			t.Fatal(err)
		}
	}
	goodbye := func(p *peer, code uint32) {
		p.waitFor(ctx, t, "goodbye", func() bool { g := p.Goodbye(); return g != nil && g.CloseCode == code })
	}
	publish(roomevents.Event{Type: roomevents.UserKicked, RoomID: "r", UserID: "alice"})
	goodbye(a, 4004)
	b.waitFor(ctx, t, "alice kicked", func() bool {
		return b.hasMsg(func(m *voicev1.ServerMessage) bool {
			l := m.GetParticipantLeft()
			return l.GetUserId() == "alice" && l.Reason == voicev1.LeaveReason_LEAVE_REASON_KICKED
		})
	})
	publish(roomevents.Event{Type: roomevents.UserBanned, RoomID: "r", UserID: "bob"})
	goodbye(b, 4005)
	publish(roomevents.Event{Type: roomevents.RoomDeleted, RoomID: "r"})
	goodbye(c, 4006)
	if !c.Goodbye().Final {
		t.Fatal("room deletion must be final")
	}
}
