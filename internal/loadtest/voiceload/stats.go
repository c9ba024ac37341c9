package voiceload

import (
	"encoding/binary"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Payload layout of every packet the tool sends, so loss and one-way
// latency through the SFU are exact (sender and receiver share a clock):
// send time (ns since the tool started), publisher slot, generation (a
// rejoin starts a new one), sequence number.
const headerBytes = 20

func putHeader(b []byte, sent time.Duration, slot, gen, seq uint32) {
	binary.BigEndian.PutUint64(b[0:], uint64(sent))
	binary.BigEndian.PutUint32(b[8:], slot)
	binary.BigEndian.PutUint32(b[12:], gen)
	binary.BigEndian.PutUint32(b[16:], seq)
}

func readHeader(b []byte) (sent time.Duration, slot, gen, seq uint32, ok bool) {
	if len(b) < headerBytes {
		return 0, 0, 0, 0, false
	}
	return time.Duration(binary.BigEndian.Uint64(b[0:])), binary.BigEndian.Uint32(b[8:]),
		binary.BigEndian.Uint32(b[12:]), binary.BigEndian.Uint32(b[16:]), true
}

// stream is what one subscriber received of one publisher generation.
// Only the subscriber's track goroutine writes it; the reporter reads it
// under the lock.
type stream struct {
	mu          sync.Mutex
	first, last uint32
	received    uint64
	jitter      float64 // RFC 3550 interarrival jitter, seconds
	lastTransit float64
	started     bool
}

func (s *stream) add(seq uint32, transit float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		s.first, s.last, s.started = seq, seq, true
		s.lastTransit = transit
	} else {
		if seq > s.last {
			s.last = seq
		}
		if seq < s.first {
			s.first = seq
		}
		d := math.Abs(transit - s.lastTransit)
		s.jitter += (d - s.jitter) / 16
		s.lastTransit = transit
	}
	s.received++
}

// counts returns expected and received packets.
func (s *stream) counts() (expected, received uint64, jitter float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return 0, 0, 0
	}
	return uint64(s.last-s.first) + 1, s.received, s.jitter
}

// histogram is a lock-free latency histogram: 10 µs buckets to 10 ms,
// then 100 µs buckets to 1 s, then overflow.
type histogram struct {
	fine   [1000]atomic.Uint64 // 0..10 ms by 10 µs
	coarse [9900]atomic.Uint64 // 10 ms..1 s by 100 µs
	over   atomic.Uint64
	n      atomic.Uint64
}

func (h *histogram) observe(d time.Duration) {
	us := d.Microseconds()
	switch {
	case us < 0:
		h.fine[0].Add(1)
	case us < 10_000:
		h.fine[us/10].Add(1)
	case us < 1_000_000:
		h.coarse[(us-10_000)/100].Add(1)
	default:
		h.over.Add(1)
	}
	h.n.Add(1)
}

// snapshot copies the counts so a window can be measured as a difference.
func (h *histogram) snapshot() []uint64 {
	out := make([]uint64, len(h.fine)+len(h.coarse)+1)
	for i := range h.fine {
		out[i] = h.fine[i].Load()
	}
	for i := range h.coarse {
		out[len(h.fine)+i] = h.coarse[i].Load()
	}
	out[len(out)-1] = h.over.Load()
	return out
}

// quantile of the counts between two snapshots, as the bucket's upper
// bound.
func quantile(before, after []uint64, q float64) time.Duration {
	var total uint64
	for i := range after {
		total += after[i] - before[i]
	}
	if total == 0 {
		return 0
	}
	target := uint64(math.Ceil(q * float64(total)))
	var acc uint64
	for i := range after {
		acc += after[i] - before[i]
		if acc >= target {
			switch {
			case i < 1000:
				return time.Duration(i+1) * 10 * time.Microsecond
			case i < 1000+9900:
				return 10*time.Millisecond + time.Duration(i-1000+1)*100*time.Microsecond
			default:
				return time.Second
			}
		}
	}
	return time.Second
}

func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	if i < 0 {
		i = 0
	}
	return s[i]
}
