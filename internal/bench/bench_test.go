package bench

import (
	"encoding/base64"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSampleResult(t *testing.T) {
	var s sample
	s.add(sample{lat: []time.Duration{1 * time.Millisecond, 100 * time.Millisecond}, errs: 1, elapsed: time.Second,
		serverCPU: 30 * time.Millisecond, clientCPU: 2 * time.Millisecond})
	s.add(sample{lat: []time.Duration{2 * time.Millisecond, 3 * time.Millisecond}, elapsed: time.Second,
		serverCPU: 10 * time.Millisecond, clientCPU: 6 * time.Millisecond})
	r := s.result()
	if r.Requests != 4 || r.Errors != 1 || r.RPS != 2 || r.P50ms != 2 || r.P999ms != 3 || r.CPUusPerOp != 10000 || r.ClientCPUusPerOp != 2000 {
		t.Fatalf("%+v", r)
	}
	if empty := (sample{elapsed: time.Second}).result(); empty.RPS != 0 || empty.Requests != 0 {
		t.Fatalf("empty: %+v", empty)
	}
}

func TestProcCounters(t *testing.T) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	if procCPU(os.Getpid()) <= 0 || selfCPU() <= 0 {
		t.Fatal("CPU counters read zero after busy work")
	}
	if procRSS(os.Getpid()) <= 0 {
		t.Fatal("RSS reads zero")
	}
	if procCPU(-1) != 0 {
		t.Fatal("a missing process must read zero")
	}
}

func TestFixedBody(t *testing.T) {
	for _, n := range []int{12, 295, 1000} {
		if got := len(fixedBody(n)); got != n {
			t.Errorf("fixedBody(%d) has %d bytes", n, got)
		}
	}
}

// The baseline is sent GetSecret's requests byte for byte: the same path,
// query, Host header and bearer token, over a connection to its own address.
func TestBaselineRequestsAreGetSecrets(t *testing.T) {
	e := &env{vaultURL: "https://bench.vault.localhost:8443", host: "bench.vault.localhost:8443",
		token: "eyJ.header.payload-signature", names: []string{"a", "b", "c"}}
	getSecret := operations[0].build(e)
	next, ep := baselineRequests(BaselineSame, getSecret, e.endpoint(), "localhost:9999")
	// One of them spelled out: the vault's Host and the token, nothing else.
	c := next(1, 0)
	if got, want := string(ep.appendWire(nil, c)), "GET /secrets/"+e.names[e.pick(1, 0)]+"?api-version=7.6 HTTP/1.1\r\n"+
		"Host: bench.vault.localhost:8443\r\nUser-Agent: keyhaven-bench\r\nAuthorization: Bearer "+e.token+"\r\n\r\n"; got != want {
		t.Fatalf("baseline request:\n%q\nwant\n%q", got, want)
	}
	for seq := range 5 {
		want := string(e.endpoint().appendWire(nil, getSecret(1, seq)))
		if got := string(ep.appendWire(nil, next(1, seq))); got != want || !strings.Contains(got, "\r\nAuthorization: Bearer "+e.token+"\r\n") {
			t.Fatalf("baseline request differs from GetSecret's:\n%s\n---\n%s", got, want)
		}
		req, err := ep.httpRequest(next(1, seq))
		if err != nil {
			t.Fatal(err)
		}
		if req.URL.Host != "localhost:9999" || req.Host != e.host {
			t.Fatalf("baseline request goes to %s with Host %s", req.URL.Host, req.Host)
		}
	}
	next, ep = baselineRequests(BaselineMinimal, getSecret, e.endpoint(), "localhost:9999")
	if g := string(ep.appendWire(nil, next(1, 0))); strings.Contains(g, "Authorization") || !strings.HasPrefix(g, "GET /secrets/x HTTP/1.1\r\nHost: localhost:9999\r\n") {
		t.Fatalf("minimal baseline request:\n%s", g)
	}
}

// An unknown driver or baseline request is refused before anything starts.
func TestRunRefusesUnknownChoices(t *testing.T) {
	for _, cfg := range []Config{{Driver: "bogus"}, {BaselineRequest: "bogus"}} {
		if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), `unknown`) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}

// ListSecrets asks for pages from all over the vault: each starts after a
// seeded secret, with the cursor keyhaven's nextLink would carry, early
// enough for a full page.
func TestListSecretsPagesSpread(t *testing.T) {
	e := &env{vaultURL: "https://bench.vault.localhost:8443", token: "t"}
	for i := range 1000 {
		e.names = append(e.names, fmt.Sprintf("bench-%07d", i))
	}
	var list request
	for _, op := range operations {
		if op.name == "ListSecrets" {
			list = op.build(e)
		}
	}
	after := map[string]bool{}
	for w := range 4 {
		for seq := range 50 {
			req, err := e.endpoint().httpRequest(list(w, seq))
			if err != nil {
				t.Fatal(err)
			}
			q := req.URL.Query()
			raw, err := base64.RawURLEncoding.DecodeString(q.Get("$skiptoken"))
			if err != nil || q.Get("maxresults") != "25" || !slices.Contains(e.names[:len(e.names)-25], string(raw)) {
				t.Fatalf("list request %s: cursor %q, %v", req.URL, raw, err)
			}
			after[string(raw)] = true
		}
	}
	if len(after) < 150 {
		t.Fatalf("200 pages start after only %d secrets", len(after))
	}
}
