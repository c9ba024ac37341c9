// Package ratelimit provides keyed token buckets (golang.org/x/time/rate)
// for limits per IP, per username or per connection class, with idle keys
// evicted so memory stays bounded.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Keyed is a set of token buckets, one per key, with the same rate and burst.
type Keyed struct {
	limit rate.Limit
	burst int
	now   func() time.Time
	// maxKeys caps memory: past it, the oldest idle buckets are dropped
	// (a dropped bucket starts full again, which only ever errs lenient).
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewKeyed returns buckets refilling at perSecond tokens a second up to burst.
func NewKeyed(perSecond float64, burst int, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	return &Keyed{limit: rate.Limit(perSecond), burst: burst, now: now, maxKeys: 100_000, buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket. When none is left it reports false
// and how long until one will be.
func (k *Keyed) Allow(key string) (bool, time.Duration) {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweep(now)
	b, ok := k.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Duration(math.MaxInt64)
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops buckets idle long enough to have refilled, about once a
// minute, and a tenth of all buckets when at maxKeys, so the cost is
// amortised even under a flood of distinct keys.
func (k *Keyed) sweep(now time.Time) {
	if len(k.buckets) >= k.maxKeys {
		drop := k.maxKeys / 10
		for key := range k.buckets { // map order is random: a fair enough victim
			if drop == 0 {
				break
			}
			delete(k.buckets, key)
			drop--
		}
	}
	if now.Before(k.sweepAt) {
		return
	}
	k.sweepAt = now.Add(time.Minute)
	full := time.Minute
	if k.limit > 0 {
		if d := time.Duration(float64(k.burst) / float64(k.limit) * float64(time.Second)); d > full {
			full = d
		}
	}
	for key, b := range k.buckets {
		if now.Sub(b.seen) > full {
			delete(k.buckets, key)
		}
	}
}

// Len reports how many keys are tracked (for tests and metrics).
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
