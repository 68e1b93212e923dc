package bench

import (
	"os"
	"testing"
	"time"
)

func TestSampleResult(t *testing.T) {
	var s sample
	s.add(sample{lat: []time.Duration{1 * time.Millisecond, 100 * time.Millisecond}, errs: 1, elapsed: time.Second,
		serverCPU: 30 * time.Millisecond, clientCPU: 2 * time.Millisecond})
	s.add(sample{lat: []time.Duration{2 * time.Millisecond, 3 * time.Millisecond}, elapsed: time.Second,
		serverCPU: 10 * time.Millisecond, clientCPU: 6 * time.Millisecond})
	r := s.result()
	if r.Requests != 4 || r.Errors != 1 || r.RPS != 2 || r.P50ms != 2 || r.P999ms != 3 || r.CPUusPerOp != 10000 || r.ClientCPUusPerOp != 2000 {
		t.Fatalf("%+v", r)
	}
	if empty := (sample{elapsed: time.Second}).result(); empty.RPS != 0 || empty.Requests != 0 {
		t.Fatalf("empty: %+v", empty)
	}
}

func TestProcCounters(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if procCPU(os.Getpid()) <= 0 || selfCPU() <= 0 {
		t.Fatal("CPU counters read zero after busy work")
	}
	if procRSS(os.Getpid()) <= 0 {
		t.Fatal("RSS reads zero")
	}
	if procCPU(-1) != 0 {
		t.Fatal("a missing process must read zero")
	}
}

func TestFixedBody(t *testing.T) {
	for _, n := range []int{12, 295, 1000} {
		if got := len(fixedBody(n)); got != n {
			t.Errorf("fixedBody(%d) has %d bytes", n, got)
		}
	}
}
