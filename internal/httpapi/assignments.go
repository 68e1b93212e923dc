package httpapi

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/kverr"
)

// RoleAssignments changes the role assignments in force.
type RoleAssignments interface {
	Assign(ctx context.Context, principalID, roleID, scope string) (authz.Assignment, error)
	Remove(ctx context.Context, id string) error
	RemovePrincipal(ctx context.Context, principalID string) error
}

const msAuth = "Microsoft.Authorization/"

// assignmentRoutes manage role definitions (read) and assignments at the
// server, vault or single-object scope.
func assignmentRoutes() []route {
	return []route{
		{method: "GET", pattern: "/authorization/roleDefinitions", op: "ListRoleDefinitions", action: msAuth + "roleDefinitions/read", handle: (*Server).listRoleDefinitions},
		{method: "GET", pattern: "/authorization/roleAssignments", op: "ListRoleAssignments", action: msAuth + "roleAssignments/read", handle: (*Server).listRoleAssignments},
		{method: "POST", pattern: "/authorization/roleAssignments", op: "CreateRoleAssignment", action: msAuth + "roleAssignments/write", body: 16 << 10, handle: (*Server).createRoleAssignment},
		{method: "DELETE", pattern: "/authorization/roleAssignments/{id}", op: "DeleteRoleAssignment", action: msAuth + "roleAssignments/delete", handle: (*Server).deleteRoleAssignment},
	}
}

type roleJSON struct {
	ID             string   `json:"id"`
	Name           string   `json:"roleName"`
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func (s *Server) listRoleDefinitions(c *call) error {
	var out []roleJSON
	for _, r := range s.Authz.Policy().Roles {
		out = append(out, roleJSON{ID: r.ID, Name: r.Name, Actions: nonNil(r.Actions), NotActions: nonNil(r.NotActions),
			DataActions: nonNil(r.DataActions), NotDataActions: nonNil(r.NotDataActions)})
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
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	RoleName         string `json:"roleName,omitempty"`
	Scope            string `json:"scope"`
}

func (s *Server) assignmentJSON(a authz.Assignment) assignmentJSON {
	return assignmentJSON{ID: a.ID, PrincipalID: a.PrincipalID, RoleDefinitionID: a.RoleID, RoleName: s.Authz.Policy().Roles[a.RoleID].Name, Scope: a.Scope}
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
	if !exists && req.PrincipalType != "External" {
		return kverr.New(kverr.BadParameter, "PrincipalNotFound", "Principal "+strings.ToLower(req.PrincipalID)+" does not exist in this server's directory.")
	}
	a, err := s.RoleAssignments.Assign(c.r.Context(), strings.ToLower(req.PrincipalID), role.ID, strings.ToLower(req.Scope))
	if err != nil {
		return err
	}
	return c.reply(http.StatusCreated, s.assignmentJSON(a))
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
