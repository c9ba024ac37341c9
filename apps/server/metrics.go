package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hearth-space/hearth/internal/errs"
	"github.com/hearth-space/hearth/internal/obs"
)

type metrics struct {
	auth *prometheus.HistogramVec
}

// Auth operations as labelled in hearth_auth_duration_seconds.
const (
	opLogin    = "login"
	opRegister = "register"
	opGuest    = "guest"
	opRefresh  = "refresh"
	opLogout   = "logout"
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		auth: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hearth_auth_duration_seconds",
			Help:    "Time to serve an authentication operation (login, register, guest, refresh, logout), by result: ok or the error code.",
			Buckets: obs.LatencyBuckets(),
		}, []string{"operation", "result"}),
	}
	reg.MustRegister(m.auth)
	return m
}

// observeAuth records an auth operation; the result label is "ok" or the
// error's code, a small fixed set.
func (m *metrics) observeAuth(ctx context.Context, op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = string(errs.CodeOf(err))
	}
	obs.Observe(ctx, m.auth.WithLabelValues(op, result), time.Since(start).Seconds())
}
