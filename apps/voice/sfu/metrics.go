package sfu

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hearth-space/hearth/internal/obs"
)

// Connection funnel states of hearth_voice_connections_total.
const (
	ConnSignalConnected = "signal_connected"
	ConnICEConnected    = "ice_connected"
	ConnFailed          = "failed"
)

// Metrics are the SFU's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	participants prometheus.Gauge
	rooms        prometheus.Gauge
	bytesIn      prometheus.Counter
	bytesOut     prometheus.Counter
	packetsIn    prometheus.Counter
	packetsOut   prometheus.Counter
	loss         prometheus.Histogram
	jitter       prometheus.Histogram
	rtt          prometheus.Histogram
	forward      prometheus.Histogram
	quality      prometheus.Histogram
	connections  *prometheus.CounterVec
	iceRestarts  prometheus.Counter
	join         *obs.JoinMetrics
}

// NewMetrics registers the voice metrics on reg. join is the process's
// shared join histogram (stage "voice").
func NewMetrics(reg prometheus.Registerer, join *obs.JoinMetrics) *Metrics {
	m := &Metrics{
		participants: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hearth_voice_participants", Help: "Participants in voice on this node (held ones included).",
		}),
		rooms: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hearth_voice_rooms_active", Help: "Rooms with at least one voice participant on this node.",
		}),
		loss: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_voice_packet_loss_ratio",
			Help:    "Packet loss per participant and 5 s interval (worse of inbound and outbound), 0..1.",
			Buckets: []float64{0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1},
		}),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_voice_jitter_seconds",
			Help:    "Interarrival jitter per participant and 5 s interval (worse of inbound and outbound).",
			Buckets: []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2},
		}),
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_voice_rtt_seconds",
			Help:    "Round-trip time between the SFU and each participant (RTCP), per 5 s interval.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1},
		}),
		forward: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_voice_forward_delay_seconds",
			Help:    "Time inside the SFU from reading a packet to having written it to one subscriber.",
			Buckets: []float64{5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3},
		}),
		quality: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_voice_quality_score",
			Help:    "Connection quality score (MOS from an E-model, 1..4.5) per participant and 5 s interval.",
			Buckets: []float64{1, 2, 2.5, 3, 3.5, 3.8, 4, 4.2, 4.4, 4.5},
		}),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_voice_connections_total",
			Help: "Voice sessions by how far they got: signal_connected (joined), ice_connected (media flowed), failed (ended without media).",
		}, []string{"state"}),
		iceRestarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hearth_voice_ice_restarts_total", Help: "ICE restarts the SFU offered.",
		}),
		join: join,
	}
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_voice_bytes_total", Help: "RTP payload and header bytes of voice media by direction (in: from publishers, out: to subscribers).",
	}, []string{"direction"})
	packets := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hearth_voice_packets_total", Help: "RTP packets of voice media by direction (in: from publishers, out: forwarded to subscribers).",
	}, []string{"direction"})
	m.bytesIn, m.bytesOut = bytes.WithLabelValues("in"), bytes.WithLabelValues("out")
	m.packetsIn, m.packetsOut = packets.WithLabelValues("in"), packets.WithLabelValues("out")
	for _, s := range []string{ConnSignalConnected, ConnICEConnected, ConnFailed} {
		m.connections.WithLabelValues(s)
	}
	reg.MustRegister(m.participants, m.rooms, bytes, packets, m.loss, m.jitter, m.rtt, m.forward, m.quality, m.connections, m.iceRestarts)
	return m
}
