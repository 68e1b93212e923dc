// Package testenv starts real keyhaven servers for tests: the whole server
// (TLS, token authority, storage, barrier) on 127.0.0.1:0, and HTTP clients
// that trust its CA and reach vault hosts (*.vault.localhost) on loopback.
package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhaven/keyhaven/internal/app"
)

// Server is a running keyhaven server.
type Server struct {
	App  *app.App
	Info *app.DevInfo
	// Client trusts the server's CA and dials every host on the server's
	// loopback address.
	Client *http.Client
}

// Clock is a settable clock for servers under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// StartDevWithClock starts a dev-mode server whose clock the test moves
// (token lifetimes, soft-delete retention, rotation policies all follow it);
// run background work with srv.App.RunScheduledJobs.
func StartDevWithClock(t testing.TB) (*Server, *Clock) {
	t.Helper()
	c := &Clock{now: time.Now()}
	return startDev(t, c.Now), c
}

// StartDev starts a dev-mode server that stops when the test ends.
func StartDev(t testing.TB) *Server {
	t.Helper()
	return startDev(t, nil)
}

func startDev(t testing.TB, now func() time.Time) *Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("KEYHAVEN_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, info, err := app.NewDev(context.Background(), app.DevOptions{Listen: "127.0.0.1:0", Dir: t.TempDir(), Logger: log, Now: now})
	if err != nil {
		t.Fatalf("start dev server: %v", err)
	}
	go func() { _ = a.Serve() }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return &Server{App: a, Info: info, Client: NewClient(t, info.CAFile, a.Addr().String())}
}

// NewClient returns an HTTP client that trusts the CA in caFile and sends
// every connection to addr (a loopback host:port), whatever the URL's host
// — the way an /etc/hosts entry for *.vault.localhost would.
func NewClient(t testing.TB, caFile, addr string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("read CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// VaultURL returns the URL of vault name on this server.
func (s *Server) VaultURL(name string) string {
	return strings.Replace(s.Info.VaultURL, "https://dev.", "https://"+name+".", 1)
}

// CreateApp registers an application without any role and returns its
// client id and secret.
func (s *Server) CreateApp(t testing.TB, name string) (clientID, secret string) {
	t.Helper()
	id, sec, err := s.App.CreateApp(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return id, sec
}
