// Package app is keyhaven's composition root: it turns a configuration into
// a running server in small named steps — storage → barrier → services →
// HTTP — and owns the seal state and the server's lifecycle.
package app

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/certs"
	"github.com/keyhaven/keyhaven/internal/httpapi"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/scheduler"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/servertls"
	"github.com/keyhaven/keyhaven/internal/storage"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// App is a keyhaven server.
type App struct {
	log             *slog.Logger
	now             func() time.Time
	dnsSuffix       string
	challengeTenant string

	store    storage.Store
	barrier  *barrier.Barrier
	vaults   *vaults.Service
	secrets  *secrets.Service
	keys     *keys.Service
	certs    *certs.Service
	identity *identity.Service
	policy   *policyStore
	sched    *scheduler.Scheduler
	audit    *audit.Logger // nil when no sink is configured
	// auditWebhook forwards the audit log to a collector (nil: none).
	auditWebhook *audit.WebhookSink
	auditFile    string // the audit file, for GET /audit/records ("" none)

	events eventWiring    // webhook subscriptions and delivery (events.go)
	alerts *alertRecorder // security alerts into the outbox (alerts.go); nil when off

	auditFailClosed bool
	// headCopiesChecked: the object heads' copies were checked since this
	// process started (see checkHeadCopies).
	headCopiesChecked atomic.Bool
	// cleanSinceLastStop: at open, storage held the generation noted at
	// this program's last clean stop (nothing wrote since).
	cleanSinceLastStop bool
	keyRotation        time.Duration // how often the token signing key is replaced

	ln     net.Listener
	srv    *http.Server
	tls    *servertls.Bundle
	onOpen func(ctx context.Context) error // runs after every unseal

	sealMu   sync.Mutex
	sealType string
	tenantID string // configured tenant id, "" for generated
	tmpDir   string // removed at shutdown (dev mode's CA directory)
}

// services builds the domain services over the store.
func (a *App) services(tokenLifetime time.Duration) {
	a.barrier = barrier.New(a.store)
	a.vaults = vaults.New(a.barrier, a.now)
	a.secrets = secrets.New(a.barrier, a.now)
	a.keys = keys.New(a.barrier, a.now)
	a.certs = certs.New(a.barrier, a.keys, a.secrets, a.now)
	a.identity = identity.New(a.barrier, a.now, tokenLifetime)
	a.policy = newPolicyStore(a.barrier, a.now)
	a.vaults.OnNameFreed(func(ctx context.Context, name string) error {
		return a.policy.RemoveScope(ctx, "/vaults/"+name)
	})
	a.sched = scheduler.New(time.Minute, a.now, a.log,
		a.countingJob("purge-deleted-secrets", "purged soft-deleted secrets past retention", a.secrets.PurgeDue),
		a.countingJob("purge-deleted-keys", "purged soft-deleted keys past retention", a.keys.PurgeDue),
		a.countingJob("rotate-keys", "rotated keys by their rotation policies", func(ctx context.Context, now time.Time) (int, error) {
			return a.keys.RotateDue(ctx, now, a.vaults.List())
		}),
		a.countingJob("rotate-signing-keys", "rotated the token signing keys", func(ctx context.Context, now time.Time) (int, error) {
			changed, err := a.identity.RotateKeys(ctx, now, a.keyRotation)
			if changed {
				return 1, err
			}
			return 0, err
		}),
		a.countingJob("purge-deleted-certificates", "purged soft-deleted certificates past retention", a.certs.PurgeDue),
		a.countingJob("purge-deleted-vaults", "purged soft-deleted vaults past retention", a.vaults.PurgeExpired),
		a.countingJob("renew-certificates", "renewed certificates by their lifetime actions", func(ctx context.Context, now time.Time) (int, error) {
			return a.certs.RenewDue(ctx, now, a.vaults.List())
		}),
		a.countingJob("expire-role-assignments", "removed expired role assignments", func(ctx context.Context, now time.Time) (int, error) {
			return a.policy.PruneExpired(ctx, now)
		}),
		a.countingJob("sweep-sign-ins", "removed expired sign-in state", a.identity.SweepLogins),
		a.countingJob("notify-expiring", "recorded near-expiry and expired events", a.notifyExpiring))
}

// countingJob is a scheduler job that logs how many objects it handled.
func (a *App) countingJob(name, msg string, run func(context.Context, time.Time) (int, error)) scheduler.Job {
	return scheduler.Job{Name: name, Run: func(ctx context.Context, now time.Time) error {
		n, err := run(ctx, now)
		if n > 0 {
			a.log.Info(msg, "count", n)
		}
		return err
	}}
}

// open loads the services' state once the barrier is unsealed. If that
// fails, the barrier is sealed again: a half-loaded server serves nothing.
func (a *App) open(ctx context.Context, tenantID string) error {
	if err := a.load(ctx, tenantID); err != nil {
		a.barrier.Seal()
		return err
	}
	a.sched.Start()
	return nil
}

func (a *App) load(ctx context.Context, tenantID string) error {
	if err := a.identity.Load(ctx, tenantID); err != nil {
		return fmt.Errorf("load identity: %w", err)
	}
	if err := a.vaults.Load(ctx); err != nil {
		return fmt.Errorf("load vaults: %w", err)
	}
	if err := a.checkHeadCopies(ctx); err != nil {
		return err
	}
	if err := a.policy.load(ctx); err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	if a.onOpen != nil {
		return a.onOpen(ctx)
	}
	return nil
}

// bootstrapAdmin creates an application holding Key Vault Administrator on
// the whole server and returns its client id and secret.
func (a *App) bootstrapAdmin(ctx context.Context, name string, lifetime time.Duration) (*identity.App, string, error) {
	app, secret, err := a.identity.CreateApp(ctx, name, lifetime)
	if err != nil {
		return nil, "", err
	}
	for _, role := range []string{authz.KeyVaultAdministrator, authz.Owner} {
		if err := a.policy.assign(ctx, app.ObjectID, role, "/"); err != nil {
			return nil, "", err
		}
	}
	return app, secret, nil
}

// handler returns the HTTP API.
func (a *App) handler() *httpapi.Server {
	d := httpapi.Deps{Vaults: a.vaults, Secrets: a.secrets, Keys: a.keys, Certs: a.certs, Identity: a.identity, Authz: a.policy, RoleAssignments: a.policy,
		Seal: a, DNSSuffix: a.dnsSuffix, ChallengeTenant: a.challengeTenant, Logger: a.log, Now: a.now}
	if a.audit != nil {
		d.Audit, d.AuditFailClosed, d.AuditLog = a.audit, a.auditFailClosed, a.auditFile
		d.Gauges = func() map[string]float64 {
			batches, spent := a.audit.WriteStats()
			g := map[string]float64{"keyhaven_audit_dropped_records": float64(a.audit.Dropped()),
				"keyhaven_audit_write_batches_total": float64(batches), "keyhaven_audit_write_seconds_total": spent.Seconds()}
			if a.auditWebhook != nil {
				g["keyhaven_audit_webhook_sent_lines"] = float64(a.auditWebhook.Sent())
				g["keyhaven_audit_webhook_dropped_lines"] = float64(a.auditWebhook.Dropped())
			}
			return g
		}
	}
	if leaf, err := x509.ParseCertificate(a.tls.Certificate.Certificate[0]); err == nil {
		d.ServesHost = func(host string) bool { return leaf.VerifyHostname(host) == nil }
	}
	return httpapi.New(d)
}

// openAudit starts the audit logger over the file at path (none when
// empty), with stdout standard output, and the extra sinks.
func (a *App) openAudit(path string, maxBytes int64, fsync string, stdout bool, key ed25519.PrivateKey, extra ...audit.Sink) error {
	sinks := extra
	a.auditFile = path
	if path != "" {
		f, err := audit.OpenFile(path, maxBytes, fsync)
		if err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
		sinks = append(sinks, f)
	}
	if stdout {
		sinks = append(sinks, audit.NewWriterSink(os.Stdout))
	}
	if len(sinks) == 0 {
		return nil
	}
	l, err := audit.New(audit.Options{Key: key, FailClosed: a.auditFailClosed, Now: a.now}, sinks...)
	if err != nil {
		return err
	}
	a.audit = l
	return nil
}

// listen opens the TCP listener and prepares the HTTPS server.
func (a *App) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	a.ln = ln
	cfg := servertls.ServerConfig(a.tls)
	h := a.handler()
	a.srv = &http.Server{
		Handler:           h,
		ConnContext:       h.ConnContext,
		TLSConfig:         cfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	return nil
}

// Handler is the server's HTTP handler (TLS is the listener's business),
// for benchmarks that drive it in-process.
func (a *App) Handler() http.Handler { return a.srv.Handler }

// Addr is the listener's address (useful with port 0).
func (a *App) Addr() *net.TCPAddr { return a.ln.Addr().(*net.TCPAddr) }

// Port is the listener's port.
func (a *App) Port() string { return strconv.Itoa(a.Addr().Port) }

// CAFile is the path of the CA certificate clients should trust ("" when
// the certificate was supplied by the operator).
func (a *App) CAFile() string { return a.tls.CAFile }

// Serve serves HTTPS until Shutdown; it returns nil after a clean shutdown.
func (a *App) Serve() error {
	err := a.srv.Serve(tls.NewListener(httpapi.BatchWrites(a.ln), a.srv.TLSConfig))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting requests, waits for running ones (until ctx
// ends), stops background work and closes storage.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.srv.Shutdown(ctx)
	a.sched.Stop()
	a.stopAlerts()
	a.stopEvents()
	if a.audit != nil {
		err = errors.Join(err, a.audit.Close())
	}
	a.barrier.Seal()
	if g, ok := a.store.(storage.Generations); ok && a.headCopiesChecked.Load() {
		// Nothing writes any more: the next start can tell whether anything
		// else wrote before it.
		err = errors.Join(err, g.NoteGeneration([]byte(cleanStopKey)))
	}
	if a.tmpDir != "" {
		err = errors.Join(err, os.RemoveAll(a.tmpDir))
	}
	return errors.Join(err, a.store.Close())
}

// Sealed implements httpapi.Sealer.
func (a *App) Sealed() bool { return a.barrier.Sealed() }

// SealType implements httpapi.Sealer.
func (a *App) SealType() string { return a.sealType }

var errUnsealFailed = kverr.New(kverr.BadParameter, "UnsealFailed", "The passphrase does not unseal this server.")

// Unseal implements httpapi.Sealer for passphrase seals. Attempts are
// serialized, so concurrent guesses cannot multiply Argon2id's memory use.
func (a *App) Unseal(ctx context.Context, passphrase []byte) error {
	a.sealMu.Lock()
	defer a.sealMu.Unlock()
	if !a.barrier.Sealed() {
		return nil
	}
	if a.sealType != "passphrase" {
		return kverr.New(kverr.BadParameter, "UnsealFailed", "This server's seal is of type "+a.sealType+": it unseals from its configuration at start, not with a passphrase.")
	}
	if err := a.barrier.Unseal(ctx, barrier.NewPassphraseSeal(passphrase)); err != nil {
		if errors.Is(err, barrier.ErrUnsealFailed) {
			return errUnsealFailed
		}
		return err
	}
	return a.open(ctx, a.tenantID)
}

// CreateApp registers an application with a client secret and no role
// assignment: it can get tokens but is denied every data-plane action until
// it is granted a role.
func (a *App) CreateApp(ctx context.Context, name string) (clientID, secret string, err error) {
	app, secret, err := a.identity.CreateApp(ctx, name, 365*24*time.Hour)
	if err != nil {
		return "", "", err
	}
	return app.ClientID, secret, nil
}

// AddAppCertificate adds a certificate credential (DER, RSA) to an
// application, for the client-assertion grant.
func (a *App) AddAppCertificate(ctx context.Context, clientID string, der []byte) error {
	_, err := a.identity.AddCertificate(ctx, clientID, der)
	return err
}

// SetOIDCClient sets the HTTP client that fetches external OIDC issuers'
// discovery and keys (federated credentials), e.g. to trust a test CA.
func (a *App) SetOIDCClient(c *http.Client) { a.identity.SetOIDCClient(c) }

// RunScheduledJobs runs every background job once now (tests move the
// clock and call it instead of waiting for the scheduler's tick).
func (a *App) RunScheduledJobs(ctx context.Context) error { return a.sched.RunOnce(ctx) }

// cleanStopKey notes the storage generation at this program's last clean
// stop (see checkHeadCopies).
const cleanStopKey = barrier.RawKeyPrefix + "clean-stop-generation"

// noteStartGeneration records, before this process writes anything,
// whether storage is as this program left it at its last clean stop.
func (a *App) noteStartGeneration() error {
	g, ok := a.store.(storage.Generations)
	if !ok {
		return nil
	}
	gen, err := g.Generation()
	if err != nil {
		return err
	}
	return a.store.View(context.Background(), func(tx storage.Tx) error {
		noted, err := tx.Get([]byte(cleanStopKey))
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		a.cleanSinceLastStop = err == nil && len(noted) == 8 && binary.BigEndian.Uint64(noted) == gen
		return err
	})
}

// checkHeadCopies corrects, once per process and before anything is served,
// the copies of current versions that object heads carry, unless storage
// shows that nothing wrote since this program last stopped cleanly: after
// a crash, or after another program ran on the same data (the first
// releases changed versions without their heads), a copy may be stale.
// Releases before heads became index records cannot read this release's
// heads at all: there is no going back to them on the same data.
func (a *App) checkHeadCopies(ctx context.Context) error {
	if _, ok := a.store.(storage.Generations); !ok || a.headCopiesChecked.Load() {
		return nil // a store that numbers no commits keeps nothing across starts
	}
	if a.cleanSinceLastStop {
		a.headCopiesChecked.Store(true)
		return nil
	}
	var ids []string
	for _, v := range a.vaults.List() {
		ids = append(ids, v.ID)
	}
	deleted, err := a.vaults.ListDeleted(ctx)
	if err != nil {
		return err
	}
	for _, d := range deleted {
		ids = append(ids, d.Vault.ID)
	}
	start := time.Now()
	total := 0
	for _, check := range []func(context.Context, []string) (int, error){a.secrets.CheckHeadCopies, a.keys.CheckHeadCopies, a.certs.CheckHeadCopies} {
		n, err := check(ctx, ids)
		total += n
		if err != nil {
			return fmt.Errorf("check object heads: %w", err)
		}
	}
	a.log.Info("checked the objects' copies of their current versions (the last stop was not clean, or another program wrote)",
		"vaults", len(ids), "corrected", total, "took", time.Since(start).Round(time.Millisecond).String())
	a.headCopiesChecked.Store(true)
	return nil
}
