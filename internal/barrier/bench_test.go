package barrier

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
)

const benchKey = "v/bench/secrets/db-password/0123456789abcdef"

func benchStore() storage.Store { return memory.New() }

// benchBarrier returns an unsealed barrier with vault "bench" and a 1 KiB
// value at benchKey.
func benchBarrier(b *testing.B) (*Barrier, []byte) {
	b.Helper()
	br := New(benchStore())
	if err := br.Initialize(ctx, NewDevSeal()); err != nil {
		b.Fatal(err)
	}
	value := bytes.Repeat([]byte("s"), 1024)
	update(b, br, func(tx *Tx) error {
		return errBoth(tx.CreateVaultKey("bench"), tx.Put(benchKey, value))
	})
	return br, value
}

func errBoth(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// BenchmarkTxGet measures Tx.Get of a 1 KiB vault value inside one View.
func BenchmarkTxGet(b *testing.B) {
	br, _ := benchBarrier(b)
	b.ReportAllocs()
	b.SetBytes(1024)
	err := br.View(ctx, func(tx *Tx) error {
		for b.Loop() {
			if _, err := tx.Get(benchKey); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkTxPut measures Tx.Put of a 1 KiB vault value inside one Update.
func BenchmarkTxPut(b *testing.B) {
	br, value := benchBarrier(b)
	b.ReportAllocs()
	b.SetBytes(1024)
	update(b, br, func(tx *Tx) error {
		for b.Loop() {
			if err := tx.Put(benchKey, value); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkViewGet is one View transaction per read, as a request handler
// does it: it includes the vault key record lookup and cache check.
func BenchmarkViewGet(b *testing.B) {
	br, _ := benchBarrier(b)
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := get(br, benchKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkViewGetParallel is BenchmarkViewGet from GOMAXPROCS goroutines.
func BenchmarkViewGetParallel(b *testing.B) {
	br, _ := benchBarrier(b)
	b.ReportAllocs()
	b.SetBytes(1024)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := get(br, benchKey); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkUpdatePut is one Update transaction per write.
func BenchmarkUpdatePut(b *testing.B) {
	br, value := benchBarrier(b)
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		if err := br.Update(ctx, func(tx *Tx) error { return tx.Put(benchKey, value) }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnvelope isolates the barrier's cryptography from storage.
func BenchmarkEnvelope(b *testing.B) {
	br, value := benchBarrier(b)
	kek := br.state.Load().root
	for _, size := range []int{32, 1024} {
		k, raw, err := sealEnvelope(kek, rootTerm, "sys/k", value[:size])
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("seal/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sealEnvelope(kek, rootTerm, "sys/k", value[:size])
			}
		})
		b.Run(fmt.Sprintf("open/%d", size), func(b *testing.B) {
			b.ReportAllocs()
			env, _ := parseEnvelope(raw)
			sc := getScratch()
			for b.Loop() {
				if _, err := openEnvelope(kek, env, aadFor(sc, string(k)), &sc.dk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTxGetSpread reads 256-byte values spread over 100,000 records,
// far more than the data-key cache holds: nearly every read unwraps its
// data key, as in a vault with a million secrets.
func BenchmarkTxGetSpread(b *testing.B) {
	br, _ := benchBarrier(b)
	const n = 100_000
	value := bytes.Repeat([]byte("s"), 256)
	for i := 0; i < n; i += 1000 {
		update(b, br, func(tx *Tx) error {
			for j := i; j < i+1000; j++ {
				if err := tx.Put(fmt.Sprintf("v/bench/secrets/s%06d", j), value); err != nil {
					return err
				}
			}
			return nil
		})
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("v/bench/secrets/s%06d", (i*7919)%n)
	}
	b.ReportAllocs()
	i := 0
	err := br.View(ctx, func(tx *Tx) error {
		for b.Loop() {
			if _, err := tx.Get(keys[i%n]); err != nil {
				return err
			}
			i++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkViewGetHotParallel reads 256-byte values from 1,000 records, all
// of whose data keys are cached, from GOMAXPROCS goroutines: the data-key
// cache's hit path under concurrent readers.
func BenchmarkViewGetHotParallel(b *testing.B) {
	br, _ := benchBarrier(b)
	const n = 1000
	value := bytes.Repeat([]byte("s"), 256)
	keys := make([]string, n)
	update(b, br, func(tx *Tx) error {
		for i := range keys {
			keys[i] = fmt.Sprintf("v/bench/secrets/s%04d", i)
			if err := tx.Put(keys[i], value); err != nil {
				return err
			}
		}
		return nil
	})
	for range 2 { // the second miss admits a key
		for _, k := range keys {
			if _, err := get(br, k); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(7919))
		for pb.Next() {
			if _, err := get(br, keys[i%n]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}
