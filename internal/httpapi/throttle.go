package httpapi

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/kverr"
)

// ThrottleLimits are the data plane's rate limits. A limit of 0 is no
// limit.
type ThrottleLimits struct {
	VaultPerSecond     int // requests per second to one vault, from all callers
	PrincipalPerSecond int // requests per second from one principal, to all vaults
	// Burst is how much unused allowance a bucket keeps, as time at its
	// rate: an idle caller may send rate × Burst requests at once (at
	// least one).
	Burst time.Duration
}

// limiter holds the token buckets of the vaults and of the principals.
// Its zero value is ready to use.
type limiter struct {
	vaults, principals buckets
	rates              atomic.Pointer[rates] // derived from the limits last seen
	clock              func() int64          // nanoseconds, for tests; nil: the monotonic clock
}

type rates struct {
	limits           ThrottleLimits
	vault, principal rate
}

// ratesFor returns lim's bucket parameters, computed once per change.
func (l *limiter) ratesFor(lim *ThrottleLimits) *rates {
	if r := l.rates.Load(); r != nil && r.limits == *lim {
		return r
	}
	r := &rates{limits: *lim}
	if lim.VaultPerSecond > 0 {
		r.vault = rateOf(lim.VaultPerSecond, lim.Burst)
	}
	if lim.PrincipalPerSecond > 0 {
		r.principal = rateOf(lim.PrincipalPerSecond, lim.Burst)
	}
	l.rates.Store(r)
	return r
}

// throttle charges one request to its principal's bucket, then to its
// vault's, and refuses it with 429 and Retry-After when either is empty.
// It runs after authorization, so callers without a valid token or
// without access cannot use up a vault's allowance; the principal is
// charged first, so a principal over its own limit does not use up the
// vault's allowance for others.
func (s *Server) throttle(c *call) error {
	lim := &s.Network.Throttle
	if lim.VaultPerSecond <= 0 && lim.PrincipalPerSecond <= 0 {
		return nil
	}
	rt, now := s.limits.ratesFor(lim), s.limits.now()
	if p := c.principal; p != nil && lim.PrincipalPerSecond > 0 {
		key := p.ObjectID
		if p.External != "" {
			key = p.External + "|" + p.ObjectID
		}
		if wait, ok := s.limits.principals.take(key, now, rt.principal); !ok {
			return throttled(c, wait, "PrincipalRequestLimitReached")
		}
	}
	if lim.VaultPerSecond > 0 {
		if wait, ok := s.limits.vaults.take(c.vault.ID, now, rt.vault); !ok {
			return throttled(c, wait, "VaultRequestTypeLimitReached")
		}
	}
	return nil
}

// throttled sets Retry-After (whole seconds, at least 1) and returns
// Azure's 429.
func throttled(c *call, wait time.Duration, reason string) error {
	secs := max(int64((wait+time.Second-1)/time.Second), 1)
	c.w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return kverr.New(kverr.Throttled, "Throttled",
		"Request was not processed because too many requests were received. Reason: "+reason)
}

// monoEpoch is the origin of the limiter's clock.
var monoEpoch = time.Now()

// now is the limiter's clock: the monotonic clock (wall-clock steps must
// not empty or fill buckets; it is also cheaper than time.Now), in
// nanoseconds since monoEpoch.
func (l *limiter) now() int64 {
	if l.clock != nil {
		return l.clock()
	}
	return int64(time.Since(monoEpoch))
}

// rate is a bucket's refill interval and depth, in the terms of the
// generic cell rate algorithm: one request per interval, and up to
// tolerance/interval + 1 requests at once.
type rate struct {
	interval, tolerance int64 // nanoseconds
}

func rateOf(perSecond int, burst time.Duration) rate {
	interval := int64(time.Second) / int64(perSecond)
	depth := max(int64(burst)/max(interval, 1), 1)
	return rate{interval: max(interval, 1), tolerance: (depth - 1) * max(interval, 1)}
}

// bucket is one token bucket as a single "theoretical arrival time" (the
// generic cell rate algorithm): the bucket is full when tat ≤ now and
// refuses a request while tat − now > tolerance. One atomic word, no lock.
type bucket struct{ tat atomic.Int64 }

// take charges one request at now; when refused, it returns how long
// until a request would pass.
func (b *bucket) take(now int64, r rate) (time.Duration, bool) {
	for {
		old := b.tat.Load()
		tat := max(old, now)
		if tat-now > r.tolerance {
			return time.Duration(tat - r.tolerance - now), false
		}
		if b.tat.CompareAndSwap(old, tat+r.interval) {
			return 0, true
		}
	}
}

// buckets maps keys (vault ids, principals) to buckets. Lookups of known
// keys take no lock (sync.Map). A bucket whose tat has passed is full,
// the same as no bucket, so sweep may drop it without changing any
// decision; sweep runs on insertion at most once per sweepEvery, so memory
// holds the keys active within about sweepEvery plus the burst.
type buckets struct {
	m         sync.Map // string → *bucket
	n         atomic.Int64
	lastSweep atomic.Int64
}

const sweepEvery = int64(time.Minute)

func (bs *buckets) take(key string, now int64, r rate) (time.Duration, bool) {
	v, ok := bs.m.Load(key)
	if !ok {
		bs.maybeSweep(now)
		b := new(bucket)
		b.tat.Store(now) // full
		var loaded bool
		if v, loaded = bs.m.LoadOrStore(key, b); !loaded {
			bs.n.Add(1)
		}
	}
	return v.(*bucket).take(now, r)
}

// maybeSweep lets one caller, about to add a bucket, sweep when the last
// sweep is old enough.
func (bs *buckets) maybeSweep(now int64) {
	last := bs.lastSweep.Load()
	if now-last < sweepEvery || !bs.lastSweep.CompareAndSwap(last, now) {
		return
	}
	bs.sweep(now)
}

// sweep drops full buckets. A request racing with the removal of its
// bucket may be charged to the removed one; it is then free, never
// refused wrongly.
func (bs *buckets) sweep(now int64) {
	bs.m.Range(func(k, v any) bool {
		if v.(*bucket).tat.Load() <= now && bs.m.CompareAndDelete(k, v) {
			bs.n.Add(-1)
		}
		return true
	})
}

// len is the number of buckets held.
func (bs *buckets) len() int { return int(bs.n.Load()) }
