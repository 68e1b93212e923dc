package bench

import (
	"runtime"
	"sync"
	"time"
)

// Stalls is how much of the time a thread spinning on each core did not
// run: the machine's own jitter (other tenants of a shared VM host taking a
// virtual CPU away, kernel work), measured with nothing else of the
// benchmark running. A request that meets such a gap waits it out, on any
// server, so the gaps are the floor under a run's tail latencies.
type Stalls struct {
	Seconds float64 `json:"seconds"` // how long each core was probed
	// LostPct is the share of the probed time lost in gaps over
	// stallThreshold, averaged over the cores.
	LostPct   float64 `json:"lost_pct"`
	Gaps      int     `json:"gaps"`       // gaps over stallThreshold, all cores
	LongestMs float64 `json:"longest_ms"` // the longest gap
}

// stallThreshold is the shortest gap counted: far above a context switch
// or an interrupt, at the scale of the tail latencies the report shows.
const stallThreshold = 500 * time.Microsecond

// stallCounter accounts for the gaps one spinning thread saw.
type stallCounter struct {
	gaps          int
	lost, longest time.Duration
}

func (s *stallCounter) observe(gap time.Duration) {
	if gap <= stallThreshold {
		return
	}
	s.gaps++
	s.lost += gap
	s.longest = max(s.longest, gap)
}

// stalls summarizes the counters of threads that each spun for d.
func stalls(d time.Duration, counters []stallCounter) Stalls {
	st := Stalls{Seconds: d.Seconds()}
	var lost time.Duration
	for _, c := range counters {
		st.Gaps += c.gaps
		lost += c.lost
		st.LongestMs = max(st.LongestMs, float64(c.longest)/float64(time.Millisecond))
	}
	if d > 0 && len(counters) > 0 {
		st.LostPct = 100 * lost.Seconds() / (d.Seconds() * float64(len(counters)))
	}
	return st
}

// probeStalls spins one goroutine per core the process may use (Go's
// default processor count, which honors a container's CPU limit) for d,
// each reading the monotonic clock as fast as it can; a jump between two
// readings is time it was not running.
func probeStalls(d time.Duration) Stalls {
	cores := defaultProcs
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cores))
	counters := make([]stallCounter, cores)
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for i := range counters {
		wg.Add(1)
		go func(c *stallCounter) {
			defer wg.Done()
			for last := time.Now(); last.Before(end); {
				now := time.Now()
				c.observe(now.Sub(last))
				last = now
			}
		}(&counters[i])
	}
	wg.Wait()
	return stalls(time.Since(start), counters)
}
