package storagetest

import (
	"crypto/rand"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
)

const (
	benchValueSize  = 1024
	benchKeySpace   = 10000 // keys are reused so the store stays small
	benchGetKeys    = 1000
	benchGoroutines = 32
)

// Bench runs the shared benchmarks against stores that open returns; open
// must return a new, empty store. Each sub-benchmark closes its store when
// it ends. Update benchmarks report ops/s.
func Bench(b *testing.B, open func(b *testing.B) storage.Store) {
	b.Run("UpdateSequential", func(b *testing.B) { benchUpdateSequential(b, openBench(b, open)) })
	b.Run("UpdateParallel", func(b *testing.B) { benchUpdateParallel(b, openBench(b, open)) })
	b.Run("ViewGet", func(b *testing.B) { benchViewGet(b, openBench(b, open)) })
}

func openBench(b *testing.B, open func(b *testing.B) storage.Store) storage.Store {
	s := open(b)
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func benchValue() []byte {
	v := make([]byte, benchValueSize)
	_, _ = rand.Read(v) // values reaching a Store are ciphertext
	return v
}

func benchPut(b *testing.B, s storage.Store, i int, value []byte) {
	err := s.Update(ctx(), func(tx storage.Tx) error {
		return tx.Put(fmtKey("bench/", i%benchKeySpace), value)
	})
	if err != nil {
		b.Fatalf("Update: %v", err)
	}
}

func reportOpsPerSec(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

func benchUpdateSequential(b *testing.B, s storage.Store) {
	value := benchValue()
	b.SetBytes(benchValueSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchPut(b, s, i, value)
	}
	reportOpsPerSec(b)
}

// benchUpdateParallel runs about benchGoroutines writers at once, each doing
// one 1 KiB Put per Update.
func benchUpdateParallel(b *testing.B, s storage.Store) {
	value := benchValue()
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchGoroutines + procs - 1) / procs)
	b.SetBytes(benchValueSize)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPut(b, s, int(next.Add(1)), value)
		}
	})
	reportOpsPerSec(b)
}

func benchViewGet(b *testing.B, s storage.Store) {
	value := benchValue()
	update(b, s, func(tx storage.Tx) error {
		for i := range benchGetKeys {
			if err := tx.Put(fmtKey("bench/", i), value); err != nil {
				return err
			}
		}
		return nil
	})
	keys := make([][]byte, benchGetKeys)
	for i := range keys {
		keys[i] = fmtKey("bench/", i*7919%benchGetKeys)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := s.View(ctx(), func(tx storage.Tx) error {
			_, err := tx.Get(keys[i%benchGetKeys])
			return err
		})
		if err != nil {
			b.Fatalf("View: %v", err)
		}
	}
}
