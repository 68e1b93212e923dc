package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/storage"
)

const (
	assignmentsKey = "sys/authz/assignments"
	customRolesKey = "sys/authz/roles" // custom role definitions
)

// policyStore keeps the role assignments in the barrier and serves the
// policy in force from memory (it is read on every request).
type policyStore struct {
	b   *barrier.Barrier
	now func() time.Time
	mu  sync.Mutex // orders writers, so the published policy is the last committed one
	cur atomic.Pointer[authz.Policy]
}

func newPolicyStore(b *barrier.Barrier, now func() time.Time) *policyStore {
	p := &policyStore{b: b, now: now}
	p.cur.Store(&authz.Policy{Roles: authz.BuiltinRoles()})
	return p
}

// Policy implements httpapi.PolicySource.
func (p *policyStore) Policy() *authz.Policy { return p.cur.Load() }

func (p *policyStore) load(ctx context.Context) error {
	var list []authz.Assignment
	var custom []authz.Role
	err := p.b.View(ctx, func(tx *barrier.Tx) error {
		if err := getList(tx, assignmentsKey, &list); err != nil {
			return err
		}
		return getList(tx, customRolesKey, &custom)
	})
	if err != nil {
		return err
	}
	// Activations whose eligibility went before removals ended them, or
	// group activations from before they recorded their group, are
	// reconciled before anything is decided with the list.
	list, changed := reconcileActivations(list)
	p.cur.Store(&authz.Policy{Roles: allRoles(custom), Assignments: list})
	if changed {
		if err := p.modify(ctx, func(l []authz.Assignment) ([]authz.Assignment, error) { return l, nil }); err != nil {
			return err
		}
		list = p.Policy().Assignments
	}
	return p.grantOwners(ctx, list)
}

func getList[T any](tx *barrier.Tx, key string, dst *[]T) error {
	raw, err := tx.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, dst)
}

// allRoles is the built-in roles and the custom ones.
func allRoles(custom []authz.Role) map[string]authz.Role {
	m := authz.BuiltinRoles()
	for _, r := range custom {
		m[r.ID] = r
	}
	return m
}

func (p *policyStore) customRoles() []authz.Role {
	var out []authz.Role
	for _, r := range p.Policy().Roles {
		if r.Custom {
			out = append(out, r)
		}
	}
	return out
}

// grantOwners makes the server-wide Key Vault Administrators owners too
// when nobody owns the server yet: servers made before the management
// plane existed gave their first administrator only the data-plane role.
func (p *policyStore) grantOwners(ctx context.Context, list []authz.Assignment) error {
	var admins []string
	for _, a := range list {
		if a.RoleID == authz.Owner {
			return nil
		}
		// Only standing administrators are promoted: not eligibilities,
		// time-bound, MFA-bound or external ones.
		if a.RoleID == authz.KeyVaultAdministrator && a.Scope == "/" && a.StartsOn.IsZero() && a.ExpiresOn.IsZero() &&
			!a.Eligible && !a.RequireMFA && a.Issuer == "" {
			admins = append(admins, a.PrincipalID)
		}
	}
	for _, id := range admins {
		if err := p.assign(ctx, id, authz.Owner, "/"); err != nil {
			return err
		}
	}
	return nil
}

// assign adds a role assignment at scope for a principal and persists it.
func (p *policyStore) assign(ctx context.Context, principalID, roleID, scope string) error {
	_, err := p.Assign(ctx, principalID, roleID, scope)
	return err
}

// Assign implements httpapi.RoleAssignments.
func (p *policyStore) Assign(ctx context.Context, principalID, roleID, scope string) (authz.Assignment, error) {
	return p.AssignWith(ctx, authz.Assignment{PrincipalID: principalID, RoleID: roleID, Scope: scope})
}

// AssignWith implements httpapi.RoleAssignments: a permanent, time-bound or
// eligible assignment. Assigning the same permanent role twice returns the
// existing assignment.
func (p *policyStore) AssignWith(ctx context.Context, a authz.Assignment) (authz.Assignment, error) {
	a.ID = identity.NewGUID()
	plain := a.StartsOn.IsZero() && a.ExpiresOn.IsZero() && !a.Eligible && !a.RequireMFA
	err := p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		if _, ok := p.Policy().Roles[a.RoleID]; !ok {
			return nil, authz.ErrRoleNotFound
		}
		for _, x := range list {
			if plain && x.PrincipalID == a.PrincipalID && x.RoleID == a.RoleID && x.Scope == a.Scope && x.Issuer == a.Issuer &&
				x.StartsOn.IsZero() && x.ExpiresOn.IsZero() && !x.Eligible && !x.RequireMFA {
				a = x // already there: assigning is idempotent
				return list, nil
			}
		}
		return append(list, a), nil
	})
	return a, err
}

// Activate implements httpapi.RoleAssignments: the principal of an
// eligible assignment (callerIDs, the caller's own id first and then its
// groups', must hold its principal id) activates it for d with a
// justification; the activation is an active assignment of the caller
// that expires on its own.
func (p *policyStore) Activate(ctx context.Context, id string, callerIDs []string, issuer string, d time.Duration, justification string) (authz.Assignment, error) {
	var out authz.Assignment
	now := p.now().UTC()
	err := p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		i := slices.IndexFunc(list, func(a authz.Assignment) bool { return strings.EqualFold(a.ID, id) })
		// The caller must be the eligibility's principal (or in its group)
		// in the same identity source: a local principal cannot activate
		// an external principal's eligibility, nor the other way round.
		if i < 0 || len(callerIDs) == 0 || !strings.EqualFold(list[i].Issuer, issuer) ||
			!slices.ContainsFunc(callerIDs, func(c string) bool { return strings.EqualFold(c, list[i].PrincipalID) }) {
			return nil, authz.ErrAssignmentNotFound
		}
		e := list[i]
		switch {
		case !e.Eligible:
			return nil, authz.ErrNotEligible
		case !e.ExpiresOn.IsZero() && !now.Before(e.ExpiresOn), !e.StartsOn.IsZero() && now.Before(e.StartsOn):
			return nil, authz.ErrNotEligible
		case d <= 0 || (e.MaxActivation > 0 && d > e.MaxActivation):
			return nil, authz.ErrActivationTooLong
		}
		end := now.Add(d)
		if !e.ExpiresOn.IsZero() && end.After(e.ExpiresOn) {
			end = e.ExpiresOn
		}
		// One live activation per eligibility and caller: activating again
		// renews it (with the new justification) instead of piling up
		// assignments.
		caller := strings.ToLower(callerIDs[0])
		if j := slices.IndexFunc(list, func(a authz.Assignment) bool {
			return a.ActivatedFrom == e.ID && a.PrincipalID == caller && strings.EqualFold(a.Issuer, e.Issuer) && a.ActiveAt(now)
		}); j >= 0 {
			list[j].ExpiresOn, list[j].Justification = end, justification
			out = list[j]
			return list, nil
		}
		// The grant goes to the caller (callerIDs[0]), also when the
		// eligibility is its group's; then it lasts only while the caller
		// is in the group (Via).
		out = authz.Assignment{ID: identity.NewGUID(), PrincipalID: caller, RoleID: e.RoleID, Scope: e.Scope, RequireMFA: e.RequireMFA,
			StartsOn: now, ExpiresOn: end, ActivatedFrom: e.ID, Justification: justification, Via: via(e, caller), Issuer: e.Issuer}
		return append(list, out), nil
	})
	return out, err
}

// PruneExpired removes assignments (and eligibilities) whose end has
// passed: time-bound grants expire on their own.
func (p *policyStore) PruneExpired(ctx context.Context, now time.Time) (int, error) {
	n := 0
	if !slices.ContainsFunc(p.Policy().Assignments, func(a authz.Assignment) bool { return !a.ExpiresOn.IsZero() && !now.Before(a.ExpiresOn) }) {
		return 0, nil
	}
	err := p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		kept := slices.DeleteFunc(slices.Clone(list), func(a authz.Assignment) bool { return !a.ExpiresOn.IsZero() && !now.Before(a.ExpiresOn) })
		n = len(list) - len(kept)
		return kept, nil
	})
	return n, err
}

// CreateRole implements httpapi.RoleAssignments: a custom role definition.
func (p *policyStore) CreateRole(ctx context.Context, r authz.Role) (authz.Role, error) {
	r.ID, r.Custom = identity.NewGUID(), true
	err := p.modifyRoles(ctx, func(custom []authz.Role) ([]authz.Role, error) {
		for _, x := range p.Policy().Roles {
			if strings.EqualFold(x.Name, r.Name) {
				return nil, authz.ErrRoleNameTaken
			}
		}
		return append(custom, r), nil
	})
	return r, err
}

// DeleteRole implements httpapi.RoleAssignments: a custom role that no
// assignment uses.
func (p *policyStore) DeleteRole(ctx context.Context, id string) error {
	return p.modifyRoles(ctx, func(custom []authz.Role) ([]authz.Role, error) {
		i := slices.IndexFunc(custom, func(r authz.Role) bool { return strings.EqualFold(r.ID, id) })
		if i < 0 {
			return nil, authz.ErrRoleNotFound
		}
		if slices.ContainsFunc(p.Policy().Assignments, func(a authz.Assignment) bool { return strings.EqualFold(a.RoleID, custom[i].ID) }) {
			return nil, authz.ErrRoleInUse
		}
		return slices.Delete(custom, i, i+1), nil
	})
}

func (p *policyStore) modifyRoles(ctx context.Context, fn func([]authz.Role) ([]authz.Role, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var custom []authz.Role
	err := p.b.Update(ctx, func(tx *barrier.Tx) error {
		var stored []authz.Role
		if err := getList(tx, customRolesKey, &stored); err != nil {
			return err
		}
		var err error
		if custom, err = fn(stored); err != nil {
			return err
		}
		raw, err := json.Marshal(custom)
		if err != nil {
			return err
		}
		return tx.Put(customRolesKey, raw)
	})
	if err != nil {
		return err
	}
	cur := p.Policy()
	p.cur.Store(&authz.Policy{Roles: allRoles(custom), Assignments: cur.Assignments})
	return nil
}

// Remove implements httpapi.RoleAssignments. The last server-wide Owner
// assignment stays, so the server cannot be locked out of its management.
func (p *policyStore) Remove(ctx context.Context, id string) error {
	return p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		i := slices.IndexFunc(list, func(a authz.Assignment) bool { return strings.EqualFold(a.ID, id) })
		if i < 0 {
			return nil, authz.ErrAssignmentNotFound
		}
		if standingOwner(list[i]) && countOwners(list) == 1 {
			return nil, authz.ErrLastOwner
		}
		return slices.Delete(list, i, i+1), nil
	})
}

// RemoveScope removes every assignment at scope or below it (a purged
// vault's).
func (p *policyStore) RemoveScope(ctx context.Context, scope string) error {
	scope = strings.ToLower(strings.TrimSuffix(scope, "/"))
	under := func(a authz.Assignment) bool {
		s := strings.ToLower(a.Scope)
		return s == scope || strings.HasPrefix(s, scope+"/")
	}
	if !slices.ContainsFunc(p.Policy().Assignments, under) {
		return nil
	}
	return p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		return slices.DeleteFunc(slices.Clone(list), under), nil
	})
}

// RemovePrincipal implements httpapi.RoleAssignments: it removes every
// assignment of a principal that is being deleted, unless that would
// leave the server without an Owner.
func (p *policyStore) RemovePrincipal(ctx context.Context, principalID string) error {
	return p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		kept := slices.DeleteFunc(slices.Clone(list), func(a authz.Assignment) bool { return strings.EqualFold(a.PrincipalID, principalID) })
		if countOwners(list) > 0 && countOwners(kept) == 0 {
			return nil, authz.ErrLastOwner
		}
		return kept, nil
	})
}

// via is the group an activation of eligibility e by caller came through,
// or "" when e is the caller's own.
func via(e authz.Assignment, caller string) string {
	if strings.EqualFold(e.PrincipalID, caller) {
		return ""
	}
	return strings.ToLower(e.PrincipalID)
}

// reconcileActivations removes activations whose eligibility is gone
// (removing an eligible assignment, its principal or its scope ends what was
// activated from it at once, not when the activation would have expired)
// or that belong to another identity source than their eligibility,
// and records the group of group activations made before activations
// carried it. It reports whether it changed anything.
func reconcileActivations(list []authz.Assignment) ([]authz.Assignment, bool) {
	if !slices.ContainsFunc(list, func(a authz.Assignment) bool { return a.ActivatedFrom != "" }) {
		return list, false
	}
	eligible := map[string]authz.Assignment{}
	for _, a := range list {
		if a.Eligible {
			eligible[strings.ToLower(a.ID)] = a
		}
	}
	changed := false
	for i, a := range list {
		if e, ok := eligible[strings.ToLower(a.ActivatedFrom)]; ok && a.ActivatedFrom != "" && a.Via == "" && via(e, a.PrincipalID) != "" {
			list[i].Via, changed = via(e, a.PrincipalID), true
		}
	}
	n := len(list)
	list = slices.DeleteFunc(list, func(a authz.Assignment) bool {
		e, ok := eligible[strings.ToLower(a.ActivatedFrom)]
		// An activation belongs to its eligibility's identity source
		// (earlier releases did not check this when activating).
		return a.ActivatedFrom != "" && (!ok || !strings.EqualFold(a.Issuer, e.Issuer))
	})
	return list, changed || len(list) != n
}

// countOwners counts the server-wide Owner assignments that always work:
// permanent, not an eligibility, not bound to MFA or an external issuer.
// Only those keep the server manageable.
func countOwners(list []authz.Assignment) int {
	n := 0
	for _, a := range list {
		if standingOwner(a) {
			n++
		}
	}
	return n
}

func standingOwner(a authz.Assignment) bool {
	return a.RoleID == authz.Owner && a.Scope == "/" && a.StartsOn.IsZero() && a.ExpiresOn.IsZero() && !a.Eligible &&
		!a.RequireMFA && a.Issuer == ""
}

// modify changes the stored assignments in one transaction and publishes
// the new policy once committed.
func (p *policyStore) modify(ctx context.Context, fn func([]authz.Assignment) ([]authz.Assignment, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []authz.Assignment
	err := p.b.Update(ctx, func(tx *barrier.Tx) error {
		var stored []authz.Assignment
		raw, err := tx.Get(assignmentsKey)
		if err == nil {
			if err := json.Unmarshal(raw, &stored); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if list, err = fn(stored); err != nil {
			return err
		}
		list, _ = reconcileActivations(list)
		raw, err = json.Marshal(list)
		if err != nil {
			return err
		}
		return tx.Put(assignmentsKey, raw)
	})
	if err != nil {
		return err
	}
	p.cur.Store(&authz.Policy{Roles: allRoles(p.customRoles()), Assignments: list})
	return nil
}
