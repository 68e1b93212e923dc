package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// WebhookSink forwards the audit log to an HTTP endpoint (a SIEM's
// collector): batches of lines POSTed as application/x-ndjson, each body
// signed with HMAC-SHA256 in the X-Keyhaven-Signature header
// ("sha256=<hex>") when a secret is set. It forwards in the background, so
// a slow or unreachable endpoint never delays requests: lines wait in a
// bounded queue and are retried with backoff, in order; lines beyond the
// queue are dropped and counted. The file sink stays the durable record
// (fail-closed mode guards the sinks that write synchronously). The chain
// of a webhook starts anew with each server start: the receiver verifies
// each run's lines with keyhaven audit verify --partial.
type WebhookSink struct {
	url    string
	secret []byte
	client *http.Client

	mu      sync.Mutex
	queue   [][]byte // lines not yet accepted by the endpoint, in order
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Uint64
	sent    atomic.Uint64
	lastErr atomic.Pointer[string]

	minBackoff, maxBackoff time.Duration
}

// Queue and batch bounds of a webhook sink.
const (
	webhookMaxQueue = 100_000
	webhookMaxBatch = 1 << 20 // bytes per POST
)

// NewWebhookSink starts forwarding to url. client nil means a client with
// a 30-second timeout.
func NewWebhookSink(url string, secret []byte, client *http.Client) *WebhookSink {
	return newWebhookSink(url, secret, client, time.Second, time.Minute)
}

func newWebhookSink(url string, secret []byte, client *http.Client, minBackoff, maxBackoff time.Duration) *WebhookSink {
	if client == nil {
		// A redirect is a failure, retried later: following it would re-post
		// signed audit lines to wherever the endpoint points (even over http).
		client = &http.Client{Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s := &WebhookSink{url: url, secret: secret, client: client, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), minBackoff: minBackoff, maxBackoff: maxBackoff}
	go s.run()
	return s
}

// Write queues lines (each ending in '\n') for forwarding.
func (s *WebhookSink) Write(lines []byte) error {
	s.mu.Lock()
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		if i < 0 {
			i = len(lines) - 1
		}
		if len(s.queue) >= webhookMaxQueue {
			s.dropped.Add(1)
		} else {
			s.queue = append(s.queue, bytes.Clone(lines[:i+1]))
		}
		lines = lines[i+1:]
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Last is nil: the endpoint's earlier lines are not readable from here.
func (s *WebhookSink) Last() []byte { return nil }

// Dropped counts lines given up because the queue was full.
func (s *WebhookSink) Dropped() uint64 { return s.dropped.Load() }

// Sent counts lines the endpoint accepted.
func (s *WebhookSink) Sent() uint64 { return s.sent.Load() }

// Err is the last delivery error, or "" after a success.
func (s *WebhookSink) Err() string {
	if p := s.lastErr.Load(); p != nil {
		return *p
	}
	return ""
}

// Close stops forwarding after trying, for a few seconds, to deliver what
// is queued.
func (s *WebhookSink) Close() error {
	close(s.stop)
	<-s.done
	if n := s.pending(); n > 0 {
		return fmt.Errorf("audit webhook: %d lines were not delivered", n)
	}
	return nil
}

func (s *WebhookSink) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

func (s *WebhookSink) run() {
	defer close(s.done)
	backoff := s.minBackoff
	for {
		body, n := s.batch()
		if n == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		if err := s.post(body, 30*time.Second); err != nil {
			msg := err.Error()
			s.lastErr.Store(&msg)
			select {
			case <-time.After(backoff):
			case <-s.stop:
				s.drainOnce()
				return
			}
			backoff = min(backoff*2, s.maxBackoff)
			continue
		}
		s.lastErr.Store(nil)
		backoff = s.minBackoff
		s.mu.Lock()
		s.queue = s.queue[n:]
		s.mu.Unlock()
		s.sent.Add(uint64(n))
	}
}

// drainOnce makes one last attempt at shutdown.
func (s *WebhookSink) drainOnce() {
	body, n := s.batch()
	if n > 0 && s.post(body, 5*time.Second) == nil {
		s.mu.Lock()
		s.queue = s.queue[n:]
		s.mu.Unlock()
		s.sent.Add(uint64(n))
	}
}

// batch joins the oldest queued lines, up to webhookMaxBatch bytes.
func (s *WebhookSink) batch() ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf []byte
	n := 0
	for _, l := range s.queue {
		if n > 0 && len(buf)+len(l) > webhookMaxBatch {
			break
		}
		buf = append(buf, l...)
		n++
	}
	return buf, n
}

func (s *WebhookSink) post(body []byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if len(s.secret) > 0 {
		req.Header.Set("X-Keyhaven-Signature", "sha256="+Sign(s.secret, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("audit webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("audit webhook: %s", resp.Status)
	}
	return nil
}

// Sign is the hex HMAC-SHA256 of body under secret, as the
// X-Keyhaven-Signature header carries it after "sha256=".
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
