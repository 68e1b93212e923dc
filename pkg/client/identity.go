package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// IdentityClient calls the management API on a keyhaven server's authority
// host (the bare host, e.g. https://localhost:8443, not a vault host):
// applications and managed identities with their credentials, users,
// groups, role definitions and role assignments. Its credential must
// belong to a principal holding the Owner role at the server scope. It is
// safe for concurrent use.
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
	Kind        string          `json:"kind,omitempty"` // "Application" or "ManagedIdentity"
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
	Description    string   `json:"description,omitempty"`
	RoleType       string   `json:"roleType,omitempty"` // BuiltInRole or CustomRole
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
	// Status is Active, Eligible (PIM: grants nothing until activated),
	// Scheduled (starts later) or Expired.
	Status               string     `json:"status,omitempty"`
	StartsOn             *time.Time `json:"startsOn,omitempty"`
	ExpiresOn            *time.Time `json:"expiresOn,omitempty"`
	MaxActivationMinutes int        `json:"maxActivationMinutes,omitempty"`
	ActivatedFrom        string     `json:"activatedFrom,omitempty"`
	ViaGroup             string     `json:"viaGroup,omitempty"`
	Justification        string     `json:"justification,omitempty"`
	// RequireMFA: for a person, the assignment counts only when the sign-in
	// had a second factor.
	RequireMFA bool `json:"requireMfa,omitempty"`
	// Issuer is the external issuer of an External principal.
	Issuer string `json:"issuer,omitempty"`
}

// RoleAssignmentOptions make an assignment time-bound or eligible.
type RoleAssignmentOptions struct {
	StartsOn, ExpiresOn *time.Time
	// Eligible makes a privileged-identity-management eligibility, which
	// its principal activates for at most MaxActivation (default 8h).
	Eligible      bool
	MaxActivation time.Duration
	// PrincipalType "External" names a principal of a trusted external
	// issuer, which the server's directory cannot check; Issuer is then
	// that issuer (the assignment applies only to its tokens).
	PrincipalType string
	Issuer        string
	// RequireMFA makes the assignment count for a person only when the
	// person signed in with a second factor.
	RequireMFA bool
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

// User is a person of the server's directory, who signs in with a password
// and, when enrolled, a one-time code (TOTP). The server never returns a
// password, nor a TOTP secret after enrolling it.
type User struct {
	ObjectID          string    `json:"objectId"` // the principal id role assignments and groups name
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	MFAEnrolled       bool      `json:"mfaEnrolled"` // a TOTP second factor is enrolled
	Created           time.Time `json:"createdDateTime"`
}

// CreatedUser is the answer of CreateUser. TOTPURI, set only when a second
// factor was enrolled, is the otpauth:// provisioning URI for an
// authenticator app: it holds the TOTP secret and is shown only this once.
type CreatedUser struct {
	User
	TOTPURI string `json:"totpUri,omitempty"`
}

// Group is a set of principals (users, applications, managed identities)
// that role assignments can name; tokens carry their members' groups.
// Groups do not nest.
type Group struct {
	ObjectID    string   `json:"objectId"`
	DisplayName string   `json:"displayName"`
	Members     []string `json:"members"` // object ids
}

// CreateUser adds a user (POST /identity/users) with an initial password,
// which the server requires to have 12 to 256 characters. With enrollTOTP,
// a TOTP second factor is enrolled and its provisioning URI returned once.
// displayName may be empty (the server then uses the user principal name).
// The password is sent only in the request body.
func (c *IdentityClient) CreateUser(ctx context.Context, upn, displayName, password string, enrollTOTP bool) (CreatedUser, error) {
	var out CreatedUser
	switch {
	case upn == "":
		return out, fmt.Errorf("a user principal name is required")
	case password == "":
		return out, fmt.Errorf("a password is required")
	}
	body := map[string]any{"userPrincipalName": upn, "password": password}
	if displayName != "" {
		body["displayName"] = displayName
	}
	if enrollTOTP {
		body["enrollTotp"] = true
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "users"), body, &out)
	return out, err
}

// ListUsers returns every user (GET /identity/users), by user principal
// name.
func (c *IdentityClient) ListUsers(ctx context.Context) ([]User, error) {
	var out struct {
		Value []User `json:"value"`
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "users"), nil, &out)
	return out.Value, err
}

// GetUser returns one user by object id or user principal name.
func (c *IdentityClient) GetUser(ctx context.Context, id string) (User, error) {
	var out User
	if err := checkUserID(id); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "users", id), nil, &out)
	return out, err
}

// DeleteUser removes a user (by object id or user principal name), its
// role assignments and its group memberships; its sessions end. The server
// refuses to delete the last holder of the server-wide Owner role.
func (c *IdentityClient) DeleteUser(ctx context.Context, id string) error {
	if err := checkUserID(id); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("identity", "users", id), nil, nil)
}

// SetUserPassword replaces a user's password (12 to 256 characters) and
// signs the user out everywhere. The password is sent only in the request
// body.
func (c *IdentityClient) SetUserPassword(ctx context.Context, id, password string) error {
	if err := checkUserID(id); err != nil {
		return err
	}
	if password == "" {
		return fmt.Errorf("a password is required")
	}
	return c.send(ctx, http.MethodPost, c.path("identity", "users", id, "password"), map[string]string{"password": password}, nil)
}

// EnrollUserTOTP gives a user a new TOTP second factor, replacing any
// other, and returns its otpauth:// provisioning URI. The URI holds the
// TOTP secret and is shown only this once.
func (c *IdentityClient) EnrollUserTOTP(ctx context.Context, id string) (string, error) {
	var out struct {
		URI string `json:"totpUri"`
	}
	if err := checkUserID(id); err != nil {
		return "", err
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "users", id, "totp"), nil, &out)
	return out.URI, err
}

// RemoveUserTOTP removes a user's second factor: the user then signs in
// with the password alone.
func (c *IdentityClient) RemoveUserTOTP(ctx context.Context, id string) error {
	if err := checkUserID(id); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("identity", "users", id, "totp"), nil, nil)
}

// RevokeUserSessions makes every refresh token of a user unusable; access
// tokens already issued work until they expire.
func (c *IdentityClient) RevokeUserSessions(ctx context.Context, id string) error {
	if err := checkUserID(id); err != nil {
		return err
	}
	return c.send(ctx, http.MethodPost, c.path("identity", "users", id, "revokeSessions"), nil, nil)
}

// CreateGroup adds an empty group (POST /identity/groups).
func (c *IdentityClient) CreateGroup(ctx context.Context, displayName string) (Group, error) {
	var out Group
	if displayName == "" {
		return out, fmt.Errorf("a display name is required")
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "groups"), map[string]string{"displayName": displayName}, &out)
	return out, err
}

// ListGroups returns every group (GET /identity/groups), by display name.
func (c *IdentityClient) ListGroups(ctx context.Context) ([]Group, error) {
	var out struct {
		Value []Group `json:"value"`
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "groups"), nil, &out)
	return out.Value, err
}

// GetGroup returns one group by object id.
func (c *IdentityClient) GetGroup(ctx context.Context, groupID string) (Group, error) {
	var out Group
	if err := checkID("group id", groupID); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "groups", groupID), nil, &out)
	return out, err
}

// DeleteGroup removes a group and its role assignments; its members stay.
func (c *IdentityClient) DeleteGroup(ctx context.Context, groupID string) error {
	if err := checkID("group id", groupID); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("identity", "groups", groupID), nil, nil)
}

// AddGroupMember adds the user, application or managed identity whose
// object id is memberID to a group and returns the group. Adding a member
// twice changes nothing; a group cannot be a member.
func (c *IdentityClient) AddGroupMember(ctx context.Context, groupID, memberID string) (Group, error) {
	var out Group
	if err := checkID("group id", groupID); err != nil {
		return out, err
	}
	if err := checkID("member id", memberID); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "groups", groupID, "members"), map[string]string{"objectId": memberID}, &out)
	return out, err
}

// RemoveGroupMember removes a member (by object id) from a group and
// returns the group.
func (c *IdentityClient) RemoveGroupMember(ctx context.Context, groupID, memberID string) (Group, error) {
	var out Group
	if err := checkID("group id", groupID); err != nil {
		return out, err
	}
	if err := checkID("member id", memberID); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodDelete, c.path("identity", "groups", groupID, "members", memberID), nil, &out)
	return out, err
}

// CreateManagedIdentity registers a managed identity (POST
// /identity/managedIdentities): a service principal for a workload host,
// whose `keyhaven agent` holds the first client secret (valid for a year,
// shown only this once) and serves the workload's managed-identity
// requests. Its credentials are managed like an application's, by its app
// (client) id. It holds no role yet.
func (c *IdentityClient) CreateManagedIdentity(ctx context.Context, displayName string) (CreatedApplication, error) {
	var out CreatedApplication
	if displayName == "" {
		return out, fmt.Errorf("a display name is required")
	}
	err := c.send(ctx, http.MethodPost, c.path("identity", "managedIdentities"), map[string]string{"displayName": displayName}, &out)
	return out, err
}

// ListManagedIdentities returns every managed identity (GET
// /identity/managedIdentities); ListApplications does not include them.
func (c *IdentityClient) ListManagedIdentities(ctx context.Context) ([]AppInfo, error) {
	var out struct {
		Value []AppInfo `json:"value"`
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "managedIdentities"), nil, &out)
	return out.Value, err
}

// GetManagedIdentity returns one managed identity by its app (client) id;
// an application's id is not found.
func (c *IdentityClient) GetManagedIdentity(ctx context.Context, appID string) (AppInfo, error) {
	var out AppInfo
	if err := checkID("managed identity id", appID); err != nil {
		return out, err
	}
	err := c.send(ctx, http.MethodGet, c.path("identity", "managedIdentities", appID), nil, &out)
	return out, err
}

// DeleteManagedIdentity removes a managed identity, its credentials and its
// role assignments; it can no longer obtain tokens.
func (c *IdentityClient) DeleteManagedIdentity(ctx context.Context, appID string) error {
	if err := checkID("managed identity id", appID); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("identity", "managedIdentities", appID), nil, nil)
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
	return c.CreateRoleAssignmentWith(ctx, principalID, role, scope, RoleAssignmentOptions{})
}

// CreateRoleAssignmentWith is CreateRoleAssignment with a time window, as
// an eligibility, or for an external principal.
func (c *IdentityClient) CreateRoleAssignmentWith(ctx context.Context, principalID, role, scope string, o RoleAssignmentOptions) (RoleAssignment, error) {
	var out RoleAssignment
	body := map[string]any{"principalId": principalID, "scope": scope}
	if guidPattern.MatchString(role) {
		body["roleDefinitionId"] = role
	} else {
		body["roleName"] = role
	}
	if o.StartsOn != nil {
		body["startsOn"] = o.StartsOn.UTC()
	}
	if o.ExpiresOn != nil {
		body["expiresOn"] = o.ExpiresOn.UTC()
	}
	if o.Eligible {
		body["eligible"] = true
		if o.MaxActivation > 0 {
			body["maxActivationMinutes"] = int(o.MaxActivation / time.Minute)
		}
	}
	if o.PrincipalType != "" {
		body["principalType"] = o.PrincipalType
	}
	if o.RequireMFA {
		body["requireMfa"] = true
	}
	if o.Issuer != "" {
		body["issuer"] = o.Issuer
	}
	err := c.send(ctx, http.MethodPost, c.path("authorization", "roleAssignments"), body, &out)
	return out, err
}

// ActivateRoleAssignment activates an eligible assignment of the caller for
// d with a justification (5-500 characters) and returns the active
// assignment, which expires on its own.
func (c *IdentityClient) ActivateRoleAssignment(ctx context.Context, id, justification string, d time.Duration) (RoleAssignment, error) {
	var out RoleAssignment
	if err := checkID("role assignment id", id); err != nil {
		return out, err
	}
	body := map[string]any{"justification": justification, "durationMinutes": int(d / time.Minute)}
	err := c.send(ctx, http.MethodPost, c.path("authorization", "roleAssignments", id, "activate"), body, &out)
	return out, err
}

// CreateRoleDefinition adds a custom role (RoleName, Description and the
// four permission lists; '*' wildcards as in Azure) and returns it.
func (c *IdentityClient) CreateRoleDefinition(ctx context.Context, d RoleDefinition) (RoleDefinition, error) {
	var out RoleDefinition
	body := map[string]any{"roleName": d.RoleName, "description": d.Description, "actions": nonNilList(d.Actions),
		"notActions": nonNilList(d.NotActions), "dataActions": nonNilList(d.DataActions), "notDataActions": nonNilList(d.NotDataActions)}
	err := c.send(ctx, http.MethodPost, c.path("authorization", "roleDefinitions"), body, &out)
	return out, err
}

// DeleteRoleDefinition removes a custom role that no assignment uses.
func (c *IdentityClient) DeleteRoleDefinition(ctx context.Context, id string) error {
	if err := checkID("role definition id", id); err != nil {
		return err
	}
	return c.send(ctx, http.MethodDelete, c.path("authorization", "roleDefinitions", id), nil, nil)
}

func nonNilList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
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

// upnPattern is a user principal name that can stand in a path segment
// (escaped): name@domain without slashes, white space or control
// characters. With its "@" it can never be a dot segment.
var upnPattern = regexp.MustCompile(`^[^@/\\\s\x00-\x1f\x7f]+@[^@/\\\s\x00-\x1f\x7f]+$`)

// checkUserID keeps a user's object id or user principal name from
// changing the request path.
func checkUserID(id string) error {
	if id == "" {
		return fmt.Errorf("user id is required")
	}
	if namePattern.MatchString(id) || len(id) <= 256 && upnPattern.MatchString(id) {
		return nil
	}
	return fmt.Errorf("invalid user id: use an object id or a user principal name (name@domain)")
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

// Finding is one item of a posture check (keyhaven doctor).
type Finding struct {
	Severity string `json:"severity"` // High, Medium or Low
	Check    string `json:"check"`
	Vault    string `json:"vault,omitempty"`
	Object   string `json:"object,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
}

// PostureReport is the posture check of a server (or one vault).
type PostureReport struct {
	Findings  []Finding `json:"value"`
	Vaults    int       `json:"vaults"`
	Truncated bool      `json:"truncated"` // a vault had more objects than one check reads
}

// Posture runs the server's posture check, of every vault or only vault.
func (c *IdentityClient) Posture(ctx context.Context, vault string) (PostureReport, error) {
	var out PostureReport
	u := c.path("posture")
	if vault != "" {
		u.RawQuery = url.Values{"vault": {vault}}.Encode()
	}
	err := c.send(ctx, http.MethodGet, u, nil, &out)
	return out, err
}

// AuditQuery filters the server's audit log; zero fields match all.
type AuditQuery struct {
	Since, Until time.Time
	Operation    string
	Principal    string // object id or application id
	Object       string // text the object URL contains
	Result       string // Success, Failure or an HTTP status code
	Top          int    // at most this many records (server default 1,000)
}

// QueryAuditLog returns the server's audit records that q selects, oldest
// first, as written (one JSON object each), and whether more matched than
// were returned. The read is itself audited.
func (c *IdentityClient) QueryAuditLog(ctx context.Context, q AuditQuery) ([]json.RawMessage, bool, error) {
	v := url.Values{}
	for k, s := range map[string]string{"operation": q.Operation, "principal": q.Principal, "object": q.Object, "result": q.Result} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339))
	}
	if q.Top > 0 {
		v.Set("top", strconv.Itoa(q.Top))
	}
	u := c.path("audit", "records")
	u.RawQuery = v.Encode()
	var out struct {
		Value     []json.RawMessage `json:"value"`
		Truncated bool              `json:"truncated"`
	}
	err := c.send(ctx, http.MethodGet, u, nil, &out)
	return out.Value, out.Truncated, err
}
