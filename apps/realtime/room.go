package realtime

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-space/hearth/internal/obs"
	musicv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/music/v1"
	rtv1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/realtime/v1"
)

// member is one user in a room: one avatar, whatever connections come and
// go (a second connection takes the member over).
type member struct {
	userID   string
	name     string
	guest    bool
	role     rtv1.Role
	state    rtv1.MemberState
	slot     uint32
	joinedAt time.Time
	sess     *session

	// Pose state, written by the member's reader, read by the tick.
	pmu      sync.Mutex
	pose     pose
	ver      uint64 // room-wide version of the latest pose
	at       time.Time
	stamp    uint32
	lastMove time.Time

	// Tick-only: this member's entry encoded at version entryVer.
	entry    []byte
	entryVer uint64
}

func (m *member) proto() *rtv1.Member {
	m.pmu.Lock()
	p := m.pose
	m.pmu.Unlock()
	return &rtv1.Member{
		Slot: m.slot, UserId: m.userID, DisplayName: m.name, Role: m.role, State: m.state,
		Pose: p.proto(), Guest: m.guest, JoinedAtMs: msTime(m.joinedAt),
	}
}

// room is the live state of one room on this node. mu guards members,
// sessions and everything they deliver, so all members see reliable events
// in one order. A goroutine per room runs the tick.
type room struct {
	g      *Gateway
	id     string
	log    *slog.Logger
	bounds bounds

	mu       sync.Mutex
	info     *rtv1.RoomInfo
	members  map[string]*member
	slots    []*member
	chat     []*rtv1.ChatMessage
	music    *musicv1.PlayerState
	stopped  bool
	lastPing time.Time
	// presenceDirty marks a membership change not yet published.
	presenceDirty bool
	// wake, in eager flush mode, tells the tick goroutine a pose arrived.
	wake chan struct{}

	// chatMu orders chat: seq assignment, persistence, broadcast.
	chatMu  sync.Mutex
	chatSeq int64

	versions atomic.Uint64
	// lastVer and deferred let a tick with nothing to send return at once:
	// no pose changed since the last tick and nobody is owed one.
	lastVer  uint64
	deferred bool
	done     chan struct{}
	stopOnce sync.Once
}

func newRoom(g *Gateway, info *rtv1.RoomInfo, chat []*rtv1.ChatMessage, chatSeq int64, music *musicv1.PlayerState) *room {
	return &room{
		g: g, id: info.Id, info: info, bounds: sceneBounds(info.Scene),
		log:     g.log.With(slog.String(obs.KeyRoomID, info.Id)),
		members: map[string]*member{}, chat: chat, chatSeq: chatSeq, music: music,
		done: make(chan struct{}), lastPing: g.now(), wake: make(chan struct{}, 1),
	}
}

// limits is what the welcome tells a client about this room.
func (r *room) limits() *rtv1.Limits {
	c := r.g.cfg
	return &rtv1.Limits{
		TickHz: uint32(c.TickRate), MaxPoseHz: uint32(c.MaxPoseRate), MaxChatChars: maxChatChars,
		MaxFrameBytes: uint32(c.MaxFrameBytes), PingIntervalMs: uint32(c.PingInterval.Milliseconds()),
		IdleTimeoutMs: uint32(c.IdleTimeout.Milliseconds()), ResumeGraceMs: uint32(c.ResumeGrace.Milliseconds()),
		Bounds: r.bounds.proto(),
	}
}

// snapshot is the room's full state for a welcome. Called with mu held.
func (r *room) snapshot() *rtv1.RoomSnapshot {
	s := &rtv1.RoomSnapshot{Info: r.info, Chat: r.chat, Music: r.music}
	for _, m := range r.slots {
		if m != nil {
			s.Members = append(s.Members, m.proto())
		}
	}
	return s
}

// broadcast delivers a reliable event to every member except skip (may be
// nil). Called with mu held.
func (r *room) broadcast(msg *rtv1.ServerMessage, skip *member) {
	p := encodePayload(msg)
	for _, m := range r.slots {
		if m == nil || m == skip {
			continue
		}
		r.deliver(m.sess, p)
	}
}

// deliver sends a reliable payload to one session, closing its connection
// as a slow consumer when its queue is full. Called with mu held.
func (r *room) deliver(s *session, p payload) {
	if err := s.deliver(p); err != nil {
		r.g.metrics.dropped.WithLabelValues("slow_consumer").Inc()
		r.g.closeConn(s.conn, closeSlowConsumer)
	}
}

// sendDirect queues an unnumbered message (pong, error, token warnings) on
// a connection.
func (r *room) sendDirect(c *conn, msg *rtv1.ServerMessage) {
	if c == nil {
		return
	}
	if err := c.sendReliable(encodePayload(msg)); err != nil {
		r.g.metrics.dropped.WithLabelValues("slow_consumer").Inc()
		r.g.closeConn(c, closeSlowConsumer)
	}
}

// freeSlot returns the lowest unused slot. Called with mu held.
func (r *room) freeSlot() uint32 {
	for i, m := range r.slots {
		if m == nil {
			return uint32(i)
		}
	}
	r.slots = append(r.slots, nil)
	return uint32(len(r.slots) - 1)
}

// spawn is where a new member appears: near the scene's origin, spread out
// so avatars do not stack.
func (r *room) spawn() pose {
	return r.bounds.clamp(pose{x: int32(rand.IntN(4000) - 2000), z: int32(rand.IntN(4000) - 2000), yaw: uint32(rand.IntN(65536))})
}

// addMember creates a member with a fresh session. Called with mu held.
func (r *room) addMember(userID, name string, guest bool, role rtv1.Role) *member {
	now := r.g.now()
	m := &member{
		userID: userID, name: name, guest: guest, role: role, state: rtv1.MemberState_MEMBER_STATE_ACTIVE,
		slot: r.freeSlot(), joinedAt: now, pose: r.spawn(), ver: r.versions.Add(1), at: now,
	}
	r.slots[m.slot] = m
	r.members[userID] = m
	r.presenceDirty = true
	return m
}

// removeMember takes a member out and tells everyone. Called with mu held.
func (r *room) removeMember(m *member, reason rtv1.LeaveReason) {
	if r.members[m.userID] != m {
		return
	}
	delete(r.members, m.userID)
	r.slots[m.slot] = nil
	r.presenceDirty = true
	r.g.forgetSession(m.sess)
	r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_MemberLeft{MemberLeft: &rtv1.MemberLeft{
		UserId: m.userID, Slot: m.slot, Reason: reason,
	}}}, nil)
	r.log.Info("member left", obs.KeyUserID, m.userID, obs.KeySessionID, m.sess.id, "reason", reason.String(),
		"duration_s", r.g.now().Sub(m.joinedAt).Seconds())
}

// setState changes a member's state and tells everyone. Called with mu held.
func (r *room) setState(m *member, st rtv1.MemberState) {
	if m.state == st {
		return
	}
	m.state = st
	// The member itself knows its state.
	r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_MemberUpdated{MemberUpdated: &rtv1.MemberUpdated{Member: m.proto()}}}, m)
}

// updatePose records a member's new pose (reader goroutine).
func (r *room) updatePose(m *member, p pose, stamp uint32, now time.Time) (clamped bool) {
	m.pmu.Lock()
	defer m.pmu.Unlock()
	p, clamped = limitSpeed(m.pose, p, now.Sub(m.lastMove), r.g.cfg.MaxSpeed)
	m.pose, m.stamp, m.at, m.lastMove = p, stamp, now, now
	m.ver = r.versions.Add(1)
	if r.g.cfg.Flush == FlushEager {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	return clamped
}

// run ticks until the room stops: pose frames every tick, housekeeping
// every second. In eager flush mode a pose also wakes the room, which then
// sends at once (at most once per FlushMinGap, coalescing what piled up);
// the tick still runs for the reduced-rate members.
func (r *room) run() {
	cfg := r.g.cfg
	t := time.NewTicker(time.Second / time.Duration(cfg.TickRate))
	defer t.Stop()
	reduced := time.Second / time.Duration(max(1, cfg.ReducedRate))
	var (
		entries   [][]byte
		dists     []float64
		lastBuild time.Time
		lastHouse = time.Now()
		gap       *time.Timer
		gapC      <-chan time.Time
	)
	build := func() {
		entries, dists = r.tick(reduced, entries, dists)
		lastBuild = time.Now()
	}
	for {
		select {
		case <-r.done:
			if gap != nil {
				gap.Stop()
			}
			return
		case <-t.C:
			build()
		case <-r.wake:
			if since := time.Since(lastBuild); since < cfg.FlushMinGap {
				if gapC == nil {
					gap = time.NewTimer(cfg.FlushMinGap - since)
					gapC = gap.C
				}
				continue
			}
			build()
		case <-gapC:
			gapC = nil
			build()
		}
		if time.Since(lastHouse) >= time.Second {
			lastHouse = time.Now()
			if r.housekeeping() {
				r.g.removeRoomIfEmpty(r)
			}
		}
	}
}

// tick sends each connected member one frame with the latest poses that
// changed since it last got them: the nearest InterestCount members (and
// any within InterestRadius) every time, the others once per reduced
// interval.
func (r *room) tick(reduced time.Duration, entries [][]byte, dists []float64) ([][]byte, []float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return entries, dists
	}
	cur := r.versions.Load()
	if cur == r.lastVer && !r.deferred {
		return entries, dists
	}
	r.lastVer, r.deferred = cur, false
	now := r.g.now()
	serverMS := msTime(now)
	type snap struct {
		m   *member
		p   pose
		ver uint64
		at  time.Time
	}
	snaps := make([]snap, 0, len(r.members))
	for _, m := range r.slots {
		if m == nil {
			continue
		}
		m.pmu.Lock()
		s := snap{m: m, p: m.pose, ver: m.ver, at: m.at}
		stamp := m.stamp
		m.pmu.Unlock()
		if m.entryVer != s.ver {
			m.entry = appendPoseEntry(m.entry[:0], m.slot, s.p, stamp)
			m.entryVer = s.ver
		}
		snaps = append(snaps, s)
	}
	interest := r.g.cfg.InterestCount
	radius2 := r.g.cfg.InterestRadius * 1000 * r.g.cfg.InterestRadius * 1000
	for _, self := range snaps {
		sess := self.m.sess
		c := sess.conn
		if c == nil {
			continue
		}
		// A frame still unwritten is taken back; its members go into this
		// one with their latest poses.
		if old := c.takePose(); old != nil {
			r.g.metrics.coalesced.Inc()
			r.deferred = true
			for _, slot := range old.slots {
				sess.setSent(slot, 0)
			}
		}
		// Distance threshold for the nearest `interest` others.
		cut := -1.0
		if len(snaps)-1 > interest {
			dists = dists[:0]
			for _, o := range snaps {
				if o.m != self.m {
					dists = append(dists, dist2(self.p, o.p))
				}
			}
			slices.Sort(dists)
			cut = dists[interest-1]
		}
		reducedTick := !now.Before(sess.nextReduced)
		if reducedTick {
			// Half a tick early is on time: ticks jitter.
			sess.nextReduced = now.Add(reduced - time.Second/time.Duration(2*r.g.cfg.TickRate))
		}
		entries = entries[:0]
		var slots []uint32
		oldest := now
		for _, o := range snaps {
			if o.m == self.m || o.ver <= sess.sentVersion(o.m.slot) {
				continue
			}
			if cut >= 0 && !reducedTick {
				d := dist2(self.p, o.p)
				if d > cut && d > radius2 {
					r.deferred = true // owed at its next reduced tick
					continue
				}
			}
			entries = append(entries, o.m.entry)
			slots = append(slots, o.m.slot)
			sess.setSent(o.m.slot, o.ver)
			if o.at.Before(oldest) {
				oldest = o.at
			}
		}
		if len(entries) == 0 {
			continue
		}
		f := &outFrame{buf: poseFrame(nil, serverMS, entries), slots: slots, oldest: oldest}
		c.setPose(f)
	}
	return entries, dists
}

// housekeeping runs once a second: token warnings and expiry, pings, and
// the end of resume grace periods. It reports whether the room is empty.
func (r *room) housekeeping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.g.now()
	cfg := r.g.cfg
	ping := now.Sub(r.lastPing) >= cfg.PingInterval
	if ping {
		r.lastPing = now
	}
	for _, m := range r.slots {
		if m == nil {
			continue
		}
		s := m.sess
		if s.conn != nil {
			if ping {
				s.conn.sendPing()
			}
			switch {
			case !now.Before(s.tokenExp):
				r.g.goodbye(s.conn, closeTokenExpired, "the realtime token expired: refresh it and resume")
			case !s.warned && now.After(s.tokenExp.Add(-cfg.TokenWarning)):
				s.warned = true
				r.sendDirect(s.conn, &rtv1.ServerMessage{Msg: &rtv1.ServerMessage_TokenExpiring{
					TokenExpiring: &rtv1.TokenExpiring{ExpiresAtMs: msTime(s.tokenExp)}}})
			}
			continue
		}
		if now.Sub(s.droppedAt) >= cfg.ResumeGrace {
			r.removeMember(m, rtv1.LeaveReason_LEAVE_REASON_TIMEOUT)
		}
	}
	return len(r.members) == 0
}

// stop ends the tick goroutine. Called with mu held.
func (r *room) stop() {
	r.stopped = true
	r.stopOnce.Do(func() { close(r.done) })
}

// setMusic records and relays the player's state, ignoring stale versions.
func (r *room) setMusic(st *musicv1.PlayerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.music != nil && st.GetVersion() <= r.music.GetVersion() {
		return
	}
	r.music = st
	r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_Music{Music: st}}, nil)
}

// reloadInfo refreshes the room's settings from the store and tells
// everyone.
func (r *room) reloadInfo(ctx context.Context) {
	info, err := r.g.loadInfo(ctx, r.id)
	if err != nil {
		r.log.Warn("reload room info", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info = info
	r.broadcast(&rtv1.ServerMessage{Msg: &rtv1.ServerMessage_RoomUpdated{RoomUpdated: &rtv1.RoomUpdated{Info: info}}}, nil)
}

func msTime(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }
