package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunOnceUsesTheClockAndRunsEveryJob(t *testing.T) {
	at := time.Unix(1_900_000_000, 0)
	var seen []time.Time
	failing := errors.New("boom")
	s := New(time.Hour, func() time.Time { return at }, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Job{Name: "a", Run: func(_ context.Context, now time.Time) error { seen = append(seen, now); return failing }},
		Job{Name: "b", Run: func(_ context.Context, now time.Time) error { seen = append(seen, now); return nil }},
	)
	if err := s.RunOnce(context.Background()); !errors.Is(err, failing) {
		t.Fatalf("RunOnce = %v", err)
	}
	if len(seen) != 2 || !seen[0].Equal(at) || !seen[1].Equal(at) {
		t.Fatalf("a failing job must not stop the others; saw %v", seen)
	}
}

func TestStartRunsAtOnceAndStopWaits(t *testing.T) {
	var runs atomic.Int32
	started := make(chan struct{}, 1)
	s := New(time.Hour, time.Now, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Job{Name: "count", Run: func(context.Context, time.Time) error {
			runs.Add(1)
			select {
			case started <- struct{}{}:
			default:
			}
			return nil
		}})
	s.Start()
	s.Start() // a second Start is a no-op
	<-started
	s.Stop()
	s.Stop()
	if n := runs.Load(); n != 1 {
		t.Fatalf("runs = %d, want 1 (at start; the next tick is an hour away)", n)
	}
}
