package httpapi

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
)

// net/http writes an HTTP/1.x response through a 4 KiB buffer on the
// connection, so a response larger than that (a list page is about 5.5 KiB)
// leaves in two TLS records with two write system calls, and on loopback or
// a LAN the second costs nearly as much as the first: the kernel's send path
// and the client's wake-up. A batchConn sits under TLS and, while a response
// body is being written, holds the records back and sends them in one write.

// batchMin is the smallest body whose records are batched: with the
// response header it may no longer fit net/http's 4 KiB buffer.
const batchMin = 3 << 10

// batchMax bounds what a batchConn holds; larger bodies go out as net/http
// writes them once this much is held.
const batchMax = 64 << 10

// BatchWrites wraps ln so that the server's handler can send each large
// HTTP/1.x response in one write (see batchConn). TLS must be layered on
// the returned listener.
func BatchWrites(ln net.Listener) net.Listener { return batchListener{ln} }

type batchListener struct{ net.Listener }

func (l batchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &batchConn{Conn: c}, nil
}

// batchConn is a connection under TLS that can hold its writes: between
// hold and release, the TLS records written are kept (up to batchMax) and
// sent by release in one write. Only the goroutine serving the connection's
// current request holds and releases it. Records TLS writes meanwhile for
// its own reasons (a KeyUpdate, an alert) join the held ones in order, and
// a write that comes while release is sending waits for it, so nothing
// overtakes the response. A connection closed while holding (the server
// forced down mid-response) loses what was held, as its response is lost.
type batchConn struct {
	net.Conn
	mu   sync.Mutex
	held *[]byte // nil when not holding
}

var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		return c.Conn.Write(p)
	}
	if b := *c.held; len(b)+len(p) <= batchMax {
		*c.held = append(b, p...)
		return len(p), nil
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// hold starts keeping writes.
func (c *batchConn) hold() {
	c.mu.Lock()
	if c.held == nil {
		c.held = batchBufs.Get().(*[]byte)
	}
	c.mu.Unlock()
}

// release sends what was held in one write and stops holding. The writes
// it held were reported as done, so if this one fails the stream is no
// longer what the TLS layer believes it sent: the connection is closed.
func (c *batchConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		return nil
	}
	err := c.flushLocked()
	b := c.held
	c.held = nil
	if cap(*b) <= batchMax {
		clear((*b)[:cap(*b)]) // TLS records, but a pooled buffer keeps nothing of a response
		*b = (*b)[:0]
		batchBufs.Put(b)
	}
	if err != nil {
		c.Conn.Close()
	}
	return err
}

func (c *batchConn) flushLocked() error {
	b := *c.held
	if len(b) == 0 {
		return nil
	}
	*c.held = b[:0]
	_, err := c.Conn.Write(b)
	return err
}

// batchOf returns the batchConn under a server's TLS connection, or nil.
// Without TLS a batchConn would hold plaintext responses: it is not used.
func batchOf(c net.Conn) *batchConn {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	bc, _ := tc.NetConn().(*batchConn)
	return bc
}

// writeBatched writes b, a whole response body or a large part of one, to
// w: when w is an HTTP/1.x response on a batchConn, b's TLS records and
// the response header are flushed in one write.
func writeBatched(w http.ResponseWriter, r *http.Request, b []byte) (int, error) {
	bc := requestBatch(r, len(b))
	f, ok := w.(http.Flusher)
	if bc == nil || !ok {
		return w.Write(b)
	}
	bc.hold()
	n, err := w.Write(b)
	f.Flush()
	if rerr := bc.release(); err == nil {
		err = rerr
	}
	return n, err
}

// requestBatch returns the batchConn of r's connection when a body of n
// bytes is worth batching on it.
func requestBatch(r *http.Request, n int) *batchConn {
	if n < batchMin || r == nil || r.ProtoMajor != 1 {
		return nil
	}
	cs, _ := r.Context().Value(connKey{}).(*connState)
	if cs == nil {
		return nil
	}
	return cs.batch
}
