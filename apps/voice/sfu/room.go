package sfu

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"

	"github.com/hearth-space/hearth/internal/obs"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

var errRoomClosing = errors.New("sfu: room closing")

// Room is one room's voice: its participants (one per user) and the loops
// that detect speakers and score quality.
type Room struct {
	id  string
	sfu *SFU
	log *slog.Logger

	mu      sync.Mutex
	parts   map[string]*Participant // by user id
	ups     map[string]*upTrack     // by publisher user id
	closing bool

	stop chan struct{}
}

func newRoom(s *SFU, id string) *Room {
	r := &Room{id: id, sfu: s, parts: map[string]*Participant{}, ups: map[string]*upTrack{}, stop: make(chan struct{})}
	r.log = s.cfg.Log.With(slog.String(obs.KeyRoomID, id))
	s.loops.Add(1)
	go r.loop()
	return r
}

// ID is the room id.
func (r *Room) ID() string { return r.id }

func (r *Room) join(ctx context.Context, info ParticipantInfo, sink Sink) (*Participant, error) {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil, errRoomClosing
	}
	old := r.parts[info.UserID]
	r.mu.Unlock()
	if old != nil {
		old.Close(voicev1.LeaveReason_LEAVE_REASON_REPLACED)
	}

	p, err := newParticipant(ctx, r, info, sink)
	if err != nil {
		r.maybeEmpty()
		return nil, err
	}
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		p.closePC()
		return nil, errRoomClosing
	}
	if prev := r.parts[info.UserID]; prev != nil {
		// Two joins of one user raced; the later wins.
		r.mu.Unlock()
		prev.Close(voicev1.LeaveReason_LEAVE_REASON_REPLACED)
		r.mu.Lock()
	}
	r.parts[info.UserID] = p
	r.mu.Unlock()
	r.sfu.cfg.Metrics.participants.Inc()
	r.broadcast(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_ParticipantJoined{
		ParticipantJoined: &voicev1.ParticipantJoined{Participant: p.record()},
	}}, p)
	return p, nil
}

// Participants returns the room's participants, by user id.
func (r *Room) Participants() []*Participant {
	r.mu.Lock()
	out := make([]*Participant, 0, len(r.parts))
	for _, p := range r.parts {
		out = append(out, p)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].info.UserID < out[j].info.UserID })
	return out
}

// Participant returns the participant of userID, or nil.
func (r *Room) Participant(userID string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parts[userID]
}

// records lists everyone's participant record.
func (r *Room) records() []*voicev1.Participant {
	ps := r.Participants()
	out := make([]*voicev1.Participant, len(ps))
	for i, p := range ps {
		out[i] = p.record()
	}
	return out
}

// broadcast sends msg to every participant but except.
func (r *Room) broadcast(msg *voicev1.ServerMessage, except *Participant) {
	for _, p := range r.Participants() {
		if p != except {
			p.send(msg)
		}
	}
}

// remove forgets p (once) and tells the others; it reports whether p was
// still in the room.
func (r *Room) remove(p *Participant, reason voicev1.LeaveReason) bool {
	r.mu.Lock()
	if r.parts[p.info.UserID] != p {
		r.mu.Unlock()
		return false
	}
	delete(r.parts, p.info.UserID)
	up := r.ups[p.info.UserID]
	if up != nil && up.pub == p {
		delete(r.ups, p.info.UserID)
	} else {
		up = nil
	}
	others := make([]*Participant, 0, len(r.parts))
	for _, o := range r.parts {
		others = append(others, o)
	}
	r.mu.Unlock()
	r.sfu.cfg.Metrics.participants.Dec()
	if up != nil {
		for _, o := range others {
			o.unsubscribe(up)
		}
	}
	r.broadcast(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_ParticipantLeft{
		ParticipantLeft: &voicev1.ParticipantLeft{UserId: p.info.UserID, Reason: reason},
	}}, nil)
	r.maybeEmpty()
	return true
}

// maybeEmpty closes the room when nobody is left.
func (r *Room) maybeEmpty() {
	r.mu.Lock()
	if len(r.parts) > 0 || r.closing {
		r.mu.Unlock()
		return
	}
	r.closing = true
	r.mu.Unlock()
	r.sfu.removeRoom(r)
	close(r.stop) // the loop exits; SFU.Close waits for it
}

// addPublisher registers p's microphone and subscribes every ready
// participant to it.
func (r *Room) addPublisher(up *upTrack) {
	r.mu.Lock()
	if r.parts[up.pub.info.UserID] != up.pub {
		r.mu.Unlock()
		return
	}
	old := r.ups[up.pub.info.UserID]
	r.ups[up.pub.info.UserID] = up
	subs := make([]*Participant, 0, len(r.parts))
	for _, o := range r.parts {
		if o != up.pub {
			subs = append(subs, o)
		}
	}
	r.mu.Unlock()
	for _, o := range subs {
		if old != nil {
			o.unsubscribe(old)
		}
		o.subscribe(up)
	}
}

// publishers lists the room's microphones but p's own.
func (r *Room) publishers(except *Participant) []*upTrack {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*upTrack, 0, len(r.ups))
	for _, u := range r.ups {
		if u.pub != except {
			out = append(out, u)
		}
	}
	return out
}

// ServerMute mutes or unmutes userID's forwarding on behalf of by (a
// moderator or owner) and tells everyone.
func (r *Room) ServerMute(by *Participant, userID string, muted bool) error {
	if by != nil && by.role() != "moderator" && by.role() != "owner" {
		return ErrForbidden
	}
	target := r.Participant(userID)
	if target == nil {
		return ErrNoParticipant
	}
	byID := ""
	if by != nil {
		byID = by.info.UserID
	}
	target.setServerMuted(muted, byID)
	return nil
}

// Kick closes userID's participant with reason (banned, kicked).
func (r *Room) Kick(userID string, reason voicev1.LeaveReason) bool {
	p := r.Participant(userID)
	if p == nil {
		return false
	}
	p.Close(reason)
	return true
}

// Close ends every participant with reason.
func (r *Room) Close(reason voicev1.LeaveReason) {
	for _, p := range r.Participants() {
		p.Close(reason)
	}
}
