package bench

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// request builds the next request of an operation; worker is the driving
// goroutine's index and seq its request counter, so operations can spread
// over names without shared state.
type request func(worker, seq int) (*http.Request, error)

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

// drive sends requests from conns goroutines for warmup+d and measures the
// requests that complete after the warm-up.
func drive(ctx context.Context, client *http.Client, conns int, warmup, d time.Duration, next request, cpu func() time.Duration) Result {
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
		lat       = make([][]time.Duration, conns)
		errs      = make([]int, conns)
	)
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for seq := 0; !stop.Load(); seq++ {
				start := time.Now()
				ok := once(ctx, client, next, w, seq)
				if !measuring.Load() {
					continue
				}
				if !ok {
					errs[w]++
				}
				lat[w] = append(lat[w], time.Since(start))
			}
		}(w)
	}
	time.Sleep(warmup)
	cpu0, self0 := cpu(), selfCPU()
	began := time.Now()
	measuring.Store(true)
	time.Sleep(d)
	measuring.Store(false)
	elapsed := time.Since(began)
	cpu1, self1 := cpu(), selfCPU()
	stop.Store(true)
	wg.Wait()
	return summarize(lat, errs, elapsed, cpu1-cpu0, self1-self0)
}

// once sends one request and reports whether it succeeded (2xx).
func once(ctx context.Context, client *http.Client, next request, w, seq int) bool {
	req, err := next(w, seq)
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

func summarize(lat [][]time.Duration, errs []int, elapsed, serverCPU, clientCPU time.Duration) Result {
	var all []time.Duration
	n := 0
	for w := range lat {
		all = append(all, lat[w]...)
		n += errs[w]
	}
	slices.Sort(all)
	r := Result{Requests: len(all), Errors: n}
	if len(all) == 0 {
		return r
	}
	r.RPS = float64(len(all)) / elapsed.Seconds()
	r.P50ms, r.P90ms, r.P99ms, r.P999ms = pct(all, 50), pct(all, 90), pct(all, 99), pct(all, 99.9)
	r.CPUusPerOp = float64(serverCPU.Microseconds()) / float64(len(all))
	r.ClientCPUusPerOp = float64(clientCPU.Microseconds()) / float64(len(all))
	return r
}

func pct(sorted []time.Duration, p float64) float64 {
	i := int(float64(len(sorted)-1) * p / 100)
	return float64(sorted[i].Microseconds()) / 1000
}
