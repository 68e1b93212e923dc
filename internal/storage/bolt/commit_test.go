package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/storage"
)

var errFail = errors.New("deliberate failure")

func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "keyhaven.db"), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// blockCommitter starts an Update whose fn waits until release is called,
// so that later Updates pile up in the queue and form one batch.
func blockCommitter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(storage.Tx) error {
			close(entered)
			<-gate
			return nil
		})
	}()
	<-entered
	return func() {
		close(gate)
		if err := <-done; err != nil {
			t.Errorf("blocking Update: %v", err)
		}
	}
}

// waitQueued waits until n requests are queued.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		queued := len(s.queue)
		s.mu.Unlock()
		if queued >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("fewer than %d requests queued", n)
}

// panicError records a panic re-raised by Update.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprint("panic: ", p.value) }

// update calls s.Update, turning a panic into a panicError.
func update(s *Store, fn func(storage.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicError{p}
		}
	}()
	return s.Update(context.Background(), fn)
}

// batchUpdates starts n Updates while the committer is blocked, so that they
// share one batch; fn(i) is the function of Update i. It returns their errors.
func batchUpdates(t *testing.T, s *Store, n int, fn func(i int) func(storage.Tx) error) []error {
	t.Helper()
	release := blockCommitter(t, s)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = update(s, fn(i)) })
		waitQueued(t, s, i+1) // keep queue order equal to i
	}
	release()
	wg.Wait()
	return errs
}

func put(key string) func(storage.Tx) error {
	return func(tx storage.Tx) error { return tx.Put([]byte(key), []byte(key)) }
}

func mustFind(t *testing.T, s *Store, key string, want bool) {
	t.Helper()
	err := s.View(context.Background(), func(tx storage.Tx) error {
		_, err := tx.Get([]byte(key))
		return err
	})
	if found := err == nil; found != want || (err != nil && !errors.Is(err, storage.ErrNotFound)) {
		t.Errorf("key %q: Get error %v, want found=%t", key, err, want)
	}
}

func TestGroupCommitSharesCommits(t *testing.T) {
	s := openTest(t, Options{})
	before := s.commits.Load()
	errs := batchUpdates(t, s, 20, func(i int) func(storage.Tx) error { return put(fmt.Sprint("k", i)) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
		mustFind(t, s, fmt.Sprint("k", i), true)
	}
	// One commit for the blocking Update, one for the batch of 20.
	if got := s.commits.Load() - before; got != 2 {
		t.Errorf("%d commits for 21 Updates, want 2", got)
	}
}

func TestGroupCommitMaxBatch(t *testing.T) {
	s := openTest(t, Options{MaxBatch: 4})
	before := s.commits.Load()
	batchUpdates(t, s, 10, func(i int) func(storage.Tx) error { return put(fmt.Sprint("k", i)) })
	if got := s.commits.Load() - before; got != 1+3 {
		t.Errorf("%d commits, want 4 (1 blocking + 10 Updates in batches of at most 4)", got)
	}
}

// TestGroupCommitFailureIsolated fails Updates in the middle of a batch:
// only their callers see the error, their writes are gone and the others
// commit. Update 4 fails only when it sees Update 1's write, so after failing
// in the batch it succeeds alone (serialized before Update 1) and commits.
func TestGroupCommitFailureIsolated(t *testing.T) {
	s := openTest(t, Options{})
	var runs [6]atomic.Int32
	errs := batchUpdates(t, s, 6, func(i int) func(storage.Tx) error {
		return func(tx storage.Tx) error {
			runs[i].Add(1)
			if err := tx.Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
				return err
			}
			if _, err := tx.Get([]byte("k1")); i == 2 || (i == 4 && err == nil) {
				return errFail
			}
			return nil
		}
	})
	for i, err := range errs {
		if want := map[int]error{2: errFail}[i]; err != want {
			t.Errorf("Update %d error = %v, want %v", i, err, want)
		}
		mustFind(t, s, fmt.Sprint("k", i), i != 2)
	}
	// Attempt 1 fails at 2 (then run alone), attempt 2 fails at 4 (then run
	// alone and committed), attempt 3 commits 0, 1, 3 and 5.
	want := [6]int32{3, 3, 2, 2, 2, 1}
	for i := range runs {
		if runs[i].Load() != want[i] {
			t.Errorf("fn %d ran %d times, want %d", i, runs[i].Load(), want[i])
		}
	}
}

func TestGroupCommitFirstFailureNotRerun(t *testing.T) {
	s := openTest(t, Options{})
	var runs atomic.Int32
	errs := batchUpdates(t, s, 3, func(i int) func(storage.Tx) error {
		if i > 0 {
			return put(fmt.Sprint("k", i))
		}
		return func(storage.Tx) error { runs.Add(1); return errFail }
	})
	if errs[0] != errFail || errs[1] != nil || errs[2] != nil {
		t.Errorf("errors = %v", errs)
	}
	if runs.Load() != 1 {
		t.Errorf("first failing fn ran %d times, want 1", runs.Load())
	}
}

func TestPanicPropagatesToCaller(t *testing.T) {
	s := openTest(t, Options{})
	errs := batchUpdates(t, s, 3, func(i int) func(storage.Tx) error {
		if i != 1 {
			return put(fmt.Sprint("k", i))
		}
		return func(tx storage.Tx) error {
			_ = tx.Put([]byte("k1"), []byte("v"))
			panic("boom")
		}
	})
	if errs[0] != nil || errs[1] != (panicError{"boom"}) || errs[2] != nil {
		t.Errorf("errors = %v, want the panic in Update 1 only", errs)
	}
	mustFind(t, s, "k0", true)
	mustFind(t, s, "k1", false)
	mustFind(t, s, "k2", true)
}

func TestCanceledWhileQueued(t *testing.T) {
	s := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	release := blockCommitter(t, s)
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, put("k")) }()
	waitQueued(t, s, 1)
	cancel()
	release()
	if err := <-done; err != context.Canceled {
		t.Errorf("Update canceled while queued = %v, want context.Canceled", err)
	}
	mustFind(t, s, "k", false)
}

func TestCloseCommitsQueued(t *testing.T) {
	s := openTest(t, Options{})
	release := blockCommitter(t, s)
	done := make(chan error, 1)
	go func() { done <- s.Update(context.Background(), put("k")) }()
	waitQueued(t, s, 1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	for !s.closed.Load() {
		time.Sleep(time.Millisecond)
	}
	if err := s.Update(context.Background(), put("late")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Update after Close began = %v, want ErrClosed", err)
	}
	release()
	if err := <-done; err != nil {
		t.Errorf("queued Update = %v, want it committed", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestTxUnusableAfterFn(t *testing.T) {
	s := openTest(t, Options{})
	var leaked storage.Tx
	if err := s.Update(context.Background(), func(tx storage.Tx) error { leaked = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := leaked.Put([]byte("k"), nil); !errors.Is(err, errTxDone) {
		t.Errorf("Put on a leaked Tx = %v, want errTxDone", err)
	}
}
