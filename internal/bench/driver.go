package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// call is one request of an operation before it is addressed: its method,
// its path with the query, and its JSON body (nil for none).
type call struct {
	method, path string
	body         []byte
}

// request builds the next call of an operation; worker is the driving
// goroutine's index and seq its request counter, so operations can spread
// over names without shared state.
type request func(worker, seq int) call

// endpoint addresses a load's calls: the URL the client connects to
// (scheme, TLS host and port), the Host header, and the bearer token (""
// sends none).
type endpoint struct {
	base  string
	host  string
	token string
}

// userAgent is what both drivers send as User-Agent.
const userAgent = "keyhaven-bench"

// httpRequest is c addressed to ep, for Go's HTTP client.
func (ep endpoint) httpRequest(c call) (*http.Request, error) {
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, ep.base+c.path, rd)
	if err != nil {
		return nil, err
	}
	req.Host = ep.host
	req.Header["User-Agent"] = []string{userAgent}
	if ep.token != "" {
		req.Header["Authorization"] = []string{"Bearer " + ep.token}
	}
	if c.body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	return req, nil
}

// appendWire appends c addressed to ep as an HTTP/1.1 request: the request
// httpRequest describes, written directly (TestAppendWireIsHTTPRequest).
func (ep endpoint) appendWire(b []byte, c call) []byte {
	b = append(b, c.method...)
	b = append(b, ' ')
	b = append(b, c.path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, ep.host...)
	b = append(b, "\r\nUser-Agent: "+userAgent+"\r\n"...)
	if ep.token != "" {
		b = append(b, "Authorization: Bearer "...)
		b = append(b, ep.token...)
		b = append(b, "\r\n"...)
	}
	if c.body != nil {
		b = append(b, "Content-Type: application/json\r\nContent-Length: "...)
		b = strconv.AppendInt(b, int64(len(c.body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, c.body...)
}

// Result is one operation's measurement.
type Result struct {
	Operation  string  `json:"operation"`
	Requests   int     `json:"requests"`
	RPS        float64 `json:"rps"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	P999ms     float64 `json:"p99_9_ms"`
	Errors     int     `json:"errors"`
	CPUusPerOp float64 `json:"cpu_us_per_op"`
	// ClientCPUusPerOp is the load generator's own CPU per request, to show
	// whether the driver, not the server, is the limit.
	ClientCPUusPerOp float64 `json:"client_cpu_us_per_op"`
	VsBaseline       float64 `json:"vs_baseline,omitempty"`
	// BaselineRPS is the baseline measured in slices interleaved with this
	// operation's (see Run), the reference of VsBaseline.
	BaselineRPS float64 `json:"baseline_rps,omitempty"`
	// VsLocalRSA (SignRS256 only) compares with crypto/rsa signing
	// in-process, measured in slices interleaved with this operation's.
	VsLocalRSA float64 `json:"vs_local_rsa,omitempty"`
	// The same operation on the reference server (Config.ReferenceSecrets),
	// measured in slices alternating with this one's; VsReference is
	// RPS / ReferenceRPS.
	ReferenceRPS        float64 `json:"reference_rps,omitempty"`
	ReferenceP99ms      float64 `json:"reference_p99_ms,omitempty"`
	ReferenceCPUusPerOp float64 `json:"reference_cpu_us_per_op,omitempty"`
	ReferenceErrors     int     `json:"reference_errors,omitempty"`
	VsReference         float64 `json:"vs_reference,omitempty"`
}

// newTransport returns an HTTP/1.1 keep-alive transport with exactly conns
// connections (HTTP/2 would multiplex them into one).
func newTransport(tlsConf *tls.Config, conns int, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		TLSClientConfig:     tlsConf,
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
		MaxIdleConns:        conns,
		IdleConnTimeout:     time.Minute,
		ForceAttemptHTTP2:   false,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		DialContext:         dial,
	}
}

// load is a stream of requests to drive: a client, the requests and the
// CPU clock of the server that answers them.
type load struct {
	client *http.Client
	wire   *wire
	next   request
	ep     endpoint
	cpu    func() time.Duration
}

// close closes the load's wire connections, if any.
func (l *load) close() {
	if l.wire != nil {
		l.wire.close()
	}
}

// sample is what one or more measured slices of a load saw.
type sample struct {
	lat       []time.Duration
	errs      int
	elapsed   time.Duration
	serverCPU time.Duration
	clientCPU time.Duration
}

func (s *sample) add(o sample) {
	s.lat = append(s.lat, o.lat...)
	s.errs += o.errs
	s.elapsed += o.elapsed
	s.serverCPU += o.serverCPU
	s.clientCPU += o.clientCPU
}

func (s sample) rps() float64 {
	if s.elapsed <= 0 {
		return 0
	}
	return float64(len(s.lat)) / s.elapsed.Seconds()
}

// run sends requests from conns goroutines for d and measures every request
// that completes within it. Connections stay open between runs.
func (l load) run(ctx context.Context, conns int, d time.Duration) sample {
	var (
		stop atomic.Bool
		wg   sync.WaitGroup
		lat  = make([][]time.Duration, conns)
		errs = make([]int, conns)
	)
	cpu0, self0 := l.cpu(), selfCPU()
	began := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; !stop.Load(); seq++ {
				c := l.next(w, seq)
				start := time.Now()
				var ok bool
				if l.wire != nil {
					ok = l.wire.do(ctx, l.ep, c, w, start)
				} else {
					ok = once(ctx, l.client, l.ep, c)
				}
				if stop.Load() {
					return // completed after the slice ended
				}
				if !ok {
					errs[w]++
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		}(w)
	}
	time.Sleep(d)
	stop.Store(true)
	elapsed := time.Since(began)
	cpu1, self1 := l.cpu(), selfCPU()
	wg.Wait()
	s := sample{elapsed: elapsed, serverCPU: cpu1 - cpu0, clientCPU: self1 - self0}
	for w := range lat {
		s.lat = append(s.lat, lat[w]...)
		s.errs += errs[w]
	}
	return s
}

// once sends one request and reports whether it succeeded (2xx).
func once(ctx context.Context, client *http.Client, ep endpoint, c call) bool {
	req, err := ep.httpRequest(c)
	if err != nil {
		return false
	}
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

func (s sample) result() Result {
	all := slices.Clone(s.lat)
	slices.Sort(all)
	r := Result{Requests: len(all), Errors: s.errs}
	if len(all) == 0 {
		return r
	}
	r.RPS = s.rps()
	r.P50ms, r.P90ms, r.P99ms, r.P999ms = pct(all, 50), pct(all, 90), pct(all, 99), pct(all, 99.9)
	r.CPUusPerOp = float64(s.serverCPU.Microseconds()) / float64(len(all))
	r.ClientCPUusPerOp = float64(s.clientCPU.Microseconds()) / float64(len(all))
	return r
}

func pct(sorted []time.Duration, p float64) float64 {
	i := int(float64(len(sorted)-1) * p / 100)
	return float64(sorted[i].Microseconds()) / 1000
}
