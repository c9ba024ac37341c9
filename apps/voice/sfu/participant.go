package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/hearth-space/hearth/apps/voice/rtptrack"
	"github.com/hearth-space/hearth/apps/voice/signal"
	"github.com/hearth-space/hearth/internal/obs"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Participant is one user's voice session: its peer connection, its
// microphone and its subscriptions to everyone else's.
type Participant struct {
	room *Room
	info ParticipantInfo
	log  *slog.Logger
	api  *webrtc.API
	pc   *webrtc.PeerConnection

	stats atomic.Value // stats.Getter

	sinkMu sync.Mutex
	sink   Sink // nil while the signalling connection is away

	serverMuted atomic.Bool

	mu            sync.Mutex
	closed        bool
	ready         bool // the client's offer has been answered
	muted         bool
	mutedBy       string
	iceState      webrtc.ICEConnectionState
	everConnected bool
	unhealthy     time.Time // since when ICE is not connected (zero: healthy)
	restartTimer  *time.Timer
	downs         map[*upTrack]*downTrack
	free          []*webrtc.RTPTransceiver
	pendingFree   []freeing

	// Negotiation: the SFU is the only offerer after the client's first
	// offer, with one offer in flight at a time.
	negMu       sync.Mutex
	candMu      sync.Mutex
	holdCands   bool
	heldCands   []*voicev1.IceCandidate
	revision    uint32
	awaiting    bool
	pending     bool
	wantRestart bool

	up atomic.Pointer[upTrack]

	joinedAt time.Time
	iceSpan  trace.Span
	wg       sync.WaitGroup

	quality qualityState // owned by the room loop
}

// freeing is a transceiver whose track was removed in offer revision rev;
// it can carry another participant once that offer has been answered.
type freeing struct {
	tr  *webrtc.RTPTransceiver
	rev uint32
}

func newParticipant(ctx context.Context, r *Room, info ParticipantInfo, sink Sink) (*Participant, error) {
	p := &Participant{
		room: r, info: info, sink: sink, muted: info.Muted,
		downs:    map[*upTrack]*downTrack{},
		joinedAt: time.Now(),
		iceState: webrtc.ICEConnectionStateNew,
	}
	p.log = r.log.With(slog.String(obs.KeyUserID, info.UserID), slog.String(obs.KeySessionID, info.SessionID))
	api, err := r.sfu.newAPI(func(g stats.Getter) { p.stats.Store(g) })
	if err != nil {
		return nil, err
	}
	p.api = api
	if p.pc, err = api.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	}); err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	_, p.iceSpan = r.sfu.tracer.Start(ctx, "voice.ice_connect", trace.WithAttributes(attribute.String("room_id", r.id)))
	p.pc.OnICECandidate(p.onCandidate)
	p.pc.OnICEConnectionStateChange(p.onICEState)
	p.pc.OnTrack(p.onTrack)
	r.sfu.cfg.Metrics.connections.WithLabelValues(ConnSignalConnected).Inc()
	return p, nil
}

// Info is who the participant is.
func (p *Participant) Info() ParticipantInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info
}

// SetRole applies a role change from the API and tells everyone.
func (p *Participant) SetRole(role string) {
	p.mu.Lock()
	changed := p.info.Role != role && role != ""
	if changed {
		p.info.Role = role
	}
	p.mu.Unlock()
	if changed {
		p.announce()
	}
}

func (p *Participant) role() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.info.Role
}

// Room is the participant's room.
func (p *Participant) Room() *Room { return p.room }

// Log is the participant's logger (room, user and session fields).
func (p *Participant) Log() *slog.Logger { return p.log }

func (p *Participant) send(msg *voicev1.ServerMessage) {
	p.sinkMu.Lock()
	s := p.sink
	p.sinkMu.Unlock()
	if s != nil {
		s.Send(msg)
	}
}

// record is the participant as others see it.
func (p *Participant) record() *voicev1.Participant {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &voicev1.Participant{
		UserId: p.info.UserID, DisplayName: p.info.Name, Role: roleOf(p.info.Role), State: p.stateLocked(),
		Muted: p.muted, ServerMuted: p.serverMuted.Load(), MutedBy: p.mutedBy, Guest: p.info.Guest,
	}
}

func (p *Participant) stateLocked() voicev1.ParticipantState {
	p.sinkMu.Lock()
	attached := p.sink != nil
	p.sinkMu.Unlock()
	switch {
	case !attached:
		return voicev1.ParticipantState_PARTICIPANT_STATE_RECONNECTING
	case p.iceState == webrtc.ICEConnectionStateConnected || p.iceState == webrtc.ICEConnectionStateCompleted:
		return voicev1.ParticipantState_PARTICIPANT_STATE_CONNECTED
	case p.everConnected:
		return voicev1.ParticipantState_PARTICIPANT_STATE_RECONNECTING
	}
	return voicev1.ParticipantState_PARTICIPANT_STATE_CONNECTING
}

func roleOf(r string) voicev1.Role {
	switch r {
	case "owner":
		return voicev1.Role_ROLE_OWNER
	case "moderator":
		return voicev1.Role_ROLE_MODERATOR
	case "member":
		return voicev1.Role_ROLE_MEMBER
	}
	return voicev1.Role_ROLE_UNSPECIFIED
}

// announce tells everyone (the participant included) its current record.
func (p *Participant) announce() {
	p.room.broadcast(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_ParticipantUpdated{
		ParticipantUpdated: &voicev1.ParticipantUpdated{Participant: p.record()},
	}}, nil)
}

// ValidateOffer checks that an offer is what a Hearth client publishes: one
// audio section that offers Opus, and nothing else.
func ValidateOffer(s string) error {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return fmt.Errorf("%w: not SDP: %v", ErrBadOffer, err)
	}
	audio := 0
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			return fmt.Errorf("%w: only audio is accepted, not %q", ErrBadOffer, m.MediaName.Media)
		}
		audio++
		opus := false
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToLower(a.Value), "opus/48000") {
				opus = true
			}
		}
		if !opus {
			return fmt.Errorf("%w: the audio section does not offer Opus", ErrBadOffer)
		}
	}
	if audio != 1 {
		return fmt.Errorf("%w: want exactly one audio section, got %d", ErrBadOffer, audio)
	}
	return nil
}

// HandleOffer answers the client's one offer (its microphone), then
// subscribes the participant to everyone already publishing, which the SFU
// offers next. The answer is sent through the sink before any server offer.
func (p *Participant) HandleOffer(offer string) error {
	if err := ValidateOffer(offer); err != nil {
		return err
	}
	p.negMu.Lock()
	p.mu.Lock()
	if p.ready || p.closed {
		p.mu.Unlock()
		p.negMu.Unlock()
		return fmt.Errorf("%w: the offer was already answered", ErrOutOfOrder)
	}
	p.mu.Unlock()
	_, span := p.room.sfu.tracer.Start(trace.ContextWithSpan(context.Background(), p.iceSpan), "voice.offer_answer")
	defer span.End()
	fail := func(err error) error {
		span.SetStatus(codes.Error, err.Error())
		p.negMu.Unlock()
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(err)
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	p.holdCandidates()
	if err := p.pc.SetLocalDescription(answer); err != nil {
		p.releaseCandidates()
		return fail(err)
	}
	p.send(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Answer{Answer: &voicev1.SessionDescription{Sdp: opusFmtp(p.pc.LocalDescription().SDP)}}})
	p.releaseCandidates()
	p.mu.Lock()
	p.ready = true
	waiting := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		waiting = append(waiting, d)
	}
	p.mu.Unlock()
	p.negMu.Unlock()

	for _, d := range waiting {
		p.attach(d)
	}
	for _, u := range p.room.publishers(p) {
		p.subscribe(u) // negotiates
	}
	if len(waiting) > 0 {
		p.negotiate(false)
	}
	return nil
}

// HandleAnswer applies the client's answer to offer revision rev.
func (p *Participant) HandleAnswer(rev uint32, answer string) error {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if !p.awaiting || rev != p.revision {
		return fmt.Errorf("%w: no offer %d is waiting for an answer (current %d)", ErrOutOfOrder, rev, p.revision)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	p.awaiting = false
	p.mu.Lock()
	keep := p.pendingFree[:0]
	for _, f := range p.pendingFree {
		if f.rev <= rev {
			p.free = append(p.free, f.tr)
		} else {
			keep = append(keep, f)
		}
	}
	p.pendingFree = keep
	p.mu.Unlock()
	if p.pending || p.wantRestart {
		p.offerLocked()
	}
	return nil
}

// AddCandidate adds a client's trickled ICE candidate; an empty candidate
// ends the client's candidates.
func (p *Participant) AddCandidate(c *voicev1.IceCandidate) error {
	if p.pc.RemoteDescription() == nil {
		return fmt.Errorf("%w: candidate before offer", ErrOutOfOrder)
	}
	init := signal.CandidateFromProto(c)
	if err := p.pc.AddICECandidate(init); err != nil {
		return fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	return nil
}

func (p *Participant) onCandidate(c *webrtc.ICECandidate) {
	msg := signal.CandidateToProto(c)
	// A candidate must never reach the client before the description it
	// belongs to: while one is being made, candidates wait (Pion may even
	// deliver them from inside SetLocalDescription).
	p.candMu.Lock()
	defer p.candMu.Unlock()
	if p.holdCands {
		p.heldCands = append(p.heldCands, msg)
		return
	}
	p.send(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Candidate{Candidate: msg}})
}

// holdCandidates queues local candidates until releaseCandidates, which is
// called once the description they belong to has been sent.
func (p *Participant) holdCandidates() {
	p.candMu.Lock()
	p.holdCands = true
	p.candMu.Unlock()
}

func (p *Participant) releaseCandidates() {
	p.candMu.Lock()
	defer p.candMu.Unlock()
	for _, c := range p.heldCands {
		p.send(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Candidate{Candidate: c}})
	}
	p.heldCands, p.holdCands = nil, false
}

// negotiate sends a new offer now, or after the one in flight is answered.
func (p *Participant) negotiate(restart bool) {
	p.negMu.Lock()
	defer p.negMu.Unlock()
	if restart {
		p.wantRestart = true
	}
	p.mu.Lock()
	ready, closed := p.ready, p.closed
	p.mu.Unlock()
	if !ready || closed {
		return
	}
	p.sinkMu.Lock()
	attached := p.sink != nil
	p.sinkMu.Unlock()
	if p.awaiting || !attached {
		p.pending = true
		return
	}
	p.offerLocked()
}

// offerLocked creates, applies and sends an offer; negMu is held.
func (p *Participant) offerLocked() {
	restart := p.wantRestart
	offer, err := p.pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
	p.holdCandidates()
	defer p.releaseCandidates()
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.log.Warn("voice offer failed", "err", err)
		p.pending = true
		return
	}
	p.revision++
	p.awaiting, p.pending, p.wantRestart = true, false, false
	p.log.Debug("voice offer", "revision", p.revision, "restart", restart)
	if restart {
		p.room.sfu.cfg.Metrics.iceRestarts.Inc()
		p.log.Info("voice ice restart offered", "revision", p.revision)
		// A span of its own, linked to the join's ICE span, so the trace of
		// the join shows the reconnects that followed it.
		_, rs := p.room.sfu.tracer.Start(context.Background(), "voice.ice_restart",
			trace.WithLinks(trace.LinkFromContext(trace.ContextWithSpan(context.Background(), p.iceSpan))))
		rs.End()
	}
	p.sendOfferLocked()
}

// sendOfferLocked sends the track map and the current local offer.
func (p *Participant) sendOfferLocked() {
	p.send(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Tracks{Tracks: p.trackMap()}})
	p.send(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Offer{Offer: &voicev1.SessionDescription{
		Sdp: opusFmtp(p.pc.LocalDescription().SDP), Revision: p.revision,
	}}})
}

// trackMap lists the participant's receiving transceivers.
func (p *Participant) trackMap() *voicev1.TrackMap {
	p.mu.Lock()
	defer p.mu.Unlock()
	tm := &voicev1.TrackMap{Revision: p.revision}
	for u, d := range p.downs {
		if d.tr == nil {
			continue
		}
		tm.Tracks = append(tm.Tracks, &voicev1.TrackInfo{
			Mid: d.tr.Mid(), StreamId: d.track.StreamID(), TrackId: d.track.ID(),
			UserId: u.pub.info.UserID, Ssrc: d.SSRC(),
		})
	}
	return tm
}

// subscribe makes the participant receive u.
func (p *Participant) subscribe(u *upTrack) {
	p.mu.Lock()
	if p.closed || p.downs[u] != nil || u.pub == p {
		p.mu.Unlock()
		return
	}
	d := &downTrack{up: u, sub: p, track: rtptrack.New("a-"+u.pub.info.SessionID, u.pub.info.UserID)}
	p.downs[u] = d
	ready := p.ready
	p.mu.Unlock()
	if ready {
		p.attach(d)
		p.negotiate(false)
	}
}

// attach gives d a transceiver (a freed one when there is one) and starts
// forwarding to it.
func (p *Participant) attach(d *downTrack) {
	p.mu.Lock()
	if p.closed || d.tr != nil || p.downs[d.up] != d {
		p.mu.Unlock()
		return
	}
	var tr *webrtc.RTPTransceiver
	if n := len(p.free); n > 0 {
		tr, p.free = p.free[n-1], p.free[:n-1]
	}
	p.mu.Unlock()

	var sender *webrtc.RTPSender
	var err error
	if tr != nil {
		if sender, err = p.api.NewRTPSender(d.track, p.pc.SCTP().Transport()); err == nil {
			err = tr.SetSender(sender, d.track)
		}
	} else {
		tr, err = p.pc.AddTransceiverFromTrack(d.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err == nil {
			sender = tr.Sender()
		}
	}
	if err != nil {
		p.log.Warn("voice subscribe failed", "publisher", d.up.pub.info.UserID, "err", err)
		return
	}
	p.mu.Lock()
	if p.closed || p.downs[d.up] != d {
		p.mu.Unlock()
		_ = p.pc.RemoveTrack(sender)
		return
	}
	d.tr, d.sender = tr, sender
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		d.readRTCP(sender)
	}()
	d.up.addDown(d)
}

// unsubscribe stops receiving u and frees its transceiver for reuse once
// the removal is negotiated.
func (p *Participant) unsubscribe(u *upTrack) {
	p.mu.Lock()
	d := p.downs[u]
	delete(p.downs, u)
	closed := p.closed
	p.mu.Unlock()
	if d == nil {
		return
	}
	u.removeDown(d)
	if d.sender == nil || closed {
		return
	}
	if err := p.pc.RemoveTrack(d.sender); err != nil {
		return
	}
	p.negMu.Lock()
	rev := p.revision + 1 // the next offer carries the removal
	p.negMu.Unlock()
	p.mu.Lock()
	p.pendingFree = append(p.pendingFree, freeing{tr: d.tr, rev: rev})
	p.mu.Unlock()
	p.negotiate(false)
}

func (p *Participant) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	if remote.Kind() != webrtc.RTPCodecTypeAudio || p.up.Load() != nil {
		return // one microphone per participant; anything else is ignored
	}
	u := newUpTrack(p, remote, receiver)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.wg.Add(2)
	p.mu.Unlock()
	p.up.Store(u)
	go func() {
		defer p.wg.Done()
		u.readLoop()
	}()
	go func() { // drain the publisher's RTCP (sender reports) for the interceptors
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := receiver.Read(buf); err != nil {
				return
			}
		}
	}()
	p.log.Info("voice publishing", "ssrc", uint32(remote.SSRC()))
	p.room.addPublisher(u)
}

func (p *Participant) onICEState(s webrtc.ICEConnectionState) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	prev := p.iceState
	p.iceState = s
	first := false
	restartNow := false
	switch s {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		p.unhealthy = time.Time{}
		if p.restartTimer != nil {
			p.restartTimer.Stop()
			p.restartTimer = nil
		}
		if !p.everConnected {
			p.everConnected, first = true, true
		}
	case webrtc.ICEConnectionStateDisconnected:
		if p.unhealthy.IsZero() {
			p.unhealthy = time.Now()
		}
		if p.restartTimer == nil {
			p.restartTimer = time.AfterFunc(p.room.sfu.cfg.RestartAfter, p.restartIfStillDown)
		}
	case webrtc.ICEConnectionStateFailed:
		if p.unhealthy.IsZero() {
			p.unhealthy = time.Now()
		}
		restartNow = true
	}
	p.mu.Unlock()
	p.log.Info("voice ice state", "from", prev.String(), "to", s.String())
	if first {
		d := time.Since(p.joinedAt)
		m := p.room.sfu.cfg.Metrics
		ctx := trace.ContextWithSpan(context.Background(), p.iceSpan)
		m.join.Observe(ctx, obs.StageVoice, d)
		m.connections.WithLabelValues(ConnICEConnected).Inc()
		p.iceSpan.End()
		p.log.Info("voice connected", "join_ms", d.Milliseconds())
	}
	if restartNow {
		p.negotiate(true)
	}
	if s != webrtc.ICEConnectionStateChecking && s != webrtc.ICEConnectionStateNew {
		p.announce()
	}
}

func (p *Participant) restartIfStillDown() {
	p.mu.Lock()
	p.restartTimer = nil
	down := p.iceState == webrtc.ICEConnectionStateDisconnected || p.iceState == webrtc.ICEConnectionStateFailed
	closed := p.closed
	p.mu.Unlock()
	if down && !closed {
		p.negotiate(true)
	}
}

// RestartICE offers an ICE restart (the client asked for one).
func (p *Participant) RestartICE() { p.negotiate(true) }

// SetMute records the client's own microphone mute and tells everyone.
func (p *Participant) SetMute(muted bool) {
	p.mu.Lock()
	changed := p.muted != muted
	p.muted = muted
	p.mu.Unlock()
	if changed {
		p.announce()
	}
}

func (p *Participant) setServerMuted(muted bool, by string) {
	p.mu.Lock()
	changed := p.serverMuted.Load() != muted
	p.serverMuted.Store(muted)
	if muted {
		p.mutedBy = by
	} else {
		p.mutedBy = ""
	}
	p.mu.Unlock()
	if changed {
		p.log.Info("voice server mute", "muted", muted, "by", by)
		p.announce()
	}
}

// Detach marks the signalling connection gone: the peer connection goes on
// while the caller's grace period runs.
func (p *Participant) Detach(s Sink) {
	p.sinkMu.Lock()
	if p.sink != s {
		p.sinkMu.Unlock()
		return
	}
	p.sink = nil
	p.sinkMu.Unlock()
	p.log.Info("voice signalling lost; holding the session")
	p.announce()
}

// Attach resumes the participant on a new signalling connection: an offer
// the client may have missed is sent again, and a transport that is not
// connected gets an ICE restart.
func (p *Participant) Attach(s Sink) {
	p.sinkMu.Lock()
	p.sink = s
	p.sinkMu.Unlock()
	p.mu.Lock()
	down := p.everConnected && p.iceState != webrtc.ICEConnectionStateConnected && p.iceState != webrtc.ICEConnectionStateCompleted
	p.mu.Unlock()
	p.negMu.Lock()
	if down {
		p.wantRestart = true
	}
	switch {
	case p.awaiting && p.wantRestart:
		// The in-flight offer is stale; a restart follows its answer.
		p.sendOfferLocked()
	case p.awaiting:
		p.sendOfferLocked()
	case p.pending || p.wantRestart:
		p.mu.Lock()
		ready := p.ready
		p.mu.Unlock()
		if ready {
			p.offerLocked()
		}
	}
	p.negMu.Unlock()
	p.log.Info("voice session resumed")
	p.announce()
}

// Joined is the Joined message for this participant's client.
func (p *Participant) Joined() *voicev1.Joined {
	return &voicev1.Joined{
		SessionId: p.info.SessionID, UserId: p.info.UserID, Participants: p.room.records(),
		ServerTimeMs: float64(time.Now().UnixNano()) / 1e6,
	}
}

// Close ends the participant: it leaves the room, its peer connection
// closes and its sink hears why.
func (p *Participant) Close(reason voicev1.LeaveReason) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.restartTimer != nil {
		p.restartTimer.Stop()
		p.restartTimer = nil
	}
	connected := p.everConnected
	p.mu.Unlock()

	p.room.remove(p, reason)
	p.closePC()
	p.wg.Wait()
	if !connected {
		p.room.sfu.cfg.Metrics.connections.WithLabelValues(ConnFailed).Inc()
		p.iceSpan.SetStatus(codes.Error, "ended before ICE connected")
		p.iceSpan.End()
	}
	p.log.Info("voice left", "reason", reason.String(), "duration_ms", time.Since(p.joinedAt).Milliseconds())
	p.sinkMu.Lock()
	s := p.sink
	p.sink = nil
	p.sinkMu.Unlock()
	if s != nil {
		s.Closed(reason)
	}
}

func (p *Participant) closePC() {
	if err := p.pc.Close(); err != nil {
		p.log.Debug("close peer connection", "err", err)
	}
}

// Closed reports whether the participant has ended.
func (p *Participant) Closed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// unhealthyFor is how long ICE has not been connected, 0 when it is (or
// never was: the initial connect has its own timeout in the caller).
func (p *Participant) unhealthyFor(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.unhealthy.IsZero() {
		if !p.everConnected && now.Sub(p.joinedAt) > 0 {
			return now.Sub(p.joinedAt)
		}
		return 0
	}
	return now.Sub(p.unhealthy)
}
