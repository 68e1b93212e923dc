package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// authorityRoutes serve every host that is not a vault host: the token
// authority in both the Entra ID (AAD v2, and v1) shape and the ADFS shape,
// and the server's own endpoints. These routes are public: they
// authenticate their callers themselves (client credentials).
func authorityRoutes() []route {
	const form = 64 << 10
	routes := []route{
		{method: "GET", pattern: "/{tenant}/v2.0/.well-known/openid-configuration", op: "OpenIDConfiguration", handle: (*Server).oidcV2},
		{method: "GET", pattern: "/{tenant}/.well-known/openid-configuration", op: "OpenIDConfiguration", handle: (*Server).oidcV1},
		{method: "POST", pattern: "/{tenant}/oauth2/v2.0/token", op: "Token", body: form, handle: (*Server).tokenV2},
		{method: "POST", pattern: "/{tenant}/oauth2/token", op: "Token", body: form, handle: (*Server).tokenV1},
		{method: "GET", pattern: "/{tenant}/discovery/v2.0/keys", op: "JWKS", handle: (*Server).jwks},
		{method: "GET", pattern: "/{tenant}/discovery/keys", op: "JWKS", handle: (*Server).jwks},
		{method: "GET", pattern: "/adfs/.well-known/openid-configuration", op: "OpenIDConfiguration", handle: (*Server).oidcADFS},
		{method: "POST", pattern: "/adfs/oauth2/token", op: "Token", body: form, handle: (*Server).tokenADFS},
		{method: "GET", pattern: "/adfs/discovery/keys", op: "JWKS", handle: (*Server).jwks},
		{method: "GET", pattern: "/healthz", op: "Health", handle: (*Server).healthz},
		{method: "GET", pattern: "/readyz", op: "Ready", handle: (*Server).readyz},
		{method: "GET", pattern: "/metrics", op: "Metrics", handle: (*Server).metrics},
		{method: "GET", pattern: "/sys/seal-status", op: "SealStatus", handle: (*Server).sealStatus},
		{method: "POST", pattern: "/sys/unseal", op: "Unseal", body: 64 << 10, handle: (*Server).unseal},
	}
	return append(routes, loginRoutes()...)
}

type oidcDocument struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	JWKSURI               string   `json:"jwks_uri"`
	ResponseTypes         []string `json:"response_types_supported"`
	SubjectTypes          []string `json:"subject_types_supported"`
	SigningAlgs           []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods      []string `json:"token_endpoint_auth_methods_supported"`
	GrantTypes            []string `json:"grant_types_supported"`
	TenantRegionScope     *string  `json:"tenant_region_scope"`
	DeviceAuthorization   string   `json:"device_authorization_endpoint"`
	RevocationEndpoint    string   `json:"revocation_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

func (s *Server) oidcDoc(c *call, issuer, prefix string, keysPath string) error {
	origin := c.base()
	return c.reply(http.StatusOK, oidcDocument{
		Issuer:                issuer,
		AuthorizationEndpoint: origin + prefix + "/authorize",
		TokenEndpoint:         origin + prefix + "/token",
		DeviceAuthorization:   origin + prefix + "/devicecode",
		RevocationEndpoint:    origin + prefix + "/revoke",
		CodeChallengeMethods:  []string{"S256"},
		JWKSURI:               origin + keysPath,
		ResponseTypes:         []string{"code", "id_token", "code id_token", "token id_token"},
		SubjectTypes:          []string{"pairwise"},
		SigningAlgs:           []string{"RS256"},
		TokenAuthMethods:      []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
		GrantTypes:            []string{"client_credentials", "urn:ietf:params:oauth:grant-type:device_code", "authorization_code", "refresh_token"},
	})
}

// checkTenant requires the {tenant} path segment to be this server's tenant.
func (s *Server) checkTenant(c *call) (string, error) {
	t := strings.ToLower(c.param(0))
	if t != s.Identity.TenantID() {
		return "", kverr.New(kverr.NotFound, "TenantNotFound", "Tenant '"+c.param(0)+"' not found. This server's tenant id is "+s.Identity.TenantID()+".")
	}
	return t, nil
}

func (s *Server) oidcV2(c *call) error {
	t, err := s.checkTenant(c)
	if err != nil {
		return err
	}
	return s.oidcDoc(c, c.base()+"/"+t+"/v2.0", "/"+t+"/oauth2/v2.0", "/"+t+"/discovery/v2.0/keys")
}

func (s *Server) oidcV1(c *call) error {
	t, err := s.checkTenant(c)
	if err != nil {
		return err
	}
	return s.oidcDoc(c, c.base()+"/"+t+"/", "/"+t+"/oauth2", "/"+t+"/discovery/keys")
}

func (s *Server) oidcADFS(c *call) error {
	return s.oidcDoc(c, c.base()+"/adfs", "/adfs/oauth2", "/adfs/discovery/keys")
}

func (s *Server) jwks(c *call) error {
	return c.reply(http.StatusOK, map[string]any{"keys": s.Identity.JWKS()})
}

func (s *Server) tokenV2(c *call) error {
	t, err := s.checkTenant(c)
	if err != nil {
		return oauthError(c, http.StatusBadRequest, "invalid_request", err.(*kverr.Error).Message)
	}
	return s.token(c, c.base()+"/"+t+"/v2.0", "2.0")
}

func (s *Server) tokenV1(c *call) error {
	t, err := s.checkTenant(c)
	if err != nil {
		return oauthError(c, http.StatusBadRequest, "invalid_request", err.(*kverr.Error).Message)
	}
	return s.token(c, c.base()+"/"+t+"/", "1.0")
}

func (s *Server) tokenADFS(c *call) error {
	return s.token(c, c.base()+"/adfs", "1.0")
}

type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	ExpiresOn    int64  `json:"expires_on"`
	Resource     string `json:"resource,omitempty"`
	Scope        string `json:"scope,omitempty"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// token runs the client-credentials grant.
func (s *Server) token(c *call, issuer, version string) error {
	if s.Seal.Sealed() {
		return errSealed
	}
	form, err := url.ParseQuery(string(c.body))
	if err != nil {
		return oauthError(c, http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded.")
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "urn:ietf:params:oauth:grant-type:device_code", "authorization_code", "refresh_token":
		return s.userGrant(c, form, gt, issuer, version)
	default:
		return oauthError(c, http.StatusBadRequest, "unsupported_grant_type",
			"Supported grants: client_credentials, urn:ietf:params:oauth:grant-type:device_code, authorization_code (PKCE), refresh_token.")
	}
	resource, scope := requestedResource(form)
	if !s.isAudience(resource) {
		return oauthError(c, http.StatusBadRequest, "invalid_scope", "The resource '"+resource+"' is not served by this authority; ask for https://"+s.DNSSuffix+"/.default.")
	}
	ip := s.callerIP(c) // behind a trusted proxy, the client it names
	keys := []string{"client:" + strings.ToLower(truncate(form.Get("client_id"), 64)) + "@" + ip, "ip:" + ip}
	if wait := s.blocked(keys); wait > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return oauthError(c, http.StatusTooManyRequests, "temporarily_unavailable", "Too many failed sign-ins for this client or address; retry later.")
	}
	app, err := s.authenticateClient(c, form)
	if errors.Is(err, identity.ErrInvalidClient) {
		s.failed(c, keys, "token request")
	} else if err == nil {
		s.guard.succeed(keys[0])
	}
	if errors.Is(err, errNoCredential) {
		return oauthError(c, http.StatusBadRequest, "invalid_request", "The request body must contain client_id with client_secret or client_assertion.")
	}
	if errors.Is(err, identity.ErrInvalidClient) {
		s.Logger.Info("token request refused", "requestId", c.requestID, "clientId", truncate(form.Get("client_id"), 64), "reason", err.Error())
		return oauthError(c, http.StatusUnauthorized, "invalid_client", "Invalid client credentials: a wrong or expired secret or certificate, a bad assertion, or an application that does not exist.")
	}
	if err != nil {
		return err
	}
	tok, err := s.Identity.Issue(app, issuer, resource, version)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, tokenResponse{TokenType: "Bearer", ExpiresIn: tok.ExpiresIn, ExtExpiresIn: tok.ExpiresIn,
		ExpiresOn: tok.ExpiresOn, Resource: resource, Scope: scope, AccessToken: tok.AccessToken})
}

var errNoCredential = errors.New("no client credential")

// blocked returns how long the longest-refused of keys stays refused.
func (s *Server) blocked(keys []string) time.Duration {
	var wait time.Duration
	for _, k := range keys {
		wait = max(wait, s.guard.blocked(k))
	}
	return wait
}

// failed records a failed guess for keys and logs when guessing is
// suspected.
func (s *Server) failed(c *call, keys []string, what string) {
	for _, k := range keys {
		free, window := guardPolicy(k)
		if s.guard.fail(k, free, window) {
			s.Logger.Warn("repeated failed "+what+"s: slowing down", "key", k, "requestId", c.requestID)
		}
	}
}

// authenticateClient checks the client's credential: a client assertion
// signed by a certificate credential, or a client secret (form or Basic).
func (s *Server) authenticateClient(c *call, form url.Values) (*identity.App, error) {
	if form.Get("client_assertion_type") == identity.ClientAssertionType {
		// The audience is this token endpoint: the request's host must be
		// one of the server's own names, not whatever the client claims.
		if s.ServesHost != nil && !s.ServesHost(hostOnly(c.r.Host)) {
			return nil, fmt.Errorf("%w: the token endpoint was addressed as %s, a name this server's certificate does not hold", identity.ErrInvalidClient, truncate(c.r.Host, 64))
		}
		endpoint := c.base() + c.r.URL.Path
		return s.Identity.AuthenticateAssertion(c.r.Context(), form.Get("client_id"), form.Get("client_assertion"), endpoint)
	}
	clientID, secret, ok := c.r.BasicAuth()
	if !ok {
		clientID, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if clientID == "" || secret == "" {
		return nil, errNoCredential
	}
	return s.Identity.Authenticate(c.r.Context(), clientID, secret)
}

// requestedResource returns the resource a token request asks for: the
// scope ending in "/.default" (OAuth 2 v2 shape) or the resource parameter
// (v1 and ADFS shape).
func requestedResource(form url.Values) (resource, scope string) {
	for _, sc := range strings.Fields(form.Get("scope")) {
		if r, ok := strings.CutSuffix(sc, "/.default"); ok {
			return strings.TrimSuffix(r, "/"), sc
		}
	}
	return strings.TrimSuffix(form.Get("resource"), "/"), ""
}

type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func oauthError(c *call, status int, code, desc string) error {
	return c.reply(status, oauthErrorBody{Error: code, Description: desc})
}

func (s *Server) healthz(c *call) error {
	return c.reply(http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(c *call) error {
	if s.Seal.Sealed() {
		return c.reply(http.StatusServiceUnavailable, map[string]string{"status": "sealed"})
	}
	return c.reply(http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) sealStatus(c *call) error {
	return c.reply(http.StatusOK, map[string]any{"sealed": s.Seal.Sealed(), "type": s.Seal.SealType()})
}

// unseal takes {"passphrase": "..."}. It is unauthenticated by design: the
// passphrase is the credential, and Argon2id makes guessing slow.
func (s *Server) unseal(c *call) error {
	var req struct {
		Passphrase string `json:"passphrase"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil || req.Passphrase == "" {
		return kverr.BadParameterf("The body must be {\"passphrase\": \"...\"}.")
	}
	if !s.Seal.Sealed() {
		return c.reply(http.StatusOK, map[string]any{"sealed": false})
	}
	keys := []string{"unseal:" + s.callerIP(c)}
	if wait := s.blocked(keys); wait > 0 {
		c.w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return kverr.New(kverr.Throttled, "TooManyRequests", "Too many failed unseal attempts from this address; retry later.")
	}
	if err := s.Seal.Unseal(c.r.Context(), []byte(req.Passphrase)); err != nil {
		if e := kverr.As(err); e != nil && e.Kind != kverr.Internal {
			s.failed(c, keys, "unseal attempt")
		}
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"sealed": false})
}
