// Package httpapi is keyhaven's wire protocol: the Azure Key Vault data
// plane on every vault host ({vault}.{dns-suffix}) and the token authority
// and server endpoints on every other host.
//
// One ServeHTTP runs the request path in one direction: route table →
// request id → vault lookup by host → firewall (the vault's network rules)
// → authenticate (401 challenge before the body is read) → authorize (the
// route's declared data action at its scope) → throttle (429) → read and
// decode the body within the route's limit → domain service → encode.
// Errors from any step are rendered through one table into Azure's
// envelope. Handlers never touch storage or crypto: they call services.
package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/audit"
	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/certs"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/keys"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/secrets"
	"github.com/keyhaven/keyhaven/internal/vaults"
)

// Sealer is the seal state of the server, owned by the composition root.
type Sealer interface {
	Sealed() bool
	// Unseal releases the root key with a passphrase and brings the
	// services up. A wrong passphrase is a *kverr.Error (UnsealFailed).
	Unseal(ctx context.Context, passphrase []byte) error
	SealType() string
}

// PolicySource returns the authorization policy in force.
type PolicySource interface {
	Policy() *authz.Policy
}

// Deps are the services the API calls.
type Deps struct {
	Vaults   *vaults.Service
	Secrets  *secrets.Service
	Keys     *keys.Service
	Certs    *certs.Service
	Identity *identity.Service
	Authz    PolicySource
	// RoleAssignments changes assignments (the management API).
	RoleAssignments RoleAssignments
	Seal            Sealer
	DNSSuffix       string // e.g. "vault.localhost"
	// ChallengeTenant is "any" (default), "tenant" or "adfs": which tenant
	// the 401 challenge names (see config.IdentityConfig).
	ChallengeTenant string
	Logger          *slog.Logger
	// Audit, when set, gets one record per request; AuditFailClosed makes
	// a request whose record cannot be written fail with 503.
	Audit           Auditor
	AuditFailClosed bool
	// AuditLog is the audit file (its rotated predecessors beside it) that
	// GET /audit/records reads; "" when no file is written.
	AuditLog string
	// Alerts, when set (with Audit), sees every audited request's record
	// and the vault it concerned ("" for none). Observe runs on the request
	// path and must not block.
	Alerts interface {
		Observe(rec *audit.Record, vaultID, vaultName string)
	}
	// Metrics counts requests for GET /metrics (made by New when nil);
	// Gauges adds the composition root's own values.
	Metrics *Metrics
	Gauges  Gauges
	// ServesHost reports whether the server's TLS certificate holds a host
	// name; client assertions must be addressed to one (nil: any).
	ServesHost func(host string) bool
	Now        func() time.Time
	// Network is the data plane's firewall and rate limits.
	Network Network
	// Metrics decides who may read GET /metrics.
	MetricsAccess MetricsAccess
}

// Server serves both planes.
type Server struct {
	Deps
	data      *table
	authority *table
	guard     *guard // slows down guessing of client secrets and the seal passphrase

	fw     fwCache // parsed IP rules per vault settings version
	limits limiter // token buckets per vault and per principal

	lastIssuer   atomic.Pointer[acceptedIssuer] // the last issuer isOwnIssuer accepted
	lastAudience atomic.Pointer[string]         // the last audience isAudience accepted
}

type acceptedIssuer struct{ iss, tenant string }

// New returns the HTTP handler of a keyhaven server.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.DNSSuffix = strings.ToLower(strings.TrimSuffix(d.DNSSuffix, "."))
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	now := d.Now
	if now == nil {
		now = time.Now
	}
	d.Now = now
	return &Server{Deps: d, guard: newGuard(now), data: newTable(dataRoutes()), authority: newTable(slices.Concat(authorityRoutes(), principalRoutes(), assignmentRoutes(), toolingRoutes(), armVaultRoutes()))}
}

// ServeHTTP implements http.Handler. Every request gets an audit record
// when an Auditor is set; with debug logging on, every request is also
// logged (method, path, status, duration; never bodies or headers).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w, req: r, status: http.StatusOK, hold: s.Audit != nil && s.AuditFailClosed}
	if s.Logger.Enabled(r.Context(), slog.LevelDebug) {
		start := time.Now()
		defer func() {
			s.Logger.Debug("request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
				"status", rec.status, "durationMs", float64(time.Since(start).Microseconds())/1000,
				"requestId", w.Header().Get("X-Ms-Request-Id"))
		}()
	}
	c := newCall(rec, r)
	start := time.Now()
	defer func() { s.Metrics.observe(c.opName(), c.vaultLabel(), rec.status, time.Since(start)) }()
	serve := func() error {
		if vaultName, ok := s.vaultName(r.Host); ok {
			return s.serveData(c, vaultName)
		}
		return s.serveAuthority(c)
	}
	if s.Audit != nil {
		s.audited(c, rec, start, serve)
		return
	}
	if err := serve(); err != nil {
		s.renderError(c, err)
	}
}

// vaultName extracts {vault} from a host of the form {vault}.{dns-suffix}[:port].
func (s *Server) vaultName(host string) (string, bool) {
	h := hostOnly(host)
	if !strings.HasSuffix(h, "."+s.DNSSuffix) {
		return "", false
	}
	name := strings.TrimSuffix(h, "."+s.DNSSuffix)
	return name, name != "" && !strings.Contains(name, ".")
}

func hostOnly(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

func (s *Server) serveData(c *call, vaultName string) error {
	rt, params, known := s.data.match(c.r.Method, splitPath(c.r.URL.Path))
	if rt == nil {
		return noRoute(known)
	}
	c.route, c.params = rt, params
	if s.Seal.Sealed() {
		return errSealed
	}
	v, ok := s.Vaults.Lookup(vaultName)
	if !ok {
		return kverr.New(kverr.NotFound, "VaultNotFound", "The vault "+vaultName+" does not exist on this server.")
	}
	c.vault = v
	if err := s.firewall(c); err != nil {
		return err
	}
	if err := s.authenticate(c); err != nil {
		return err
	}
	if err := s.authorize(c); err != nil {
		return err
	}
	if err := s.throttle(c); err != nil {
		return err
	}
	if err := c.requireAPIVersion(); err != nil {
		return err
	}
	if err := c.readBody(); err != nil {
		return err
	}
	return rt.handle(s, c)
}

func (s *Server) serveAuthority(c *call) error {
	rt, params, known := s.authority.match(c.r.Method, splitPath(c.r.URL.Path))
	if rt == nil {
		return noRoute(known)
	}
	c.route, c.params = rt, params
	if rt.action != "" || rt.self { // the management API: token and, but for self-service, a management role
		if s.Seal.Sealed() {
			return errSealed
		}
		if err := s.authenticate(c); err != nil {
			return err
		}
		if !rt.self {
			if err := s.authorizeManagement(c); err != nil {
				return err
			}
		}
	}
	if err := c.readBody(); err != nil {
		return err
	}
	return rt.handle(s, c)
}

func noRoute(pathKnown bool) error {
	if pathKnown {
		return kverr.New(kverr.MethodNotAllowed, "MethodNotAllowed", "The HTTP method is not allowed on this resource.")
	}
	return kverr.New(kverr.NotFound, "NotFound", "The requested resource does not exist.")
}

var errSealed = kverr.New(kverr.Unavailable, "ServiceUnavailable",
	"The keyhaven server is sealed: no data can be served until it is unsealed (keyhaven operator unseal).")

// opName is the operation for logs and metrics: the route's, or Unknown.
func (c *call) opName() string {
	if c.route != nil {
		return c.route.op
	}
	return "Unknown"
}

// vaultLabel is the vault of a data-plane request ("" elsewhere).
func (c *call) vaultLabel() string {
	if c.vault != nil {
		return c.vault.Name
	}
	return ""
}
