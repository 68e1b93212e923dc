package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Drivers: how the load generator sends its requests.
const (
	// DriverWire writes each request and reads its response on the
	// connection from the worker's own goroutine: one goroutine and one
	// TLS connection per worker, with a lean HTTP/1.1 writer and reader
	// (appendWire, readResponse) so that the load generator takes as little
	// of the cores it shares with the server as it can.
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
	c     net.Conn
	br    *bufio.Reader
	buf   []byte    // the request being written
	renew time.Time // when to push the connection's deadline forward
}

// wireTimeout is how long a request may wait for its response before the
// connection is dropped; the deadline is renewed at most every
// wireRenew, not per request (setting it costs a timer update).
const (
	wireTimeout = 30 * time.Second
	wireRenew   = time.Second
)

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

// do sends c to ep on worker w's connection at now and reports whether it
// succeeded (2xx). A connection that fails, or that the server closes, is
// dropped and dialed again by the next request.
func (x *wire) do(ctx context.Context, ep endpoint, c call, w int, now time.Time) bool {
	wc := x.conns[w]
	if wc == nil {
		nc, err := x.dial(ctx)
		if err != nil {
			return false
		}
		wc = &wireConn{c: nc, br: bufio.NewReaderSize(nc, 16<<10)}
		x.conns[w] = wc
	}
	if now.After(wc.renew) {
		_ = wc.c.SetDeadline(now.Add(wireTimeout))
		wc.renew = now.Add(wireRenew)
	}
	wc.buf = ep.appendWire(wc.buf[:0], c)
	status, reuse, err := wc.roundTrip()
	if err != nil || !reuse {
		wc.c.Close()
		x.conns[w] = nil
	}
	return err == nil && status >= 200 && status < 300
}

func (wc *wireConn) roundTrip() (status int, reuse bool, err error) {
	if _, err := wc.c.Write(wc.buf); err != nil {
		return 0, false, err
	}
	return readResponse(wc.br)
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

var errResponse = errors.New("bench: malformed HTTP response")

// readResponse reads one HTTP/1.x response from br and discards its body
// (sized, chunked or up to the end of the connection). It returns the
// status code and whether the connection may carry another request.
// Informational (1xx) responses before it are skipped. It reads what a
// server writes in a keep-alive exchange and no more: a response it does
// not understand is an error, after which the connection is dropped.
func readResponse(br *bufio.Reader) (status int, reuse bool, err error) {
	for {
		status, reuse, err = readOne(br)
		if err != nil || status >= 200 {
			return status, reuse, err
		}
		if status == http.StatusSwitchingProtocols {
			return status, false, errResponse
		}
	}
}

func readOne(br *bufio.Reader) (status int, reuse bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"; the reason phrase may be empty.
	if len(line) < 13 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
		(line[12] != ' ' && line[12] != '\r' && line[12] != '\n') {
		return 0, false, errResponse
	}
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, false, errResponse
		}
		status = status*10 + int(d-'0')
	}
	if status < 100 {
		return 0, false, errResponse
	}
	http10 := line[7] == '0'
	keepAlive, closes := !http10, false // HTTP/1.0 closes unless it says keep-alive
	length, chunked := int64(-1), false
	for {
		if line, err = br.ReadSlice('\n'); err != nil {
			return 0, false, err
		}
		line = trimEOL(line)
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return 0, false, errResponse
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			n, err := strconv.ParseUint(string(value), 10, 63)
			if err != nil || (length >= 0 && int64(n) != length) {
				return 0, false, errResponse
			}
			length = int64(n)
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return 0, false, errResponse
			}
			chunked = true
		case bytes.EqualFold(name, []byte("connection")):
			for rest := value; len(rest) > 0; {
				var opt []byte
				opt, rest, _ = bytes.Cut(rest, []byte{','})
				switch opt = bytes.TrimSpace(opt); {
				case bytes.EqualFold(opt, []byte("close")):
					closes = true
				case bytes.EqualFold(opt, []byte("keep-alive")):
					keepAlive = true
				}
			}
		}
	}
	reuse = keepAlive && !closes
	switch {
	case status < 200 || status == http.StatusNoContent || status == http.StatusNotModified:
		return status, reuse, nil
	case chunked:
		return status, reuse, discardChunked(br)
	case length >= 0:
		_, err = br.Discard(int(length))
		return status, reuse, err
	default: // the body runs to the end of the connection
		_, err = io.Copy(io.Discard, br)
		return status, false, err
	}
}

// discardChunked reads a chunked body and its trailers.
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = trimEOL(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 { // chunk extensions
			line = line[:i]
		}
		size, err := strconv.ParseUint(string(bytes.TrimSpace(line)), 16, 63)
		if err != nil {
			return errResponse
		}
		if size == 0 {
			for { // trailers, up to an empty line
				if line, err = br.ReadSlice('\n'); err != nil {
					return err
				}
				if len(trimEOL(line)) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(size)); err != nil {
			return err
		}
		if line, err = br.ReadSlice('\n'); err != nil {
			return err
		}
		if len(trimEOL(line)) != 0 {
			return errResponse
		}
	}
}

func trimEOL(line []byte) []byte {
	line = line[:len(line)-1] // ReadSlice ends it with '\n'
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line
}
