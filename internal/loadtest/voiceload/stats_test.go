package voiceload

import (
	"testing"
	"time"
)

func TestStreamLoss(t *testing.T) {
	var s stream
	for _, seq := range []uint32{5, 6, 8, 9, 7, 12} { // 10 and 11 lost, 7 late
		s.add(seq, 0.001)
	}
	exp, got, _ := s.counts()
	if exp != 8 || got != 6 {
		t.Fatalf("expected %d received %d, want 8 and 6", exp, got)
	}
}

func TestHeaderRoundTrip(t *testing.T) {
	b := make([]byte, 80)
	putHeader(b, 1234*time.Microsecond, 7, 2, 99)
	sent, slot, gen, seq, ok := readHeader(b)
	if !ok || sent != 1234*time.Microsecond || slot != 7 || gen != 2 || seq != 99 {
		t.Fatalf("got %v %d %d %d %v", sent, slot, gen, seq, ok)
	}
	if _, _, _, _, ok := readHeader(b[:10]); ok {
		t.Fatal("short payload accepted")
	}
}

func TestQuantile(t *testing.T) {
	var h histogram
	before := h.snapshot()
	for i := 0; i < 99; i++ {
		h.observe(200 * time.Microsecond)
	}
	h.observe(50 * time.Millisecond)
	after := h.snapshot()
	if q := quantile(before, after, 0.5); q != 210*time.Microsecond {
		t.Fatalf("p50 %v", q)
	}
	if q := quantile(before, after, 0.999); q < 50*time.Millisecond || q > 51*time.Millisecond {
		t.Fatalf("p99.9 %v", q)
	}
	hi := histo{bounds: []float64{0.001, 0.01, 0.1}, counts: []float64{50, 90, 100}}
	if q := hi.quantile(histo{}, 0.5); q != 0.001 {
		t.Fatalf("prometheus p50 %v", q)
	}
	if q := hi.quantile(histo{}, 0.95); q < 0.01 || q > 0.1 {
		t.Fatalf("prometheus p95 %v", q)
	}
}
