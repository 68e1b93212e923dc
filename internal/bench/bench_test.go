package bench

import (
	"os"
	"testing"
	"time"
)

func TestSummarize(t *testing.T) {
	lat := [][]time.Duration{{1 * time.Millisecond, 3 * time.Millisecond}, {2 * time.Millisecond, 100 * time.Millisecond}}
	r := summarize(lat, []int{1, 0}, 2*time.Second, 40*time.Millisecond, 8*time.Millisecond)
	if r.Requests != 4 || r.Errors != 1 || r.RPS != 2 || r.P50ms != 2 || r.P999ms != 3 || r.CPUusPerOp != 10000 || r.ClientCPUusPerOp != 2000 {
		t.Fatalf("%+v", r)
	}
	if empty := summarize([][]time.Duration{nil}, []int{0}, time.Second, 0, 0); empty.RPS != 0 || empty.Requests != 0 {
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
