package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
)

// Delivery limits of one pass over the outbox.
const (
	maxScan       = 2048 // outbox entries looked at
	maxDeliveries = 256  // requests sent
	maxParallel   = 16   // subscriptions served at once
	pollInterval  = time.Second
)

// retrySchedule is Event Grid's: the delay after the 1st, 2nd, ... failed
// attempt, then hourly.
var retrySchedule = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute,
	10 * time.Minute, 30 * time.Minute, time.Hour}

// Backoff is the default delay before the next attempt after attempts
// failed ones: Event Grid's schedule (10s, 30s, 1m, 5m, 10m, 30m, then
// every hour) with up to ±10% jitter.
func Backoff(attempts int) time.Duration {
	d := retrySchedule[min(max(attempts, 1), len(retrySchedule))-1]
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// Counters are the worker's totals since the process started.
type Counters struct {
	Delivered      uint64 // events a subscriber acknowledged (2xx)
	FailedAttempts uint64 // attempts that did not deliver
	DeadLettered   uint64 // events kept as dead letters after the last failure
	Dropped        uint64 // events given up without dead-lettering
}

// delivery is the worker's state.
type delivery struct {
	passMu    sync.Mutex           // one pass at a time
	notBefore map[string]time.Time // outbox key → earliest next attempt (a hint; lost on restart)
	subsSeen  string               // fingerprint of the subscriptions notBefore was computed under
	cursor    string               // where the next pass continues when the last one stopped early

	runMu  sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}

	delivered, failed, deadLettered, dropped atomic.Uint64
	lastErrLog                               time.Time
}

func (d *delivery) init() { d.notBefore = map[string]time.Time{} }

// Counters returns the worker's totals.
func (s *Service) Counters() Counters {
	return Counters{Delivered: s.delivered.Load(), FailedAttempts: s.failed.Load(), DeadLettered: s.deadLettered.Load(), Dropped: s.dropped.Load()}
}

// deliveryState is one subscription's progress with one outbox event.
type deliveryState struct {
	Attempts    int       `json:"attempts"`
	Next        time.Time `json:"next,omitzero"`
	Done        bool      `json:"done,omitempty"`
	LastOutcome string    `json:"lastOutcome,omitempty"`
	LastStatus  int       `json:"lastStatus,omitempty"`
	LastAttempt time.Time `json:"lastAttempt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
}

// DeadLetter is an event a subscription gave up on, with Event Grid's
// dead-letter properties. Event is exactly what was (or would have been)
// delivered: one Event Grid event or one CloudEvent.
type DeadLetter struct {
	Event                   json.RawMessage `json:"event"`
	DeadLetterReason        string          `json:"deadLetterReason"`
	DeliveryAttempts        int             `json:"deliveryAttempts"`
	LastDeliveryOutcome     string          `json:"lastDeliveryOutcome,omitempty"`
	LastHTTPStatusCode      int             `json:"lastHttpStatusCode,omitempty"`
	LastError               string          `json:"lastError,omitempty"`
	PublishTime             time.Time       `json:"publishTime"`
	LastDeliveryAttemptTime *time.Time      `json:"lastDeliveryAttemptTime,omitempty"`
	DeadLetteredOn          time.Time       `json:"deadLetteredOn"`
}

// DeadLetters returns subscription name's dead-lettered events, oldest
// first.
func (s *Service) DeadLetters(ctx context.Context, name string) ([]DeadLetter, error) {
	sub, err := s.read(ctx, name)
	if err != nil {
		return nil, err
	}
	if sub == nil {
		return nil, notFound(name)
	}
	out := []DeadLetter{}
	err = s.b.View(ctx, func(tx *barrier.Tx) error {
		out = out[:0]
		return tx.Scan(deadLettersPrefix+strings.ToLower(sub.Name)+"/", "", func(_ string, val []byte) (bool, error) {
			var dl DeadLetter
			if err := json.Unmarshal(val, &dl); err != nil {
				return false, err
			}
			out = append(out, dl)
			return true, nil
		})
	})
	return out, err
}

// Start runs the delivery worker until Stop: a pass over the outbox every
// second, at once again while a pass leaves work behind.
func (s *Service) Start() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.loop(ctx, s.done)
}

// Stop ends the worker and waits for its pass; deliveries in flight are
// abandoned without counting as attempts.
func (s *Service) Stop() {
	s.runMu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.runMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *Service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for ctx.Err() == nil {
		more, err := s.runPass(ctx)
		if err != nil && ctx.Err() == nil && !errors.Is(err, barrier.ErrSealed) && time.Since(s.lastErrLog) > time.Minute {
			s.lastErrLog = time.Now()
			s.log.Error("event delivery pass failed", "err", err)
		}
		if more && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// RunOnce delivers what is due now, pass after pass until the outbox has
// nothing due left (at most 100 passes).
func (s *Service) RunOnce(ctx context.Context) error {
	for range 100 {
		more, err := s.runPass(ctx)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (s *Service) runPass(ctx context.Context) (bool, error) {
	s.passMu.Lock()
	defer s.passMu.Unlock()
	if s.b.Sealed() {
		return false, nil
	}
	return s.pass(ctx)
}

// pending is one outbox event of a pass and what the pass does with it.
type pending struct {
	key    string // outbox key
	suffix string // key without Prefix: the event's id in other keys
	ev     Event
	open   int       // matching subscriptions that are not done
	jobs   []*job    // attempts to make now
	finals []*job    // subscriptions to give up without an attempt (TTL, attempts)
	next   time.Time // earliest next attempt among the others
	vault  VaultRef  // the event's vault and topic, resolved once
	topic  string
	states map[string]*deliveryState
}

// job is one subscription's attempt (or final verdict) on one event.
type job struct {
	p     *pending
	sub   *Subscription
	st    *deliveryState
	res   result
	tried bool
}

// pass looks at the outbox once: it delivers what is due, records the
// outcomes, and removes the events every matching subscription is done
// with. more reports that it stopped early.
func (s *Service) pass(ctx context.Context) (more bool, err error) {
	now := s.now()
	subs, err := s.all(ctx)
	if err != nil {
		return false, err
	}
	s.resetHints(subs)
	list, more, err := s.collect(ctx, subs, now)
	if err != nil {
		return false, err
	}
	s.deliver(ctx, list, now)
	// The outcomes are recorded even when ctx ends (shutdown) meanwhile:
	// an attempt the endpoint answered must not be made again.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.record(rctx, list, now); err != nil {
		return false, err
	}
	return more, ctx.Err()
}

// resetHints forgets the next-attempt hints when the subscriptions changed.
func (s *Service) resetHints(subs []*Subscription) {
	var b strings.Builder
	for _, sub := range subs {
		fmt.Fprintf(&b, "%s|%s|%d;", sub.Name, sub.Updated.Format(time.RFC3339Nano), sub.MaxDeliveryAttempts)
	}
	if b.String() != s.subsSeen {
		s.subsSeen, s.notBefore = b.String(), map[string]time.Time{}
	}
}

// collect reads the outbox from the cursor and decides, per event, which
// subscriptions get an attempt now.
func (s *Service) collect(ctx context.Context, subs []*Subscription, now time.Time) (list []*pending, more bool, err error) {
	err = s.b.View(ctx, func(tx *barrier.Tx) error {
		list, more = nil, false
		keys, full, err := outboxKeys(tx, s.cursor)
		if err != nil {
			return err
		}
		jobs := 0
		for i, k := range keys {
			if nb, ok := s.notBefore[k]; ok && now.Before(nb) {
				continue
			}
			p, err := s.load(tx, k, subs, now)
			if errors.Is(err, barrier.ErrSealed) {
				return err
			}
			if err != nil { // an entry that does not open must not block the others
				s.log.Error("event outbox entry unreadable; it is skipped for an hour", "key", k, "err", err)
				s.notBefore[k] = now.Add(time.Hour)
				continue
			}
			list = append(list, p)
			if jobs += len(p.jobs); jobs >= maxDeliveries && i < len(keys)-1 {
				s.cursor, more = k, true
				return nil
			}
		}
		s.cursor, more = "", full
		if full {
			s.cursor = keys[len(keys)-1]
		}
		return nil
	})
	return list, more, err
}

// outboxKeys lists up to maxScan outbox keys after cursor; full reports
// that more may follow.
func outboxKeys(tx *barrier.Tx, cursor string) (keys []string, full bool, err error) {
	start := ""
	if cursor != "" {
		start = cursor + "\x00"
	}
	err = tx.ScanKeys(Prefix, start, func(k string) (bool, error) {
		if len(keys) == maxScan {
			full = true
			return false, nil
		}
		keys = append(keys, k)
		return true, nil
	})
	return keys, full, err
}

// load reads one outbox event with its delivery states and sorts its
// matching subscriptions into done, due now, to give up, and later.
func (s *Service) load(tx *barrier.Tx, key string, subs []*Subscription, now time.Time) (*pending, error) {
	raw, err := tx.Get(key)
	if err != nil {
		return nil, err
	}
	p := &pending{key: key, suffix: strings.TrimPrefix(key, Prefix), states: map[string]*deliveryState{}}
	if err := json.Unmarshal(raw, &p.ev); err != nil {
		return nil, fmt.Errorf("events: outbox entry %s: %w", key, err)
	}
	err = tx.Scan(statePrefix+p.suffix+"/", "", func(k string, val []byte) (bool, error) {
		st := new(deliveryState)
		p.states[k[strings.LastIndexByte(k, '/')+1:]] = st
		return true, json.Unmarshal(val, st)
	})
	if err != nil {
		return nil, err
	}
	for _, sub := range subs {
		if !sub.matches(&p.ev) {
			continue
		}
		st := p.states[strings.ToLower(sub.Name)]
		if st == nil {
			st = &deliveryState{}
		}
		if st.Done {
			continue
		}
		p.open++
		j := &job{p: p, sub: sub, st: st}
		switch {
		case now.Sub(p.ev.Time) > sub.ttl():
			j.res = result{final: true, reason: "TimeToLiveExceeded"}
			p.finals = append(p.finals, j)
		case st.Attempts >= sub.MaxDeliveryAttempts:
			j.res = result{final: true, reason: "MaxDeliveryAttemptsExceeded"}
			p.finals = append(p.finals, j)
		case !st.Next.After(now):
			p.jobs = append(p.jobs, j)
		case p.next.IsZero() || st.Next.Before(p.next):
			p.next = st.Next
		}
	}
	if p.open > 0 {
		p.vault, p.topic = s.eventTopic(&p.ev)
	}
	return p, nil
}

// eventTopic resolves e's vault and topic: the vault's ARM id, or the
// server's for an event of no vault.
func (s *Service) eventTopic(e *Event) (VaultRef, string) {
	sub := SubscriptionID(s.tenant())
	if e.VaultID == "" {
		return VaultRef{}, ServerTopic(sub)
	}
	v := s.vault(e.VaultID, e.VaultName)
	return v, Topic(sub, v.ResourceGroup, v.Name)
}

// deliver makes the pass's attempts: subscriptions in parallel, each one's
// events in outbox order. After a subscription's endpoint fails to answer,
// its remaining events wait for the next pass without an attempt counted.
func (s *Service) deliver(ctx context.Context, list []*pending, now time.Time) {
	bySub := map[string][]*job{}
	var order []string
	for _, p := range list {
		for _, j := range p.jobs {
			k := strings.ToLower(j.sub.Name)
			if bySub[k] == nil {
				order = append(order, k)
			}
			bySub[k] = append(bySub[k], j)
		}
	}
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for _, k := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(jobs []*job) {
			defer func() { <-sem; wg.Done() }()
			for _, j := range jobs {
				if ctx.Err() != nil {
					return
				}
				s.attempt(ctx, j, now)
				if j.res.unreachable {
					return
				}
			}
		}(bySub[k])
	}
	wg.Wait()
}

// result is what one attempt (or the decision not to make one) came to.
type result struct {
	delivered   bool
	final       bool   // give up: dead-letter or drop
	reason      string // dead-letter reason
	outcome     string // Event Grid's lastDeliveryOutcome
	status      int
	errText     string // public description of the failure
	unreachable bool   // no HTTP answer: spare the endpoint the subscription's other events in this pass
}

// attempt POSTs one event to one subscription.
func (s *Service) attempt(ctx context.Context, j *job, now time.Time) {
	_, _, _, timeout := s.settings()
	el := element(j.sub.Schema, j.p.topic, &j.p.ev, j.p.vault)
	raw, err := body(j.sub.Schema, el)
	if err != nil {
		j.res = result{outcome: "GenericError", errText: "the event could not be encoded"}
		j.tried = true
		return
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := s.send(rctx, http.MethodPost, j.sub, raw, func(h http.Header) {
		headers(h, j.sub, "Notification", wireID(j.p.ev.ID), j.st.Attempts, s.origin)
	})
	if err != nil && ctx.Err() != nil {
		return // shutting down: not an attempt
	}
	j.tried = true
	if err != nil {
		outcome := "SocketError"
		if errors.Is(err, context.DeadlineExceeded) {
			outcome = "TimedOut"
		}
		j.res = result{outcome: outcome, errText: transportReason(err, timeout.String()), unreachable: true}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	j.res = classify(resp.StatusCode)
}

// classify maps an answer's status to a result, with Event Grid's rules
// for webhooks: 2xx delivers; 400, 401, 403 and 413 are never retried.
func classify(code int) result {
	outcome := strings.ReplaceAll(http.StatusText(code), " ", "")
	if outcome == "" {
		outcome = fmt.Sprintf("Http%d", code)
	}
	r := result{status: code, outcome: outcome, errText: fmt.Sprintf("the endpoint answered HTTP %d", code)}
	switch {
	case code/100 == 2:
		return result{delivered: true, status: code, outcome: "Delivered"}
	case code == http.StatusBadRequest, code == http.StatusUnauthorized, code == http.StatusForbidden, code == http.StatusRequestEntityTooLarge:
		r.final, r.reason = true, "UndeliverableDueToHttp"+outcome
	}
	return r
}

// record stores the pass's outcomes in one transaction: delivery states,
// dead letters, and the removal of finished events.
func (s *Service) record(ctx context.Context, list []*pending, now time.Time) error {
	_, backoff, _, _ := s.settings()
	type verdict struct {
		j  *job
		st deliveryState
		dl *DeadLetter
	}
	var verdicts []verdict
	var finished []*pending
	for _, p := range list {
		open := p.open
		for _, j := range slices.Concat(p.jobs, p.finals) {
			if !j.tried && !j.res.final {
				continue
			}
			st, dl := s.judge(j, now, backoff)
			verdicts = append(verdicts, verdict{j: j, st: st, dl: dl})
			if st.Done {
				open--
			}
		}
		if open == 0 {
			finished = append(finished, p)
		}
	}
	if len(verdicts) == 0 && len(finished) == 0 {
		s.hint(list, nil)
		return nil
	}
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		for _, v := range verdicts {
			if err := putVerdict(tx, v.j, &v.st, v.dl); err != nil {
				return err
			}
		}
		for _, p := range finished {
			if err := deletePrefix(tx, statePrefix+p.suffix+"/"); err != nil {
				return err
			}
			if err := tx.Delete(p.key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range verdicts {
		s.count(v.j, &v.st, v.dl)
	}
	s.hint(list, finished)
	return nil
}

// judge turns a job's result into its next state and, when it gives up
// with dead-lettering on, the dead letter.
func (s *Service) judge(j *job, now time.Time, backoff func(int) time.Duration) (deliveryState, *DeadLetter) {
	st := *j.st
	r := j.res
	if j.tried {
		st.Attempts++
		st.LastAttempt, st.LastOutcome, st.LastStatus, st.LastError = now.UTC(), r.outcome, r.status, r.errText
	}
	switch {
	case r.delivered:
		return deliveryState{Done: true, Attempts: st.Attempts, LastOutcome: r.outcome, LastStatus: r.status, LastAttempt: st.LastAttempt}, nil
	case !r.final && st.Attempts >= j.sub.MaxDeliveryAttempts:
		r.final, r.reason = true, "MaxDeliveryAttemptsExceeded"
	case !r.final && now.Sub(j.p.ev.Time) > j.sub.ttl():
		r.final, r.reason = true, "TimeToLiveExceeded"
	}
	if !r.final {
		st.Next = now.Add(backoff(st.Attempts)).UTC()
		return st, nil
	}
	st.Done, st.Next = true, time.Time{}
	if !j.sub.DeadLetter {
		return st, nil
	}
	el, _ := json.Marshal(element(j.sub.Schema, j.p.topic, &j.p.ev, j.p.vault))
	dl := &DeadLetter{Event: el, DeadLetterReason: r.reason, DeliveryAttempts: st.Attempts, LastDeliveryOutcome: st.LastOutcome,
		LastHTTPStatusCode: st.LastStatus, LastError: st.LastError, PublishTime: j.p.ev.Time.UTC(), DeadLetteredOn: now.UTC()}
	if !st.LastAttempt.IsZero() {
		t := st.LastAttempt
		dl.LastDeliveryAttemptTime = &t
	}
	return st, dl
}

func putVerdict(tx *barrier.Tx, j *job, st *deliveryState, dl *DeadLetter) error {
	lname := strings.ToLower(j.sub.Name)
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := tx.Put(statePrefix+j.p.suffix+"/"+lname, raw); err != nil {
		return err
	}
	if dl == nil {
		return nil
	}
	if raw, err = json.Marshal(dl); err != nil {
		return err
	}
	return tx.Put(deadLettersPrefix+lname+"/"+j.p.suffix, raw)
}

// count updates the counters and logs what was given up; never an
// endpoint (its query may hold a token) or a secret.
func (s *Service) count(j *job, st *deliveryState, dl *DeadLetter) {
	switch {
	case j.res.delivered:
		s.delivered.Add(1)
		return
	case j.tried:
		s.failed.Add(1)
		s.log.Debug("event delivery attempt failed", "subscription", j.sub.Name, "eventId", wireID(j.p.ev.ID),
			"attempt", st.Attempts, "outcome", st.LastOutcome, "status", st.LastStatus)
	}
	if !st.Done {
		return
	}
	if dl != nil {
		s.deadLettered.Add(1)
		s.log.Warn("event dead-lettered", "subscription", j.sub.Name, "eventId", wireID(j.p.ev.ID), "eventType", j.p.ev.Type,
			"reason", dl.DeadLetterReason, "attempts", st.Attempts, "lastOutcome", st.LastOutcome)
		return
	}
	s.dropped.Add(1)
	s.log.Warn("event dropped: delivery gave up and the subscription does not dead-letter", "subscription", j.sub.Name,
		"eventId", wireID(j.p.ev.ID), "eventType", j.p.ev.Type, "attempts", st.Attempts, "lastOutcome", st.LastOutcome)
}

// hint remembers, for events with nothing due in this pass, when their
// next attempt is, so later passes do not read them before then.
func (s *Service) hint(list, finished []*pending) {
	for _, p := range list {
		delete(s.notBefore, p.key)
		if len(p.jobs) == 0 && len(p.finals) == 0 && !p.next.IsZero() && !slices.Contains(finished, p) {
			s.notBefore[p.key] = p.next
		}
	}
}
