package bench

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkWireDriver is the load generator's own cost per request (plus a
// minimal server's, in the same process): what the wire driver takes of
// the cores it shares with the server under test.
func BenchmarkWireDriver(b *testing.B) {
	body := []byte(`{"value":"` + strings.Repeat("x", 280) + `"}`)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	x, err := newWire(client, "example.com:"+portOf(srv.Listener.Addr().String()), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer x.close()
	ep := endpoint{base: "https://example.com", host: "bench.vault.localhost:8443", token: strings.Repeat("t", 1200)}
	e := &env{names: []string{"bench-0000001", "bench-0000002"}}
	next := operations[0].build(e)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if !x.do(ctx, ep, next(0, i), 0, time.Now()) {
			b.Fatal("request failed")
		}
	}
}
