package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// IdentityClient calls the management API on a keyhaven server's authority
// host (the bare host, e.g. https://localhost:8443, not a vault host):
// applications with their credentials, role definitions and role
// assignments. Its credential must belong to a principal holding the Owner
// role at the server scope. It is safe for concurrent use.
//
// The authority host does not send a challenge that names the vaults'
// resource, so the client asks for tokens of the fixed scope
// https://{dns-suffix}/.default.
type IdentityClient struct {
	base *url.URL
	api  vaultClient // sends and decodes; its vault URL is the server URL
}

// AppInfo is an application (service principal) and its credentials. The
// server never returns a credential's secret after creating it.
type AppInfo struct {
	AppID       string          `json:"appId"`    // the client id
	ObjectID    string          `json:"objectId"` // the principal id role assignments name
	DisplayName string          `json:"displayName"`
	Credentials []AppCredential `json:"credentials"`
}

// AppCredential describes one credential of an application.
type AppCredential struct {
	ID         string    `json:"id"`
	Type       string    `json:"type"`                 // "secret", "certificate" or "federated"
	Hint       string    `json:"hint,omitempty"`       // a secret's first characters
	Thumbprint string    `json:"thumbprint,omitempty"` // a certificate's SHA-1, upper-case hex
	Issuer     string    `json:"issuer,omitempty"`     // federated: the external issuer
	Subject    string    `json:"subject,omitempty"`    // federated: the external subject
	Audiences  []string  `json:"audiences,omitempty"`  // federated: accepted audiences
	Expires    time.Time `json:"expires"`              // zero for federated credentials
}

// CreatedApplication is the answer of CreateApplication: the application,
// its first client secret (shown only this once) and the tenant to
// authenticate in.
type CreatedApplication struct {
	AppInfo
	Secret   string `json:"secret"`
	TenantID string `json:"tenantId"`
}

// CreatedSecret is a new client secret credential; Secret is shown only
// this once.
type CreatedSecret struct {
	AppCredential
	Secret string `json:"secret"`
}

// RoleDefinition is a role the server knows.
type RoleDefinition struct {
	ID             string   `json:"id"`
	RoleName       string   `json:"roleName"`
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleAssignment grants a role to a principal at a scope: "/" (the
// server), "/vaults/{vault}" or "/vaults/{vault}/{secrets|keys|certificates}/{name}".
type RoleAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleName         string `json:"roleName,omitempty"`
	Scope            string `json:"scope"`
}

// NewIdentityClient returns a client for the server at serverURL
// (https://host[:port]) that authenticates with cred for the scope
// https://{dnsSuffix}/.default. dnsSuffix is the vaults' DNS suffix, e.g.
// "vault.localhost" (a port is allowed). opts may be nil; its APIVersion and
// DisableChallengeResourceVerification do not apply.
func NewIdentityClient(serverURL, dnsSuffix string, cred TokenCredential, opts *ClientOptions) (*IdentityClient, error) {
	scope, err := suffixScope(dnsSuffix)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(strings.TrimSuffix(serverURL, "/"))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return nil, fmt.Errorf("invalid server URL %q: want https://host[:port]", serverURL)
	}
	if cred == nil {
		return nil, fmt.Errorf("a credential is required")
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	return &IdentityClient{base: u, api: vaultClient{vault: u, p: newScopedPipeline(cred, scope, o)}}, nil
}

// suffixScope turns a DNS suffix ("vault.localhost", "vault.localhost:8443",
// optionally with https://) into its token scope.
func suffixScope(suffix string) (string, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(suffix, "https://"), "/")
	u, err := url.Parse("https://" + s)
	if s == "" || err != nil || u.Host != s || u.Hostname() == "" {
		return "", fmt.Errorf("invalid DNS suffix %q: want a host name such as vault.localhost", suffix)
	}
	return "https://" + s + "/.default", nil
}

// ServerURL is the server's base URL, without a trailing slash.
func (c *IdentityClient) ServerURL() string { return c.base.String() }

// CreateApplication registers an application with a first client secret
// valid for a year (POST /identity/applications). It holds no role yet.
func (c *IdentityClient) CreateApplication(ctx context.Context, displayName string) (CreatedApplication, error) {
	var out CreatedApplication
	if displayName == "" {
		return out, fmt.Errorf("a display name is required")
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "applications"), map[string]string{"displayName": displayName}, &out)
	return out, err
}

// ListApplications returns every application (GET /identity/applications).
func (c *IdentityClient) ListApplications(ctx context.Context) ([]AppInfo, error) {
	var out struct {
		Value []AppInfo `json:"value"`
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "applications"), nil, &out)
	return out.Value, err
}

// GetApplication returns one application by its app (client) id.
func (c *IdentityClient) GetApplication(ctx context.Context, appID string) (AppInfo, error) {
	var out AppInfo
	if err := checkID("application id", appID); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "applications", appID), nil, &out)
	return out, err
}

// DeleteApplication removes an application and its credentials; it can no
// longer obtain tokens. An application cannot delete itself.
func (c *IdentityClient) DeleteApplication(ctx context.Context, appID string) error {
	if err := checkID("application id", appID); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("identity", "applications", appID), nil, nil)
}

// AddApplicationSecret adds a client secret valid for expiresInDays days
// (1-730; 0 means the server's default of 365).
func (c *IdentityClient) AddApplicationSecret(ctx context.Context, appID string, expiresInDays int) (CreatedSecret, error) {
	var out CreatedSecret
	if err := checkID("application id", appID); err != nil {
		return out, err
	}
	body := map[string]int{}
	switch {
	case expiresInDays < 0 || expiresInDays > 730:
		return out, fmt.Errorf("expiresInDays must be between 1 and 730")
	case expiresInDays > 0:
		body["expiresInDays"] = expiresInDays
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "applications", appID, "secrets"), body, &out)
	return out, err
}

// AddApplicationCertificate adds an RSA certificate credential; certPEM is
// a PEM CERTIFICATE block (or base64 DER). Only the certificate is sent:
// callers must not pass a private key.
func (c *IdentityClient) AddApplicationCertificate(ctx context.Context, appID, certPEM string) (AppCredential, error) {
	var out AppCredential
	if err := checkID("application id", appID); err != nil {
		return out, err
	}
	if certPEM == "" {
		return out, fmt.Errorf("a certificate is required")
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "applications", appID, "certificates"), map[string]string{"certificate": certPEM}, &out)
	return out, err
}

// AddApplicationFederatedCredential trusts tokens of an external OIDC
// issuer (https) for subject and audiences (none: api://AzureADTokenExchange).
func (c *IdentityClient) AddApplicationFederatedCredential(ctx context.Context, appID, issuer, subject string, audiences []string) (AppCredential, error) {
	var out AppCredential
	if err := checkID("application id", appID); err != nil {
		return out, err
	}
	if issuer == "" || subject == "" {
		return out, fmt.Errorf("an issuer and a subject are required")
	}
	body := map[string]any{"issuer": issuer, "subject": subject}
	if len(audiences) > 0 {
		body["audiences"] = audiences
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "applications", appID, "federatedCredentials"), body, &out)
	return out, err
}

// RemoveApplicationCredential removes a secret or certificate credential.
func (c *IdentityClient) RemoveApplicationCredential(ctx context.Context, appID, credID string) error {
	if err := checkID("application id", appID); err != nil {
		return err
	}
	if err := checkID("credential id", credID); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("identity", "applications", appID, "credentials", credID), nil, nil)
}

// ListRoleDefinitions returns the roles the server knows, by name.
func (c *IdentityClient) ListRoleDefinitions(ctx context.Context) ([]RoleDefinition, error) {
	var out struct {
		Value []RoleDefinition `json:"value"`
	}
	err := c.send(ctx, http.MethodGet, c.path("authorization", "roleDefinitions"), nil, &out)
	return out.Value, err
}

// ListRoleAssignments returns the assignments in force, only principalID's
// when it is not empty.
func (c *IdentityClient) ListRoleAssignments(ctx context.Context, principalID string) ([]RoleAssignment, error) {
	var out struct {
		Value []RoleAssignment `json:"value"`
	}
	u := c.path("authorization", "roleAssignments")
	if principalID != "" {
		u.RawQuery = url.Values{"principalId": {principalID}}.Encode()
	}
	err := c.send(ctx, http.MethodGet, u, nil, &out)
	return out.Value, err
}

// guidPattern matches a GUID, the shape of role definition ids.
var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// CreateRoleAssignment grants role (a role name such as "Key Vault Secrets
// User", or a role definition id) to the principal with object id
// principalID at scope. The server checks all three.
func (c *IdentityClient) CreateRoleAssignment(ctx context.Context, principalID, role, scope string) (RoleAssignment, error) {
	var out RoleAssignment
	body := map[string]string{"principalId": principalID, "scope": scope}
	if guidPattern.MatchString(role) {
		body["roleDefinitionId"] = role
	} else {
		body["roleName"] = role
	}
	err := c.send(ctx, http.MethodPost, c.path("authorization", "roleAssignments"), body, &out)
	return out, err
}

// DeleteRoleAssignment removes an assignment by id. The server refuses to
// remove the last server-wide Owner assignment.
func (c *IdentityClient) DeleteRoleAssignment(ctx context.Context, id string) error {
	if err := checkID("role assignment id", id); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("authorization", "roleAssignments", id), nil, nil)
}

// path returns the server URL with segs as its path; callers check the
// segments that come from input with checkID first.
func (c *IdentityClient) path(segs ...string) *url.URL {
	u := *c.base
	u.Path = "/" + strings.Join(segs, "/")
	return &u
}

func (c *IdentityClient) send(ctx context.Context, method string, u *url.URL, in, out any) error {
	return c.api.send(ctx, method, u, in, out)
}

// checkID keeps an id (a GUID on keyhaven) from changing the request path.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s is required", what)
	}
	if !namePattern.MatchString(id) {
		return fmt.Errorf("invalid %s: use letters, digits and dashes", what)
	}
	return nil
}
