package vaults

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/keyhaven/keyhaven/internal/barrier"
	"github.com/keyhaven/keyhaven/internal/events"
	"github.com/keyhaven/keyhaven/internal/kverr"
	"github.com/keyhaven/keyhaven/internal/storage"
)

// deletedPrefix holds soft-deleted vaults: their record, deletion and
// scheduled purge dates. A deleted vault keeps its name (no new vault may
// take it) and its vault key until it is purged.
const deletedPrefix = "sys/deleted-vaults/"

// DeletedVault is a soft-deleted vault.
type DeletedVault struct {
	Vault              Vault     `json:"vault"`
	DeletionDate       time.Time `json:"deletionDate"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate"`
}

func notFound(name string) error {
	return kverr.New(kverr.NotFound, "VaultNotFound", "The vault '"+truncate(name, 64)+"' does not exist on this server.")
}

func deletedNotFound(name string) error {
	return kverr.New(kverr.NotFound, "DeletedVaultNotFound", "No soft-deleted vault named '"+truncate(name, 64)+"' exists on this server.")
}

// Get returns a vault by name.
func (s *Service) Get(name string) (*Vault, error) {
	if v, ok := s.Lookup(name); ok {
		return v, nil
	}
	return nil, notFound(name)
}

// Update changes a vault's settings with fn in one transaction and
// enforces the rules Azure does: purge protection and soft delete cannot
// be turned off, the retention is fixed once purge protection is on.
func (s *Service) Update(ctx context.Context, name string, fn func(*Vault) error) (*Vault, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := prefix + strings.ToLower(name)
	var out Vault
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return notFound(name)
		}
		if err != nil {
			return err
		}
		var old, v Vault
		if err := json.Unmarshal(raw, &old); err != nil {
			return err
		}
		old.Settings.normalize()
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		v.Settings.normalize()
		if err := fn(&v); err != nil {
			return err
		}
		v.ID, v.Name, v.Created = old.ID, old.Name, old.Created
		v.Settings.normalize()
		switch {
		case old.PurgeProtection && !v.PurgeProtection:
			return kverr.BadParameterf("Purge protection cannot be turned off once it is on.")
		case old.PurgeProtection && v.SoftDeleteRetentionDays != old.SoftDeleteRetentionDays:
			return kverr.BadParameterf("The soft-delete retention cannot change once purge protection is on.")
		case v.SoftDeleteRetentionDays < old.SoftDeleteRetentionDays:
			// Shortening the retention would let anyone who may update the
			// vault (not purge it) bring the destruction of deleted data
			// closer; it can only grow.
			return kverr.BadParameterf("softDeleteRetentionInDays can only be raised (it is %d).", old.SoftDeleteRetentionDays)
		case v.SoftDeleteRetentionDays < MinRetentionDays || v.SoftDeleteRetentionDays > MaxRetentionDays:
			return kverr.BadParameterf("softDeleteRetentionInDays must be between %d and %d.", MinRetentionDays, MaxRetentionDays)
		}
		if err := v.Settings.Validate(); err != nil {
			return err
		}
		raw, err = json.Marshal(&v)
		if err != nil {
			return err
		}
		if accessChanged(&old, &v) {
			if err := s.recordAccessPolicyChanged(tx, &v); err != nil {
				return err
			}
		}
		out = v
		return tx.Put(key, raw)
	})
	if err != nil {
		return nil, err
	}
	s.publish(&out)
	return &out, nil
}

// Delete soft-deletes a vault: its data stays, sealed under its vault key,
// until it is recovered or purged after its retention.
func (s *Service) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := prefix + strings.ToLower(name)
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		raw, err := tx.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return notFound(name)
		}
		if err != nil {
			return err
		}
		var v Vault
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		now := s.now().UTC()
		d := DeletedVault{Vault: v, DeletionDate: now, ScheduledPurgeDate: now.AddDate(0, 0, v.SoftDeleteRetentionDays)}
		raw, err = json.Marshal(&d)
		if err != nil {
			return err
		}
		if err := tx.Put(deletedPrefix+strings.ToLower(v.Name), raw); err != nil {
			return err
		}
		return tx.Delete(key)
	})
	if err != nil {
		return err
	}
	s.unpublish(name)
	return nil
}

func (s *Service) unpublish(name string) {
	old := *s.names.Load()
	m := make(map[string]*Vault, len(old))
	for k, x := range old {
		if k != strings.ToLower(name) {
			m[k] = x
		}
	}
	s.names.Store(&m)
}

// ListDeleted returns the soft-deleted vaults, by name.
func (s *Service) ListDeleted(ctx context.Context) ([]DeletedVault, error) {
	out := []DeletedVault{}
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		return tx.Scan(deletedPrefix, "", func(_ string, raw []byte) (bool, error) {
			var d DeletedVault
			if err := json.Unmarshal(raw, &d); err != nil {
				return false, err
			}
			d.Vault.Settings.normalize()
			out = append(out, d)
			return true, nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Vault.Name < out[j].Vault.Name })
	return out, err
}

// GetDeleted returns one soft-deleted vault.
func (s *Service) GetDeleted(ctx context.Context, name string) (*DeletedVault, error) {
	var d *DeletedVault
	err := s.b.View(ctx, func(tx *barrier.Tx) error {
		var err error
		d, err = getDeleted(tx, name)
		return err
	})
	return d, err
}

func getDeleted(tx *barrier.Tx, name string) (*DeletedVault, error) {
	raw, err := tx.Get(deletedPrefix + strings.ToLower(name))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, deletedNotFound(name)
	}
	if err != nil {
		return nil, err
	}
	var d DeletedVault
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	d.Vault.Settings.normalize()
	return &d, nil
}

// Recover brings a soft-deleted vault back with its data and settings.
func (s *Service) Recover(ctx context.Context, name string) (*Vault, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v Vault
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		d, err := getDeleted(tx, name)
		if err != nil {
			return err
		}
		v = d.Vault
		raw, err := json.Marshal(&v)
		if err != nil {
			return err
		}
		if err := tx.Put(prefix+strings.ToLower(v.Name), raw); err != nil {
			return err
		}
		return tx.Delete(deletedPrefix + strings.ToLower(v.Name))
	})
	if err != nil {
		return nil, err
	}
	s.publish(&v)
	return &v, nil
}

// Purge destroys a soft-deleted vault: its vault key first (so nothing
// under it can ever be read again), then its records. Under purge
// protection it is refused until the scheduled purge date.
func (s *Service) Purge(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var id string
	err := s.b.Update(ctx, func(tx *barrier.Tx) error {
		d, err := getDeleted(tx, name)
		if err != nil {
			return err
		}
		if d.Vault.PurgeProtection && s.now().Before(d.ScheduledPurgeDate) {
			return kverr.New(kverr.Conflict, "VaultPurgeProtected",
				"The vault '"+d.Vault.Name+"' has purge protection: it can only be purged after "+d.ScheduledPurgeDate.Format(time.RFC3339)+".")
		}
		id = d.Vault.ID
		if err := tx.DestroyVaultKey(id); err != nil {
			return err
		}
		return tx.Delete(deletedPrefix + strings.ToLower(d.Vault.Name))
	})
	if err != nil {
		return err
	}
	if s.forget != nil {
		if err := s.forget(ctx, name); err != nil {
			return err
		}
	}
	return s.dropData(ctx, id)
}

// dropData deletes the (now unreadable) records of a purged vault, in
// batches so no transaction grows without bound.
func (s *Service) dropData(ctx context.Context, id string) error {
	for {
		n := 0
		err := s.b.Update(ctx, func(tx *barrier.Tx) error {
			n = 0
			var keys []string
			err := tx.ScanKeys("v/"+id+"/", "", func(k string) (bool, error) {
				keys = append(keys, k)
				return len(keys) < 1000, nil
			})
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil || n == 0 {
			return err
		}
	}
}

// PurgeExpired purges the soft-deleted vaults whose retention has ended.
func (s *Service) PurgeExpired(ctx context.Context, now time.Time) (int, error) {
	list, err := s.ListDeleted(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range list {
		if now.Before(d.ScheduledPurgeDate) {
			continue
		}
		if err := s.Purge(ctx, d.Vault.Name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Exists reports whether a vault name is taken, by an active or a
// soft-deleted vault (names are unique per server, also while deleted).
func (s *Service) Exists(ctx context.Context, name string) (bool, error) {
	if _, ok := s.Lookup(name); ok {
		return true, nil
	}
	_, err := s.GetDeleted(ctx, name)
	var ke *kverr.Error
	if errors.As(err, &ke) && ke.Kind == kverr.NotFound {
		return false, nil
	}
	return err == nil, err
}

// Access policy changes (ARM's accessPolicies/{add|replace|remove}).

// ChangeAccessPolicies applies kind ("add", "replace", "remove") with the
// given entries: add merges permissions into the entry of the same object
// and application (or appends one), replace sets them, remove takes the
// listed permissions away (an entry left with none goes).
func (s *Service) ChangeAccessPolicies(ctx context.Context, name, kind string, entries []AccessPolicy) (*Vault, error) {
	switch kind {
	case "add", "replace", "remove":
	default:
		return nil, kverr.BadParameterf("The operation kind must be add, replace or remove.")
	}
	if err := ValidateAccessPolicies(entries); err != nil {
		return nil, err
	}
	return s.Update(ctx, name, func(v *Vault) error {
		for _, e := range entries {
			e.ObjectID, e.ApplicationID = strings.ToLower(e.ObjectID), strings.ToLower(e.ApplicationID)
			e.Permissions = clonePermissions(e.Permissions) // normalizing must not touch the caller's lists
			i := slices.IndexFunc(v.AccessPolicies, func(p AccessPolicy) bool {
				return p.ObjectID == e.ObjectID && p.ApplicationID == e.ApplicationID
			})
			switch {
			case kind == "replace" && i >= 0:
				v.AccessPolicies[i].Permissions = e.Permissions
			case (kind == "replace" || kind == "add") && i < 0:
				v.AccessPolicies = append(v.AccessPolicies, e)
			case kind == "add":
				p := &v.AccessPolicies[i].Permissions
				p.Keys, p.Secrets = append(p.Keys, e.Permissions.Keys...), append(p.Secrets, e.Permissions.Secrets...)
				p.Certificates, p.Storage = append(p.Certificates, e.Permissions.Certificates...), append(p.Storage, e.Permissions.Storage...)
			case kind == "remove" && i >= 0:
				p := &v.AccessPolicies[i].Permissions
				if isEmpty(e.Permissions) {
					v.AccessPolicies = slices.Delete(v.AccessPolicies, i, i+1)
					continue
				}
				p.Keys, p.Secrets = without(p.Keys, e.Permissions.Keys), without(p.Secrets, e.Permissions.Secrets)
				p.Certificates, p.Storage = without(p.Certificates, e.Permissions.Certificates), without(p.Storage, e.Permissions.Storage)
				if isEmpty(*p) {
					v.AccessPolicies = slices.Delete(v.AccessPolicies, i, i+1)
				}
			}
		}
		return nil
	})
}

// ValidateAccessPolicies checks entries as a vault's settings would (GUIDs,
// permission names in any case, at most MaxAccessPolicies), without
// changing them, so a request can be refused before anything changes.
func ValidateAccessPolicies(entries []AccessPolicy) error {
	st := Settings{AccessPolicies: make([]AccessPolicy, len(entries))}
	for i, e := range entries {
		e.Permissions = clonePermissions(e.Permissions)
		st.AccessPolicies[i] = e
	}
	st.normalize()
	return st.Validate()
}

func clonePermissions(p Permissions) Permissions {
	return Permissions{Keys: slices.Clone(p.Keys), Secrets: slices.Clone(p.Secrets),
		Certificates: slices.Clone(p.Certificates), Storage: slices.Clone(p.Storage)}
}

// accessChanged reports whether an update changes who may use the vault's
// data plane: its access policies or its permission model.
func accessChanged(old, v *Vault) bool {
	if old.RBACAuthorization != v.RBACAuthorization || len(old.AccessPolicies) != len(v.AccessPolicies) {
		return true
	}
	for i, p := range old.AccessPolicies {
		q := v.AccessPolicies[i]
		if p.TenantID != q.TenantID || p.ObjectID != q.ObjectID || p.ApplicationID != q.ApplicationID ||
			!slices.Equal(p.Permissions.Keys, q.Permissions.Keys) || !slices.Equal(p.Permissions.Secrets, q.Permissions.Secrets) ||
			!slices.Equal(p.Permissions.Certificates, q.Permissions.Certificates) || !slices.Equal(p.Permissions.Storage, q.Permissions.Storage) {
			return true
		}
	}
	return false
}

// recordAccessPolicyChanged writes Event Grid's VaultAccessPolicyChanged
// to the outbox in the transaction of the change.
func (s *Service) recordAccessPolicyChanged(tx *barrier.Tx, v *Vault) error {
	return events.Record(tx, events.Event{ID: newID(), Type: events.VaultAccessPolicyChanged, Time: s.now().UTC(),
		VaultID: v.ID, VaultName: v.Name, Data: events.Data{ObjectType: "Vault", ObjectName: v.Name}})
}

func isEmpty(p Permissions) bool {
	return len(p.Keys)+len(p.Secrets)+len(p.Certificates)+len(p.Storage) == 0
}

func without(list, remove []string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(x string) bool {
		return slices.ContainsFunc(remove, func(r string) bool { return strings.EqualFold(r, x) })
	})
}
