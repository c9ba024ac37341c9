package obs

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/trace"

	"github.com/hearth-space/hearth/internal/version"
)

// NewRegistry returns a registry with the Go runtime and process collectors
// and hearth_build_info. Each process builds one and passes it to the
// constructors that register metrics; there is no global registry.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "hearth_build_info",
		Help: "Always 1; labels carry the version and Go toolchain of the running binary.",
	}, []string{"version", "goversion"})
	info.WithLabelValues(version.Version, version.GoVersion()).Set(1)
	reg.MustRegister(info)
	return reg
}

// MetricsHandler serves the registry in the Prometheus text format, and in
// OpenMetrics (with exemplars) to scrapers that ask for it.
func MetricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		Registry:          reg,
	})
}

// Observe records v on o, attaching the context's trace id as an exemplar
// when the span is sampled, so a slow bucket links to a trace.
func Observe(ctx context.Context, o prometheus.Observer, v float64) {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		if eo, ok := o.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": sc.TraceID().String()})
			return
		}
	}
	o.Observe(v)
}

// LatencyBuckets returns histogram buckets for request-scale latencies, in
// seconds: 1 ms to 10 s.
func LatencyBuckets() []float64 {
	return []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
}
