package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The wire driver keeps one connection per worker, reads whole responses
// (sized and chunked), counts only 2xx as success, and dials again after
// the server closes the connection.
func TestWireDriver(t *testing.T) {
	var dials atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			body := `{"value":"` + strings.Repeat("x", 300) + `"}`
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			_, _ = w.Write([]byte(body))
		case "/chunked":
			w.(http.Flusher).Flush() // no length: chunked
			_, _ = w.Write([]byte(strings.Repeat("y", 5000)))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		case "/put":
			if r.Method != http.MethodPut || r.Header.Get("Authorization") != "Bearer t" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusOK)
		default:
			http.Error(w, "no", http.StatusInternalServerError)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	tr := client.Transport.(*http.Transport)
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}
	// httptest's certificate names example.com.
	x, err := newWire(client, "example.com:"+portOf(srv.Listener.Addr().String()), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer x.close()
	get := func(path string) request {
		return func(int, int) (*http.Request, error) {
			return http.NewRequest(http.MethodGet, "https://example.com"+path, nil)
		}
	}
	ctx := context.Background()
	for i := range 3 {
		if !x.do(ctx, get("/ok"), 0, i) || !x.do(ctx, get("/chunked"), 0, i) {
			t.Fatal("a 200 response counted as a failure")
		}
	}
	if x.do(ctx, get("/fail"), 0, 0) {
		t.Fatal("a 500 counted as success")
	}
	put := func(int, int) (*http.Request, error) {
		r, err := http.NewRequest(http.MethodPut, "https://example.com/put", strings.NewReader(`{"value":"v"}`))
		r.Header.Set("Authorization", "Bearer t")
		return r, err
	}
	if !x.do(ctx, put, 0, 0) {
		t.Fatal("PUT with a body failed")
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("worker 0 used %d connections for keep-alive requests", n)
	}
	if !x.do(ctx, get("/close"), 0, 0) || x.conns[0] != nil {
		t.Fatal("a connection the server closes must be dropped")
	}
	if !x.do(ctx, get("/ok"), 0, 1) || !x.do(ctx, get("/ok"), 1, 0) {
		t.Fatal("requests after a closed connection failed")
	}
	if n := dials.Load(); n != 3 {
		t.Fatalf("%d connections; want 3 (first, after close, worker 1)", n)
	}
}
