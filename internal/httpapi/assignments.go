package httpapi

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// RoleAssignments changes the role assignments in force.
type RoleAssignments interface {
	Assign(ctx context.Context, principalID, roleID, scope string) (authz.Assignment, error)
	// AssignWith adds a permanent, time-bound or eligible assignment.
	AssignWith(ctx context.Context, a authz.Assignment) (authz.Assignment, error)
	// Activate turns an eligibility of one of callerIDs into an active
	// assignment for d.
	// Activate activates eligibility id for the caller (callerIDs: its
	// object id first, then its groups; issuer: its external issuer, ""
	// for this server's directory).
	Activate(ctx context.Context, id string, callerIDs []string, issuer string, d time.Duration, justification string) (authz.Assignment, error)
	Remove(ctx context.Context, id string) error
	RemovePrincipal(ctx context.Context, principalID string) error
	CreateRole(ctx context.Context, r authz.Role) (authz.Role, error)
	DeleteRole(ctx context.Context, id string) error
}

const msAuth = "Microsoft.Authorization/"

// assignmentRoutes manage role definitions (read) and assignments at the
// server, vault or single-object scope.
func assignmentRoutes() []route {
	return append([]route{
		{method: "GET", pattern: "/authorization/roleDefinitions", op: "ListRoleDefinitions", action: msAuth + "roleDefinitions/read", handle: (*Server).listRoleDefinitions},
		{method: "POST", pattern: "/authorization/roleDefinitions", op: "CreateRoleDefinition", action: msAuth + "roleDefinitions/write", body: 64 << 10, handle: (*Server).createRoleDefinition},
		{method: "DELETE", pattern: "/authorization/roleDefinitions/{id}", op: "DeleteRoleDefinition", action: msAuth + "roleDefinitions/delete", handle: (*Server).deleteRoleDefinition},
		{method: "POST", pattern: "/authorization/roleAssignments/{id}/activate", op: "ActivateRoleAssignment", self: true, body: 16 << 10, handle: (*Server).activateRoleAssignment},
		{method: "GET", pattern: "/authorization/roleAssignments", op: "ListRoleAssignments", action: msAuth + "roleAssignments/read", handle: (*Server).listRoleAssignments},
		{method: "POST", pattern: "/authorization/roleAssignments", op: "CreateRoleAssignment", action: msAuth + "roleAssignments/write", body: 16 << 10, handle: (*Server).createRoleAssignment},
		{method: "DELETE", pattern: "/authorization/roleAssignments/{id}", op: "DeleteRoleAssignment", action: msAuth + "roleAssignments/delete", handle: (*Server).deleteRoleAssignment},
	}, eventSubscriptionRoutes()...)
}

type roleJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"roleName"`
	Description    string   `json:"description,omitempty"`
	RoleType       string   `json:"roleType"` // BuiltInRole or CustomRole
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func toRoleJSON(r authz.Role) roleJSON {
	t := "BuiltInRole"
	if r.Custom {
		t = "CustomRole"
	}
	return roleJSON{ID: r.ID, Name: r.Name, Description: r.Description, RoleType: t, Actions: nonNil(r.Actions), NotActions: nonNil(r.NotActions),
		DataActions: nonNil(r.DataActions), NotDataActions: nonNil(r.NotDataActions)}
}

func (s *Server) listRoleDefinitions(c *call) error {
	var out []roleJSON
	for _, r := range s.Authz.Policy().Roles {
		out = append(out, toRoleJSON(r))
	}
	slices.SortFunc(out, func(a, b roleJSON) int { return strings.Compare(a.Name, b.Name) })
	return c.reply(http.StatusOK, map[string]any{"value": out})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

type assignmentJSON struct {
	ID                   string     `json:"id"`
	PrincipalID          string     `json:"principalId"`
	RoleDefinitionID     string     `json:"roleDefinitionId"`
	RoleName             string     `json:"roleName,omitempty"`
	Scope                string     `json:"scope"`
	Status               string     `json:"status"` // Active, Eligible, Scheduled or Expired
	StartsOn             *time.Time `json:"startsOn,omitempty"`
	ExpiresOn            *time.Time `json:"expiresOn,omitempty"`
	MaxActivationMinutes int        `json:"maxActivationMinutes,omitempty"`
	ActivatedFrom        string     `json:"activatedFrom,omitempty"`
	Justification        string     `json:"justification,omitempty"`
	Via                  string     `json:"viaGroup,omitempty"` // the group whose eligibility was activated
	RequireMFA           bool       `json:"requireMfa,omitempty"`
	Issuer               string     `json:"issuer,omitempty"` // the external issuer of the principal
}

func (s *Server) assignmentJSON(a authz.Assignment) assignmentJSON {
	out := assignmentJSON{ID: a.ID, PrincipalID: a.PrincipalID, RoleDefinitionID: a.RoleID, RoleName: s.Authz.Policy().Roles[a.RoleID].Name,
		Scope: a.Scope, Status: a.Status(s.Now()), MaxActivationMinutes: int(a.MaxActivation / time.Minute),
		ActivatedFrom: a.ActivatedFrom, Justification: a.Justification, Via: a.Via, RequireMFA: a.RequireMFA, Issuer: a.Issuer}
	if !a.StartsOn.IsZero() {
		out.StartsOn = &a.StartsOn
	}
	if !a.ExpiresOn.IsZero() {
		out.ExpiresOn = &a.ExpiresOn
	}
	return out
}

func (s *Server) listRoleAssignments(c *call) error {
	principal, _ := c.queryValue("principalId")
	out := []assignmentJSON{}
	for _, a := range s.Authz.Policy().Assignments {
		if principal == "" || strings.EqualFold(principal, a.PrincipalID) {
			out = append(out, s.assignmentJSON(a))
		}
	}
	return c.reply(http.StatusOK, map[string]any{"value": out})
}

var (
	guidRE  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	scopeRE = regexp.MustCompile(`^/(vaults/[A-Za-z0-9-]{3,24}(/(secrets|keys|certificates)/[0-9A-Za-z-]{1,127})?)?$`)
)

// createRoleAssignment takes {principalId, roleDefinitionId or roleName,
// scope}: "/" (the server), "/vaults/{vault}" or
// "/vaults/{vault}/{secrets|keys|certificates}/{name}".
func (s *Server) createRoleAssignment(c *call) error {
	var req struct {
		PrincipalID      string `json:"principalId"`
		RoleDefinitionID string `json:"roleDefinitionId"`
		RoleName         string `json:"roleName"`
		Scope            string `json:"scope"`
		// PrincipalType "External" names a principal of a trusted external
		// issuer (its object id claim), which this directory cannot check.
		PrincipalType string `json:"principalType"`
		// A time-bound assignment starts and ends on its own; an eligible
		// one (PIM) grants nothing until activated, for at most
		// maxActivationMinutes (default 480) at a time.
		StartsOn             *time.Time `json:"startsOn"`
		ExpiresOn            *time.Time `json:"expiresOn"`
		Eligible             bool       `json:"eligible"`
		MaxActivationMinutes int        `json:"maxActivationMinutes"`
		// RequireMFA: for a person, the assignment counts only with a
		// second factor in the sign-in.
		RequireMFA bool `json:"requireMfa"`
		// Issuer names the trusted external issuer of an External principal.
		Issuer string `json:"issuer"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	role, ok := s.findRole(req.RoleDefinitionID, req.RoleName)
	switch {
	case !guidRE.MatchString(req.PrincipalID):
		return kverr.BadParameterf("principalId must be the object id (a GUID) of a principal.")
	case !ok:
		return kverr.BadParameterf("No such role definition: list them at /authorization/roleDefinitions.")
	case !scopeRE.MatchString(req.Scope):
		return kverr.BadParameterf("scope must be /, /vaults/{vault} or /vaults/{vault}/{secrets|keys|certificates}/{name}.")
	}
	exists, err := s.Identity.PrincipalExists(c.r.Context(), req.PrincipalID)
	if err != nil {
		return err
	}
	if req.PrincipalType != "" && req.PrincipalType != "External" && req.PrincipalType != "User" && req.PrincipalType != "Group" && req.PrincipalType != "ServicePrincipal" {
		return kverr.BadParameterf("principalType must be User, Group, ServicePrincipal or External.")
	}
	var issuer string
	if req.PrincipalType == "External" {
		if issuer, err = s.trustedIssuer(c, req.Issuer); err != nil {
			return err
		}
	} else if req.Issuer != "" {
		return kverr.BadParameterf("issuer applies to principalType External only.")
	}
	if !exists && req.PrincipalType != "External" {
		return kverr.New(kverr.BadParameter, "PrincipalNotFound", "Principal "+strings.ToLower(req.PrincipalID)+" does not exist in this server's directory.")
	}
	a := authz.Assignment{PrincipalID: strings.ToLower(req.PrincipalID), RoleID: role.ID, Scope: strings.ToLower(req.Scope),
		Eligible: req.Eligible, RequireMFA: req.RequireMFA, Issuer: issuer}
	if req.StartsOn != nil {
		a.StartsOn = req.StartsOn.UTC()
	}
	if req.ExpiresOn != nil {
		a.ExpiresOn = req.ExpiresOn.UTC()
	}
	switch {
	case !a.ExpiresOn.IsZero() && !a.ExpiresOn.After(s.Now()):
		return kverr.BadParameterf("expiresOn must be in the future.")
	case !a.ExpiresOn.IsZero() && !a.StartsOn.IsZero() && !a.ExpiresOn.After(a.StartsOn):
		return kverr.BadParameterf("expiresOn must be after startsOn.")
	case req.MaxActivationMinutes < 0 || req.MaxActivationMinutes > 24*60 || (req.MaxActivationMinutes > 0 && !req.Eligible):
		return kverr.BadParameterf("maxActivationMinutes (1-1440) applies to eligible assignments only.")
	}
	if a.Eligible {
		a.MaxActivation = 8 * time.Hour
		if req.MaxActivationMinutes > 0 {
			a.MaxActivation = time.Duration(req.MaxActivationMinutes) * time.Minute
		}
	}
	a, err = s.RoleAssignments.AssignWith(c.r.Context(), a)
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, s.assignmentJSON(a))
}

// activateRoleAssignment is privileged identity management's just-in-time
// activation: the principal of an eligible assignment (or a member of its
// group) activates it for durationMinutes with a justification, which the
// active assignment keeps (and the audit log records the operation).
func (s *Server) activateRoleAssignment(c *call) error {
	var req struct {
		Justification   string `json:"justification"`
		DurationMinutes int    `json:"durationMinutes"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	just := strings.TrimSpace(req.Justification)
	if len(just) < 5 || len(just) > 500 {
		return kverr.BadParameterf("A justification of 5-500 characters is required.")
	}
	if req.DurationMinutes == 0 {
		req.DurationMinutes = 60
	}
	a, err := s.RoleAssignments.Activate(c.r.Context(), c.param(0), c.principal.IDs(), c.principal.External, time.Duration(req.DurationMinutes)*time.Minute, just)
	switch {
	case errors.Is(err, authz.ErrAssignmentNotFound):
		return kverr.New(kverr.NotFound, "RoleAssignmentNotFound", "No eligible role assignment "+truncate(c.param(0), 64)+" of the caller exists.")
	case errors.Is(err, authz.ErrNotEligible):
		return kverr.BadParameterf("The role assignment is not an eligibility that can be activated now.")
	case errors.Is(err, authz.ErrActivationTooLong):
		return kverr.BadParameterf("durationMinutes must be positive and within the eligibility's maxActivationMinutes.")
	case err != nil:
		return err
	}
	return c.reply(http.StatusCreated, s.assignmentJSON(a))
}

// createRoleDefinition adds a custom role: {roleName, description,
// actions, notActions, dataActions, notDataActions} with Azure's "*"
// wildcards.
func (s *Server) createRoleDefinition(c *call) error {
	var req struct {
		Name           string   `json:"roleName"`
		Description    string   `json:"description"`
		Actions        []string `json:"actions"`
		NotActions     []string `json:"notActions"`
		DataActions    []string `json:"dataActions"`
		NotDataActions []string `json:"notDataActions"`
	}
	if err := c.decode(&req); err != nil {
		return err
	}
	if n := len(strings.TrimSpace(req.Name)); n < 1 || n > 128 || len(req.Description) > 1024 {
		return kverr.BadParameterf("roleName must be 1-128 characters and description at most 1024.")
	}
	if len(req.Actions)+len(req.DataActions) == 0 {
		return kverr.BadParameterf("A role needs at least one action or data action.")
	}
	for _, list := range [][]string{req.Actions, req.NotActions, req.DataActions, req.NotDataActions} {
		if len(list) > 100 {
			return kverr.BadParameterf("At most 100 entries per permission list.")
		}
		for _, a := range list {
			if !permissionRE.MatchString(a) {
				return kverr.BadParameterf("'%s' is not a permission (Provider/resource/.../operation, '*' wildcards allowed).", truncate(a, 128))
			}
		}
	}
	r, err := s.RoleAssignments.CreateRole(c.r.Context(), authz.Role{Name: strings.TrimSpace(req.Name), Description: req.Description,
		Actions: req.Actions, NotActions: req.NotActions, DataActions: req.DataActions, NotDataActions: req.NotDataActions})
	if errors.Is(err, authz.ErrRoleNameTaken) {
		return kverr.New(kverr.Conflict, "RoleDefinitionWithSameNameExists", "A role definition named '"+req.Name+"' exists.")
	}
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, toRoleJSON(r))
}

var permissionRE = regexp.MustCompile(`^(\*|[A-Za-z][A-Za-z0-9.]*(/[A-Za-z0-9*.]+)*(/\*)?)$`)

func (s *Server) deleteRoleDefinition(c *call) error {
	if r, ok := s.Authz.Policy().Roles[strings.ToLower(c.param(0))]; ok && !r.Custom {
		return kverr.BadParameterf("Built-in roles cannot be deleted.")
	}
	err := s.RoleAssignments.DeleteRole(c.r.Context(), c.param(0))
	switch {
	case errors.Is(err, authz.ErrRoleNotFound):
		return kverr.New(kverr.NotFound, "RoleDefinitionDoesNotExist", "No custom role definition "+truncate(c.param(0), 64)+".")
	case errors.Is(err, authz.ErrRoleInUse):
		return kverr.New(kverr.Conflict, "RoleDefinitionHasAssignments", "Remove the role's assignments before deleting it.")
	case err != nil:
		return err
	}
	return c.noContent()
}

func (s *Server) findRole(id, name string) (authz.Role, bool) {
	for _, r := range s.Authz.Policy().Roles {
		if (id != "" && strings.EqualFold(r.ID, id)) || (name != "" && strings.EqualFold(r.Name, name)) {
			return r, true
		}
	}
	return authz.Role{}, false
}

func (s *Server) deleteRoleAssignment(c *call) error {
	err := s.RoleAssignments.Remove(c.r.Context(), c.param(0))
	switch {
	case errors.Is(err, authz.ErrAssignmentNotFound):
		return kverr.New(kverr.NotFound, "RoleAssignmentNotFound", "The role assignment "+truncate(c.param(0), 64)+" does not exist.")
	case errors.Is(err, authz.ErrLastOwner):
		return kverr.New(kverr.Conflict, "Conflict", "The last server-wide Owner assignment cannot be removed: assign another Owner first.")
	case err != nil:
		return err
	}
	return c.noContent()
}

// trustedIssuer returns the trusted external issuer named by raw, as the
// identity service stores it.
func (s *Server) trustedIssuer(c *call, raw string) (string, error) {
	if raw == "" {
		return "", kverr.BadParameterf("An External principal needs the issuer whose tokens name it (one of /identity/externalIssuers).")
	}
	list, err := s.Identity.ListExternalIssuers(c.r.Context())
	if err != nil {
		return "", err
	}
	for _, x := range list {
		if strings.EqualFold(strings.TrimSuffix(raw, "/"), x.Issuer) {
			return x.Issuer, nil
		}
	}
	return "", kverr.BadParameterf("'%s' is not a trusted external issuer (see /identity/externalIssuers).", truncate(raw, 256))
}
