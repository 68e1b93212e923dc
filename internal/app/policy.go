package app

import (
	"context"
	"encoding/json"
	"errors"
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
	a := authz.Assignment{ID: identity.NewGUID(), PrincipalID: principalID, RoleID: roleID, Scope: scope}
	p.mu.Lock()
	defer p.mu.Unlock()
	var list []authz.Assignment
	err := p.b.Update(ctx, func(tx *barrier.Tx) error {
		list = nil
		raw, err := tx.Get(assignmentsKey)
		if err == nil {
			if err := json.Unmarshal(raw, &list); err != nil {
				return err
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		list = append(list, a)
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
