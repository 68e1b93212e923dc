package bolt

import (
	"context"
	"fmt"

	"github.com/keyhaven/keyhaven/internal/storage"
)

// request is one queued Update.
type request struct {
	ctx  context.Context
	fn   func(storage.Tx) error
	res  result        // written by the committer before done is closed
	done chan struct{} // closed once res is final
}

// result is the outcome of running or committing a request's fn.
type result struct {
	err        error
	panicked   bool
	panicValue any
}

func (r result) failed() bool { return r.err != nil || r.panicked }

func (r *request) finish(res result) {
	r.res = res
	close(r.done)
}

// enqueue adds r to the queue; it reports false once Close has begun.
func (s *Store) enqueue(r *request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.queue = append(s.queue, r)
	s.cond.Signal()
	return true
}

// commitLoop is the committer goroutine: it commits batches until Close
// has begun and the queue is empty.
func (s *Store) commitLoop() {
	defer close(s.stopped)
	var batch []*request
	for {
		batch = s.nextBatch(batch[:0])
		if len(batch) == 0 {
			return
		}
		s.commitBatch(batch)
		clear(batch) // drop references to finished requests
	}
}

// nextBatch waits for queued requests and moves up to maxBatch of them into
// buf. It returns an empty batch only when the store is stopping and the
// queue is drained.
func (s *Store) nextBatch(buf []*request) []*request {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 && !s.stopping {
		s.cond.Wait()
	}
	n := min(len(s.queue), s.maxBatch)
	buf = append(buf, s.queue[:n]...)
	rest := copy(s.queue, s.queue[n:])
	clear(s.queue[rest:])
	s.queue = s.queue[:rest]
	return buf
}

// commitBatch runs batch in as few transactions as possible and finishes
// every request in it.
func (s *Store) commitBatch(batch []*request) {
	for {
		batch = dropCanceled(batch)
		if len(batch) == 0 {
			return
		}
		failed, err := s.runBatch(batch)
		if failed < 0 {
			finishAll(batch, result{err: err})
			return
		}
		r := batch[failed]
		if failed == 0 {
			// It ran against the committed state: its failure stands.
			r.finish(r.res)
		} else {
			r.finish(s.runAlone(r))
		}
		batch = append(batch[:failed], batch[failed+1:]...)
	}
}

// dropCanceled finishes the requests whose context is done and returns the
// others.
func dropCanceled(batch []*request) []*request {
	kept := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.finish(result{err: err})
			continue
		}
		kept = append(kept, r)
	}
	clear(batch[len(kept):])
	return kept
}

func finishAll(batch []*request, res result) {
	for _, r := range batch {
		r.finish(res)
	}
}

// runBatch runs every fn of batch in one transaction. If one fails, it rolls
// back, stores the failure in that request's res and returns its index.
// Otherwise it commits and returns -1 with the commit's error.
func (s *Store) runBatch(batch []*request) (failed int, err error) {
	btx, err := s.db.Begin(true)
	if err != nil {
		return -1, fmt.Errorf("bolt: begin write transaction: %w", err)
	}
	b := btx.Bucket(bucketName)
	for i, r := range batch {
		if r.res = call(r.fn, b); r.res.failed() {
			_ = btx.Rollback()
			return i, nil
		}
	}
	if err := btx.Commit(); err != nil {
		return -1, fmt.Errorf("bolt: commit: %w", err)
	}
	s.commits.Add(1)
	return -1, nil
}

// runAlone runs r's fn in a transaction of its own and commits it if fn
// succeeds.
func (s *Store) runAlone(r *request) result {
	failed, err := s.runBatch([]*request{r})
	if failed == 0 {
		return r.res
	}
	return result{err: err}
}
