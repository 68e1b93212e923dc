package cli

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The server doubles Go's processor count and raises its GC target, unless
// GOMAXPROCS and GOGC say otherwise or a CPU limit holds the count below
// the machine's cores.
func TestTuneRuntime(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	gc := debug.SetGCPercent(100)
	t.Cleanup(func() { runtime.GOMAXPROCS(procs); debug.SetGCPercent(gc) })

	t.Setenv("GOMAXPROCS", "")
	t.Setenv("GOGC", "")
	cores := runtime.NumCPU()
	runtime.GOMAXPROCS(cores)
	tuneRuntime()
	if got := runtime.GOMAXPROCS(cores); got != serverProcsPerCore*cores {
		t.Errorf("GOMAXPROCS %d; want %d per core of %d", got, serverProcsPerCore, cores)
	}
	if got := debug.SetGCPercent(100); got != serverGCPercent {
		t.Errorf("GC percent %d; want %d", got, serverGCPercent)
	}

	if cores > 1 { // a CPU limit below the machine's cores is kept
		runtime.GOMAXPROCS(cores - 1)
		tuneRuntime()
		if got := runtime.GOMAXPROCS(cores); got != cores-1 {
			t.Errorf("under a limit of %d of %d cores, GOMAXPROCS became %d", cores-1, cores, got)
		}
		debug.SetGCPercent(100)
	}

	t.Setenv("GOMAXPROCS", "3")
	t.Setenv("GOGC", "150")
	tuneRuntime()
	if got := runtime.GOMAXPROCS(0); got != cores {
		t.Errorf("with GOMAXPROCS set, the processor count changed to %d", got)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, the GC percent changed to %d", got)
	}
}
