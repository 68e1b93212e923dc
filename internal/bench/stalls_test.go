package bench

import (
	"testing"
	"time"
)

// Only gaps over the threshold count; the share lost is over all cores.
func TestStallAccounting(t *testing.T) {
	var a, b stallCounter
	for _, g := range []time.Duration{time.Microsecond, stallThreshold, 2 * time.Millisecond, 6 * time.Millisecond} {
		a.observe(g)
	}
	b.observe(2 * time.Millisecond)
	st := stalls(time.Second, []stallCounter{a, b})
	if st.Gaps != 3 || st.LongestMs != 6 || st.Seconds != 1 {
		t.Fatalf("%+v", st)
	}
	if want := 100 * 0.010 / 2; st.LostPct < want-1e-9 || st.LostPct > want+1e-9 {
		t.Fatalf("lost %v%%, want %v%%", st.LostPct, want)
	}
	if st := stalls(0, nil); st.LostPct != 0 || st.Gaps != 0 {
		t.Fatalf("empty probe: %+v", st)
	}
}

// A real probe accounts for no more time than it ran, and its gaps add up.
func TestProbeStalls(t *testing.T) {
	st := probeStalls(50 * time.Millisecond)
	if st.Seconds < 0.05 || st.LostPct < 0 || st.LostPct > 100 {
		t.Fatalf("%+v", st)
	}
	if st.Gaps == 0 && (st.LostPct != 0 || st.LongestMs != 0) {
		t.Fatalf("no gaps but time lost: %+v", st)
	}
	if st.Gaps > 0 && st.LongestMs*1000 <= float64(stallThreshold.Microseconds()) {
		t.Fatalf("a gap no longer than the threshold counted: %+v", st)
	}
}
