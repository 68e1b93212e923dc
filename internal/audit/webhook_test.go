package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is an audit collector: it checks each body's signature and
// keeps the lines; while down it answers 503.
type receiver struct {
	mu    sync.Mutex
	down  bool
	lines []string
	bad   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	sig := strings.TrimPrefix(req.Header.Get("X-Keyhaven-Signature"), "sha256=")
	if req.Header.Get("Content-Type") != "application/x-ndjson" || !hmac.Equal([]byte(sig), []byte(Sign([]byte("collector-key"), body))) {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		r.lines = append(r.lines, sc.Text())
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lines)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Audit lines reach a collector signed, in order and chained, also across
// an outage of the collector; the chain verifies at the receiving end.
func TestWebhookSink(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	pub, priv := newKey(t)
	sink := newWebhookSink(srv.URL, []byte("collector-key"), srv.Client(), time.Millisecond, 10*time.Millisecond)
	l, err := New(Options{Key: priv, CheckpointEvery: time.Hour}, sink)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := l.Log(&Record{OperationName: "GetSecret", Properties: Properties{RequestURI: "https://v/secrets/s" + string(rune('a'+i%26))}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first 50 lines", func() bool { return rcv.count() >= 50 })
	rcv.mu.Lock()
	rcv.down = true
	rcv.mu.Unlock()
	for range 25 {
		_ = l.Log(&Record{OperationName: "SetSecret"})
	}
	waitFor(t, "a failed delivery", func() bool { return sink.Err() != "" })
	rcv.mu.Lock()
	rcv.down = false
	rcv.mu.Unlock()
	if err := l.Close(); err != nil { // writes a final checkpoint and delivers the rest
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.bad != 0 || len(rcv.lines) < 76 || sink.Dropped() != 0 {
		t.Fatalf("received %d lines, %d with bad signatures, %d dropped", len(rcv.lines), rcv.bad, sink.Dropped())
	}
	v := NewVerifier(pub)
	if err := v.Read("webhook", strings.NewReader(strings.Join(rcv.lines, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
	if rep := v.Report(); !rep.OK() {
		t.Fatalf("the forwarded log does not verify: %+v", rep)
	}
	if !strings.Contains(rcv.lines[50], `"operationName":"SetSecret"`) {
		t.Fatalf("order lost across the outage: %s", rcv.lines[50])
	}
}
