package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AccessToken is a bearer token and when it expires.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time
}

// TokenRequest says what token a client needs.
type TokenRequest struct {
	// Scope is the OAuth scope, e.g. "https://vault.localhost/.default".
	Scope string
	// TenantID is the tenant the vault's challenge named; may be empty.
	TenantID string
}

// TokenCredential obtains bearer tokens. Implementations must be safe for
// concurrent use.
type TokenCredential interface {
	GetToken(ctx context.Context, req TokenRequest) (AccessToken, error)
}

// ClientSecretCredential obtains tokens with the OAuth 2.0 client
// credentials grant, like azidentity.ClientSecretCredential. Use it by
// pointer; the zero value of the unexported fields is ready to use.
type ClientSecretCredential struct {
	// AuthorityHost is the token service's https origin, e.g.
	// "https://localhost:8443".
	AuthorityHost string
	// TenantID is the directory (tenant) id, or "adfs" for an AD FS
	// authority (token endpoint {AuthorityHost}/adfs/oauth2/token).
	TenantID     string
	ClientID     string
	ClientSecret string
	// HTTPClient sends token requests; nil means a client built like the
	// vault client's default (system trust, ".localhost" on loopback).
	HTTPClient *http.Client

	mu    sync.Mutex
	cache map[string]cachedToken
	now   func() time.Time // for tests
}

type cachedToken struct {
	tok       AccessToken
	refreshAt time.Time
}

// Environment variables read by CredentialFromEnv; the same the Azure SDKs'
// EnvironmentCredential reads.
const (
	EnvClientID      = "AZURE_CLIENT_ID"
	EnvClientSecret  = "AZURE_CLIENT_SECRET"
	EnvTenantID      = "AZURE_TENANT_ID"
	EnvAuthorityHost = "AZURE_AUTHORITY_HOST"
)

// CredentialFromEnv returns a ClientSecretCredential from AZURE_CLIENT_ID,
// AZURE_CLIENT_SECRET, AZURE_TENANT_ID and AZURE_AUTHORITY_HOST. All four
// are required: unlike the Azure SDKs there is no default authority, so a
// keyhaven secret is never sent to a public cloud by accident.
func CredentialFromEnv() (*ClientSecretCredential, error) {
	return credentialFromLookup(os.Getenv)
}

func credentialFromLookup(getenv func(string) string) (*ClientSecretCredential, error) {
	var missing []string
	for _, k := range []string{EnvClientID, EnvClientSecret, EnvTenantID, EnvAuthorityHost} {
		if getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing credential environment variable(s): %s", strings.Join(missing, ", "))
	}
	c := &ClientSecretCredential{
		AuthorityHost: getenv(EnvAuthorityHost), TenantID: getenv(EnvTenantID),
		ClientID: getenv(EnvClientID), ClientSecret: getenv(EnvClientSecret),
	}
	if _, err := c.tokenEndpoint(); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvAuthorityHost, err)
	}
	return c, nil
}

// GetToken returns a cached token for req.Scope, or requests a new one.
// It fails when the challenge names a tenant other than c.TenantID.
func (c *ClientSecretCredential) GetToken(ctx context.Context, req TokenRequest) (AccessToken, error) {
	if err := c.checkTenant(req.TenantID); err != nil {
		return AccessToken{}, err
	}
	if tok, ok := c.cached(req.Scope); ok {
		return tok, nil
	}
	issued := c.clock()
	tok, err := c.requestToken(ctx, req.Scope, issued)
	if err != nil {
		return AccessToken{}, err
	}
	c.store(req.Scope, tok, issued)
	return tok, nil
}

func (c *ClientSecretCredential) checkTenant(tenant string) error {
	if tenant == "" || strings.EqualFold(tenant, c.TenantID) || strings.EqualFold(c.TenantID, "adfs") {
		return nil
	}
	return fmt.Errorf("the vault asks for a token from tenant %q but the credential is configured for tenant %q (%s)",
		tenant, c.TenantID, EnvTenantID)
}

func (c *ClientSecretCredential) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (c *ClientSecretCredential) cached(scope string) (AccessToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cache[scope]
	if !ok || !c.clock().Before(e.refreshAt) {
		return AccessToken{}, false
	}
	return e.tok, true
}

// store caches tok until shortly before it expires: five minutes, or half
// its lifetime for short-lived tokens.
func (c *ClientSecretCredential) store(scope string, tok AccessToken, issued time.Time) {
	margin := min(5*time.Minute, tok.ExpiresOn.Sub(issued)/2)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cache == nil {
		c.cache = map[string]cachedToken{}
	}
	c.cache[scope] = cachedToken{tok: tok, refreshAt: tok.ExpiresOn.Add(-margin)}
}

// forget drops the cached token for scope, after the vault rejected it.
func (c *ClientSecretCredential) forget(scope string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cache, scope)
}

func (c *ClientSecretCredential) isADFS() bool { return strings.EqualFold(c.TenantID, "adfs") }

// tokenEndpoint is {AuthorityHost}/adfs/oauth2/token for AD FS, else
// {AuthorityHost}/{TenantID}/oauth2/v2.0/token.
func (c *ClientSecretCredential) tokenEndpoint() (string, error) {
	u, err := url.Parse(strings.TrimSuffix(c.AuthorityHost, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" {
		return "", fmt.Errorf("authority host %q must be an https URL such as https://localhost:8443", c.AuthorityHost)
	}
	if c.TenantID == "" || strings.ContainsAny(c.TenantID, "/?#") {
		return "", fmt.Errorf("invalid tenant id %q", c.TenantID)
	}
	if c.isADFS() {
		return u.String() + "/adfs/oauth2/token", nil
	}
	return u.String() + "/" + url.PathEscape(c.TenantID) + "/oauth2/v2.0/token", nil
}

func (c *ClientSecretCredential) tokenForm(scope string) url.Values {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.ClientID},
		"client_secret": {c.ClientSecret},
		"scope":         {scope},
	}
	if c.isADFS() {
		form.Set("resource", strings.TrimSuffix(scope, "/.default"))
	}
	return form
}

func (c *ClientSecretCredential) requestToken(ctx context.Context, scope string, now time.Time) (AccessToken, error) {
	if c.ClientID == "" || c.ClientSecret == "" {
		return AccessToken{}, errors.New("client credential needs a client id and a client secret")
	}
	endpoint, err := c.tokenEndpoint()
	if err != nil {
		return AccessToken{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(c.tokenForm(scope).Encode()))
	if err != nil {
		return AccessToken{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(nil)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return AccessToken{}, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return AccessToken{}, fmt.Errorf("token request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return AccessToken{}, c.scrub(parseOAuthError(endpoint, resp.StatusCode, body))
	}
	tok, err := parseTokenResponse(body, now)
	if err != nil {
		return AccessToken{}, &AuthenticationError{Endpoint: endpoint, StatusCode: resp.StatusCode, Description: err.Error()}
	}
	return tok, nil
}

// scrub removes the client secret from an error's text, should a token
// service ever echo it.
func (c *ClientSecretCredential) scrub(e *AuthenticationError) *AuthenticationError {
	if c.ClientSecret != "" {
		e.Description = strings.ReplaceAll(e.Description, c.ClientSecret, "***")
		e.ErrorCode = strings.ReplaceAll(e.ErrorCode, c.ClientSecret, "***")
	}
	return e
}

func parseOAuthError(endpoint string, status int, body []byte) *AuthenticationError {
	e := &AuthenticationError{Endpoint: endpoint, StatusCode: status}
	var oe struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
		e.ErrorCode, e.Description = oe.Error, strings.TrimSpace(oe.Description)
	} else {
		e.Description = "the answer is not an OAuth error response"
	}
	return e
}

// tokenResponse is an OAuth token answer; expires_in and expires_on come
// as numbers or as strings depending on the service.
type tokenResponse struct {
	TokenType   string  `json:"token_type"`
	AccessToken string  `json:"access_token"`
	ExpiresIn   flexInt `json:"expires_in"`
	ExpiresOn   flexInt `json:"expires_on"`
}

// parseTokenResponse reads a token answer received at now. expires_in wins
// over expires_on; a token with neither is treated as already expiring, so
// it is used once and not cached.
func parseTokenResponse(body []byte, now time.Time) (AccessToken, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return AccessToken{}, fmt.Errorf("invalid token response: %w", err)
	}
	if tr.AccessToken == "" {
		return AccessToken{}, errors.New("token response has no access_token")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return AccessToken{}, fmt.Errorf("token response has token_type %q, want Bearer", tr.TokenType)
	}
	tok := AccessToken{Token: tr.AccessToken, ExpiresOn: now}
	switch {
	case tr.ExpiresIn > 0:
		tok.ExpiresOn = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	case tr.ExpiresOn > 0:
		tok.ExpiresOn = time.Unix(int64(tr.ExpiresOn), 0)
	}
	return tok, nil
}

// flexInt is a JSON integer that may also be written as a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("invalid number %s", b)
	}
	*f = flexInt(n)
	return nil
}
