package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage/memory"
)

type fixture struct {
	b   *barrier.Barrier
	svc *Service
	now time.Time
	mu  sync.Mutex
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	b := barrier.New(memory.New())
	if err := b.Initialize(context.Background(), barrier.NewDevSeal()); err != nil {
		t.Fatal(err)
	}
	f := &fixture{b: b, now: time.Unix(1_700_000_000, 0)}
	f.svc = New(Options{Barrier: b, Now: f.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Origin: "vault.test",
		TenantID: func() string { return "tenant" },
		Vault: func(id, name string) VaultRef {
			return VaultRef{Name: name, ResourceGroup: "rg", URL: "https://" + name + ".vault.test"}
		}})
	return f
}

// hook is an endpoint that answers the handshake and then status (which
// the test may change), counting notifications per event id.
type hook struct {
	ts     *httptest.Server
	mu     sync.Mutex
	status int
	got    map[string]int
}

func newHook(t *testing.T) *hook {
	h := &hook{status: 200, got: map[string]int{}}
	h.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var evs []struct {
			ID   string
			Data struct{ ValidationCode string }
		}
		_ = json.Unmarshal(body, &evs)
		if r.Header.Get("aeg-event-type") == "SubscriptionValidation" {
			fmt.Fprintf(w, `{"validationResponse":%q}`, evs[0].Data.ValidationCode)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got[evs[0].ID]++
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.ts.Close)
	return h
}

func (h *hook) set(status int) {
	h.mu.Lock()
	h.status = status
	h.mu.Unlock()
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.got {
		n += c
	}
	return n
}

func (f *fixture) record(t *testing.T, typ string) {
	t.Helper()
	err := f.b.Update(context.Background(), func(tx *barrier.Tx) error {
		return Record(tx, Event{ID: strings.ReplaceAll(newUUID(), "-", ""), Type: typ, Time: f.clock().UTC(), VaultID: "v1", VaultName: "vault-one",
			Data: Data{ObjectType: "Secret", ObjectName: "s", Version: "0123456789abcdef0123456789abcdef"}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) outboxLen(t *testing.T) int {
	t.Helper()
	n := 0
	err := f.b.View(context.Background(), func(tx *barrier.Tx) error {
		return tx.ScanKeys(Prefix, "", func(string) (bool, error) { n++; return true, nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) subscribe(t *testing.T, name string, h *hook, types ...string) {
	t.Helper()
	if _, _, err := f.svc.Put(context.Background(), Spec{Name: name, VaultID: "v1", VaultName: "vault-one", Endpoint: h.ts.URL, EventTypes: types}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T) {
	t.Helper()
	if err := f.svc.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// An event leaves the outbox only when every matching subscription is done
// with it; events from before a subscription existed, and events no
// subscription wants, are not delivered and do not stay.
func TestOutboxKeepsEventsUntilEverySubscriptionIsDone(t *testing.T) {
	f := newFixture(t)
	f.record(t, SecretNewVersionCreated) // before any subscription
	ok, down := newHook(t), newHook(t)
	down.set(503)
	f.advance(time.Second)
	f.subscribe(t, "fine", ok)
	f.subscribe(t, "down", down)
	f.subscribe(t, "keys-only", newHook(t), KeyNewVersionCreated)
	f.run(t)
	if ok.count() != 0 || f.outboxLen(t) != 0 {
		t.Fatalf("an event from before the subscriptions: delivered %d times, outbox %d", ok.count(), f.outboxLen(t))
	}
	f.record(t, SecretNewVersionCreated)
	f.run(t)
	if ok.count() != 1 || down.count() != 1 || f.outboxLen(t) != 1 {
		t.Fatalf("first pass: ok %d, down %d, outbox %d", ok.count(), down.count(), f.outboxLen(t))
	}
	f.advance(15 * time.Second)
	f.run(t)
	if ok.count() != 1 || down.count() != 2 || f.outboxLen(t) != 1 {
		t.Fatalf("retry: ok %d (no redelivery), down %d, outbox %d", ok.count(), down.count(), f.outboxLen(t))
	}
	if err := f.svc.Delete(context.Background(), "down"); err != nil {
		t.Fatal(err)
	}
	f.run(t)
	if n := f.outboxLen(t); n != 0 {
		t.Fatalf("the event waits for a deleted subscription: %d", n)
	}
	if err := f.svc.Delete(context.Background(), "down"); kverr.As(err) == nil || kverr.As(err).Kind != kverr.NotFound {
		t.Fatalf("delete twice: %v", err)
	}
}

// An event older than the subscription's time to live is given up without
// another attempt.
func TestTimeToLiveEndsRetries(t *testing.T) {
	f := newFixture(t)
	down := newHook(t)
	down.set(500)
	if _, _, err := f.svc.Put(context.Background(), Spec{Name: "short-ttl", VaultID: "v1", VaultName: "vault-one", Endpoint: down.ts.URL,
		EventTTLMinutes: 5, DeadLetter: true}); err != nil {
		t.Fatal(err)
	}
	f.record(t, SecretNewVersionCreated)
	f.run(t)
	f.advance(6 * time.Minute)
	f.run(t)
	if down.count() != 1 || f.outboxLen(t) != 0 {
		t.Fatalf("attempts %d, outbox %d", down.count(), f.outboxLen(t))
	}
	dls, err := f.svc.DeadLetters(context.Background(), "short-ttl")
	if err != nil || len(dls) != 1 || dls[0].DeadLetterReason != "TimeToLiveExceeded" || dls[0].DeliveryAttempts != 1 || dls[0].LastHTTPStatusCode != 500 {
		t.Fatalf("dead letters: %+v %v", dls, err)
	}
}

func TestBackoffFollowsEventGridWithJitter(t *testing.T) {
	want := []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, time.Hour, time.Hour}
	for i, w := range want {
		for range 50 {
			d := Backoff(i + 1)
			if d < w*9/10 || d > w*11/10 {
				t.Fatalf("Backoff(%d) = %v, want %v ±10%%", i+1, d, w)
			}
		}
	}
}

func TestSpecValidation(t *testing.T) {
	base := Spec{Name: "good-name", VaultID: "v", VaultName: "v", Endpoint: "https://hooks.example/x?code=1"}
	cases := []struct {
		name   string
		modify func(*Spec)
		ok     bool
	}{
		{name: "defaults", modify: func(*Spec) {}, ok: true},
		{name: "http loopback", modify: func(s *Spec) { s.Endpoint = "http://127.0.0.1:9/x" }, ok: true},
		{name: "http localhost", modify: func(s *Spec) { s.Endpoint = "http://localhost:9/x" }, ok: true},
		{name: "http elsewhere", modify: func(s *Spec) { s.Endpoint = "http://hooks.example/x" }},
		{name: "user info", modify: func(s *Spec) { s.Endpoint = "https://u:p@hooks.example/x" }},
		{name: "relative", modify: func(s *Spec) { s.Endpoint = "/x" }},
		{name: "ftp", modify: func(s *Spec) { s.Endpoint = "ftp://hooks.example/x" }},
		{name: "short name", modify: func(s *Spec) { s.Name = "ab" }},
		{name: "name with dot", modify: func(s *Spec) { s.Name = "a.b.c" }},
		{name: "unknown type", modify: func(s *Spec) { s.EventTypes = []string{"Microsoft.Storage.BlobCreated"} }},
		{name: "known types", modify: func(s *Spec) { s.EventTypes = []string{SecretExpired, SecretExpired, KeyExpired} }, ok: true},
		{name: "schema", modify: func(s *Spec) { s.Schema = "CustomInputSchema" }},
		{name: "cloudevents", modify: func(s *Spec) { s.Schema = SchemaCloudEvents }, ok: true},
		{name: "attempts", modify: func(s *Spec) { s.MaxDeliveryAttempts = 31 }},
		{name: "ttl", modify: func(s *Spec) { s.EventTTLMinutes = 1441 }},
		{name: "long secret", modify: func(s *Spec) { s.Secret = new(strings.Repeat("k", 513)) }},
	}
	for _, tc := range cases {
		sp := base
		tc.modify(&sp)
		err := sp.validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "code=1") {
			t.Errorf("%s: the message shows the endpoint: %v", tc.name, err)
		}
		if tc.ok && (sp.Schema == "" || sp.MaxDeliveryAttempts != 30 && tc.name != "attempts" || sp.EventTTLMinutes != 1440) {
			t.Errorf("%s: defaults not filled: %+v", tc.name, sp)
		}
	}
	sp := base
	sp.EventTypes = []string{SecretExpired, KeyExpired, SecretExpired}
	_ = sp.validate()
	if strings.Join(sp.EventTypes, ",") != KeyExpired+","+SecretExpired {
		t.Errorf("event types not sorted and deduplicated: %v", sp.EventTypes)
	}
}

func TestClassify(t *testing.T) {
	for code, want := range map[int]string{200: "delivered", 202: "delivered", 204: "delivered", 400: "final", 401: "final", 403: "final", 413: "final",
		404: "retry", 408: "retry", 429: "retry", 500: "retry", 503: "retry", 302: "retry"} {
		r := classify(code)
		got := map[bool]string{true: "delivered", false: map[bool]string{true: "final", false: "retry"}[r.final]}[r.delivered]
		if got != want {
			t.Errorf("%d: %s, want %s", code, got, want)
		}
	}
	if r := classify(400); r.reason != "UndeliverableDueToHttpBadRequest" || r.outcome != "BadRequest" {
		t.Errorf("400: %+v", r)
	}
}

func TestWireIDAndSignature(t *testing.T) {
	if got := wireID("00eccf7095a74e7c82992eb17ee9ad64"); got != "00eccf70-95a7-4e7c-8299-2eb17ee9ad64" {
		t.Errorf("wireID: %s", got)
	}
	if got := wireID("not-hex"); got != "not-hex" {
		t.Errorf("wireID of another id: %s", got)
	}
	// HMAC-SHA256 of "body" under "key" (RFC 2104; checked with openssl dgst -sha256 -hmac key).
	if got := Sign("key", []byte("body")); got != "sha256=515aae133b435d4000956731f68ae5cf5eb85d4f0dc6a546d2bfcd3595ec1ae1" {
		t.Errorf("Sign: %s", got)
	}
}
