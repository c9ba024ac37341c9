package voiceload

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// Report is the result of a run; every figure covers the measured window.
type Report struct {
	Rooms        int     `json:"rooms"`
	Participants int     `json:"participants_per_room"`
	Speakers     int     `json:"speakers_per_room"`
	WindowS      float64 `json:"window_seconds"`
	Churn        string  `json:"churn"`

	PacketsSent     uint64  `json:"packets_sent"`
	PacketsReceived uint64  `json:"packets_received"`
	Loss            float64 `json:"loss"` // all subscribers together
	LossWorst       float64 `json:"loss_worst_subscriber"`
	LossP50         float64 `json:"loss_p50_subscriber"`
	LossP99         float64 `json:"loss_p99_subscriber"`
	JitterP50Ms     float64 `json:"jitter_p50_ms"` // over streams
	JitterP99Ms     float64 `json:"jitter_p99_ms"`
	LatencyP50Ms    float64 `json:"latency_p50_ms"` // one way, publisher to subscriber
	LatencyP99Ms    float64 `json:"latency_p99_ms"`
	Rejoins         uint64  `json:"rejoins"`
	Resumes         uint64  `json:"resumes"`
	SignallingLost  uint64  `json:"signalling_lost_unplanned"`
	Failures        uint64  `json:"failures"`
	JoinP50Ms       float64 `json:"client_join_p50_ms"` // dial to ICE connected, whole run
	JoinP95Ms       float64 `json:"client_join_p95_ms"`

	SFU struct {
		CPUCores          float64 `json:"cpu_cores"`
		USPerPacket       float64 `json:"cpu_us_per_forwarded_packet"`
		ForwardedPPS      float64 `json:"forwarded_packets_per_second"`
		InPPS             float64 `json:"received_packets_per_second"`
		OutMbps           float64 `json:"out_mbit_per_second"`
		InMbps            float64 `json:"in_mbit_per_second"`
		RSSMiB            float64 `json:"rss_mib"`
		ForwardDelayP50Us float64 `json:"forward_delay_p50_us"`
		ForwardDelayP99Us float64 `json:"forward_delay_p99_us"`
		JoinP95Ms         float64 `json:"signal_to_ice_connected_p95_ms"`
		Joins             float64 `json:"joins_in_window"`
		ICERestarts       float64 `json:"ice_restarts"`
		FailedSessions    float64 `json:"failed_sessions"`
	} `json:"sfu"`
	Tool struct {
		CPUCores float64 `json:"cpu_cores"`
	} `json:"tool"`
}

func (t *Tool) report(start, end time.Time, s0, s1 sample, ru0, ru1 time.Duration, lat0, lat1 []uint64, sent, recv uint64) *Report {
	r := &Report{Rooms: t.cfg.Rooms, Participants: t.cfg.Participants, Speakers: t.cfg.Speakers, Churn: t.cfg.Churn.String()}
	w := end.Sub(start).Seconds()
	r.WindowS = w
	r.PacketsSent, r.PacketsReceived = sent, recv

	var expAll, recvAll uint64
	var subLoss, jitters []float64
	for _, p := range t.parts {
		var exp, got uint64
		p.smu.Lock()
		for k, s := range p.streams {
			if k.epoch != 1 {
				continue
			}
			e, g, j := s.counts()
			exp += e
			got += g
			if g > 10 {
				jitters = append(jitters, j*1000)
			}
		}
		p.smu.Unlock()
		expAll += exp
		recvAll += min(got, exp)
		if exp > 0 {
			l := 1 - float64(min(got, exp))/float64(exp)
			subLoss = append(subLoss, l)
			r.LossWorst = max(r.LossWorst, l)
		}
	}
	if expAll > 0 {
		r.Loss = 1 - float64(recvAll)/float64(expAll)
	}
	r.LossP50, r.LossP99 = percentile(subLoss, 0.5), percentile(subLoss, 0.99)
	r.JitterP50Ms, r.JitterP99Ms = percentile(jitters, 0.5), percentile(jitters, 0.99)
	r.LatencyP50Ms = float64(quantile(lat0, lat1, 0.5).Microseconds()) / 1000
	r.LatencyP99Ms = float64(quantile(lat0, lat1, 0.99).Microseconds()) / 1000
	r.Rejoins, r.Resumes, r.SignallingLost, r.Failures = t.rejoins.Load(), t.resumes.Load(), t.lostSig.Load(), t.failures.Load()
	t.joinMu.Lock()
	r.JoinP50Ms, r.JoinP95Ms = percentile(t.joinLat, 0.5)*1000, percentile(t.joinLat, 0.95)*1000
	t.joinMu.Unlock()

	dt := s1.at.Sub(s0.at).Seconds()
	dOut := s1.packetsOut - s0.packetsOut
	r.SFU.CPUCores = (s1.cpuSeconds - s0.cpuSeconds) / dt
	if dOut > 0 {
		r.SFU.USPerPacket = (s1.cpuSeconds - s0.cpuSeconds) / dOut * 1e6
	}
	r.SFU.ForwardedPPS = dOut / dt
	r.SFU.InPPS = (s1.packetsIn - s0.packetsIn) / dt
	r.SFU.OutMbps = (s1.bytesOut - s0.bytesOut) * 8 / dt / 1e6
	r.SFU.InMbps = (s1.bytesIn - s0.bytesIn) * 8 / dt / 1e6
	r.SFU.RSSMiB = s1.rssBytes / (1 << 20)
	r.SFU.ForwardDelayP50Us = s1.forward.quantile(s0.forward, 0.5) * 1e6
	r.SFU.ForwardDelayP99Us = s1.forward.quantile(s0.forward, 0.99) * 1e6
	// The join histogram over the whole run (the initial joins precede
	// the window), from the server's own signalling-to-ICE-connected.
	r.SFU.JoinP95Ms = s1.joinVoice.quantile(histo{}, 0.95) * 1000
	r.SFU.Joins = s1.joinVoice.count(histo{})
	r.SFU.ICERestarts = s1.iceRestarts - s0.iceRestarts
	r.SFU.FailedSessions = s1.connFailed - s0.connFailed
	r.Tool.CPUCores = (ru1 - ru0).Seconds() / dt
	return r
}

// Print writes the final table.
func (r *Report) Print(w io.Writer) {
	row := func(k, v string) { fmt.Fprintf(w, "  %-44s %s\n", k, v) }
	fmt.Fprintf(w, "\nvoice load result: %d room(s) × %d participants, %d speaking, %.0f s window, churn %s\n",
		r.Rooms, r.Participants, r.Speakers, r.WindowS, r.Churn)
	row("packets sent / received", fmt.Sprintf("%d / %d", r.PacketsSent, r.PacketsReceived))
	row("loss (all subscribers)", fmt.Sprintf("%.4f%%", r.Loss*100))
	row("loss per subscriber p50 / p99 / worst", fmt.Sprintf("%.4f%% / %.4f%% / %.4f%%", r.LossP50*100, r.LossP99*100, r.LossWorst*100))
	row("jitter per stream p50 / p99", fmt.Sprintf("%.2f ms / %.2f ms", r.JitterP50Ms, r.JitterP99Ms))
	row("one-way latency p50 / p99", fmt.Sprintf("%.2f ms / %.2f ms", r.LatencyP50Ms, r.LatencyP99Ms))
	row("rejoins / resumes / unplanned drops / failures", fmt.Sprintf("%d / %d / %d / %d", r.Rejoins, r.Resumes, r.SignallingLost, r.Failures))
	row("client join (dial to ICE connected) p50 / p95", fmt.Sprintf("%.0f ms / %.0f ms", r.JoinP50Ms, r.JoinP95Ms))
	row("SFU CPU", fmt.Sprintf("%.3f cores", r.SFU.CPUCores))
	row("SFU CPU per forwarded packet", fmt.Sprintf("%.2f µs", r.SFU.USPerPacket))
	row("SFU forwarded / received packets per second", fmt.Sprintf("%.0f / %.0f", r.SFU.ForwardedPPS, r.SFU.InPPS))
	row("SFU bandwidth out / in", fmt.Sprintf("%.2f / %.2f Mbit/s", r.SFU.OutMbps, r.SFU.InMbps))
	row("SFU memory (RSS)", fmt.Sprintf("%.0f MiB", r.SFU.RSSMiB))
	row("SFU forward delay p50 / p99", fmt.Sprintf("%.1f µs / %.1f µs", r.SFU.ForwardDelayP50Us, r.SFU.ForwardDelayP99Us))
	row("SFU signalling to ICE connected p95", fmt.Sprintf("%.0f ms (%.0f joins)", r.SFU.JoinP95Ms, r.SFU.Joins))
	row("SFU ICE restarts / failed sessions", fmt.Sprintf("%.0f / %.0f", r.SFU.ICERestarts, r.SFU.FailedSessions))
	row("load tool CPU", fmt.Sprintf("%.3f cores", r.Tool.CPUCores))
}

// WriteJSON writes the report to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
