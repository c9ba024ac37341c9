package qos

import (
	"testing"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

func TestScoreLevels(t *testing.T) {
	cases := []struct {
		name string
		s    Sample
		want voicev1.Quality
	}{
		{"loopback", Sample{RTTMs: 1, JitterMs: 0.5, Packets: 250, Expected: true}, voicev1.Quality_QUALITY_EXCELLENT},
		{"continental", Sample{RTTMs: 80, JitterMs: 5, Loss: 0.005, Packets: 250, Expected: true}, voicev1.Quality_QUALITY_EXCELLENT},
		{"two percent loss", Sample{RTTMs: 100, JitterMs: 10, Loss: 0.03, Packets: 250, Expected: true}, voicev1.Quality_QUALITY_GOOD},
		{"ten percent loss", Sample{RTTMs: 100, JitterMs: 20, Loss: 0.10, Packets: 250, Expected: true}, voicev1.Quality_QUALITY_POOR},
		{"satellite", Sample{RTTMs: 700, JitterMs: 30, Packets: 250, Expected: true}, voicev1.Quality_QUALITY_POOR},
		{"nothing arrives", Sample{Expected: true}, voicev1.Quality_QUALITY_LOST},
		{"silent sender", Sample{RTTMs: 1}, voicev1.Quality_QUALITY_EXCELLENT},
	}
	for _, c := range cases {
		mos, q := Score(c.s)
		if q != c.want {
			t.Errorf("%s: quality %v (MOS %.2f, R %.1f), want %v", c.name, q, mos, RFactor(c.s), c.want)
		}
	}
}

func TestScoreMonotonic(t *testing.T) {
	prev := 5.0
	for loss := 0.0; loss <= 0.5; loss += 0.01 {
		mos, _ := Score(Sample{Loss: loss, RTTMs: 50, JitterMs: 5, Packets: 1, Expected: true})
		if mos > prev {
			t.Fatalf("MOS rose from %.3f to %.3f as loss grew to %.2f", prev, mos, loss)
		}
		prev = mos
	}
	prev = 5.0
	for rtt := 0.0; rtt <= 1500; rtt += 10 {
		mos, _ := Score(Sample{RTTMs: rtt, Packets: 1, Expected: true})
		if mos > prev {
			t.Fatalf("MOS rose from %.3f to %.3f as RTT grew to %.0f ms", prev, mos, rtt)
		}
		prev = mos
	}
}

func TestLossFromCounters(t *testing.T) {
	if got := LossFromCounters(100, 90); got != 0.1 {
		t.Fatalf("loss %v, want 0.1", got)
	}
	if got := LossFromCounters(100, 101); got != 0 {
		t.Fatalf("duplicates made loss %v", got)
	}
	if got := LossFromCounters(0, 0); got != 0 {
		t.Fatalf("no packets made loss %v", got)
	}
}
