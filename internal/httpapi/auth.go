package httpapi

import (
	"net/url"
	"strings"

	"github.com/keyhaven/keyhaven/internal/authz"
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
	p, err := s.Identity.Validate(strings.TrimSpace(token), s.isOwnIssuer, s.isAudience)
	if err != nil {
		return s.challenge(c, "The access token is invalid: "+strings.TrimPrefix(err.Error(), "invalid token: ")+".")
	}
	c.principal = p
	return nil
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
	u, err := url.Parse(aud)
	if err != nil || u.Scheme != "https" || (u.Path != "" && u.Path != "/") {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == s.DNSSuffix || h == "vault.azure.net"
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
