package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The server doubles Go's processor count and raises its GC target, unless
// GOMAXPROCS and GOGC say otherwise.
func TestTuneRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gc) })

	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	tuneRuntime()
	if got := runtime.GOMAXPROCS(procs); got != serverProcsPerCore*procs {
		t.Errorf("GOMAXPROCS %d; want %d per core of %d", got, serverProcsPerCore, procs)
	}
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("GC percent %d; want %d", got, serverGCPercent)
	}

	t.Setenv("GOMAXPROCS", "3")
	t.Setenv("GOGC", "150")
	tuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("with GOMAXPROCS set, the processor count changed to %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC percent changed to %d", got)
	}
}
