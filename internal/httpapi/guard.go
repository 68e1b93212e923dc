package httpapi

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// guard slows down guessing: after a number of free failures of one key
// within its window (guardFree for a client or person from one address,
// guardFreeIP for an address, guardFreeAccount for a person's account from
// anywhere), that key is refused for a delay that doubles with each further
// failure, up to guardMaxDelay. Keying clients by address keeps a guesser
// elsewhere from locking a client out; the account key catches guessing
// spread over many addresses, and does not apply at addresses the person
// signed in from before (familiar), so that guessing cannot lock them out
// where they usually are. A success clears the client's or person's key at
// that address. Memory is bounded: when full, stale entries go, then half
// of the rest.
type guard struct {
	mu       sync.Mutex
	m        map[string]*attempts
	familiar map[string][]seenAt // person → addresses of recent sign-ins
	now      func() time.Time
}

type seenAt struct {
	addr string
	at   time.Time
}

type attempts struct {
	failures int
	first    time.Time
	until    time.Time // refused until then
}

const (
	guardFree          = 5
	guardFreeIP        = 30
	guardFreeAccount   = 10
	guardWindow        = 5 * time.Minute
	guardAccountWindow = time.Hour
	guardMaxDelay      = 15 * time.Minute
	guardMaxKeys       = 100_000
	// A person's address stays familiar for familiarFor after a sign-in;
	// at most familiarAddrs per person are kept (the oldest goes).
	familiarFor   = 30 * 24 * time.Hour
	familiarAddrs = 8
)

func newGuard(now func() time.Time) *guard {
	return &guard{m: map[string]*attempts{}, familiar: map[string][]seenAt{}, now: now}
}

// guardPolicy is how many failures a key may have within which window
// before it is refused, by the key's kind (its prefix).
func guardPolicy(key string) (free int, window time.Duration) {
	switch {
	case strings.HasPrefix(key, "ip:"):
		return guardFreeIP, guardWindow
	case strings.HasPrefix(key, "account:"):
		return guardFreeAccount, guardAccountWindow
	}
	return guardFree, guardWindow
}

// remember records a successful sign-in of person from addr.
func (g *guard) remember(person, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	seen := slices.DeleteFunc(g.familiar[person], func(x seenAt) bool { return x.addr == addr || now.Sub(x.at) > familiarFor })
	seen = append(seen, seenAt{addr: addr, at: now})
	if len(seen) > familiarAddrs {
		seen = seen[len(seen)-familiarAddrs:]
	}
	if _, ok := g.familiar[person]; !ok && len(g.familiar) >= guardMaxKeys {
		for k := range g.familiar { // drop an arbitrary half
			if len(g.familiar) < guardMaxKeys/2 {
				break
			}
			delete(g.familiar, k)
		}
	}
	g.familiar[person] = seen
}

// knows reports whether person signed in from addr within familiarFor.
func (g *guard) knows(person, addr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	return slices.ContainsFunc(g.familiar[person], func(x seenAt) bool { return x.addr == addr && now.Sub(x.at) <= familiarFor })
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

// fail records a failure of key, which may fail free times within window
// before it is refused, and returns whether it is now refused.
func (g *guard) fail(key string, free int, window time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	a := g.m[key]
	if a == nil || now.Sub(a.first) > window && now.After(a.until) {
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
		if _, window := guardPolicy(k); now.Sub(a.first) > window && now.After(a.until) {
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
