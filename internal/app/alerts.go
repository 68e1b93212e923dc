package app

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/alerts"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/config"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/httpapi"
	"github.com/keyhaven/keyhaven/internal/objects"
)

// alertQueue bounds the alerts waiting to be recorded; beyond it they are
// dropped and counted, never waited for on the request path.
const alertQueue = 1024

// alertRecorder records the alert engine's alerts as SecurityAlert events,
// one barrier transaction each, on its own goroutine.
type alertRecorder struct {
	b     *barrier.Barrier
	log   *slog.Logger
	queue chan alertItem
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once // of close(stop): Shutdown may run twice

	raised, dropped atomic.Uint64
}

// alertItem is an alert to record, or (flushed set) a marker that the
// alerts queued before it are recorded.
type alertItem struct {
	alert   alerts.Alert
	flushed chan struct{}
}

// startAlerts feeds the HTTP API's audit records to an alert engine whose
// alerts are recorded in the outbox, and adds their counters to /metrics.
// It runs after listen (the handler exists) and before Serve.
func (a *App) startAlerts(c config.AlertsConfig) {
	s, ok := a.srv.Handler.(*httpapi.Server)
	if !ok || !c.Enabled || s.Audit == nil {
		return
	}
	r := &alertRecorder{b: a.barrier, log: a.log, queue: make(chan alertItem, alertQueue), stop: make(chan struct{}), done: make(chan struct{})}
	s.Alerts = alerts.New(alerts.Options{Threshold: c.FailedReadsThreshold, Window: c.FailedReadsWindow, Now: a.now, Emit: r.emit})
	prev := s.Gauges
	s.Gauges = func() map[string]float64 {
		m := map[string]float64{}
		if prev != nil {
			maps.Copy(m, prev())
		}
		m["keyhaven_alerts_raised_total"] = float64(r.raised.Load())
		m["keyhaven_alerts_dropped_total"] = float64(r.dropped.Load())
		return m
	}
	a.alerts = r
	go r.run()
}

// stopAlerts records the alerts still queued and stops the recorder.
func (a *App) stopAlerts() {
	if r := a.alerts; r != nil {
		r.once.Do(func() { close(r.stop) })
		<-r.done
	}
}

// FlushAlerts waits until the alerts raised so far are in the outbox (tests
// call it before DeliverEvents).
func (a *App) FlushAlerts(ctx context.Context) error {
	if a.alerts == nil {
		return nil
	}
	done := make(chan struct{})
	select {
	case a.alerts.queue <- alertItem{flushed: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// emit queues al without waiting; a full queue drops it.
func (r *alertRecorder) emit(al alerts.Alert) {
	select {
	case r.queue <- alertItem{alert: al}:
	default:
		r.dropped.Add(1)
	}
}

func (r *alertRecorder) run() {
	defer close(r.done)
	for {
		select {
		case it := <-r.queue:
			r.handle(it)
		case <-r.stop:
			for {
				select {
				case it := <-r.queue:
					r.handle(it)
				default:
					return
				}
			}
		}
	}
}

func (r *alertRecorder) handle(it alertItem) {
	if it.flushed != nil {
		close(it.flushed)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := alertEvent(it.alert)
	if err := r.b.Update(ctx, func(tx *barrier.Tx) error { return events.Record(tx, ev) }); err != nil {
		r.dropped.Add(1)
		r.log.Warn("security alert not recorded", "rule", it.alert.Rule, "severity", it.alert.Severity, "err", err)
		return
	}
	r.raised.Add(1)
}

// alertEvent is al as an outbox event.
func alertEvent(al alerts.Alert) events.Event {
	return events.Event{ID: objects.NewVersion(), Type: events.SecurityAlert, Time: al.Time.UTC(), VaultID: al.VaultID, VaultName: al.VaultName,
		Data: events.Data{Alert: &events.Alert{Rule: al.Rule, Severity: al.Severity, Principal: al.Principal, AppID: al.AppID,
			Address: al.Address, Operation: al.Operation, Count: al.Count, WindowSeconds: int64(al.Window / time.Second),
			Description: al.Description}}}
}
