package sfu

import (
	"math"
	"sort"
	"time"

	"github.com/pion/interceptor/pkg/stats"

	"github.com/hearth-space/hearth/apps/voice/qos"
	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// loop runs the room's periodic work: active speakers a few times a
// second, quality every QualityInterval, and the media watchdog.
func (r *Room) loop() {
	defer r.sfu.loops.Done()
	cfg := &r.sfu.cfg
	spk := time.NewTicker(cfg.SpeakerInterval)
	defer spk.Stop()
	qt := time.NewTicker(cfg.QualityInterval)
	defer qt.Stop()
	var sd speakerDetector
	for {
		select {
		case <-r.stop:
			return
		case now := <-spk.C:
			if msg := sd.tick(r.Participants(), now, cfg.SpeakerInterval); msg != nil {
				r.broadcast(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Speakers{Speakers: msg}}, nil)
			}
		case now := <-qt.C:
			r.scoreQuality(now)
			for _, p := range r.Participants() {
				if d := p.unhealthyFor(now); cfg.MediaTimeout > 0 && d > cfg.MediaTimeout {
					p.log.Warn("voice media timed out", "after_ms", d.Milliseconds())
					r.sfu.loops.Add(1)
					go func() { // Close waits on the room; not from its loop
						defer r.sfu.loops.Done()
						p.Close(voicev1.LeaveReason_LEAVE_REASON_TIMEOUT)
					}()
				}
			}
		}
	}
}

// speakerDetector turns the microphones' audio levels into the Speakers
// list: a participant speaks while at least a third of its expected packets
// in a tick are voiced, and stays "speaking" for a short hang-over so
// indicators do not flicker between words.
type speakerDetector struct {
	last    []*voicev1.Speaker
	holding map[string]holdState
}

type holdState struct {
	until time.Time
	level float32
}

const speakerHangover = 600 * time.Millisecond

func (sd *speakerDetector) tick(ps []*Participant, now time.Time, interval time.Duration) *voicev1.Speakers {
	if sd.holding == nil {
		sd.holding = map[string]holdState{}
	}
	expected := float64(interval) / float64(20*time.Millisecond)
	seen := map[string]bool{}
	for _, p := range ps {
		u := p.up.Load()
		if u == nil {
			continue
		}
		id := p.info.UserID
		seen[id] = true
		sum, n, active := u.lvlSum.Swap(0), u.lvlCount.Swap(0), u.lvlActive.Swap(0)
		if p.serverMuted.Load() {
			delete(sd.holding, id)
			continue
		}
		if n > 0 && float64(active) >= expected/3 {
			lvl := float32(float64(sum) / 1e6 / float64(n))
			sd.holding[id] = holdState{until: now.Add(speakerHangover), level: lvl}
		}
	}
	var cur []*voicev1.Speaker
	for id, h := range sd.holding {
		if !seen[id] || now.After(h.until) {
			delete(sd.holding, id)
			continue
		}
		cur = append(cur, &voicev1.Speaker{UserId: id, Level: quantize(h.level)})
	}
	sort.Slice(cur, func(i, j int) bool {
		if cur[i].Level != cur[j].Level {
			return cur[i].Level > cur[j].Level
		}
		return cur[i].UserId < cur[j].UserId
	})
	if sameSpeakers(cur, sd.last) {
		return nil
	}
	sd.last = cur
	return &voicev1.Speakers{Speakers: cur}
}

// quantize rounds a level to a twentieth, so tiny changes send nothing.
func quantize(l float32) float32 { return float32(math.Round(float64(l)*20) / 20) }

func sameSpeakers(a, b []*voicev1.Speaker) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].UserId != b[i].UserId || a[i].Level != b[i].Level {
			return false
		}
	}
	return true
}

// qualityState is the previous interval's cumulative counters of one
// participant, and its latest result (for the debug endpoint).
type qualityState struct {
	at                 time.Time
	inPackets, inLost  int64
	inBytes            uint64
	outBytes           uint64
	outPackets         uint64
	outRecv, outLost   map[uint32]int64
	latest             *voicev1.ConnectionQuality
	publishing         bool
	inPacketsInterval  uint64
	outPacketsInterval uint64
}

// scoreQuality samples every participant's statistics, scores them and
// sends each participant its own detail and everyone's score.
func (r *Room) scoreQuality(now time.Time) {
	ps := r.Participants()
	scores := make([]*voicev1.ParticipantQuality, 0, len(ps))
	selfs := make([]*voicev1.ConnectionQuality, len(ps))
	m := r.sfu.cfg.Metrics
	for i, p := range ps {
		cq := p.sampleQuality(now)
		selfs[i] = cq
		scores = append(scores, &voicev1.ParticipantQuality{UserId: p.info.UserID, Quality: cq.Quality, Score: cq.Score})
		m.quality.Observe(float64(cq.Score))
		m.loss.Observe(float64(max(cq.Inbound.Loss, cq.Outbound.Loss)))
		m.jitter.Observe(float64(max(cq.Inbound.JitterMs, cq.Outbound.JitterMs)) / 1000)
		if cq.RttMs > 0 {
			m.rtt.Observe(float64(cq.RttMs) / 1000)
		}
		if r.sfu.cfg.QoSDebug {
			p.log.Info("voice qos",
				"quality", cq.Quality.String(), "score", cq.Score, "rtt_ms", cq.RttMs,
				"in_loss", cq.Inbound.Loss, "in_jitter_ms", cq.Inbound.JitterMs, "in_bitrate", cq.Inbound.Bitrate, "in_packets", cq.Inbound.Packets,
				"out_loss", cq.Outbound.Loss, "out_jitter_ms", cq.Outbound.JitterMs, "out_bitrate", cq.Outbound.Bitrate, "out_packets", cq.Outbound.Packets,
				"subscriptions", p.subscriptionCount())
		}
	}
	for i, p := range ps {
		p.send(&voicev1.ServerMessage{Msg: &voicev1.ServerMessage_Quality{Quality: &voicev1.QualityUpdate{
			Self: selfs[i], Participants: scores,
		}}})
	}
}

func (p *Participant) subscriptionCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.downs)
}

// sampleQuality computes one interval's ConnectionQuality from the stats
// interceptor: inbound from the microphone's received statistics, outbound
// from the client's receiver reports about every down track.
func (p *Participant) sampleQuality(now time.Time) *voicev1.ConnectionQuality {
	q := &p.quality
	g, _ := p.stats.Load().(stats.Getter)
	secs := now.Sub(q.at).Seconds()
	first := q.at.IsZero()
	if first {
		secs = p.room.sfu.cfg.QualityInterval.Seconds()
	}
	q.at = now
	in := &voicev1.StreamStats{}
	out := &voicev1.StreamStats{}
	var rtt float64
	expectIn := false

	if u := p.up.Load(); u != nil && g != nil {
		if st := g.Get(uint32(u.remote.SSRC())); st != nil {
			s := st.InboundRTPStreamStats
			recv, lost := int64(s.PacketsReceived), s.PacketsLost
			dRecv, dLost := recv-q.inPackets, lost-q.inLost
			in.Loss = float32(qos.LossFromCounters(dRecv+max(dLost, 0), dRecv))
			in.JitterMs = float32(s.Jitter * 1000)
			in.Packets = s.PacketsReceived
			in.PacketsLost = s.PacketsLost
			in.Bytes = s.BytesReceived + s.HeaderBytesReceived
			in.Bitrate = float32(float64(in.Bytes-q.inBytes) * 8 / secs)
			q.inPacketsInterval = uint64(max(dRecv, 0))
			q.inPackets, q.inLost, q.inBytes = recv, lost, in.Bytes
			q.publishing = true
		}
		// Silence under DTX still sends a packet every 400 ms: no packet at
		// all over an interval means the microphone's media is gone.
		p.mu.Lock()
		selfMuted := p.muted
		p.mu.Unlock()
		expectIn = !p.serverMuted.Load() && !selfMuted
	}

	p.mu.Lock()
	downs := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		downs = append(downs, d)
	}
	p.mu.Unlock()
	if q.outRecv == nil {
		q.outRecv, q.outLost = map[uint32]int64{}, map[uint32]int64{}
	}
	var dRecvAll, dLostAll, lostAll int64
	var jitterMax float64
	var rtts []float64
	var outPackets, outBytes uint64
	live := map[uint32]bool{}
	for _, d := range downs {
		outPackets += d.packets.Load()
		outBytes += d.bytes.Load()
		ssrc := d.SSRC()
		if g == nil || ssrc == 0 {
			continue
		}
		live[ssrc] = true
		st := g.Get(ssrc)
		if st == nil {
			continue
		}
		ri := st.RemoteInboundRTPStreamStats
		recv, lost := int64(ri.PacketsReceived), ri.PacketsLost
		lostAll += lost
		dRecvAll += max(recv-q.outRecv[ssrc], 0)
		dLostAll += max(lost-q.outLost[ssrc], 0)
		q.outRecv[ssrc], q.outLost[ssrc] = recv, lost
		jitterMax = math.Max(jitterMax, ri.Jitter)
		if ri.RoundTripTimeMeasurements > 0 {
			rtts = append(rtts, ri.RoundTripTime.Seconds()*1000)
		}
	}
	for ssrc := range q.outRecv {
		if !live[ssrc] {
			delete(q.outRecv, ssrc)
			delete(q.outLost, ssrc)
		}
	}
	out.Loss = float32(qos.LossFromCounters(dRecvAll+dLostAll, dRecvAll))
	out.PacketsLost = lostAll
	out.JitterMs = float32(jitterMax * 1000)
	// Down tracks come and go: count the interval's traffic from the live
	// ones' totals, never going backwards.
	out.Packets, out.Bytes = outPackets, outBytes
	if outBytes >= q.outBytes {
		out.Bitrate = float32(float64(outBytes-q.outBytes) * 8 / secs)
	}
	q.outPacketsInterval = outPackets - min(outPackets, q.outPackets)
	q.outPackets, q.outBytes = outPackets, outBytes
	if len(rtts) > 0 {
		sort.Float64s(rtts)
		rtt = rtts[len(rtts)/2]
	}

	sample := qos.Sample{
		Loss:     math.Max(float64(in.Loss), float64(out.Loss)),
		JitterMs: math.Max(float64(in.JitterMs), float64(out.JitterMs)),
		RTTMs:    rtt,
		Packets:  q.inPacketsInterval,
		Expected: expectIn && !first,
	}
	if !p.connected() {
		sample.Expected, sample.Packets = true, 0
	}
	score, level := qos.Score(sample)
	cq := &voicev1.ConnectionQuality{Quality: level, Score: float32(score), Inbound: in, Outbound: out, RttMs: float32(rtt)}
	p.mu.Lock()
	q.latest = cq
	p.mu.Unlock()
	return cq
}

func (p *Participant) connected() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.unhealthy.IsZero() && p.everConnected
}
