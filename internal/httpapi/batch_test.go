package httpapi

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// countingListener counts the writes made to its connections.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// bodyOf is a JSON-ish body of n bytes whose every position differs, so a
// reordered or dropped record shows.
func bodyOf(n int) []byte {
	b := make([]byte, 0, n+16)
	for i := 0; len(b) < n; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ',')
	}
	return b[:n]
}

// startSendServer serves c.send(200, bodyOf(size)) through a recorder, as
// ServeHTTP does (?hold=1 holds the response as fail-closed audit does),
// over TLS on a listener whose writes are counted, with BatchWrites when
// batch is set and HTTP/2 when h2 is.
func startSendServer(t *testing.T, batch, h2 bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		rec := &recorder{ResponseWriter: w, req: r, status: http.StatusOK, hold: r.URL.Query().Has("hold")}
		c := newCall(rec, r)
		c.send(http.StatusOK, bodyOf(size))
		if rec.hold {
			rec.release()
		}
	}))
	writes := new(atomic.Int64)
	var ln net.Listener = countingListener{srv.Listener, writes}
	if batch {
		ln = BatchWrites(ln)
	}
	srv.Listener = ln
	srv.Config.ConnContext = (&Server{}).ConnContext
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, writes
}

// get fetches a body of size and returns it with the number of writes the
// server made for it.
func get(t *testing.T, srv *httptest.Server, writes *atomic.Int64, query string) (*http.Response, []byte, int64) {
	t.Helper()
	before := writes.Load()
	resp, err := srv.Client().Get(srv.URL + "/?" + query)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, body, writes.Load() - before
}

func TestBatchedResponses(t *testing.T) {
	srv, writes := startSendServer(t, true, false)
	plain, plainWrites := startSendServer(t, false, false)
	for _, size := range []int{0, 100, batchMin - 1, batchMin, 5600, 20 << 10, batchMax - 1024, 200 << 10} {
		for _, hold := range []bool{false, true} {
			query := fmt.Sprintf("size=%d", size)
			if hold {
				query += "&hold=1"
			}
			get(t, srv, writes, query) // the first request on a connection may share a write with the handshake
			resp, body, n := get(t, srv, writes, query)
			if resp.ProtoMajor != 1 || !bytes.Equal(body, bodyOf(size)) || resp.ContentLength != int64(size) {
				t.Fatalf("%s: HTTP/%d, length %d, body of %d bytes differs from the one sent", query, resp.ProtoMajor, resp.ContentLength, len(body))
			}
			switch {
			case size <= batchMax-1024 && n != 1:
				t.Errorf("%s: the response took %d writes, want 1", query, n)
			case size > batchMax && n < 2:
				t.Errorf("%s: the response took %d writes; over batchMax it is not held whole", query, n)
			}
			get(t, plain, plainWrites, query)
			_, body, pn := get(t, plain, plainWrites, query)
			if !bytes.Equal(body, bodyOf(size)) {
				t.Fatalf("%s: without batching the body differs", query)
			}
			if size == 20<<10 && pn < 2 {
				t.Errorf("%s: without batching the response took %d writes; the test no longer shows what batching saves", query, pn)
			}
		}
	}
}

func TestBatchWritesLeavesHTTP2Alone(t *testing.T) {
	srv, writes := startSendServer(t, true, true)
	for _, size := range []int{100, 5600, 100 << 10} {
		query := fmt.Sprintf("size=%d", size)
		resp, body, _ := get(t, srv, writes, query)
		if resp.ProtoMajor != 2 || !bytes.Equal(body, bodyOf(size)) {
			t.Fatalf("%s: HTTP/%d, body of %d bytes differs from the one sent", query, resp.ProtoMajor, len(body))
		}
	}
}

// fakeConn records writes and can fail them.
type fakeConn struct {
	net.Conn
	writes [][]byte
	fail   error
	closed bool
}

func (f *fakeConn) Write(p []byte) (int, error) {
	if f.fail != nil {
		return 0, f.fail
	}
	f.writes = append(f.writes, append([]byte(nil), p...))
	return len(p), nil
}
func (f *fakeConn) Close() error { f.closed = true; return nil }

func TestBatchConn(t *testing.T) {
	f := &fakeConn{}
	c := &batchConn{Conn: f}
	c.Write([]byte("a"))
	c.hold()
	c.hold() // holding twice is holding
	c.Write([]byte("b"))
	c.Write([]byte("c"))
	if len(f.writes) != 1 {
		t.Fatalf("held writes went out: %q", f.writes)
	}
	if err := c.release(); err != nil || len(f.writes) != 2 || string(f.writes[1]) != "bc" {
		t.Fatalf("release: %v, writes %q", err, f.writes)
	}
	if err := c.release(); err != nil || len(f.writes) != 2 {
		t.Fatalf("a second release wrote: %v, %q", err, f.writes)
	}
	c.Write([]byte("d"))
	if len(f.writes) != 3 {
		t.Fatalf("a write after release was held: %q", f.writes)
	}

	// Past batchMax the held bytes go first, then the write, in order.
	f.writes = nil
	c.hold()
	c.Write(bytes.Repeat([]byte("x"), batchMax-10))
	c.Write(bytes.Repeat([]byte("y"), 20))
	c.Write([]byte("z"))
	c.release()
	var got []byte
	for _, w := range f.writes {
		got = append(got, w...)
	}
	if want := string(bytes.Repeat([]byte("x"), batchMax-10)) + string(bytes.Repeat([]byte("y"), 20)) + "z"; string(got) != want || len(f.writes) != 3 {
		t.Fatalf("over batchMax: %d writes, order kept %v", len(f.writes), string(got) == want)
	}

	// A failed release closes the connection: what TLS believes it sent
	// did not leave.
	f.fail = errors.New("broken pipe")
	c.hold()
	c.Write([]byte("e"))
	if err := c.release(); err == nil || !f.closed {
		t.Fatalf("a failed release: %v, closed %v", err, f.closed)
	}
}

// Batching needs a batchConn under TLS, HTTP/1.x and a body worth it.
func TestBatchOf(t *testing.T) {
	bc := &batchConn{Conn: &fakeConn{}}
	if batchOf(tls.Server(bc, &tls.Config{})) != bc {
		t.Fatal("batchOf does not find the batchConn under TLS")
	}
	if batchOf(bc) != nil {
		t.Fatal("batchOf batches a connection without TLS, whose held bytes would be plaintext")
	}
	if batchOf(&fakeConn{}) != nil || batchOf(tls.Server(&fakeConn{}, &tls.Config{})) != nil {
		t.Fatal("batchOf found a batchConn that is not there")
	}
	req := func(major int) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.ProtoMajor = major
		return r.WithContext(context.WithValue(r.Context(), connKey{}, &connState{batch: bc}))
	}
	if requestBatch(req(1), batchMin) != bc {
		t.Fatal("an HTTP/1.1 body of batchMin bytes is not batched")
	}
	if requestBatch(req(1), batchMin-1) != nil || requestBatch(req(2), 100<<10) != nil ||
		requestBatch(httptest.NewRequest(http.MethodGet, "/", nil), 100<<10) != nil {
		t.Fatal("batched a small body, an HTTP/2 response or a request without a connection state")
	}
}
