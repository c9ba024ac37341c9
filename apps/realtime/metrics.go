package realtime

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus metrics. Label values come from
// small fixed sets; ids go to logs and traces only.
type metrics struct {
	connections  prometheus.Gauge
	roomsActive  prometheus.Gauge
	roomUsers    prometheus.Histogram
	roomUsersMax prometheus.Gauge
	messages     *prometheus.CounterVec
	bytes        *prometheus.CounterVec
	dropped      *prometheus.CounterVec
	fanout       prometheus.Histogram
	resumes      *prometheus.CounterVec
	disconnects  *prometheus.CounterVec
	connects     *prometheus.CounterVec
	tokenRefresh *prometheus.CounterVec
	clamped      prometheus.Counter
	coalesced    prometheus.Counter
	bytesOut     prometheus.Counter
	bytesIn      prometheus.Counter
	msgOutPoses  prometheus.Counter
	msgInPoses   prometheus.Counter
	msgOutRel    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hearth_realtime_connections", Help: "Open realtime WebSocket connections that completed the handshake.",
		}),
		roomsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hearth_rooms_active", Help: "Rooms with at least one member (connected or held for resume) on this node.",
		}),
		roomUsers: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hearth_room_users", Help: "Members per active room, observed for every active room every 10 s.",
			Buckets: []float64{1, 2, 4, 8, 16, 24, 32, 40, 50, 64, 80, 100},
		}),
		roomUsersMax: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hearth_room_users_max", Help: "Members in the fullest room on this node.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_messages_total", Help: "Realtime WebSocket messages, by direction (in, out) and type.",
		}, []string{"direction", "type"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_bytes_total", Help: "Realtime WebSocket payload bytes, by direction.",
		}, []string{"direction"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_dropped_total", Help: "Messages dropped on purpose, by reason (pose_rate, pose_invalid, slow_consumer, malformed, chat_rate, chat_duplicate).",
		}, []string{"reason"}),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hearth_realtime_fanout_delay_seconds",
			Help:    "Per pose frame written, the time from the server's receipt of its oldest pose to the end of the write (tick wait included).",
			Buckets: []float64{.001, .0025, .005, .01, .02, .03, .04, .05, .06, .075, .1, .15, .25, .5, 1},
		}),
		resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_resumes_total", Help: "Session resume attempts, by result (resumed, snapshot, …).",
		}, []string{"result"}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_disconnects_total", Help: "Realtime disconnections, by reason.",
		}, []string{"reason"}),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_connects_total", Help: "Realtime connection attempts, by result: ok or the error code that refused them.",
		}, []string{"result"}),
		tokenRefresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hearth_realtime_token_refreshes_total", Help: "In-band realtime token refreshes, by result.",
		}, []string{"result"}),
	}
	m.clamped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_realtime_poses_clamped_total", Help: "Poses moved back into the scene bounds or to a plausible speed.",
	})
	m.coalesced = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hearth_realtime_frames_coalesced_total", Help: "Pose frames not yet written when the next one was ready: their poses went out in the next frame instead (nothing is lost).",
	})
	reg.MustRegister(m.clamped, m.coalesced, m.connections, m.roomsActive, m.roomUsers, m.roomUsersMax, m.messages, m.bytes, m.dropped,
		m.fanout, m.resumes, m.disconnects, m.connects, m.tokenRefresh)
	// Hot-path children resolved once.
	m.bytesOut = m.bytes.WithLabelValues("out")
	m.bytesIn = m.bytes.WithLabelValues("in")
	m.msgOutPoses = m.messages.WithLabelValues("out", "poses")
	m.msgInPoses = m.messages.WithLabelValues("in", "pose")
	m.msgOutRel = m.messages.WithLabelValues("out", "event")
	for _, r := range []string{"ok", resultTokenInvalid, resultTokenExpired} {
		m.connects.WithLabelValues(r)
	}
	for _, r := range []string{"resumed", "snapshot"} {
		m.resumes.WithLabelValues(r)
	}
	m.dropped.WithLabelValues("slow_consumer")
	m.disconnects.WithLabelValues("slow_consumer")
	return m
}

const (
	resultTokenInvalid = "token_invalid"
	resultTokenExpired = "token_expired"
)
