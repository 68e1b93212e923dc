package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

const (
	idUsers      = "Keyhaven/identity/users/"
	idGroups     = "Keyhaven/identity/groups/"
	idIdentities = "Keyhaven/identity/managedIdentities/"
	idIssuers    = "Keyhaven/identity/externalIssuers/"
)

// directoryRoutes are the management API of people, groups and managed
// identities, on the authority hosts, behind a management role at the
// server scope (like principalRoutes).
func directoryRoutes() []route {
	const body = 16 << 10
	return append(postureRoutes(), []route{
		{method: "POST", pattern: "/identity/users", op: "CreateUser", action: idUsers + "write", body: body, handle: (*Server).createUser},
		{method: "GET", pattern: "/identity/users", op: "ListUsers", action: idUsers + "read", handle: (*Server).listUsers},
		{method: "GET", pattern: "/identity/users/{id}", op: "GetUser", action: idUsers + "read", handle: (*Server).getUser},
		{method: "DELETE", pattern: "/identity/users/{id}", op: "DeleteUser", action: idUsers + "delete", handle: (*Server).deleteUser},
		{method: "POST", pattern: "/identity/users/{id}/password", op: "SetUserPassword", action: idUsers + "credentials/write", body: body, handle: (*Server).setUserPassword},
		{method: "POST", pattern: "/identity/users/{id}/totp", op: "EnrollUserTOTP", action: idUsers + "credentials/write", handle: (*Server).enrollTOTP},
		{method: "DELETE", pattern: "/identity/users/{id}/totp", op: "RemoveUserTOTP", action: idUsers + "credentials/delete", handle: (*Server).removeTOTP},
		{method: "POST", pattern: "/identity/users/{id}/revokeSessions", op: "RevokeUserSessions", action: idUsers + "credentials/write", handle: (*Server).revokeSessions},

		{method: "POST", pattern: "/identity/groups", op: "CreateGroup", action: idGroups + "write", body: body, handle: (*Server).createGroup},
		{method: "GET", pattern: "/identity/groups", op: "ListGroups", action: idGroups + "read", handle: (*Server).listGroups},
		{method: "GET", pattern: "/identity/groups/{id}", op: "GetGroup", action: idGroups + "read", handle: (*Server).getGroup},
		{method: "DELETE", pattern: "/identity/groups/{id}", op: "DeleteGroup", action: idGroups + "delete", handle: (*Server).deleteGroup},
		{method: "POST", pattern: "/identity/groups/{id}/members", op: "AddGroupMember", action: idGroups + "members/write", body: body, handle: (*Server).addGroupMember},
		{method: "DELETE", pattern: "/identity/groups/{id}/members/{memberId}", op: "RemoveGroupMember", action: idGroups + "members/delete", handle: (*Server).removeGroupMember},

		{method: "POST", pattern: "/identity/externalIssuers", op: "AddExternalIssuer", action: idIssuers + "write", body: body, handle: (*Server).addExternalIssuer},
		{method: "GET", pattern: "/identity/externalIssuers", op: "ListExternalIssuers", action: idIssuers + "read", handle: (*Server).listExternalIssuers},
		{method: "DELETE", pattern: "/identity/externalIssuers/{id}", op: "RemoveExternalIssuer", action: idIssuers + "delete", handle: (*Server).removeExternalIssuer},

		{method: "POST", pattern: "/identity/managedIdentities", op: "CreateManagedIdentity", action: idIdentities + "write", body: body, handle: (*Server).createManagedIdentity},
		{method: "GET", pattern: "/identity/managedIdentities", op: "ListManagedIdentities", action: idIdentities + "read", handle: (*Server).listManagedIdentities},
		{method: "GET", pattern: "/identity/managedIdentities/{id}", op: "GetManagedIdentity", action: idIdentities + "read", handle: (*Server).getManagedIdentity},
		{method: "DELETE", pattern: "/identity/managedIdentities/{id}", op: "DeleteManagedIdentity", action: idIdentities + "delete", handle: (*Server).deleteManagedIdentity},
	}...)
}

func directoryError(err error, what, id string) error {
	switch {
	case errors.Is(err, identity.ErrNotFound):
		return kverr.New(kverr.NotFound, "NotFound", what+" '"+truncate(id, 128)+"' not found.")
	case errors.Is(err, identity.ErrUPNTaken):
		return kverr.New(kverr.Conflict, "Conflict", "A user with this userPrincipalName already exists.")
	case errors.Is(err, identity.ErrWeakPassword), errors.Is(err, identity.ErrInvalidUPN), errors.Is(err, identity.ErrMemberMissing),
		errors.Is(err, identity.ErrDisplayName), errors.Is(err, identity.ErrGroupNesting), errors.Is(err, identity.ErrGroupFull):
		return kverr.BadParameterf("%s.", upperFirst(err.Error()))
	}
	return err
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type userReply struct {
	identity.UserInfo
	TOTPURI string `json:"totpUri,omitempty"` // shown once, at enrollment
}

func (s *Server) createUser(c *call) error {
	var req struct {
		UPN         string `json:"userPrincipalName"`
		DisplayName string `json:"displayName"`
		Password    string `json:"password"`
		EnrollTOTP  bool   `json:"enrollTotp"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	u, uri, err := s.Identity.CreateUser(c.r.Context(), req.UPN, req.DisplayName, req.Password, req.EnrollTOTP)
	if err != nil {
		return directoryError(err, "User", req.UPN)
	}
	return c.reply(http.StatusCreated, userReply{UserInfo: *u, TOTPURI: uri})
}

func (s *Server) listUsers(c *call) error {
	users, err := s.Identity.ListUsers(c.r.Context())
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"value": users})
}

func (s *Server) getUser(c *call) error {
	u, err := s.Identity.GetUser(c.r.Context(), c.param(0))
	if err != nil {
		return directoryError(err, "User", c.param(0))
	}
	return c.reply(http.StatusOK, u)
}

func (s *Server) deleteUser(c *call) error {
	u, err := s.Identity.GetUser(c.r.Context(), c.param(0))
	if err != nil {
		return directoryError(err, "User", c.param(0))
	}
	if err := s.RoleAssignments.RemovePrincipal(c.r.Context(), u.ObjectID); errors.Is(err, authz.ErrLastOwner) {
		return kverr.New(kverr.Conflict, "Conflict", "This user is the server's last Owner: assign another Owner first.")
	} else if err != nil {
		return err
	}
	if err := s.Identity.DeleteUser(c.r.Context(), u.ObjectID); err != nil {
		return directoryError(err, "User", c.param(0))
	}
	return c.noContent()
}

func (s *Server) setUserPassword(c *call) error {
	var req struct {
		Password string `json:"password"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if err := s.Identity.SetPassword(c.r.Context(), c.param(0), req.Password); err != nil {
		return directoryError(err, "User", c.param(0))
	}
	return c.noContent()
}

func (s *Server) enrollTOTP(c *call) error {
	uri, err := s.Identity.EnrollTOTP(c.r.Context(), c.param(0))
	if err != nil {
		return directoryError(err, "User", c.param(0))
	}
	return c.reply(http.StatusOK, map[string]string{"totpUri": uri})
}

func (s *Server) removeTOTP(c *call) error {
	if err := s.Identity.RemoveTOTP(c.r.Context(), c.param(0)); err != nil {
		return directoryError(err, "User", c.param(0))
	}
	return c.noContent()
}

func (s *Server) revokeSessions(c *call) error {
	if err := s.Identity.RevokeSessions(c.r.Context(), c.param(0)); err != nil {
		return directoryError(err, "User", c.param(0))
	}
	return c.noContent()
}

func (s *Server) createGroup(c *call) error {
	var req struct {
		DisplayName string `json:"displayName"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	g, err := s.Identity.CreateGroup(c.r.Context(), req.DisplayName)
	if err != nil {
		return directoryError(err, "Group", req.DisplayName)
	}
	return c.reply(http.StatusCreated, g)
}

func (s *Server) listGroups(c *call) error {
	groups, err := s.Identity.ListGroups(c.r.Context())
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"value": groups})
}

func (s *Server) getGroup(c *call) error {
	g, err := s.Identity.GetGroup(c.r.Context(), c.param(0))
	if err != nil {
		return directoryError(err, "Group", c.param(0))
	}
	return c.reply(http.StatusOK, g)
}

func (s *Server) deleteGroup(c *call) error {
	g, err := s.Identity.GetGroup(c.r.Context(), c.param(0))
	if err != nil {
		return directoryError(err, "Group", c.param(0))
	}
	if err := s.RoleAssignments.RemovePrincipal(c.r.Context(), g.ObjectID); errors.Is(err, authz.ErrLastOwner) {
		return kverr.New(kverr.Conflict, "Conflict", "This group holds the server's last Owner assignment: assign another Owner first.")
	} else if err != nil {
		return err
	}
	if err := s.Identity.DeleteGroup(c.r.Context(), g.ObjectID); err != nil {
		return directoryError(err, "Group", c.param(0))
	}
	return c.noContent()
}

func (s *Server) addGroupMember(c *call) error {
	var req struct {
		ObjectID string `json:"objectId"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if req.ObjectID == "" {
		return kverr.BadParameterf("The body must be {\"objectId\": \"<a user, application or managed identity>\"}.")
	}
	g, err := s.Identity.AddGroupMember(c.r.Context(), c.param(0), req.ObjectID)
	if err != nil {
		return directoryError(err, "Group", c.param(0))
	}
	return c.reply(http.StatusOK, g)
}

func (s *Server) removeGroupMember(c *call) error {
	g, err := s.Identity.RemoveGroupMember(c.r.Context(), c.param(0), c.param(1))
	if err != nil {
		return directoryError(err, "Group or member", c.param(0)+"/"+c.param(1))
	}
	return c.reply(http.StatusOK, g)
}

func (s *Server) createManagedIdentity(c *call) error {
	var req newAppRequest
	if err := c.decode(&req); err != nil {
		return err
	}
	if !identity.ValidDisplayName(req.DisplayName) {
		return kverr.BadParameterf("displayName must be 1-120 characters without line breaks.")
	}
	app, secret, err := s.Identity.CreateManagedIdentity(c.r.Context(), req.DisplayName, 365*24*time.Hour)
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, newAppReply{AppInfo: app.Info(), Secret: secret, TenantID: s.Identity.TenantID()})
}

func (s *Server) listManagedIdentities(c *call) error {
	return s.listServicePrincipals(c, identity.KindManagedIdentity)
}

// managedIdentity returns the managed identity whose client id is the
// route's parameter (an application is not one).
func (s *Server) managedIdentity(c *call) (*identity.AppInfo, error) {
	app, err := s.Identity.GetApp(c.r.Context(), c.param(0))
	if err == nil && app.Kind != identity.KindManagedIdentity {
		err = identity.ErrNotFound
	}
	if err != nil {
		return nil, directoryError(err, "Managed identity", c.param(0))
	}
	return app, nil
}

func (s *Server) getManagedIdentity(c *call) error {
	app, err := s.managedIdentity(c)
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, app)
}

func (s *Server) deleteManagedIdentity(c *call) error {
	if _, err := s.managedIdentity(c); err != nil {
		return err
	}
	return s.deleteApplication(c)
}

// addExternalIssuer trusts the access tokens of an OIDC issuer on the data
// plane: {"issuer": "https://...", "audiences": ["https://vault.localhost"],
// "objectIdClaim": "oid", "groupsClaim": "groups", "nameClaim":
// "preferred_username", "appIdClaim": "azp", "tenantId": ""}.
func (s *Server) addExternalIssuer(c *call) error {
	var req identity.ExternalIssuer
	if err := c.decode(&req); err != nil {
		return err
	}
	if sameHost(req.Issuer, c.base()) {
		return kverr.BadParameterf("The issuer is this server's own authority.")
	}
	if len(req.Audiences) == 0 {
		req.Audiences = []string{"https://" + s.DNSSuffix}
	}
	for _, a := range req.Audiences {
		if !s.isAudience(a) {
			return kverr.BadParameterf("Audience '%s' does not name this server's vaults (https://%s).", truncate(a, 128), s.DNSSuffix)
		}
	}
	x, err := s.Identity.AddExternalIssuer(c.r.Context(), req)
	if err != nil {
		return kverr.BadParameterf("%s.", upperFirst(err.Error()))
	}
	return c.reply(http.StatusCreated, x)
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua.Host, ub.Host)
}

func (s *Server) listExternalIssuers(c *call) error {
	list, err := s.Identity.ListExternalIssuers(c.r.Context())
	if err != nil {
		return err
	}
	return c.reply(http.StatusOK, map[string]any{"value": list})
}

func (s *Server) removeExternalIssuer(c *call) error {
	if err := s.Identity.RemoveExternalIssuer(c.r.Context(), c.param(0)); err != nil {
		return directoryError(err, "External issuer", c.param(0))
	}
	return c.noContent()
}
