package voiceload

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sort"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is one scrape of the server's /metrics.
type sample struct {
	at               time.Time
	cpuSeconds       float64
	rssBytes         float64
	packetsIn        float64
	packetsOut       float64
	bytesIn          float64
	bytesOut         float64
	participants     float64
	forward          histo
	joinVoice        histo
	iceRestarts      float64
	connFailed       float64
	connICE, connSig float64
}

// histo is a cumulative Prometheus histogram.
type histo struct {
	bounds []float64
	counts []float64 // cumulative
}

func scrape(ctx context.Context, hc *http.Client, base string) (sample, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return sample{}, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return sample{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		return sample{}, fmt.Errorf("GET /metrics: %d", res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		return sample{}, fmt.Errorf("parse /metrics: %w", err)
	}
	s := sample{at: time.Now()}
	val := func(name string, labels map[string]string) float64 {
		mf := mfs[name]
		if mf == nil {
			return 0
		}
	next:
		for _, m := range mf.Metric {
			for k, v := range labels {
				if label(m, k) != v {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Untyped != nil:
				return m.Untyped.GetValue()
			}
		}
		return 0
	}
	hist := func(name string, labels map[string]string) histo {
		mf := mfs[name]
		var h histo
		if mf == nil {
			return h
		}
	next:
		for _, m := range mf.Metric {
			for k, v := range labels {
				if label(m, k) != v {
					continue next
				}
			}
			if m.Histogram == nil {
				continue
			}
			for _, b := range m.Histogram.Bucket {
				h.bounds = append(h.bounds, b.GetUpperBound())
				h.counts = append(h.counts, float64(b.GetCumulativeCount()))
			}
			h.bounds = append(h.bounds, math.Inf(1))
			h.counts = append(h.counts, float64(m.Histogram.GetSampleCount()))
			return h
		}
		return h
	}
	s.cpuSeconds = val("process_cpu_seconds_total", nil)
	s.rssBytes = val("process_resident_memory_bytes", nil)
	s.packetsIn = val("hearth_voice_packets_total", map[string]string{"direction": "in"})
	s.packetsOut = val("hearth_voice_packets_total", map[string]string{"direction": "out"})
	s.bytesIn = val("hearth_voice_bytes_total", map[string]string{"direction": "in"})
	s.bytesOut = val("hearth_voice_bytes_total", map[string]string{"direction": "out"})
	s.participants = val("hearth_voice_participants", nil)
	s.iceRestarts = val("hearth_voice_ice_restarts_total", nil)
	s.connFailed = val("hearth_voice_connections_total", map[string]string{"state": "failed"})
	s.connICE = val("hearth_voice_connections_total", map[string]string{"state": "ice_connected"})
	s.connSig = val("hearth_voice_connections_total", map[string]string{"state": "signal_connected"})
	s.forward = hist("hearth_voice_forward_delay_seconds", nil)
	s.joinVoice = hist("hearth_room_join_duration_seconds", map[string]string{"stage": "voice"})
	if _, ok := mfs["hearth_voice_packets_total"]; !ok {
		return s, fmt.Errorf("%s/metrics has no hearth_voice_ metrics: is the voice service running there?", base)
	}
	return s, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// quantile estimates q of the observations between two scrapes, linearly
// inside the bucket (as histogram_quantile does).
func (h histo) quantile(before histo, q float64) float64 {
	if len(h.counts) == 0 {
		return 0
	}
	delta := make([]float64, len(h.counts))
	for i := range h.counts {
		delta[i] = h.counts[i]
		if i < len(before.counts) {
			delta[i] -= before.counts[i]
		}
	}
	total := delta[len(delta)-1]
	if total <= 0 {
		return 0
	}
	rank := q * total
	i := sort.Search(len(delta), func(i int) bool { return delta[i] >= rank })
	if i >= len(h.bounds) {
		return 0
	}
	if math.IsInf(h.bounds[i], 1) {
		return h.bounds[len(h.bounds)-2]
	}
	lo, clo := 0.0, 0.0
	if i > 0 {
		lo, clo = h.bounds[i-1], delta[i-1]
	}
	if delta[i] == clo {
		return h.bounds[i]
	}
	return lo + (h.bounds[i]-lo)*(rank-clo)/(delta[i]-clo)
}

func (h histo) count(before histo) float64 {
	if len(h.counts) == 0 {
		return 0
	}
	c := h.counts[len(h.counts)-1]
	if len(before.counts) > 0 {
		c -= before.counts[len(before.counts)-1]
	}
	return c
}
