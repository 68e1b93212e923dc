package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// latencyBuckets are the upper bounds (seconds) of the request latency
// histogram.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// Metrics counts requests for Prometheus: by operation, vault and status
// code, with a latency histogram per operation. Labels never name objects,
// only operations and vaults, so their number stays bounded.
type Metrics struct {
	mu       sync.RWMutex
	requests map[requestKey]*atomic.Uint64
	latency  map[string]*histogram
	started  time.Time
}

type requestKey struct {
	op, vault string
	code      int
}

type histogram struct {
	buckets   []atomic.Uint64 // one per bound, and +Inf
	sumMicros atomic.Uint64
	count     atomic.Uint64
}

// NewMetrics returns empty metrics.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[requestKey]*atomic.Uint64{}, latency: map[string]*histogram{}, started: time.Now()}
}

// observe records one request.
func (m *Metrics) observe(op, vault string, code int, d time.Duration) {
	k := requestKey{op: op, vault: vault, code: code}
	m.mu.RLock()
	c, h := m.requests[k], m.latency[op]
	m.mu.RUnlock()
	if c == nil || h == nil {
		c, h = m.add(k)
	}
	c.Add(1)
	h.observe(d)
}

func (m *Metrics) add(k requestKey) (*atomic.Uint64, *histogram) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.requests[k]
	if c == nil {
		c = new(atomic.Uint64)
		m.requests[k] = c
	}
	h := m.latency[k.op]
	if h == nil {
		h = &histogram{buckets: make([]atomic.Uint64, len(latencyBuckets)+1)}
		m.latency[k.op] = h
	}
	return c, h
}

func (h *histogram) observe(d time.Duration) {
	s := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets, s)
	h.buckets[i].Add(1)
	h.sumMicros.Add(uint64(d.Microseconds()))
	h.count.Add(1)
}

// Gauges are the composition root's own values: point-in-time gauges, or
// counters when their name ends in _total.
type Gauges func() map[string]float64

// write renders the text exposition format.
func (m *Metrics) write(w io.Writer, gauges map[string]float64) {
	m.mu.RLock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	ops := make([]string, 0, len(m.latency))
	for op := range m.latency {
		ops = append(ops, op)
	}
	m.mu.RUnlock()
	slices.SortFunc(keys, func(a, b requestKey) int {
		return strings.Compare(fmt.Sprint(a.op, a.vault, a.code), fmt.Sprint(b.op, b.vault, b.code))
	})
	slices.Sort(ops)
	fmt.Fprintln(w, "# HELP keyhaven_requests_total Requests served, by operation, vault and HTTP status code.")
	fmt.Fprintln(w, "# TYPE keyhaven_requests_total counter")
	for _, k := range keys {
		fmt.Fprintf(w, "keyhaven_requests_total{operation=%q,vault=%q,code=\"%d\"} %d\n", k.op, k.vault, k.code, m.counter(k))
	}
	fmt.Fprintln(w, "# HELP keyhaven_request_duration_seconds Request latency inside the server, by operation.")
	fmt.Fprintln(w, "# TYPE keyhaven_request_duration_seconds histogram")
	for _, op := range ops {
		m.writeHistogram(w, op)
	}
	names := make([]string, 0, len(gauges))
	for n := range gauges {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		kind := "gauge"
		if strings.HasSuffix(n, "_total") { // Prometheus's naming rule: a _total is a counter
			kind = "counter"
		}
		fmt.Fprintf(w, "# TYPE %s %s\n%s %s\n", n, kind, n, strconv.FormatFloat(gauges[n], 'g', -1, 64))
	}
}

func (m *Metrics) counter(k requestKey) uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.requests[k].Load()
}

func (m *Metrics) writeHistogram(w io.Writer, op string) {
	m.mu.RLock()
	h := m.latency[op]
	m.mu.RUnlock()
	var cum uint64
	for i, le := range latencyBuckets {
		cum += h.buckets[i].Load()
		fmt.Fprintf(w, "keyhaven_request_duration_seconds_bucket{operation=%q,le=\"%g\"} %d\n", op, le, cum)
	}
	cum += h.buckets[len(latencyBuckets)].Load()
	fmt.Fprintf(w, "keyhaven_request_duration_seconds_bucket{operation=%q,le=\"+Inf\"} %d\n", op, cum)
	fmt.Fprintf(w, "keyhaven_request_duration_seconds_sum{operation=%q} %g\n", op, float64(h.sumMicros.Load())/1e6)
	fmt.Fprintf(w, "keyhaven_request_duration_seconds_count{operation=%q} %d\n", op, h.count.Load())
}

// MetricsAccess decides who may read GET /metrics: anyone (Anonymous),
// the holder of the scrape token, or a caller with a keyhaven access token
// whose principal may perform MetricsReadAction on the server.
type MetricsAccess struct {
	Anonymous bool
	token     *[sha256.Size]byte
}

// MetricsReadAction is Azure Monitor's action for reading metrics, which
// Azure's Owner, Contributor and Reader roles include.
const MetricsReadAction = "Microsoft.Insights/metrics/read"

// SetToken makes token (at least 32 characters) a bearer token that may
// read /metrics.
func (m *MetricsAccess) SetToken(token string) error {
	if len(token) < 32 {
		return errors.New("the metrics token must be at least 32 characters")
	}
	sum := sha256.Sum256([]byte(token))
	m.token = &sum
	return nil
}

// authorizeMetrics lets the caller read /metrics or says why not.
func (s *Server) authorizeMetrics(c *call) error {
	m := s.MetricsAccess
	if m.Anonymous {
		return nil
	}
	if m.token != nil {
		h := c.r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			tok, ok = strings.CutPrefix(h, "bearer ")
		}
		if ok {
			sum := sha256.Sum256([]byte(tok))
			if subtle.ConstantTimeCompare(sum[:], m.token[:]) == 1 {
				return nil
			}
		}
	}
	if s.Seal.Sealed() {
		return errSealed
	}
	if err := s.authenticate(c); err != nil {
		return err
	}
	return s.authorizeManagementAt(c, MetricsReadAction, "/")
}

// metrics serves GET /metrics.
func (s *Server) metrics(c *call) error {
	if err := s.authorizeMetrics(c); err != nil {
		return err
	}
	g := map[string]float64{"keyhaven_sealed": 0, "keyhaven_audit_failing": 0}
	if s.Seal.Sealed() {
		g["keyhaven_sealed"] = 1
	}
	if s.Audit != nil && s.Audit.Err() != nil {
		g["keyhaven_audit_failing"] = 1
	}
	if s.Gauges != nil {
		for k, v := range s.Gauges() {
			g[k] = v
		}
	}
	c.w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	s.Metrics.write(c.w, g)
	return nil
}
