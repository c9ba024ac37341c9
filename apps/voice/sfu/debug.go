package sfu

import (
	"sort"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// RoomDebug is a room as the QoS debug endpoint shows it.
type RoomDebug struct {
	ID           string             `json:"id"`
	Participants []ParticipantDebug `json:"participants"`
}

// ParticipantDebug is one participant's state, tracks and latest QoS.
type ParticipantDebug struct {
	UserID        string       `json:"user_id"`
	SessionID     string       `json:"session_id"`
	Role          string       `json:"role"`
	State         string       `json:"state"`
	ICEState      string       `json:"ice_state"`
	Muted         bool         `json:"muted"`
	ServerMuted   bool         `json:"server_muted"`
	Publishing    *TrackDebug  `json:"publishing,omitempty"`
	Subscriptions []TrackDebug `json:"subscriptions"`
	QoS           *QoSDebug    `json:"qos,omitempty"`
	Revision      uint32       `json:"offer_revision"`
}

// TrackDebug is one track: the microphone (publishing) or a subscription.
type TrackDebug struct {
	UserID  string `json:"user_id"`
	Mid     string `json:"mid,omitempty"`
	SSRC    uint32 `json:"ssrc"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// QoSDebug is the latest quality interval.
type QoSDebug struct {
	Quality  string      `json:"quality"`
	Score    float32     `json:"score"`
	RTTMs    float32     `json:"rtt_ms"`
	Inbound  StreamDebug `json:"inbound"`
	Outbound StreamDebug `json:"outbound"`
}

// StreamDebug is one direction of a participant's media.
type StreamDebug struct {
	Packets  uint64  `json:"packets"`
	Bytes    uint64  `json:"bytes"`
	Loss     float32 `json:"loss"`
	JitterMs float32 `json:"jitter_ms"`
	Bitrate  float32 `json:"bitrate_bps"`
}

// Debug lists every room with its participants.
func (s *SFU) Debug() []RoomDebug {
	var out []RoomDebug
	for _, r := range s.Rooms() {
		rd := RoomDebug{ID: r.id, Participants: []ParticipantDebug{}}
		for _, p := range r.Participants() {
			rd.Participants = append(rd.Participants, p.debug())
		}
		out = append(out, rd)
	}
	return out
}

func (p *Participant) debug() ParticipantDebug {
	rec := p.record()
	p.negMu.Lock()
	rev := p.revision
	p.negMu.Unlock()
	p.mu.Lock()
	d := ParticipantDebug{
		UserID: p.info.UserID, SessionID: p.info.SessionID, Role: p.info.Role,
		State: rec.State.String(), ICEState: p.iceState.String(), Muted: p.muted, ServerMuted: p.serverMuted.Load(),
		Subscriptions: []TrackDebug{}, Revision: rev,
	}
	for u, dt := range p.downs {
		mid := ""
		if dt.tr != nil {
			mid = dt.tr.Mid()
		}
		d.Subscriptions = append(d.Subscriptions, TrackDebug{UserID: u.pub.info.UserID, Mid: mid, SSRC: dt.SSRC(), Packets: dt.packets.Load(), Bytes: dt.bytes.Load()})
	}
	q := p.quality.latest
	p.mu.Unlock()
	sort.Slice(d.Subscriptions, func(i, j int) bool { return d.Subscriptions[i].UserID < d.Subscriptions[j].UserID })
	if u := p.up.Load(); u != nil {
		d.Publishing = &TrackDebug{UserID: p.info.UserID, SSRC: uint32(u.remote.SSRC()), Packets: u.packets.Load(), Bytes: u.bytes.Load()}
	}
	if q != nil {
		d.QoS = &QoSDebug{Quality: q.Quality.String(), Score: q.Score, RTTMs: q.RttMs, Inbound: streamDebug(q.Inbound), Outbound: streamDebug(q.Outbound)}
	}
	return d
}

func streamDebug(s *voicev1.StreamStats) StreamDebug {
	if s == nil {
		return StreamDebug{}
	}
	return StreamDebug{Packets: s.Packets, Bytes: s.Bytes, Loss: s.Loss, JitterMs: s.JitterMs, Bitrate: s.Bitrate}
}
