package httpapi

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// authenticate validates the bearer token. A request without one gets the
// 401 challenge that tells the Azure SDKs where to get a token; this happens
// before the body is read, because the SDKs send their first request
// without a body.
func (s *Server) authenticate(c *call) error {
	authz := c.r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(authz, "bearer ")
	}
	if !ok || token == "" {
		return s.challenge(c, "Request is missing a Bearer or PoP token.")
	}
	token = strings.TrimSpace(token)
	conn, _ := c.r.Context().Value(connKey{}).(*connState)
	if p := conn.principal(token, s.Now(), s.Identity.Generation()); p != nil {
		c.principal = p
		return nil
	}
	p, valid, err := s.Identity.ValidateUntil(token, s.isOwnIssuer, s.isAudience)
	if err != nil {
		return s.challenge(c, "The access token is invalid: "+strings.TrimPrefix(err.Error(), "invalid token: ")+".")
	}
	conn.remember(token, p, valid)
	c.principal = p
	return nil
}

// connState is what the server remembers about one client connection: the
// last access token that validated on it, with its principal (read only,
// shared by the requests that present the token). A keep-alive connection
// sends the same token request after request; comparing it with the last
// one is cheaper than hashing it for the server-wide token cache. It holds
// one token that was sent on the connection, and goes with the connection.
type connState struct {
	last  atomic.Pointer[connToken] // HTTP/2 serves a connection's streams concurrently
	batch *batchConn                // the connection under TLS, when BatchWrites made it
}

type connToken struct {
	token string
	p     *identity.Principal
	valid identity.Validity
}

type connKey struct{}

// ConnContext gives each client connection its connState (http.Server's
// ConnContext hook).
func (s *Server) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{batch: batchOf(c)})
}

// principal returns the principal of token if it is the connection's last
// validated token and its validation still holds at now in the identity
// service's generation gen; nil otherwise.
func (cs *connState) principal(token string, now time.Time, gen uint64) *identity.Principal {
	if cs == nil {
		return nil
	}
	t := cs.last.Load()
	if t == nil || !t.valid.Holds(now, gen) || !equalConstantTime(t.token, token) {
		return nil
	}
	return t.p
}

// remember keeps a validated token (unless its validation holds only for
// this use, as an external issuer's).
func (cs *connState) remember(token string, p *identity.Principal, valid identity.Validity) {
	if cs != nil && !valid.Until.IsZero() {
		cs.last.Store(&connToken{token: token, p: p, valid: valid})
	}
}

// equalConstantTime compares two strings in time that depends only on their
// lengths (subtle.ConstantTimeCompare would need byte-slice copies), eight
// bytes at a time.
func equalConstantTime(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var v uint64
	i := 0
	for ; i+8 <= len(a); i += 8 {
		v |= le64(a[i:]) ^ le64(b[i:])
	}
	for ; i < len(a); i++ {
		v |= uint64(a[i] ^ b[i])
	}
	return v == 0
}

// le64 reads s's first eight bytes (the compiler makes it one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// challenge sets WWW-Authenticate and returns a 401. The authority and the
// resource both use the DNS suffix host and the port the client used, so the
// SDKs' check "vault host ends with .resource host" holds. Values contain no
// spaces or '=' (the Go SDK splits on both).
func (s *Server) challenge(c *call, msg string) error {
	host := s.suffixHost(c.r.Host)
	c.w.Header().Set("WWW-Authenticate",
		`Bearer authorization="https://`+host+"/"+s.challengeTenant()+`", resource="https://`+host+`"`)
	return kverr.New(kverr.Unauthorized, "Unauthorized", msg)
}

// challengeTenant is the tenant path segment of the challenge's authority.
// Empty means "whatever tenant the credential has": the Azure SDKs accept
// it with every credential, including ADFS-shaped ones.
func (s *Server) challengeTenant() string {
	switch s.ChallengeTenant {
	case "tenant":
		return s.Identity.TenantID()
	case "adfs":
		return "adfs"
	}
	return ""
}

// suffixHost returns the request's host with the vault label removed,
// keeping the port: dev.vault.localhost:8443 → vault.localhost:8443.
func (s *Server) suffixHost(requestHost string) string {
	host := strings.ToLower(requestHost)
	if i := strings.IndexByte(host, '.'); i >= 0 {
		return host[i+1:]
	}
	return host
}

// isAudience accepts tokens for this server's resource (https://{suffix},
// any port) and for Azure's Key Vault resource, which tools ask for by name.
func (s *Server) isAudience(aud string) bool {
	if last := s.lastAudience.Load(); last != nil && *last == aud {
		return true // every token names the same audience: parse it once
	}
	u, err := url.Parse(aud)
	if err != nil || u.Scheme != "https" || (u.Path != "" && u.Path != "/") {
		return false
	}
	h := strings.ToLower(u.Hostname())
	if h == s.DNSSuffix || h == "vault.azure.net" {
		s.lastAudience.Store(&aud)
		return true
	}
	return false
}

// isOwnIssuer accepts the issuer shapes of this authority: .../{tenant}/v2.0,
// .../{tenant}/ (v1) and .../adfs, on whichever host the client reached the
// authority through. The signature check already proved the token is ours;
// this check keeps tokens of one shape from being confused with another
// tenant's.
func (s *Server) isOwnIssuer(iss string) bool {
	tenant := s.Identity.TenantID()
	if last := s.lastIssuer.Load(); last != nil && last.iss == iss && last.tenant == tenant {
		return true
	}
	u, err := url.Parse(iss)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return false
	}
	t := "/" + tenant
	switch strings.ToLower(strings.TrimSuffix(u.Path, "/")) {
	case t + "/v2.0", t, "/adfs":
		s.lastIssuer.Store(&acceptedIssuer{iss: iss, tenant: tenant})
		return true
	}
	return false
}

// authorize decides a data-plane request under the vault's one active
// model: RBAC (the route's data action at its scope) or, when the vault
// has RBAC off, its access policies. The other model is never consulted,
// so an access policy cannot grant what RBAC denies, nor the reverse.
func (s *Server) authorize(c *call) error {
	if !c.vault.RBACAuthorization {
		return s.authorizeAccessPolicy(c)
	}
	scope := "/vaults/" + strings.ToLower(c.vault.Name)
	if c.route.scope == scopeObject {
		scope += "/" + collectionOf(c.route.pattern) + "/" + strings.ToLower(c.param(0))
	}
	d := s.Authz.Policy().Decide(authz.Request{PrincipalIDs: c.principal.IDs(), Action: c.route.action, Scope: scope, Now: s.Now(),
		User: c.principal.User || c.principal.External != "", MFA: c.principal.MFA(), Issuer: c.principal.External})
	if d.Allowed {
		return nil
	}
	return kverr.New(kverr.Forbidden, "Forbidden",
		"Caller is not authorized to perform action on resource.\r\n"+
			"Caller: appid="+c.principal.AppID+";oid="+c.principal.ObjectID+"\r\n"+
			"Action: '"+c.route.action+"'\r\n"+
			"Resource: '"+scope+"'\r\n"+
			"Assignment: (not found)\r\n"+
			"DecisionReason: 'DeniedWithNoValidRBAC'\r\n"+
			"Vault: "+c.vault.Name+"\r\n").WithInner("ForbiddenByRbac")
}

// collectionOf returns the object collection of a route pattern:
// "/deletedsecrets/{name}" → "secrets".
func collectionOf(pattern string) string {
	first := splitPath(pattern)[0]
	return strings.TrimPrefix(strings.ToLower(first), "deleted")
}
