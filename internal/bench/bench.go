// Package bench is keyhaven's load generator: it starts (or targets) a
// keyhaven server, seeds it through the public API, drives each operation
// with keep-alive connections for a fixed time, and reports requests/s,
// latency percentiles, errors and the server's CPU time per request, beside
// a baseline — a bare Go HTTPS server answering a body of the same size —
// driven by the same client.
package bench

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Config is one benchmark run.
type Config struct {
	Secrets     int           // secrets to seed
	Duration    time.Duration // measured time per operation
	Warmup      time.Duration // unmeasured time before each measurement
	Connections int
	Operations  []string // empty: all
	Out         io.Writer
	// Target, when set, is an existing vault URL; credentials then come
	// from the AZURE_* variables, the CA from SSL_CERT_FILE, and server CPU
	// is measured only when ServerPID is set.
	Target    string
	ServerPID int
	// ServerProfile, when set, makes the server write a CPU profile there.
	ServerProfile string
	// Driver is DriverWire (the default) or DriverNetHTTP.
	Driver string
	// BaselineRequest is what the baseline is sent: BaselineSame (the
	// default) or BaselineMinimal.
	BaselineRequest string
	// StallProbe, when positive, is how long to measure the machine's
	// stalls (see Stalls) before the operations run.
	StallProbe time.Duration
	// ReferenceSecrets, when positive, starts a second server seeded with
	// that many secrets and measures the secret operations on it too, in
	// slices interleaved with the main server's: how the rate changes with
	// the vault's size, measured in the same minutes (see Reference).
	ReferenceSecrets int
}

// What the baseline server is sent.
const (
	// BaselineSame sends it GetSecret's own requests, byte for byte (path,
	// query, Host, bearer token): the baseline then differs from keyhaven
	// only in what the server does with the request.
	BaselineSame = "getsecret"
	// BaselineMinimal sends it a bare "GET /secrets/x" with no token.
	BaselineMinimal = "minimal"
)

// Report is the JSON document of a run.
type Report struct {
	Baseline struct {
		RPS        float64 `json:"rps"`
		CPUusPerOp float64 `json:"cpu_us_per_op"`
		P99ms      float64 `json:"p99_ms"`
		Errors     int     `json:"errors"`
		// ClientCPUusPerOp is the load generator's CPU per request.
		ClientCPUusPerOp float64 `json:"client_cpu_us_per_op"`
		// Request is what it was sent: BaselineSame or BaselineMinimal.
		Request string `json:"request"`
	} `json:"baseline"`
	Results     []Result `json:"results"`
	Driver      string   `json:"driver"`
	Secrets     int      `json:"secrets"`
	Connections int      `json:"connections"`
	DurationS   float64  `json:"duration_s"`
	ServerRSSMB float64  `json:"server_rss_mb,omitempty"`
	// ServerAnonMB is the heap-and-stacks part of the RSS; the rest is
	// mapped files (bbolt maps its database).
	ServerAnonMB float64 `json:"server_anon_mb,omitempty"`
	// LocalRSASignPerSec is crypto/rsa RS256 (2048) signing in-process on
	// every core: the ceiling for SignRS256 through the API.
	LocalRSASignPerSec float64 `json:"local_rsa_sign_per_s,omitempty"`
	BodyBytes          int     `json:"body_bytes"`
	// MachineStalls is the stall probe's finding (Config.StallProbe).
	MachineStalls *Stalls `json:"machine_stalls,omitempty"`
	// Reference describes the second server of Config.ReferenceSecrets.
	Reference *Reference `json:"reference,omitempty"`
}

// Reference is a second keyhaven server, like the first but seeded with
// fewer (or more) secrets; each secret operation's Result then carries its
// numbers there, measured in slices alternating with the main server's.
type Reference struct {
	Secrets      int     `json:"secrets"`
	ServerRSSMB  float64 `json:"server_rss_mb,omitempty"`
	ServerAnonMB float64 `json:"server_anon_mb,omitempty"`
}

// env is what the operations need to talk to the server under test.
type env struct {
	client   *http.Client
	vaultURL string
	host     string // Host header: the vault host
	token    string
	names    []string
	versions []string
	body     []byte       // a SetSecret body
	keys     *keyFixtures // seeded keys, when key operations run
}

// Run executes a benchmark and returns its report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := choose(&cfg.Driver, "driver", DriverWire, DriverNetHTTP); err != nil {
		return nil, err
	}
	if err := choose(&cfg.BaselineRequest, "baseline request", BaselineSame, BaselineMinimal); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "keyhaven-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	pid, e, stop, err := target(ctx, cfg, work)
	if err != nil {
		return nil, err
	}
	defer stop()
	fmt.Fprintf(cfg.Out, "server pid %d at %s; seeding %d secrets...\n", pid, e.vaultURL, cfg.Secrets)
	if err := e.seed(ctx, cfg.Secrets, cfg.Connections); err != nil {
		return nil, err
	}
	size, err := e.getSize(ctx)
	if err != nil {
		return nil, err
	}
	rep := &Report{Driver: cfg.Driver, Secrets: cfg.Secrets, Connections: cfg.Connections, DurationS: cfg.Duration.Seconds(), BodyBytes: size}
	base, stopBase, err := startBaseline(ctx, cfg, work, size, operations[0].build(e), e.endpoint())
	if err != nil {
		return nil, err
	}
	defer stopBase()
	fmt.Fprintf(cfg.Out, "baseline: bare Go HTTPS answering a %d-byte body to %s\n", size, map[string]string{
		BaselineSame: "GetSecret's requests", BaselineMinimal: "a bare GET without a token"}[cfg.BaselineRequest])
	base.run(ctx, cfg.Connections, cfg.Warmup) // connects and warms up
	ops := selected(cfg.Operations)
	if needsKeys(ops) {
		if err := e.seedKeys(ctx); err != nil {
			return nil, err
		}
	}
	var ref *referenceServer
	if cfg.ReferenceSecrets > 0 {
		if ref, err = startReference(ctx, cfg, filepath.Join(work, "reference")); err != nil {
			return nil, err
		}
		defer ref.stop()
		rep.Reference = &Reference{Secrets: cfg.ReferenceSecrets}
	}
	if cfg.StallProbe > 0 {
		fmt.Fprintf(cfg.Out, "probing the machine's own stalls for %s (a spinning thread per core)...\n", cfg.StallProbe)
		st := probeStalls(cfg.StallProbe)
		rep.MachineStalls = &st
	}
	var local *localSigner
	var allBase sample
	var localSigns, localTime float64
	for _, op := range ops {
		if op.name == "SignRS256" && local == nil {
			if local, err = newLocalSigner(); err != nil {
				return nil, err
			}
		}
		l, err := newLoad(cfg, e, op, pid)
		if err != nil {
			return nil, err
		}
		var lr *load // the same operation on the reference server
		if ref != nil && !op.keys {
			if lr, err = newLoad(cfg, ref.env, op, ref.pid); err != nil {
				l.close()
				return nil, err
			}
			fmt.Fprintf(cfg.Out, "running %s for %s, on the reference server for %s and the baseline for %s, interleaved...\n", op.name, cfg.Duration, cfg.Duration, cfg.Duration/2)
			lr.run(ctx, cfg.Connections, cfg.Warmup)
		} else {
			fmt.Fprintf(cfg.Out, "running %s for %s (and the baseline for %s, interleaved)...\n", op.name, cfg.Duration, cfg.Duration/2)
		}
		l.run(ctx, cfg.Connections, cfg.Warmup)
		var s, sr, b sample
		var signs, signTime float64
		for range rounds {
			s.add(l.run(ctx, cfg.Connections, cfg.Duration/rounds))
			if lr != nil {
				sr.add(lr.run(ctx, cfg.Connections, cfg.Duration/rounds))
			}
			b.add(base.run(ctx, cfg.Connections, cfg.Duration/(2*rounds)))
			if op.name == "SignRS256" {
				n := local.run(cfg.Duration / (2 * rounds))
				signs, signTime = signs+n, signTime+(cfg.Duration/(2*rounds)).Seconds()
			}
		}
		r := s.result()
		r.Operation = op.name
		if r.BaselineRPS = b.rps(); r.BaselineRPS > 0 {
			r.VsBaseline = r.RPS / r.BaselineRPS
		}
		if signs > 0 {
			r.VsLocalRSA = r.RPS / (signs / signTime)
			localSigns, localTime = localSigns+signs, localTime+signTime
		}
		if lr != nil {
			x := sr.result()
			r.ReferenceRPS, r.ReferenceP99ms, r.ReferenceCPUusPerOp, r.ReferenceErrors = x.RPS, x.P99ms, x.CPUusPerOp, x.Errors
			if x.RPS > 0 {
				r.VsReference = r.RPS / x.RPS
			}
			lr.close()
		}
		allBase.add(b)
		rep.Results = append(rep.Results, r)
		l.close()
	}
	br := allBase.result()
	rep.Baseline.RPS, rep.Baseline.CPUusPerOp, rep.Baseline.P99ms = br.RPS, br.CPUusPerOp, br.P99ms
	rep.Baseline.Request, rep.Baseline.Errors, rep.Baseline.ClientCPUusPerOp = cfg.BaselineRequest, br.Errors, br.ClientCPUusPerOp
	if localTime > 0 {
		rep.LocalRSASignPerSec = localSigns / localTime
	}
	if ref != nil {
		rep.Reference.ServerRSSMB = float64(procRSS(ref.pid)) / (1 << 20)
		rep.Reference.ServerAnonMB = float64(procStatus(ref.pid, "RssAnon")) / (1 << 20)
	}
	rep.ServerRSSMB = float64(procRSS(pid)) / (1 << 20)
	rep.ServerAnonMB = float64(procStatus(pid, "RssAnon")) / (1 << 20)
	return rep, nil
}

// newLoad prepares op's load on e, whose server has process id pid.
func newLoad(cfg Config, e *env, op operation, pid int) (*load, error) {
	l := &load{client: e.client, next: op.build(e), ep: e.endpoint(), cpu: func() time.Duration { return procCPU(pid) }}
	if cfg.Driver == DriverWire {
		var err error
		if l.wire, err = newWire(e.client, e.host, cfg.Connections); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// referenceServer is the second server of Config.ReferenceSecrets.
type referenceServer struct {
	pid  int
	env  *env
	stop func()
}

// startReference starts and seeds the reference server in dir.
func startReference(ctx context.Context, cfg Config, dir string) (*referenceServer, error) {
	if cfg.Target != "" {
		return nil, fmt.Errorf("bench: a reference server is only started beside a server the benchmark starts (not with --url)")
	}
	srv, e, err := startServer(ctx, dir, cfg.Connections, "")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Out, "reference server pid %d at %s; seeding %d secrets...\n", srv.pid(), e.vaultURL, cfg.ReferenceSecrets)
	if err := e.seed(ctx, cfg.ReferenceSecrets, cfg.Connections); err != nil {
		srv.stop()
		return nil, err
	}
	stop := func() {
		e.client.CloseIdleConnections()
		srv.stop()
	}
	return &referenceServer{pid: srv.pid(), env: e, stop: stop}, nil
}

// choose checks that *v is def or other, making an empty *v def.
func choose(v *string, what, def, other string) error {
	switch *v {
	case "":
		*v = def
	case def, other:
	default:
		return fmt.Errorf("bench: unknown %s %q (%s or %s)", what, *v, def, other)
	}
	return nil
}

// rounds is how many slices each operation's measurement is cut into, each
// followed by a slice of the baseline (half as long): on a shared machine
// whose speed drifts, an operation and its reference are measured in the
// same minutes, so their ratio is far steadier than with one baseline run
// at the start.
const rounds = 4

func needsKeys(ops []operation) bool {
	for _, op := range ops {
		if op.keys {
			return true
		}
	}
	return false
}

// target starts a server, or connects to cfg.Target. pid is the server's
// process id for CPU and memory readings (0 when unknown).
func target(ctx context.Context, cfg Config, work string) (pid int, e *env, stop func(), err error) {
	if cfg.Target != "" {
		e, err := targetEnv(ctx, cfg.Target, cfg.Connections)
		return cfg.ServerPID, e, func() {}, err
	}
	srv, e, err := startServer(ctx, work, cfg.Connections, cfg.ServerProfile)
	if err != nil {
		return 0, nil, nil, err
	}
	return srv.pid(), e, srv.stop, nil
}

// startServer runs `keyhaven server` with bbolt storage, TLS, token auth
// and a passphrase seal in dir, and logs in as its first administrator.
func startServer(ctx context.Context, dir string, conns int, profile string) (*child, *env, error) {
	pass := make([]byte, 24)
	_, _ = rand.Read(pass)
	data := filepath.Join(dir, "data")
	args := []string{"server", "--data-dir", data, "--listen", "127.0.0.1:0", "--log-format", "json", "--log-level", "info", "--vault", "bench"}
	if profile != "" {
		args = append(args, "--cpu-profile", profile)
	}
	srv, err := startChild(ctx, []string{"KEYHAVEN_SEAL_PASSPHRASE=" + hex.EncodeToString(pass)}, args...)
	if err != nil {
		return nil, nil, err
	}
	e, err := newEnv(ctx, srv.addr, filepath.Join(data, "tls", "ca.pem"), filepath.Join(data, "bootstrap-credentials.json"), conns)
	if err != nil {
		srv.stop()
		return nil, nil, err
	}
	return srv, e, nil
}

// startBaseline starts the baseline server and returns the load that
// drives it: with BaselineSame, the requests of getSecret to vault (the
// same bytes, token and all) sent to the baseline's address instead.
func startBaseline(ctx context.Context, cfg Config, dir string, size int, getSecret request, vault endpoint) (load, func(), error) {
	b, err := startChild(ctx, nil, "bench-baseline", "--listen", "127.0.0.1:0", "--size", fmt.Sprint(size), "--dir", filepath.Join(dir, "baseline"))
	if err != nil {
		return load{}, nil, err
	}
	client, err := httpClient(filepath.Join(dir, "baseline", "ca.pem"), b.addr, cfg.Connections)
	if err != nil {
		b.stop()
		return load{}, nil, err
	}
	next, ep := baselineRequests(cfg.BaselineRequest, getSecret, vault, "localhost:"+portOf(b.addr))
	l := load{client: client, cpu: func() time.Duration { return procCPU(b.pid()) }, next: next, ep: ep}
	if cfg.Driver == DriverWire {
		if l.wire, err = newWire(client, "localhost:"+portOf(b.addr), cfg.Connections); err != nil {
			b.stop()
			return load{}, nil, err
		}
	}
	return l, b.stop, nil
}

// baselineRequests builds the baseline's requests for connections to host:
// getSecret's own as they go to vault (mode BaselineSame: the Host header
// and token stay the vault's, only the connection differs), or a bare GET
// without a token (BaselineMinimal).
func baselineRequests(mode string, getSecret request, vault endpoint, host string) (request, endpoint) {
	if mode == BaselineMinimal {
		return func(int, int) call { return call{http.MethodGet, "/secrets/x", nil} },
			endpoint{base: "https://" + host, host: host}
	}
	vault.base = "https://" + host
	return getSecret, vault
}

// httpClient trusts the CA in caFile and sends every connection to addr.
func httpClient(caFile, addr string, conns int) (*http.Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("bench: no certificate in %s", caFile)
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	tr := newTransport(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, conns,
		func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		})
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
