// Package qos turns a participant's RTP statistics into a call-quality
// score: an ITU-T G.107 E-model R factor (delay and loss impairments, as
// LiveKit scores audio) mapped to a MOS and to the four levels clients show.
package qos

import (
	"math"

	voicev1 "github.com/hearth-space/hearth/packages/shared/gen/go/hearth/voice/v1"
)

// Sample is one interval's view of a connection.
type Sample struct {
	// Loss is the fraction of packets lost, 0..1.
	Loss float64
	// JitterMs is the interarrival jitter.
	JitterMs float64
	// RTTMs is the round-trip time; 0 when unknown.
	RTTMs float64
	// Packets is how many packets arrived in the interval; with Expected
	// false (a silent, DTX sender) a zero count is not a loss of media.
	Packets  uint64
	Expected bool
}

// Opus with in-band FEC: equipment impairment and packet-loss robustness
// (G.113 gives Ie 0..~11 and Bpl 10..20 for modern wideband codecs; FEC
// makes Opus sit at the robust end).
const (
	ie  = 0.0
	bpl = 20.0
	// r0 is the basic signal-to-noise R of G.107's default parameters.
	r0 = 93.2
)

// RFactor is the E-model transmission rating for s: R = R0 - Id - Ie,eff.
func RFactor(s Sample) float64 {
	// One-way mouth-to-ear delay: half the RTT, a jitter buffer of about
	// twice the jitter, and 20 ms of Opus framing plus ~10 ms processing.
	d := s.RTTMs/2 + 2*s.JitterMs + 30
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ppl := math.Max(0, math.Min(100, s.Loss*100))
	ieEff := ie + (95-ie)*ppl/(ppl+bpl)
	r := r0 - id - ieEff
	return math.Max(0, math.Min(100, r))
}

// MOS maps an R factor to a mean opinion score, 1..4.5 (G.107 Annex B).
func MOS(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	m := 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
	return math.Max(1, math.Min(4.5, m))
}

// Score rates s: its MOS and quality level. No packets when some were
// expected is QUALITY_LOST.
func Score(s Sample) (float64, voicev1.Quality) {
	if s.Expected && s.Packets == 0 {
		return 1, voicev1.Quality_QUALITY_LOST
	}
	mos := MOS(RFactor(s))
	return mos, Level(mos)
}

// Level buckets a MOS: excellent from 4.0 (R ≥ ~80, toll quality and
// better), good from 3.5, poor below.
func Level(mos float64) voicev1.Quality {
	switch {
	case mos >= 4.0:
		return voicev1.Quality_QUALITY_EXCELLENT
	case mos >= 3.5:
		return voicev1.Quality_QUALITY_GOOD
	default:
		return voicev1.Quality_QUALITY_POOR
	}
}

// LossFromCounters is the loss fraction of an interval in which expected
// packets were due and received arrived (duplicates can make received
// exceed expected: that is no loss).
func LossFromCounters(expected, received int64) float64 {
	if expected <= 0 || received >= expected {
		return 0
	}
	return float64(expected-received) / float64(expected)
}
