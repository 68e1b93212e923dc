package httpapi

import (
	"sync"
	"time"
)

// guard slows down guessing: after a number of free failures of one key
// within guardWindow (guardFree for a client from one address, guardFreeIP
// for an address), that key is refused for a delay that doubles with each
// further failure, up to guardMaxDelay. Keying clients by address keeps a
// guesser elsewhere from locking a client out. A success clears the key.
// Memory is bounded: when full, stale entries go, then half of the rest.
type guard struct {
	mu  sync.Mutex
	m   map[string]*attempts
	now func() time.Time
}

type attempts struct {
	failures int
	first    time.Time
	until    time.Time // refused until then
}

const (
	guardFree     = 5
	guardFreeIP   = 30
	guardWindow   = 5 * time.Minute
	guardMaxDelay = 15 * time.Minute
	guardMaxKeys  = 100_000
)

func newGuard(now func() time.Time) *guard {
	return &guard{m: map[string]*attempts{}, now: now}
}

// blocked returns how long key is still refused (0: not refused).
func (g *guard) blocked(key string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.m[key]
	if a == nil {
		return 0
	}
	return max(a.until.Sub(g.now()), 0)
}

// fail records a failure of key, which may fail free times before it is
// refused, and returns whether it is now refused.
func (g *guard) fail(key string, free int) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	a := g.m[key]
	if a == nil || now.Sub(a.first) > guardWindow && now.After(a.until) {
		g.evict()
		a = &attempts{first: now}
		g.m[key] = a
	}
	a.failures++
	if a.failures <= free {
		return false
	}
	delay := time.Second << min(a.failures-free-1, 20)
	a.until = now.Add(min(delay, guardMaxDelay))
	return true
}

// succeed clears key.
func (g *guard) succeed(key string) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
}

// evict drops stale entries, or half of all when full of fresh ones.
func (g *guard) evict() {
	if len(g.m) < guardMaxKeys {
		return
	}
	now := g.now()
	for k, a := range g.m {
		if now.Sub(a.first) > guardWindow && now.After(a.until) {
			delete(g.m, k)
		}
	}
	for k := range g.m {
		if len(g.m) < guardMaxKeys/2 {
			break
		}
		delete(g.m, k)
	}
}
