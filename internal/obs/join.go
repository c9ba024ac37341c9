package obs

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Join stages, in the order a join passes them.
const (
	StageAPI      = "api"
	StageRealtime = "realtime"
	StageVoice    = "voice"
)

// JoinMetrics is hearth_room_join_duration_seconds, shared by the three
// services (one histogram, one stage label each), so it is built once per
// process and handed to each.
type JoinMetrics struct {
	duration *prometheus.HistogramVec
}

// NewJoinMetrics registers the join histogram on reg.
func NewJoinMetrics(reg prometheus.Registerer) *JoinMetrics {
	m := &JoinMetrics{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hearth_room_join_duration_seconds",
		Help:    "Time each stage of joining a room takes: api (join request), realtime (hello to welcome), voice (signalling connected to ICE connected).",
		Buckets: LatencyBuckets(),
	}, []string{"stage"})}
	for _, s := range []string{StageAPI, StageRealtime, StageVoice} {
		m.duration.WithLabelValues(s) // export every stage from the start
	}
	reg.MustRegister(m.duration)
	return m
}

// Observe records how long stage took, with the trace as exemplar.
func (m *JoinMetrics) Observe(ctx context.Context, stage string, d time.Duration) {
	if m == nil {
		return
	}
	Observe(ctx, m.duration.WithLabelValues(stage), d.Seconds())
}
