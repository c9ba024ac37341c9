// Package loadtest holds what Hearth's load tools share: scraping the
// server's Prometheus metrics, a lock-free latency histogram, the tool's
// own CPU use, and result tables.
package loadtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one read of a Prometheus endpoint.
type Scrape struct {
	At       time.Time
	Families map[string]*dto.MetricFamily
}

// ScrapeMetrics reads url in the text format.
func ScrapeMetrics(ctx context.Context, client *http.Client, url string) (*Scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return &Scrape{At: time.Now(), Families: fams}, nil
}

// Value sums the samples of a counter, gauge or untyped metric whose labels
// include the given pairs. Histograms yield their sample count.
func (s *Scrape) Value(name string, labels ...string) float64 {
	if s == nil {
		return math.NaN()
	}
	mf, ok := s.Families[name]
	if !ok {
		return 0
	}
	total := 0.0
next:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			total += m.GetUntyped().GetValue()
		case m.GetHistogram() != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

// ByLabel returns the values of a metric grouped by one label.
func (s *Scrape) ByLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	if s == nil {
		return out
	}
	mf, ok := s.Families[name]
	if !ok {
		return out
	}
	for _, m := range mf.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		out[key] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return out
}

// Histogram counts durations in fixed 20 µs buckets up to 2 s (and one
// overflow bucket), with atomic adds so many goroutines can record at once.
type Histogram struct {
	buckets [100_001]atomic.Uint32
	count   atomic.Int64
	sum     atomic.Int64 // µs
	max     atomic.Int64 // µs
}

const bucketWidth = 20 * time.Microsecond

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	i := int(d / bucketWidth)
	if i >= len(h.buckets)-1 {
		i = len(h.buckets) - 1
	}
	h.buckets[i].Add(1)
	h.count.Add(1)
	us := d.Microseconds()
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Count is the number of recorded durations.
func (h *Histogram) Count() int64 { return h.count.Load() }

// Max is the largest recorded duration.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Mean is the average recorded duration.
func (h *Histogram) Mean() time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load()/n) * time.Microsecond
}

// Quantile returns the q-quantile (upper edge of its bucket).
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.count.Load()
	if n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i := range h.buckets {
		seen += int64(h.buckets[i].Load())
		if seen >= rank {
			return time.Duration(i+1) * bucketWidth
		}
	}
	return h.Max()
}

// CPUTime is this process's user plus system CPU time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Table prints rows of label/value pairs aligned.
func Table(w io.Writer, title string, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	fmt.Fprintf(w, "\n%s\n%s\n", title, strings.Repeat("─", len(title)))
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
}

// Ms formats a duration in milliseconds with two decimals.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
