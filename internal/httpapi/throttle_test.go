package httpapi

import (
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

const sec = int64(time.Second)

func TestBucketRefill(t *testing.T) {
	r := rateOf(2, time.Second) // one request per 500 ms, two at once
	var bs buckets
	start := 100 * sec
	for i := range 2 {
		if _, ok := bs.take("k", start, r); !ok {
			t.Fatalf("request %d of a full bucket refused", i)
		}
	}
	wait, ok := bs.take("k", start, r)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("third request: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if wait, ok := bs.take("k", start+sec/4, r); ok || wait != 250*time.Millisecond {
		t.Fatalf("after 250ms: ok=%v wait=%v, want refused for 250ms", ok, wait)
	}
	if _, ok := bs.take("k", start+sec/2, r); !ok {
		t.Fatal("refused after one interval")
	}
	if _, ok := bs.take("k", start+sec/2, r); ok {
		t.Fatal("one interval refilled more than one request")
	}
	// Idle long enough, the bucket is full again, and no fuller than its depth.
	later := start + 60*sec
	for i := range 2 {
		if _, ok := bs.take("k", later, r); !ok {
			t.Fatalf("request %d after idling refused", i)
		}
	}
	if _, ok := bs.take("k", later, r); ok {
		t.Fatal("idling filled the bucket beyond its depth")
	}
	if _, ok := bs.take("other", later, r); !ok {
		t.Fatal("another key shares the bucket")
	}
}

func TestRateOf(t *testing.T) {
	tests := []struct {
		perSecond int
		burst     time.Duration
		depth     int64
	}{
		{perSecond: 1, burst: time.Second, depth: 1},
		{perSecond: 1, burst: time.Millisecond, depth: 1}, // at least one request
		{perSecond: 3, burst: time.Second, depth: 3},
		{perSecond: 400, burst: 10 * time.Second, depth: 4000}, // Azure's secret reads per vault
		{perSecond: 200_000, burst: 10 * time.Second, depth: 2_000_000},
		{perSecond: 2_000_000_000, burst: time.Second, depth: 1_000_000_000},
	}
	for _, tt := range tests {
		r := rateOf(tt.perSecond, tt.burst)
		if got := r.tolerance/r.interval + 1; got != tt.depth {
			t.Errorf("rateOf(%d, %v): depth %d, want %d", tt.perSecond, tt.burst, got, tt.depth)
		}
		var b bucket
		b.tat.Store(0)
		n := int64(0)
		for ; n <= tt.depth && n < 5000; n++ {
			if _, ok := b.take(0, r); !ok {
				break
			}
		}
		if want := min(tt.depth, 5000); n != want {
			t.Errorf("rateOf(%d, %v): a full bucket admitted %d at once, want %d", tt.perSecond, tt.burst, n, want)
		}
	}
}

// TestBucketConcurrent: with the clock standing still, concurrent takers
// get exactly the bucket's depth between them, however they interleave.
func TestBucketConcurrent(t *testing.T) {
	r := rateOf(1000, time.Second)
	var bs buckets
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 200 {
				if _, ok := bs.take("vault", 5*sec, r); ok {
					admitted.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := admitted.Load(); got != 1000 {
		t.Errorf("admitted %d of 3200, want the depth, 1000", got)
	}
}

func TestBucketsEvictIdle(t *testing.T) {
	r := rateOf(10, time.Second)
	var bs buckets
	now := 1000 * sec
	for i := range 1000 {
		bs.take("principal-"+strconv.Itoa(i), now, r)
	}
	for range 10 {
		bs.take("busy", now, r) // empties it: its tat is a second ahead
	}
	if bs.len() != 1001 {
		t.Fatalf("%d buckets, want 1001", bs.len())
	}
	bs.sweep(now + sec/2)
	if bs.len() != 1 {
		t.Fatalf("after the idle ones refilled: %d buckets, want only the busy one", bs.len())
	}
	admitted := 0
	for range 10 {
		if _, ok := bs.take("busy", now+sec/2, r); ok {
			admitted++
		}
	}
	if admitted != 5 {
		t.Fatalf("half a second after emptying, %d of 10 admitted, want 5: the sweep lost the bucket's debt", admitted)
	}
	// Sweeps run by themselves on insertion, at most once per sweepEvery.
	later := now + 2*sweepEvery
	bs.take("new-1", later, r)
	if bs.len() != 1 {
		t.Fatalf("insertion after sweepEvery: %d buckets, want 1 (the new one)", bs.len())
	}
	bs.take("new-2", later+sec, r)
	if bs.len() != 2 {
		t.Fatalf("insertion right after a sweep: %d buckets, want 2", bs.len())
	}
}

func TestThrottleRetryAfterAndBody(t *testing.T) {
	var clock time.Duration
	vs := testVaults(t)
	v, _ := vs.Lookup("dev")
	s := New(Deps{Vaults: vs, Network: Network{Throttle: ThrottleLimits{VaultPerSecond: 1, PrincipalPerSecond: 1, Burst: 2 * time.Second}}})
	tick := func() int64 { return int64(clock) }
	s.limits.clock = tick
	alice, bob := &identity.Principal{ObjectID: "alice"}, &identity.Principal{ObjectID: "bob"}
	req := func(p *identity.Principal) (*httptest.ResponseRecorder, error) {
		w := httptest.NewRecorder()
		c := &call{w: w, r: httptest.NewRequest("GET", "https://dev.vault.localhost/secrets/x", nil), vault: v, principal: p}
		return w, s.throttle(c)
	}
	for i := range 2 {
		if _, err := req(alice); err != nil {
			t.Fatalf("alice %d: %v", i, err)
		}
	}
	w, err := req(alice)
	ke := kverr.As(err)
	if ke == nil || ke.Kind != kverr.Throttled || ke.Code != "Throttled" ||
		ke.Message != "Request was not processed because too many requests were received. Reason: PrincipalRequestLimitReached" {
		t.Fatalf("alice over her limit: %v", err)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	// Bob has his own allowance, but the vault's (two at once) is used up.
	w, err = req(bob)
	if ke := kverr.As(err); ke == nil || ke.Message != "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached" {
		t.Fatalf("bob on an exhausted vault: %v", err)
	}
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	clock += 1500 * time.Millisecond
	if _, err := req(bob); err != nil {
		t.Fatalf("bob after refill: %v", err)
	}
	// Retry-After rounds up to whole seconds.
	s.Network.Throttle = ThrottleLimits{VaultPerSecond: 1, Burst: time.Second}
	s.limits = limiter{clock: tick}
	req(bob)
	clock += 100 * time.Millisecond
	if w, err := req(bob); err == nil || w.Header().Get("Retry-After") != "1" {
		t.Errorf("0.9 s to wait: Retry-After %q (%v), want 1", w.Header().Get("Retry-After"), err)
	}
	s.Network.Throttle = ThrottleLimits{VaultPerSecond: 1, Burst: time.Second}
	s.limits = limiter{clock: tick}
	req(bob)
	clock -= 1500 * time.Millisecond // 2.5 s to wait
	if w, err := req(bob); err == nil || w.Header().Get("Retry-After") != "3" {
		t.Errorf("2.5 s to wait: Retry-After %q (%v), want 3", w.Header().Get("Retry-After"), err)
	}
	// Zero limits throttle nothing.
	s.Network.Throttle = ThrottleLimits{}
	for range 100 {
		if _, err := req(alice); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkThrottle is the throttle's cost per data-plane request with the
// default limits: one vault and one principal shared by every goroutine
// (the contended case), and many principals.
func BenchmarkThrottle(b *testing.B) {
	vs := testVaults(b)
	v, _ := vs.Lookup("dev")
	s := New(Deps{Vaults: vs,
		Network: Network{Throttle: ThrottleLimits{VaultPerSecond: 200_000, PrincipalPerSecond: 200_000, Burst: time.Hour}}})
	newCall := func(p string) *call {
		return &call{w: httptest.NewRecorder(), r: httptest.NewRequest("GET", "https://dev.vault.localhost/secrets/x", nil),
			vault: v, principal: &identity.Principal{ObjectID: p}}
	}
	b.Run("serial", func(b *testing.B) {
		c := newCall("00000000-0000-0000-0000-000000000001")
		b.ReportAllocs()
		for b.Loop() {
			if err := s.throttle(c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel-one-principal", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := newCall("00000000-0000-0000-0000-000000000002")
			for pb.Next() {
				if err := s.throttle(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	var id atomic.Int64
	b.Run("parallel-many-principals", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			c := newCall("principal-" + strconv.FormatInt(id.Add(1), 10))
			for pb.Next() {
				if err := s.throttle(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}
