package bench

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Drivers: how the load generator sends its requests.
const (
	// DriverWire writes each request and reads its response on the
	// connection from the worker's own goroutine: one goroutine and one
	// TLS connection per worker, parsing with net/http's ReadResponse.
	DriverWire = "wire"
	// DriverNetHTTP sends through http.Client, whose transport hands
	// every request and response between the caller and a reader and a
	// writer goroutine per connection.
	DriverNetHTTP = "net/http"
)

// wire is the DriverWire driver for one server: a keep-alive HTTP/1.1
// connection per worker, dialed like the client's transport dials (same
// TLS settings, same dialer). Worker w only ever touches conns[w], and runs
// of a load follow each other, so the slice needs no lock.
type wire struct {
	dial  func(ctx context.Context) (net.Conn, error)
	conns []*wireConn
}

type wireConn struct {
	c  net.Conn
	br *bufio.Reader
	bw *bufio.Writer
}

// newWire drives hostport (port 443 if it names none) with conns workers
// over client's transport settings; the TLS server name is its host.
func newWire(client *http.Client, hostport string, conns int) (*wire, error) {
	tr, ok := client.Transport.(*http.Transport)
	if !ok || tr.DialContext == nil {
		return nil, fmt.Errorf("bench: the %s driver needs an http.Transport with a dialer", DriverWire)
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil { // a vault URL without a port
		host, hostport = hostport, net.JoinHostPort(hostport, "443")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr.TLSClientConfig != nil {
		conf = tr.TLSClientConfig.Clone()
	}
	conf.ServerName = host
	dial := func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		raw, err := tr.DialContext(ctx, "tcp", hostport)
		if err != nil {
			return nil, err
		}
		c := tls.Client(raw, conf)
		if err := c.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return c, nil
	}
	return &wire{dial: dial, conns: make([]*wireConn, conns)}, nil
}

// do sends one request on worker w's connection and reports whether it
// succeeded (2xx). A connection that fails, or that the server closes, is
// dropped and dialed again by the next request.
func (x *wire) do(ctx context.Context, next request, w, seq int) bool {
	req, err := next(w, seq)
	if err != nil {
		return false
	}
	c := x.conns[w]
	if c == nil {
		nc, err := x.dial(ctx)
		if err != nil {
			return false
		}
		c = &wireConn{c: nc, br: bufio.NewReaderSize(nc, 16<<10), bw: bufio.NewWriterSize(nc, 8<<10)}
		x.conns[w] = c
	}
	_ = c.c.SetDeadline(time.Now().Add(30 * time.Second))
	ok, reuse := c.roundTrip(req)
	if !reuse {
		c.c.Close()
		x.conns[w] = nil
	}
	return ok
}

func (c *wireConn) roundTrip(req *http.Request) (ok, reuse bool) {
	if req.Write(c.bw) != nil || c.bw.Flush() != nil {
		return false, false
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		return false, false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return false, false
	}
	return resp.StatusCode >= 200 && resp.StatusCode < 300, !resp.Close
}

// close closes every open connection.
func (x *wire) close() {
	for i, c := range x.conns {
		if c != nil {
			c.c.Close()
			x.conns[i] = nil
		}
	}
}
