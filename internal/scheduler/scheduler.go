// Package scheduler runs keyhaven's background work (purging soft-deleted
// objects after their retention period; later rotation, renewal and event
// delivery) on one loop with an injected clock, so tests can move time.
package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Job is one piece of periodic work. Run gets the scheduler's notion of now.
type Job struct {
	Name string
	Run  func(ctx context.Context, now time.Time) error
}

// Scheduler runs its jobs every interval until stopped.
type Scheduler struct {
	jobs     []Job
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// New returns a scheduler; call Start to run it.
func New(interval time.Duration, now func() time.Time, log *slog.Logger, jobs ...Job) *Scheduler {
	return &Scheduler{jobs: jobs, interval: interval, now: now, log: log}
}

// RunOnce runs every job once, in order, and returns the first error.
func (s *Scheduler) RunOnce(ctx context.Context) error {
	var first error
	for _, j := range s.jobs {
		if err := j.Run(ctx, s.now()); err != nil {
			s.log.Error("scheduled job failed", "job", j.Name, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Start runs the jobs every interval in a goroutine.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.loop(ctx, s.done)
}

func (s *Scheduler) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		_ = s.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Stop ends the loop and waits for a running job to finish.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
