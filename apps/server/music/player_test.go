package music_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-space/hearth/internal/audio/audiotest"
	"github.com/hearth-space/hearth/internal/config"
	"github.com/hearth-space/hearth/internal/store"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
)

// tone uploads a WAV of d (a distinct length makes distinct content).
func (c *client) tone(d time.Duration) string {
	c.e.t.Helper()
	return c.track("tone.wav", audiotest.WAV(8000, 1, d, nil))
}

func musicPath(room string, rest ...string) string {
	return "/api/v1/rooms/" + room + "/music" + strings.Join(rest, "")
}

func current(r resp) map[string]any {
	c, _ := r.body["current"].(map[string]any)
	return c
}

func queueIDs(r resp) []string {
	var out []string
	for _, q := range r.body["queue"].([]any) {
		out = append(out, q.(map[string]any)["id"].(string))
	}
	return out
}

func TestQueuePermissionsPerRole(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		owner, mod, member, outsider := e.registered("owner"), e.registered("mod"), e.registered("member"), e.registered("outsider")
		track := owner.tone(time.Second)
		for _, c := range []struct {
			control           string
			owner, mod, membr bool
		}{
			{"owner", true, false, false},
			{"moderators", true, true, false},
			{"everyone", true, true, true},
		} {
			room := owner.createRoom(c.control, "public")
			mod.join(room)
			member.join(room)
			owner.want(owner.do("PUT", "/api/v1/rooms/"+room+"/members/"+mod.id, map[string]string{"role": "moderator"}), 200, "")
			for _, who := range []struct {
				cl      *client
				allowed bool
			}{{owner, c.owner}, {mod, c.mod}, {member, c.membr}, {outsider, false}} {
				add := who.cl.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": track})
				pause := who.cl.do("POST", musicPath(room, "/pause"), nil)
				if who.allowed && (add.status != 200 || pause.status != 200) {
					t.Fatalf("%s in a %q room: add %d pause %d (%s)", who.cl.id, c.control, add.status, pause.status, add.raw)
				}
				if !who.allowed && (add.code() != "forbidden" || pause.code() != "forbidden") {
					t.Fatalf("%s in a %q room was allowed: add %d pause %d", who.cl.id, c.control, add.status, pause.status)
				}
				// Everyone who can see the room sees the player and
				// whether they may control it.
				st := who.cl.want(who.cl.do("GET", musicPath(room), nil), 200, "")
				if st.body["can_control"] != who.allowed || st.str("control") != c.control {
					t.Fatalf("%q room, %s: %s", c.control, who.cl.id, st.raw)
				}
			}
		}
		// Private rooms are invisible to outsiders; banned members are out.
		private := owner.createRoom("everyone", "private")
		outsider.want(outsider.do("GET", musicPath(private), nil), 404, "not_found")
		outsider.want(outsider.do("POST", musicPath(private, "/queue"), map[string]string{"track_id": track}), 404, "not_found")
		room := owner.createRoom("everyone", "public")
		member.join(room)
		owner.want(owner.do("PUT", "/api/v1/rooms/"+room+"/bans/"+member.id, map[string]string{}), 200, "")
		member.want(member.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": track}), 403, "banned")
	})
}

func TestPlayerCommands(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		room := ada.createRoom("everyone", "public")
		t1, t2, t3 := ada.tone(10*time.Second), ada.tone(11*time.Second), ada.tone(12*time.Second)

		idle := ada.want(ada.do("GET", musicPath(room), nil), 200, "")
		if idle.body["version"] != float64(0) || current(idle) != nil || idle.body["stream"] != nil {
			t.Fatalf("idle: %s", idle.raw)
		}
		ada.want(ada.do("POST", musicPath(room, "/play"), nil), 409, "conflict")

		// Adding to an idle player starts it.
		r := ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t1}), 200, "")
		cur := current(r)
		if cur["track"].(map[string]any)["id"] != t1 || r.body["paused"] != false || r.body["position_ms"] != float64(0) {
			t.Fatalf("first add: %s", r.raw)
		}
		st := e.nextState(room)
		if st.GetVersion() != 1 || st.GetCurrent().GetTrack().GetId() != t1 || st.GetCurrent().GetTrack().GetDurationMs() != 10000 ||
			st.GetCurrent().GetAddedBy() != ada.id || st.GetControl() != "everyone" || st.GetServerTimeMs() != float64(e.clk.Now().UnixMilli()) {
			t.Fatalf("published: %v", st)
		}
		stream, _ := r.body["stream"].(map[string]any)
		if stream == nil {
			t.Fatalf("no stream URL for the current track: %s", r.raw)
		}
		ada.want(ada.request("GET", stream["url"].(string), nil, "Range", "bytes=0-3"), 206, "")

		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t2}), 200, "")
		r = ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t3}), 200, "")
		q := queueIDs(r)
		if len(q) != 2 {
			t.Fatalf("queue: %s", r.raw)
		}
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": "nope"}), 400, "validation_failed")
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": "aaaaaaaaaaaaaaaaaaaaaaaaaa"}), 404, "not_found")

		// Reorder.
		r = ada.want(ada.do("PATCH", musicPath(room, "/queue/", q[1]), map[string]int{"index": 0}), 200, "")
		if got := queueIDs(r); got[0] != q[1] || got[1] != q[0] {
			t.Fatalf("reorder: %v", got)
		}
		ada.want(ada.do("PATCH", musicPath(room, "/queue/", "missing"), map[string]int{"index": 0}), 404, "not_found")
		ada.want(ada.do("PATCH", musicPath(room, "/queue/", q[1]), map[string]any{}), 400, "validation_failed")

		// Time passes; pause freezes the position.
		e.clk.Advance(3 * time.Second)
		r = ada.want(ada.do("GET", musicPath(room), nil), 200, "")
		if r.body["position_ms"] != float64(3000) {
			t.Fatalf("position after 3 s: %v", r.body["position_ms"])
		}
		r = ada.want(ada.do("POST", musicPath(room, "/pause"), nil), 200, "")
		if r.body["paused"] != true || r.body["position_ms"] != float64(3000) {
			t.Fatalf("pause: %s", r.raw)
		}
		if st := e.stateVersion(room, uint64(r.body["version"].(float64))); !st.GetPaused() || st.GetPositionMs() != 3000 {
			t.Fatalf("published pause: %v", st)
		}
		v := r.body["version"].(float64)
		e.clk.Advance(5 * time.Second)
		r = ada.want(ada.do("POST", musicPath(room, "/pause"), nil), 200, "")
		if r.body["position_ms"] != float64(3000) || r.body["version"] != v {
			t.Fatalf("paused player moved or changed: %s", r.raw)
		}
		r = ada.want(ada.do("POST", musicPath(room, "/play"), nil), 200, "")
		e.clk.Advance(time.Second)
		r = ada.want(ada.do("GET", musicPath(room), nil), 200, "")
		if r.body["paused"] != false || r.body["position_ms"] != float64(4000) {
			t.Fatalf("resume: %s", r.raw)
		}

		// Seek (clamped), conditional on the entry.
		entry := current(r)["id"].(string)
		r = ada.want(ada.do("POST", musicPath(room, "/seek"), map[string]any{"position_ms": 7500, "entry_id": entry}), 200, "")
		if r.body["position_ms"] != float64(7500) {
			t.Fatalf("seek: %s", r.raw)
		}
		ada.want(ada.do("POST", musicPath(room, "/seek"), map[string]any{"position_ms": 1, "entry_id": q[0]}), 409, "conflict")
		ada.want(ada.do("POST", musicPath(room, "/seek"), map[string]any{"position_ms": -1}), 400, "validation_failed")

		// Skip: the reordered queue plays t3 next; a stale skip does nothing.
		r = ada.want(ada.do("POST", musicPath(room, "/skip"), map[string]string{"entry_id": entry}), 200, "")
		if current(r)["id"] != q[1] || current(r)["track"].(map[string]any)["id"] != t3 {
			t.Fatalf("skip: %s", r.raw)
		}
		ada.want(ada.do("POST", musicPath(room, "/skip"), map[string]string{"entry_id": entry}), 409, "conflict")

		// Remove a queued entry; removing the playing one skips it.
		r = ada.want(ada.do("DELETE", musicPath(room, "/queue/", q[0]), nil), 200, "")
		if len(queueIDs(r)) != 0 {
			t.Fatalf("remove: %s", r.raw)
		}
		r = ada.want(ada.do("DELETE", musicPath(room, "/queue/", q[1]), nil), 200, "")
		if current(r) != nil {
			t.Fatalf("removing the last entry: %s", r.raw)
		}
		ada.want(ada.do("DELETE", musicPath(room, "/queue/", q[1]), nil), 404, "not_found")

		// Play a queued entry directly.
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t1}), 200, "")
		r = ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t2}), 200, "")
		jump := queueIDs(r)[0]
		r = ada.want(ada.do("POST", musicPath(room, "/play"), map[string]string{"entry_id": jump}), 200, "")
		if current(r)["id"] != jump || len(queueIDs(r)) != 0 {
			t.Fatalf("play entry: %s", r.raw)
		}

		for _, op := range []string{"add", "remove", "reorder", "play", "pause", "seek", "skip"} {
			if counter(t, e.reg, "hearth_music_queue_operations_total", "operation", op) < 1 {
				t.Errorf("no %s counted", op)
			}
		}
		logs := e.logs.String()
		if !strings.Contains(logs, `"msg":"music player changed"`) || !strings.Contains(logs, `"room_id":"`+room+`"`) {
			t.Fatal("no player change log line with room_id")
		}
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, `"music player changed"`) && strings.Contains(line, `"operation":"pause"`) &&
				!strings.Contains(line, `"user_id":"`+ada.id+`"`) {
				t.Fatalf("player change without user_id: %s", line)
			}
		}
	})
}

func TestQueueLimit(t *testing.T) {
	e := newEnv(t, "sqlite", withMusic(func(m *config.Music) { m.MaxQueue = 2 }))
	ada := e.registered("ada")
	room := ada.createRoom("everyone", "public")
	tr := ada.tone(time.Second)
	for i := 0; i < 3; i++ { // one plays, two wait
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": tr}), 200, "")
	}
	ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": tr}), 409, "queue_full")
}

func TestVoteSkip(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		owner, a, b, c := e.registered("owner"), e.registered("alice"), e.registered("bobby"), e.registered("carol")
		room := owner.createRoom("owner", "public") // only the owner controls; anyone votes
		for _, m := range []*client{a, b, c} {
			m.join(room)
		}
		t1, t2 := owner.tone(30*time.Second), owner.tone(31*time.Second)
		owner.want(owner.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t1}), 200, "")
		r := owner.want(owner.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t2}), 200, "")
		entry := current(r)["id"].(string)
		a.want(a.do("POST", musicPath(room, "/skip"), nil), 403, "forbidden")

		e.presence.set(room, 4) // majority of 4 present: 3
		r = a.want(a.do("POST", musicPath(room, "/vote-skip"), map[string]string{"entry_id": entry}), 200, "")
		if r.body["skip_votes"] != float64(1) || r.body["skip_votes_needed"] != float64(3) || current(r)["id"] != entry {
			t.Fatalf("first vote: %s", r.raw)
		}
		r = a.want(a.do("POST", musicPath(room, "/vote-skip"), nil), 200, "") // voting twice counts once
		if r.body["skip_votes"] != float64(1) {
			t.Fatalf("second vote by the same user: %s", r.raw)
		}
		e.presence.set(room, 3) // someone left: 2 now suffice
		r = b.want(b.do("POST", musicPath(room, "/vote-skip"), map[string]string{"entry_id": entry}), 200, "")
		if current(r)["track"].(map[string]any)["id"] != t2 || r.body["skip_votes"] != float64(0) {
			t.Fatalf("passing vote: %s", r.raw)
		}
		if st := e.stateVersion(room, uint64(r.body["version"].(float64))); st.GetCurrent().GetTrack().GetId() != t2 || len(st.GetSkipVoterIds()) != 0 {
			t.Fatalf("published: %v", st)
		}
		// A vote for the entry that already went is refused.
		c.want(c.do("POST", musicPath(room, "/vote-skip"), map[string]string{"entry_id": entry}), 409, "conflict")
		outsider := e.registered("outsider")
		outsider.want(outsider.do("POST", musicPath(room, "/vote-skip"), nil), 403, "forbidden")
		if counter(t, e.reg, "hearth_music_queue_operations_total", "operation", "vote_skip") != 2 {
			t.Fatalf("vote_skip operations: %v", counter(t, e.reg, "hearth_music_queue_operations_total", "operation", "vote_skip"))
		}
	})
}

func TestVoteSkipWithoutPresence(t *testing.T) {
	e := newEnv(t, "sqlite", withoutPresence())
	ada := e.registered("ada")
	room := ada.createRoom("everyone", "public")
	ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": ada.tone(time.Second)}), 200, "")
	ada.want(ada.do("POST", musicPath(room, "/vote-skip"), nil), 503, "unavailable")
}

// TestAutoAdvance lets the scheduler move the room on at each track's end,
// driven by a clock the test advances.
func TestAutoAdvance(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		room := ada.createRoom("everyone", "public")
		t1, t2 := ada.tone(2*time.Second), ada.tone(3*time.Second)
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t1}), 200, "")
		start := e.clk.Now().UnixMilli()
		r := ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t2}), 200, "")
		v := uint64(r.body["version"].(float64))

		e.clk.Advance(1500 * time.Millisecond)
		e.clk.Advance(600 * time.Millisecond) // 100 ms past the end of t1
		st := e.stateVersion(room, v+1)
		if st.GetCurrent().GetTrack().GetId() != t2 || st.GetPaused() {
			t.Fatalf("after t1: %v", st)
		}
		// t2 started exactly when t1 ended, not when the scheduler woke.
		if got := st.GetServerTimeMs() - st.GetPositionMs(); got != float64(start+2000) {
			t.Fatalf("t2 started at %v, want %v", got, start+2000)
		}
		e.clk.Advance(3 * time.Second)
		st = e.stateVersion(room, v+2)
		if st.GetCurrent() != nil || len(st.GetQueue()) != 0 {
			t.Fatalf("after t2: %v", st)
		}
		if got := counter(t, e.reg, "hearth_music_queue_operations_total", "operation", "auto_advance"); got != 2 {
			t.Fatalf("auto_advance = %v", got)
		}
		if !strings.Contains(e.logs.String(), `"operation":"auto_advance"`) {
			t.Fatal("no auto-advance log line")
		}
	})
}

// TestStateSurvivesRestart stops the API node and starts another on the
// same database: the room continues on its timeline.
func TestStateSurvivesRestart(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		room := ada.createRoom("everyone", "public")
		paused := ada.createRoom("everyone", "public")
		t1, t2, t3 := ada.tone(10*time.Second), ada.tone(20*time.Second), ada.tone(30*time.Second)
		for _, tr := range []string{t1, t2, t3} {
			ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": tr}), 200, "")
		}
		ada.want(ada.do("POST", musicPath(paused, "/queue"), map[string]string{"track_id": t3}), 200, "")
		e.clk.Advance(4 * time.Second)
		ada.want(ada.do("POST", musicPath(paused, "/pause"), nil), 200, "")
		before := ada.want(ada.do("GET", musicPath(room), nil), 200, "")

		e.node.stop()
		e.clk.Advance(7 * time.Second) // down for 7 s: t1 (10 s) ended at 10 s, t2 is at 1 s
		n2 := e.startNode()
		st, err := n2.svc.PlayerState(ctx(t), room)
		if err != nil {
			t.Fatal(err)
		}
		if st.GetCurrent().GetTrack().GetId() != t2 || st.GetPositionMs() != 1000 || st.GetVersion() <= uint64(before.body["version"].(float64)) {
			t.Fatalf("after restart: %v", st)
		}
		if len(st.GetQueue()) != 1 || st.GetQueue()[0].GetTrack().GetId() != t3 {
			t.Fatalf("queue after restart: %v", st.GetQueue())
		}
		ps, err := n2.svc.PlayerState(ctx(t), paused)
		if err != nil || !ps.GetPaused() || ps.GetPositionMs() != 4000 || ps.GetCurrent().GetTrack().GetId() != t3 {
			t.Fatalf("paused room after restart: %v %v", ps, err)
		}
		// The new node's scheduler carries on.
		e.clk.Advance(19 * time.Second)
		if st := e.stateVersion(room, st.GetVersion()+1); st.GetCurrent().GetTrack().GetId() != t3 {
			t.Fatalf("after t2: %v", st)
		}
	})
}

// TestTwoNodes runs two API nodes on one database: concurrent commands
// through both lose no update, and a track's end is advanced once.
func TestTwoNodes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a := e.node
		b := e.startNode()
		ada := e.registered("ada")
		room := ada.createRoom("everyone", "public")
		first := ada.tone(time.Second)
		tracks := make([]string, 8)
		for i := range tracks {
			tracks[i] = ada.tone(time.Duration(2+i) * time.Second)
		}
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": first}), 200, "")
		var wg sync.WaitGroup
		for i, tr := range tracks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := ada.on(a)
				if i%2 == 1 {
					cl = ada.on(b)
				}
				r := cl.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": tr})
				if r.status != 200 {
					t.Errorf("add via node %d: %d %s", i%2, r.status, r.raw)
				}
			}()
		}
		wg.Wait()
		st, err := a.svc.PlayerState(ctx(t), room)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.GetQueue()) != len(tracks) || st.GetVersion() != uint64(1+len(tracks)) {
			t.Fatalf("after concurrent adds: version %d, %d queued", st.GetVersion(), len(st.GetQueue()))
		}
		seen := map[uint64]bool{}
		for range 1 + len(tracks) {
			v := e.nextState(room).GetVersion()
			if seen[v] {
				t.Fatalf("version %d published twice", v)
			}
			seen[v] = true
		}
		// Both schedulers see the end of the first track; one advances it.
		head := st.GetQueue()[0].GetId()
		e.clk.Advance(1100 * time.Millisecond)
		next := e.stateVersion(room, st.GetVersion()+1)
		if next.GetCurrent().GetId() != head || len(next.GetQueue()) != len(tracks)-1 {
			t.Fatalf("advance: %v", next)
		}
		// Let both schedulers finish their pass, then check nothing else
		// was published for that track end.
		for _, n := range []*node{a, b} {
			if _, err := n.svc.PlayerState(ctx(t), room); err != nil {
				t.Fatal(err)
			}
		}
		total := counter(t, a.reg, "hearth_music_queue_operations_total", "operation", "auto_advance") +
			counter(t, b.reg, "hearth_music_queue_operations_total", "operation", "auto_advance")
		if total != 1 {
			t.Fatalf("the track end was advanced %v times", total)
		}
		p, err := e.db.MusicPlayer(ctx(t), room)
		if err != nil || p.Version != int64(next.GetVersion()) {
			t.Fatalf("stored version %d, published %d (%v)", p.Version, next.GetVersion(), err)
		}
	})
}

func TestDeletingAPlayingTrack(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		room := ada.createRoom("everyone", "public")
		t1, t2 := ada.tone(10*time.Second), ada.tone(11*time.Second)
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t1}), 200, "")
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t2}), 200, "")
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": t1}), 200, "")
		ada.want(ada.do("DELETE", "/api/v1/music/tracks/"+t1, nil), 204, "")
		st := e.stateVersion(room, 4)
		if st.GetCurrent().GetTrack().GetId() != t2 || len(st.GetQueue()) != 0 {
			t.Fatalf("after deleting the playing track: %v", st)
		}
	})
}

// TestPlayerStateForGateway is the welcome snapshot the realtime gateway
// asks for.
func TestPlayerStateForGateway(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ada := e.registered("ada")
		room := ada.createRoom("moderators", "public")
		st, err := e.svc.PlayerState(ctx(t), room)
		if err != nil || st.GetRoomId() != room || st.GetVersion() != 0 || st.GetCurrent() != nil || st.GetControl() != "moderators" {
			t.Fatalf("idle: %v %v", st, err)
		}
		if _, err := e.svc.PlayerState(ctx(t), "aaaaaaaaaaaaaaaaaaaaaaaaaa"); err == nil {
			t.Fatal("a missing room has a player")
		}
		tr := ada.tone(5 * time.Second)
		ada.want(ada.do("POST", musicPath(room, "/queue"), map[string]string{"track_id": tr}), 200, "")
		e.presence.set(room, 5)
		e.clk.Advance(1234 * time.Millisecond)
		st, err = e.svc.PlayerState(ctx(t), room)
		if err != nil || st.GetPositionMs() != 1234 || st.GetServerTimeMs() != float64(e.clk.Now().UnixMilli()) ||
			st.GetSkipVotesNeeded() != 3 || st.GetCurrent().GetTrack().GetContentType() != "audio/wav" ||
			st.GetCurrent().GetTrack().GetTitle() != "tone" {
			t.Fatalf("playing: %v %v", st, err)
		}
		var _ interface {
			PlayerState(context.Context, string) (*musicv1.PlayerState, error)
		} = e.svc
	})
}

var _ = fmt.Sprint
var _ store.Dialect
