package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
			body, _ := io.ReadAll(r.Body)
			if r.Method != http.MethodPut || r.Header.Get("Authorization") != "Bearer t" || string(body) != `{"value":"v"}` ||
				r.Header.Get("Content-Type") != "application/json" {
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
	ep := endpoint{base: "https://example.com", host: "example.com", token: "t"}
	get := func(path string) call { return call{http.MethodGet, path, nil} }
	ctx := context.Background()
	do := func(c call, w int) bool { return x.do(ctx, ep, c, w, time.Now()) }
	for range 3 {
		if !do(get("/ok"), 0) || !do(get("/chunked"), 0) {
			t.Fatal("a 200 response counted as a failure")
		}
	}
	if do(get("/fail"), 0) {
		t.Fatal("a 500 counted as success")
	}
	if !do(call{http.MethodPut, "/put", []byte(`{"value":"v"}`)}, 0) {
		t.Fatal("PUT with a body failed")
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("worker 0 used %d connections for keep-alive requests", n)
	}
	if !do(get("/close"), 0) || x.conns[0] != nil {
		t.Fatal("a connection the server closes must be dropped")
	}
	if !do(get("/ok"), 0) || !do(get("/ok"), 1) {
		t.Fatal("requests after a closed connection failed")
	}
	if n := dials.Load(); n != 3 {
		t.Fatalf("%d connections; want 3 (first, after close, worker 1)", n)
	}
}

// appendWire writes the request httpRequest describes: net/http reads the
// same method, target, Host, headers and body from it, and nothing more.
func TestAppendWireIsHTTPRequest(t *testing.T) {
	eps := []endpoint{
		{base: "https://localhost:9999", host: "bench.vault.localhost:8443", token: "eyJ.header.payload-signature"},
		{base: "https://localhost:9999", host: "localhost:9999"},
	}
	calls := []call{
		{http.MethodGet, "/secrets/bench-0000001?api-version=7.6", nil},
		{http.MethodGet, "/secrets?api-version=7.6&maxresults=25&$skiptoken=YmVuY2g", nil},
		{http.MethodPut, "/secrets/bench-set-1-2?api-version=7.6", []byte(`{"value":"v"}`)},
		{http.MethodPost, "/keys/bench-rsa/sign?api-version=7.6", []byte(`{"alg":"RS256","value":"AAAA"}`)},
	}
	read := func(raw []byte) (*http.Request, string) {
		br := bufio.NewReader(bytes.NewReader(raw))
		req, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		if rest, _ := io.ReadAll(br); len(rest) != 0 {
			t.Fatalf("%q: %d bytes after the request", raw, len(rest))
		}
		return req, string(body)
	}
	for _, ep := range eps {
		for _, c := range calls {
			want, err := ep.httpRequest(c)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := want.Write(&buf); err != nil {
				t.Fatal(err)
			}
			w, wbody := read(buf.Bytes())
			g, gbody := read(ep.appendWire([]byte("left over"), c)[len("left over"):])
			if g.Method != w.Method || g.RequestURI != w.RequestURI || g.Host != w.Host || gbody != wbody || gbody != string(c.body) {
				t.Errorf("%s %s: got %s %s Host %s body %q; net/http writes %s %s Host %s body %q",
					c.method, c.path, g.Method, g.RequestURI, g.Host, gbody, w.Method, w.RequestURI, w.Host, wbody)
			}
			if !reflect.DeepEqual(g.Header, w.Header) {
				t.Errorf("%s %s: headers %v; net/http writes %v", c.method, c.path, g.Header, w.Header)
			}
			if (g.Header.Get("Authorization") != "") != (ep.token != "") {
				t.Errorf("token %q sent as %q", ep.token, g.Header.Get("Authorization"))
			}
		}
	}
}

// readResponse frames responses as HTTP/1.1 does: after each one the
// reader stands at the next, whatever carried the body.
func TestReadResponse(t *testing.T) {
	const next = "HTTP/1.1 204 No Content\r\n\r\n"
	ok := []struct {
		name, raw string
		status    int
		reuse     bool
	}{
		{"sized", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"value\":1}", 200, true},
		{"header names in any case", "HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\n\r\n{}", 200, true},
		{"no reason phrase", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, true},
		{"bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", 200, true},
		{"bare LF, no reason phrase", "HTTP/1.1 200\nContent-Length: 2\n\n{}", 200, true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1a;ext=1\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: x\r\n\r\n", 200, true},
		{"chunked upper-case hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", 200, true},
		{"error with a body", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!", 500, true},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, true},
		{"not modified has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 304, true},
		{"informational first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", 201, true},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}", 200, false},
		{"close in a list", "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 2\r\n\r\n{}", 200, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, false},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", 200, true},
		{"close wins over keep-alive", "HTTP/1.0 200 OK\r\nConnection: close, keep-alive\r\nContent-Length: 2\r\n\r\n{}", 200, false},
		{"HTTP/1.1 keep-alive is no news", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", 200, true},
		{"repeated equal length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 200, true},
	}
	for _, tc := range ok {
		br := bufio.NewReader(strings.NewReader(tc.raw + next))
		status, reuse, err := readResponse(br)
		if err != nil || status != tc.status || reuse != tc.reuse {
			t.Errorf("%s: %d %v %v; want %d %v", tc.name, status, reuse, err, tc.status, tc.reuse)
			continue
		}
		if status, _, err := readResponse(br); err != nil || status != 204 {
			t.Errorf("%s: the next response read as %d %v: the body was not framed right", tc.name, status, err)
		}
	}
	// Without a length the body runs to the end of the connection.
	br := bufio.NewReader(strings.NewReader("HTTP/1.1 200 OK\r\n\r\nall of it" + next))
	if status, reuse, err := readResponse(br); err != nil || status != 200 || reuse {
		t.Errorf("unsized: %d %v %v", status, reuse, err)
	}
	if n := br.Buffered(); n != 0 {
		t.Errorf("unsized: %d bytes left", n)
	}
	bad := map[string]string{
		"empty":                 "",
		"HTTP/2":                "HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.2":              "HTTP/1.2 200 OK\r\n\r\n",
		"short status":          "HTTP/1.1 20 OK\r\n\r\n",
		"status not digits":     "HTTP/1.1 2x0 OK\r\n\r\n",
		"status too low":        "HTTP/1.1 099 Odd\r\n\r\n",
		"status glued":          "HTTP/1.1 2000 OK\r\n\r\n",
		"switching protocols":   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
		"header without colon":  "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}",
		"space before colon":    "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}",
		"empty header name":     "HTTP/1.1 200 OK\r\n: x\r\nContent-Length: 2\r\n\r\n{}",
		"length not a number":   "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}",
		"negative length":       "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\n{}",
		"conflicting lengths":   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
		"unknown coding":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n{}",
		"truncated body":        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
		"truncated headers":     "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
		"bad chunk size":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
		"empty chunk size":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhi\r\n0\r\n\r\n",
		"chunk size too long":   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
		"chunk without CRLF":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiX\r\n0\r\n\r\n",
		"truncated chunk":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhi",
		"no last chunk":         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n",
		"unterminated trailers": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTrailer: x\r\n",
	}
	for name, raw := range bad {
		if status, _, err := readResponse(bufio.NewReader(strings.NewReader(raw))); err == nil {
			t.Errorf("%s: read as %d, no error", name, status)
		}
	}
}
