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
	"time"
)

// Role is a role definition.
type Role struct {
	ID             string
	Name           string
	Description    string   `json:",omitempty"`
	Actions        []string // management actions (principals, vaults, role assignments)
	NotActions     []string
	DataActions    []string
	NotDataActions []string
	Custom         bool `json:",omitempty"` // defined on this server, not one of Azure's
}

// Assignment grants a role to a principal at a scope. A time-bound
// assignment grants it only from StartsOn until ExpiresOn; an eligible one
// (privileged identity management) grants nothing until its principal
// activates it, which creates an active time-bound assignment with a
// justification.
type Assignment struct {
	ID          string
	PrincipalID string // object id of a user, group, application or managed identity
	RoleID      string
	Scope       string

	StartsOn  time.Time `json:",omitzero"`
	ExpiresOn time.Time `json:",omitzero"`
	// Eligible marks a PIM eligibility; MaxActivation bounds one activation.
	Eligible      bool          `json:",omitempty"`
	MaxActivation time.Duration `json:",omitempty"`
	// ActivatedFrom and Justification describe an activation of an
	// eligible assignment.
	ActivatedFrom string `json:",omitempty"`
	Justification string `json:",omitempty"`
	// Via is the group whose eligibility was activated, when it was not the
	// caller's own: the activation then counts only while the caller is a
	// member of that group (its token lists it).
	Via string `json:",omitempty"`
	// RequireMFA makes the assignment count for a person only when the
	// person signed in with a second factor (the token's amr holds "mfa").
	// Applications and managed identities have no second factor: it does
	// not apply to them.
	RequireMFA bool `json:",omitempty"`
	// Issuer binds the assignment to a trusted external issuer's principal
	// (PrincipalID is then that issuer's object id claim); empty means a
	// principal of this server's directory. A caller matches only
	// assignments of its own identity source, so no issuer can claim
	// another's principals.
	Issuer string `json:",omitempty"`
}

// ActiveAt reports whether the assignment grants its role at now: not an
// eligibility, and within its time bounds. A time-bound assignment is
// never active at the zero time, so a caller that forgets the clock is
// refused rather than granted.
func (a *Assignment) ActiveAt(now time.Time) bool {
	if a.Eligible {
		return false
	}
	if a.StartsOn.IsZero() && a.ExpiresOn.IsZero() {
		return true
	}
	if now.IsZero() {
		return false
	}
	return !now.Before(a.StartsOn) && (a.ExpiresOn.IsZero() || now.Before(a.ExpiresOn))
}

// Status is how the management API describes an assignment at now.
func (a *Assignment) Status(now time.Time) string {
	switch {
	case a.Eligible && !a.ExpiresOn.IsZero() && !now.Before(a.ExpiresOn):
		return "Expired"
	case a.Eligible:
		return "Eligible"
	case !a.ExpiresOn.IsZero() && !now.Before(a.ExpiresOn):
		return "Expired"
	case !a.StartsOn.IsZero() && now.Before(a.StartsOn):
		return "Scheduled"
	}
	return "Active"
}

// Refusals of a store of assignments.
var (
	ErrAssignmentNotFound = errors.New("role assignment not found")
	ErrLastOwner          = errors.New("the last Owner of the server cannot be removed")
	ErrRoleNotFound       = errors.New("role definition not found")
	ErrRoleNameTaken      = errors.New("a role with this name exists")
	ErrRoleInUse          = errors.New("the role definition is used by role assignments")
	ErrNotEligible        = errors.New("the assignment is not an eligibility that can be activated now")
	ErrActivationTooLong  = errors.New("the activation is longer than the eligibility allows")
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
	// Now is the time of the request, for time-bound assignments.
	Now time.Time
	// User and MFA describe the caller: a person, and whether it signed in
	// with a second factor (for assignments that require one).
	User, MFA bool
	// Issuer is the caller's external issuer ("" for this server's own
	// tokens); only assignments with the same Issuer apply.
	Issuer string
}

// Decision is the outcome of Decide.
type Decision struct {
	Allowed      bool
	AssignmentID string // the assignment that allowed it
}

// Decide returns whether the policy allows the request.
func (p *Policy) Decide(r Request) Decision {
	for i := range p.Assignments {
		a := &p.Assignments[i]
		if !contains(r.PrincipalIDs, a.PrincipalID) || !scopeCovers(a.Scope, r.Scope) || !a.ActiveAt(r.Now) ||
			(a.RequireMFA && r.User && !r.MFA) || !strings.EqualFold(a.Issuer, r.Issuer) ||
			(a.Via != "" && !contains(r.PrincipalIDs, a.Via)) {
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
