package storagetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/storage"
)

const (
	writers      = 32
	writesEach   = 50
	counterKey   = "counter"
	writtenSpace = "w/"
)

// failsOnPurpose decides which concurrent Updates return errBoom.
func failsOnPurpose(g, i int) bool { return (g+i)%5 == 0 }

// testConcurrentUpdates runs many Updates at once, each doing a
// read-modify-write of a shared counter plus one own key, some failing on
// purpose after writing. Readers check, meanwhile, that every snapshot is
// consistent: the counter always equals the number of own keys.
func testConcurrentUpdates(t *testing.T, s storage.Store) {
	putAll(t, s, kv{counterKey, "0"})
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() { checkCounterLoop(t, s, stop) })
	}
	var wg sync.WaitGroup
	var succeeded atomic.Int64
	for g := range writers {
		wg.Go(func() {
			for i := range writesEach {
				if concurrentWrite(t, s, g, i) {
					succeeded.Add(1)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	verifyConcurrentWrites(t, s, int(succeeded.Load()))
}

// concurrentWrite performs write i of writer g and reports whether it
// committed.
func concurrentWrite(t *testing.T, s storage.Store, g, i int) bool {
	key := fmtKey(writtenSpace+strconv.Itoa(g)+"/", i)
	fail := failsOnPurpose(g, i)
	err := s.Update(ctx(), func(tx storage.Tx) error {
		if err := incrementCounter(tx); err != nil {
			return err
		}
		if err := tx.Put(key, key); err != nil {
			return err
		}
		if fail {
			return errBoom
		}
		return nil
	})
	switch {
	case fail && err != errBoom:
		t.Errorf("failing Update %d/%d returned %v, want exactly errBoom", g, i, err)
	case !fail && err != nil:
		t.Errorf("Update %d/%d: %v", g, i, err)
	}
	return err == nil
}

func incrementCounter(tx storage.Tx) error {
	v, err := tx.Get([]byte(counterKey))
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return err
	}
	return tx.Put([]byte(counterKey), []byte(strconv.Itoa(n+1)))
}

// counterMatches reports the counter and the number of written keys in one
// snapshot.
func counterMatches(tx storage.Tx) (counter, keys int, err error) {
	v, err := tx.Get([]byte(counterKey))
	if err != nil {
		return 0, 0, err
	}
	if counter, err = strconv.Atoi(string(v)); err != nil {
		return 0, 0, err
	}
	err = tx.Scan([]byte(writtenSpace), nil, func(_, _ []byte) (bool, error) {
		keys++
		return true, nil
	})
	return counter, keys, err
}

func checkCounterLoop(t *testing.T, s storage.Store, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(time.Millisecond): // let writers progress on lock-based stores
		}
		err := s.View(ctx(), func(tx storage.Tx) error {
			counter, keys, err := counterMatches(tx)
			if err == nil && counter != keys {
				t.Errorf("inconsistent snapshot: counter %d, %d keys", counter, keys)
			}
			return err
		})
		if err != nil {
			t.Errorf("reader View: %v", err)
			return
		}
	}
}

func verifyConcurrentWrites(t *testing.T, s storage.Store, succeeded int) {
	view(t, s, func(tx storage.Tx) error {
		counter, keys, err := counterMatches(tx)
		if counter != succeeded || keys != succeeded {
			t.Errorf("counter %d, keys %d, want both %d", counter, keys, succeeded)
		}
		for g := range writers {
			for i := range writesEach {
				key := string(fmtKey(writtenSpace+strconv.Itoa(g)+"/", i))
				_, found, err := get(tx, key)
				if err == nil && found == failsOnPurpose(g, i) {
					t.Errorf("key %q: found=%t, but failed on purpose=%t", key, found, !found)
				}
			}
		}
		return err
	})
}

func testContextCanceled(t *testing.T, s storage.Store) {
	c, cancel := context.WithCancel(ctx())
	cancel()
	called := false
	fn := func(tx storage.Tx) error {
		called = true
		return tx.Put([]byte("k"), []byte("v"))
	}
	if err := s.Update(c, fn); err != c.Err() {
		t.Errorf("Update with canceled context = %v, want %v", err, c.Err())
	}
	if err := s.View(c, func(storage.Tx) error { called = true; return nil }); err != c.Err() {
		t.Errorf("View with canceled context = %v, want %v", err, c.Err())
	}
	if called {
		t.Error("fn was called despite a canceled context")
	}
	wantMissing(t, s, "k")
}

func testClose(t *testing.T, s storage.Store) {
	putAll(t, s, kv{"a", "1"})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	called := false
	fn := func(storage.Tx) error { called = true; return nil }
	if err := s.View(ctx(), fn); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("View after Close = %v, want ErrClosed", err)
	}
	if err := s.Update(ctx(), fn); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if called {
		t.Error("fn was called after Close")
	}
}

// testCloseWithPendingUpdates closes the store while writers are busy: each
// Update must either succeed or fail with ErrClosed, and Close must not hang.
func testCloseWithPendingUpdates(t *testing.T, s storage.Store) {
	var wg sync.WaitGroup
	started := make(chan struct{}, writers)
	for g := range writers {
		wg.Go(func() {
			started <- struct{}{}
			for i := 0; ; i++ {
				err := s.Update(ctx(), func(tx storage.Tx) error {
					return tx.Put(fmtKey(strconv.Itoa(g)+"/", i), []byte("v"))
				})
				if errors.Is(err, storage.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Update during Close: %v", err)
					return
				}
			}
		})
	}
	for range writers {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
}
