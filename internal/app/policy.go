package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/keyhaven/keyhaven/internal/authz"
	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/identity"
	"github.com/keyhaven/keyhaven/internal/storage"
)

const assignmentsKey = "sys/authz/assignments"

// policyStore keeps the role assignments in the barrier and serves the
// policy in force from memory (it is read on every request).
type policyStore struct {
	b   *barrier.Barrier
	mu  sync.Mutex // orders writers, so the published policy is the last committed one
	cur atomic.Pointer[authz.Policy]
}

func newPolicyStore(b *barrier.Barrier) *policyStore {
	p := &policyStore{b: b}
	p.cur.Store(&authz.Policy{Roles: authz.BuiltinRoles()})
	return p
}

// Policy implements httpapi.PolicySource.
func (p *policyStore) Policy() *authz.Policy { return p.cur.Load() }

func (p *policyStore) load(ctx context.Context) error {
	var list []authz.Assignment
	err := p.b.View(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(assignmentsKey)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &list)
	})
	if err != nil {
		return err
	}
	p.cur.Store(&authz.Policy{Roles: authz.BuiltinRoles(), Assignments: list})
	return p.grantOwners(ctx, list)
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
		if a.RoleID == authz.KeyVaultAdministrator && a.Scope == "/" {
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
	a := authz.Assignment{ID: identity.NewGUID(), PrincipalID: principalID, RoleID: roleID, Scope: scope}
	err := p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		for _, x := range list {
			if x.PrincipalID == principalID && x.RoleID == roleID && x.Scope == scope {
				a = x // already there: assigning is idempotent
				return list, nil
			}
		}
		return append(list, a), nil
	})
	return a, err
}

// Remove implements httpapi.RoleAssignments. The last server-wide Owner
// assignment stays, so the server cannot be locked out of its management.
func (p *policyStore) Remove(ctx context.Context, id string) error {
	return p.modify(ctx, func(list []authz.Assignment) ([]authz.Assignment, error) {
		i := slices.IndexFunc(list, func(a authz.Assignment) bool { return strings.EqualFold(a.ID, id) })
		if i < 0 {
			return nil, authz.ErrAssignmentNotFound
		}
		if list[i].RoleID == authz.Owner && list[i].Scope == "/" && countOwners(list) == 1 {
			return nil, authz.ErrLastOwner
		}
		return slices.Delete(list, i, i+1), nil
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

func countOwners(list []authz.Assignment) int {
	n := 0
	for _, a := range list {
		if a.RoleID == authz.Owner && a.Scope == "/" {
			n++
		}
	}
	return n
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
		raw, err = json.Marshal(list)
		if err != nil {
			return err
		}
		return tx.Put(assignmentsKey, raw)
	})
	if err != nil {
		return err
	}
	p.cur.Store(&authz.Policy{Roles: authz.BuiltinRoles(), Assignments: list})
	return nil
}
