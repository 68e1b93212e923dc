// Package authz decides whether a principal may perform an action at a
// scope. It is pure: Decide reads only the Policy it is given, so every
// decision is reproducible in tests.
//
// Actions are Azure RBAC data actions ("Microsoft.KeyVault/vaults/secrets/
// getSecret/action"). Scopes are paths: "/" (the whole server),
// "/vaults/{vault}", "/vaults/{vault}/secrets/{name}"; an assignment at a
// scope covers every scope below it. Role permissions use Azure's wildcard
// rules: "*" matches any run of characters, compared case-insensitively.
// Anything not granted is denied; NotDataActions subtract from a role.
package authz

import (
	"errors"
	"strings"
	"sync"
)

// Role is a role definition.
type Role struct {
	ID             string
	Name           string
	Actions        []string // management actions (principals, vaults, role assignments)
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// Assignment grants a role to a principal at a scope.
type Assignment struct {
	ID          string
	PrincipalID string // object id of a user, group, application or managed identity
	RoleID      string
	Scope       string
}

// Refusals of a store of assignments.
var (
	ErrAssignmentNotFound = errors.New("role assignment not found")
	ErrLastOwner          = errors.New("the last Owner of the server cannot be removed")
)

// Policy is the set of role definitions and assignments in force.
type Policy struct {
	Roles       map[string]Role // by ID
	Assignments []Assignment

	// permits caches Role.Permits by role id and action. A Policy is not
	// changed after it is built (a new one replaces it), and both keys come
	// from finite sets (roles, route actions), so the cache is bounded.
	permits sync.Map
}

// Request is what a caller wants to do.
type Request struct {
	PrincipalIDs []string // the caller's object id and its groups
	Action       string
	Scope        string
	// Management selects the roles' Actions (management plane) instead of
	// their DataActions.
	Management bool
}

// Decision is the outcome of Decide.
type Decision struct {
	Allowed      bool
	AssignmentID string // the assignment that allowed it
}

// Decide returns whether the policy allows the request.
func (p *Policy) Decide(r Request) Decision {
	for _, a := range p.Assignments {
		if !contains(r.PrincipalIDs, a.PrincipalID) || !scopeCovers(a.Scope, r.Scope) {
			continue
		}
		if p.rolePermits(a.RoleID, r.Action, r.Management) {
			return Decision{Allowed: true, AssignmentID: a.ID}
		}
	}
	return Decision{}
}

// rolePermits is Role.Permits through the policy's cache.
func (p *Policy) rolePermits(roleID, action string, management bool) bool {
	key := roleID + "\x00" + action
	if management {
		key += "\x00m"
	}
	if v, ok := p.permits.Load(key); ok {
		return v.(bool)
	}
	role, ok := p.Roles[roleID]
	allowed := ok && role.Permits(action)
	if management {
		allowed = ok && role.PermitsManagement(action)
	}
	p.permits.Store(key, allowed)
	return allowed
}

// PermitsManagement reports whether the role's management actions include
// action.
func (r Role) PermitsManagement(action string) bool {
	return anyMatch(r.Actions, action) && !anyMatch(r.NotActions, action)
}

// Permits reports whether the role's data actions include action.
func (r Role) Permits(action string) bool {
	return anyMatch(r.DataActions, action) && !anyMatch(r.NotDataActions, action)
}

func anyMatch(patterns []string, action string) bool {
	for _, p := range patterns {
		if Match(p, action) {
			return true
		}
	}
	return false
}

// Match reports whether an action matches a permission pattern with "*"
// wildcards, case-insensitively.
func Match(pattern, action string) bool {
	pattern, action = strings.ToLower(pattern), strings.ToLower(action)
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return pattern == action
	}
	if !strings.HasPrefix(action, pattern[:star]) {
		return false
	}
	rest := pattern[star+1:]
	for i := star; i <= len(action); i++ {
		if Match(rest, action[i:]) {
			return true
		}
	}
	return false
}

// scopeCovers reports whether an assignment at scope covers target.
func scopeCovers(scope, target string) bool {
	scope = strings.TrimSuffix(strings.ToLower(scope), "/")
	target = strings.ToLower(target)
	return scope == "" || target == scope || strings.HasPrefix(target, scope+"/")
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if strings.EqualFold(x, id) {
			return true
		}
	}
	return false
}
